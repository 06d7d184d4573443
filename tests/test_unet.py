"""The U-Net builder: end-to-end gradient checks, architecture, padding, errors."""
import numpy as np
import pytest

from keras_models import keras_loss_gradients, keras_unet
from minicnn import layers, losses, models, set_random_seed
from minicnn.gradcheck import rel_error
from model_gradcheck import model_gradient_errors

F64 = "float64"
TOL = 1e-7


def tiny_unet(**kwargs):
    """A float64 U-Net with 2 levels and tiny filter counts."""
    options = dict(filters=(2, 3), bottleneck=4, dtype=F64)
    options.update(kwargs)
    shape = options.pop("input_shape", (8, 12, 1))
    set_random_seed(0)
    return models.unet(shape, 3, **options)


def inputs_for(model, n=2, seed=0):
    shape = (n,) + model.inputs[0].shape[1:]
    return [np.random.default_rng(seed).standard_normal(shape)]


# Finite differences are wrong across a kink: a ReLU input at 0, or a 2x2
# pooling window whose values tie (all zero behind dead ReLUs, frequent with
# 2 or 3 filters). The end-to-end checks therefore use tanh, which is smooth
# and leaves no ties; the ReLU U-Net's gradients are checked against Keras
# (test_models_keras_parity.py and test_relu_unet_gradients_match_keras).
@pytest.mark.parametrize("kwargs, training", [
    ({}, True),                                       # BatchNormalization on batch stats
    ({}, False),
    ({"upsampling": "transpose"}, True),
    ({"padding": "valid", "input_shape": (44, 48, 1)}, True),
])
def test_unet_gradcheck_end_to_end(kwargs, training, backend):
    """Central differences on 6 random entries of the input and of every weight."""
    model = tiny_unet(activation="tanh", **kwargs)
    errors = model_gradient_errors(model, inputs_for(model), training=training, samples=6)
    assert len(errors) == 1 + len(model.trainable_slots())
    assert max(errors.values()) < TOL, max(errors.items(), key=lambda kv: kv[1])


def test_gradient_of_the_loss_through_the_unet():
    """d(cross-entropy)/d(weights) by backward vs differences, on a few weights."""
    model = tiny_unet(activation="tanh")
    x = inputs_for(model)[0]
    y = np.eye(3)[np.random.default_rng(1).integers(0, 3, (2, 8, 12))]
    loss = losses.CategoricalCrossentropy()
    loss(y, model.forward(x, training=True))
    model.backward(loss.backward())
    h = 1e-5
    for layer, key in model.trainable_slots()[::3]:
        w = layer.params[key].reshape(-1)
        i = int(np.argmax(np.abs(layer.grads[key]).reshape(-1)))
        w[i] += h
        plus = loss(y, model.forward(x, training=True))
        w[i] -= 2 * h
        minus = loss(y, model.forward(x, training=True))
        w[i] += h
        numeric = (plus - minus) / (2 * h)
        assert rel_error(layer.grads[key].reshape(-1)[i], numeric) < TOL, (layer.name, key)


def _randomised(model, seed=3):
    """Every weight random, biases included: with zero biases a convolution of
    an all-zero (dead) neighbourhood is exactly 0, a ReLU kink that central
    differences straddle. Moving variances stay positive."""
    rng = np.random.default_rng(seed)
    weights = []
    for layer in model.layers:
        for key, w in layer.params.items():
            if key == "moving_variance":
                weights.append(rng.uniform(0.5, 2.0, w.shape))
            elif key == "bias":
                weights.append(rng.choice([-1.0, 1.0], w.shape) * rng.uniform(0.05, 0.3, w.shape))
            else:
                weights.append(0.5 * rng.standard_normal(w.shape))
    model.set_weights(weights)
    return model


@pytest.mark.parametrize("kwargs", [{}, {"upsampling": "transpose"}])
def test_relu_unet_gradcheck_end_to_end(kwargs, backend):
    """The ReLU U-Net of test_relu_unet_gradients_match_keras, against central
    differences instead. Pooling windows tie where every unit behind them is
    dead (all 0); the gradient through them is 0 whichever unit it is routed
    to, and differences agree, since a dead unit stays dead under a 1e-5 step.
    The test asserts such ties exist, so it covers them."""
    model = _randomised(tiny_unet(**kwargs))
    x = inputs_for(model)[0]
    pools = [layer for layer in model.layers if isinstance(layer, layers.MaxPooling2D)]
    dead_windows = 0
    for pool in pools:
        before = models.Model(model.inputs[0], pool._inbound[0]).forward(x, training=True)
        n, h, w, c = before.shape
        windows = before.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        dead_windows += int(np.sum(windows == 0))
    assert dead_windows > 0, "no tied (all-dead) pooling window: the test would not cover ties"
    errors = model_gradient_errors(model, [x], training=True, samples=2)
    assert len(errors) == 1 + len(model.trainable_slots())
    assert max(errors.values()) < TOL, max(errors.items(), key=lambda kv: kv[1])


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("kwargs", [{}, {"upsampling": "transpose"}])
def test_relu_unet_gradients_match_keras(kwargs, backend):
    """The tiny ReLU U-Net, ties and dead units included, against tf.GradientTape."""
    model = tiny_unet(**kwargs)
    kmodel = keras_unet((8, 12, 1), 3, filters=(2, 3), bottleneck=4, **kwargs)
    kmodel.set_weights(model.get_weights())
    x = inputs_for(model)[0]
    y = np.eye(3)[np.random.default_rng(1).integers(0, 3, (2, 8, 12))]
    loss = losses.CategoricalCrossentropy()
    loss(y, model.forward(x, training=True))
    model.backward(loss.backward())
    _, _, k_grads = keras_loss_gradients(kmodel, x, y, training=True)
    grads = [layer.grads[key] for layer, key in model.trainable_slots()]
    assert max(rel_error(g, k) for g, k in zip(grads, k_grads)) < 1e-9


def test_course_architecture():
    model = models.unet((104, 104, 1), 2)
    names = [type(layer).__name__ for layer in model.layers]
    level = ["Conv2D", "Conv2D"]
    assert names == (["InputLayer", "BatchNormalization"]
                     + (level + ["MaxPooling2D"]) * 3 + level
                     + (["UpSampling2D", "Concatenate"] + level) * 3 + ["Conv2D"])
    concat = [layer for layer in model.layers if isinstance(layer, layers.Concatenate)]
    # the upsampled tensor first, then the skip of the same level
    assert [[t.shape[-1] for t in c._inbound] for c in concat] == [[256, 128], [128, 64],
                                                                    [64, 32]]
    assert model.output_shape == (None, 104, 104, 2)


def test_dropout_after_every_pair_of_convolutions():
    model = tiny_unet(dropout=0.25)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Dropout") == 5
    for i, kind in enumerate(kinds):
        if kind == "Dropout":
            assert kinds[i - 2:i] == ["Conv2D", "Conv2D"]
    assert tiny_unet().count_params() == model.count_params()


def test_valid_padding_is_the_paper_unet():
    assert models.valid_unet_output_size(572, 4) == 388        # Ronneberger et al.
    model = tiny_unet(padding="valid", input_shape=(44, 48, 1))
    assert model.output_shape == (None, 4, 8, 3)
    assert sum(isinstance(layer, layers.Cropping2D) for layer in model.layers) == 2


def test_valid_padding_unet_crops_and_wiring_by_hand():
    """Input 44 x 48, two levels of two 3x3 'valid' convolutions (-4 each):
        height 44 -> 40 (skip 1) -> pool 20 -> 16 (skip 2) -> pool 8 -> 4
               -> up 8: skip 2 cropped 16 -> 8, (4, 4) -> 4 -> up 8: skip 1
               cropped 40 -> 8, (16, 16) -> 4
        width  48 -> 44 -> 22 -> 18 -> 9 -> 5 -> up 10: crop 18 -> 10, (4, 4)
               -> 6 -> up 12: crop 44 -> 12, (16, 16) -> 8
    The model's output equals the same layers called one by one, with the
    skips cut by hand, centred, and concatenated after the upsampled map."""
    model = _randomised(tiny_unet(padding="valid", input_shape=(44, 48, 1)))
    crops = [layer.cropping for layer in model.layers if isinstance(layer, layers.Cropping2D)]
    assert sorted(crops) == [((4, 4), (4, 4)), ((16, 16), (16, 16))]

    kinds = lambda cls: [layer for layer in model.layers if isinstance(layer, cls)]  # noqa: E731
    convs, ups = kinds(layers.Conv2D), kinds(layers.UpSampling2D)
    bn, pools = kinds(layers.BatchNormalization)[0], kinds(layers.MaxPooling2D)
    x = inputs_for(model)[0]
    h = bn(x)
    skip1 = convs[1](convs[0](h))                                   # (2, 40, 44, 2)
    skip2 = convs[3](convs[2](pools[0](skip1)))                     # (2, 16, 18, 3)
    h = convs[5](convs[4](pools[1](skip2)))                         # (2, 4, 5, 4)
    h = np.concatenate([ups[0](h), skip2[:, 4:-4, 4:-4]], axis=-1)  # (2, 8, 10, 7)
    h = convs[7](convs[6](h))                                       # (2, 4, 6, 3)
    h = np.concatenate([ups[1](h), skip1[:, 16:-16, 16:-16]], axis=-1)  # (2, 8, 12, 5)
    expected = convs[10](convs[9](convs[8](h)))                     # (2, 4, 8, 3)
    assert expected.shape == (2, 4, 8, 3)
    assert np.array_equal(model.predict(x, verbose=0), expected)


def test_transpose_upsampling_builder_settings():
    """upsampling='transpose' is Conv2DTranspose(f, 2, strides=2, 'same'),
    no activation, f the filters of its level, then the skip concatenated."""
    model = tiny_unet(upsampling="transpose")
    ups = [layer for layer in model.layers if isinstance(layer, layers.Conv2DTranspose)]
    assert [(u.filters, u.kernel_size, u.strides, u.padding, u.activation, u.output_padding,
             u.use_bias) for u in ups] == [(3, (2, 2), (2, 2), "same", None, None, True),
                                           (2, (2, 2), (2, 2), "same", None, None, True)]
    concat = [layer for layer in model.layers if isinstance(layer, layers.Concatenate)]
    assert [c._inbound[0].layer for c in concat] == ups
    assert [[t.shape for t in c._inbound] for c in concat] == [
        [(None, 4, 6, 3), (None, 4, 6, 3)], [(None, 8, 12, 2), (None, 8, 12, 2)]]
    assert not any(isinstance(layer, layers.UpSampling2D) for layer in model.layers)


@pytest.mark.usefixtures("keras")
def test_valid_padding_unet_matches_keras():
    model = tiny_unet(padding="valid", input_shape=(44, 48, 1))
    kmodel = keras_unet((44, 48, 1), 3, filters=(2, 3), bottleneck=4, padding="valid")
    kmodel.set_weights(model.get_weights())
    x = inputs_for(model)[0]
    assert rel_error(model.predict(x, verbose=0), kmodel(x).numpy()) < 1e-10


@pytest.mark.usefixtures("keras")
def test_transpose_upsampling_matches_keras():
    model = tiny_unet(upsampling="transpose")
    kmodel = keras_unet((8, 12, 1), 3, filters=(2, 3), bottleneck=4, upsampling="transpose")
    kmodel.set_weights(model.get_weights())
    x = inputs_for(model)[0]
    assert rel_error(model.forward(x, training=True), kmodel(x, training=True).numpy()) < 1e-10


def test_sizes_that_do_not_fit_say_what_would():
    with pytest.raises(ValueError, match=r"height 110 is not divisible by 2\*\*3 = 8 .* pad "
                                         r"the images to 112 \(add 1 before and 1 after"):
        models.unet((110, 96, 1), 3)
    with pytest.raises(ValueError, match=r"width 92 is not divisible .* to 96 \(add 2 before"):
        models.unet((112, 92, 1), 3)
    models.unet((112, 96, 1), 3, filters=(4,), bottleneck=4)        # fits: no error
    with pytest.raises(ValueError, match=r"height 50 does not fit.* of 48 or 52"):
        models.unet((50, 44, 1), 2, filters=(2, 2), bottleneck=2, padding="valid")


def test_argument_errors():
    with pytest.raises(ValueError, match="n_classes=1 with a softmax"):
        models.unet((16, 16, 1), 1)
    assert models.unet((16, 16, 1), 1, filters=(2,), bottleneck=2,
                       final_activation="sigmoid").output_shape == (None, 16, 16, 1)
    with pytest.raises(ValueError, match="upsampling must be one of"):
        models.unet((16, 16, 1), 2, upsampling="bilinear")
    with pytest.raises(ValueError, match="padding must be one of"):
        models.unet((16, 16, 1), 2, padding="full")
    with pytest.raises(ValueError, match="at least one level"):
        models.unet((16, 16, 1), 2, filters=())
    with pytest.raises(ValueError, match=r"input_shape must be \(height, width, channels\)"):
        models.unet((16, 16), 2)
    with pytest.raises(ValueError, match=r"dropout must be a float in \[0, 1\)"):
        models.unet((16, 16, 1), 2, dropout=1.0)
    with pytest.raises(TypeError, match="filters must be an integer"):
        models.unet((16, 16, 1), 2, filters=(2.5,))
