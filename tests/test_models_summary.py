"""summary() and count_params(): the course's numbers, checked against Keras.

| model (course-notes.md)            | params    |
|------------------------------------|-----------|
| slide demo, 1 / 2 / 3 layers       | 42 / 126 / 210 |
| simple CNN (+ dropout, dilation)   | 4,851     |
| 5-layer 5x5 exercise               | 24,379    |
| U-Net on (104, 104, 1), 2 classes  | 1,946,342, 2 non-trainable |
"""
import re

import numpy as np
import pytest

from keras_models import keras_conv_stack, keras_unet
from minicnn import layers, models

COURSE = [
    (lambda: models.slide_demo(1), lambda: keras_conv_stack((110, 92, 1), 3, (3,), dropout=0.0), 42),
    (lambda: models.slide_demo(2), lambda: keras_conv_stack((110, 92, 1), 3, (3, 3), dropout=0.0), 126),
    (lambda: models.slide_demo(3), lambda: keras_conv_stack((110, 92, 1), 3, (3,) * 3, dropout=0.0), 210),
    (lambda: models.simple_cnn(), lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3), 4851),
    (lambda: models.simple_cnn(dropout=0.2),
     lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3, dropout=0.2), 4851),
    (lambda: models.simple_cnn(dilation_rate=2),
     lambda: keras_conv_stack((110, 92, 1), 3, (16,) * 3, dilation_rate=2), 4851),
    (lambda: models.five_layer_cnn(),
     lambda: keras_conv_stack((110, 92, 1), 3, (8, 8, 16, 16, 32), kernel_size=5), 24379),
]


def summary_text(model):
    lines = []
    model.summary(print_fn=lines.append)
    return "\n".join(lines)


def totals(text):
    def number(label):
        return int(re.search(rf"^{label} params: ([\d,]+)$", text, re.M).group(1).replace(",", ""))
    return number("Total"), number("Trainable"), number("Non-trainable")


@pytest.mark.parametrize("build, expected", [(build, expected) for build, _, expected in COURSE])
def test_course_counts_match_the_course(build, expected):
    model = build()
    assert model.count_params() == expected
    assert totals(summary_text(model)) == (expected, expected, 0)


def settings(layer):
    """(type, the settings that define it) of one layer, for the tables below."""
    kind = type(layer).__name__
    if kind == "InputLayer":
        return (kind, layer.output.shape[1:])
    if kind == "Conv2D":
        return (kind, layer.filters, layer.kernel_size, layer.strides, layer.padding,
                layer.dilation_rate, layer.activation, layer.use_bias)
    if kind == "Dropout":
        return (kind, layer.rate)
    raise AssertionError(kind)


def conv(filters, k, activation="relu", dilation=1, padding="same"):
    return ("Conv2D", filters, (k, k), (1, 1), padding, (dilation, dilation), activation, True)


HEAD = conv(3, 1, activation="softmax", padding="valid")     # Conv2D(3, 1, softmax)
INPUT = ("InputLayer", (110, 92, 1))

# The course's architectures written out layer by layer (course-notes.md):
# 3x3 'same' ReLU convolutions, Dropout where the builder puts it, and a 1x1
# softmax head; the 5-layer exercise with 5x5 kernels.
ARCHITECTURES = [
    (lambda: models.slide_demo(1), [INPUT, conv(3, 3), ("Dropout", 0.0), HEAD]),
    (lambda: models.slide_demo(2), [INPUT] + [conv(3, 3), ("Dropout", 0.0)] * 2 + [HEAD]),
    (lambda: models.slide_demo(3), [INPUT] + [conv(3, 3), ("Dropout", 0.0)] * 3 + [HEAD]),
    (lambda: models.simple_cnn(), [INPUT] + [conv(16, 3)] * 3 + [HEAD]),
    (lambda: models.simple_cnn(dropout=0.2),
     [INPUT] + [conv(16, 3), ("Dropout", 0.2)] * 3 + [HEAD]),
    # Dilation on the 3x3 convolutions only, not on the 1x1 head.
    (lambda: models.simple_cnn(dilation_rate=2), [INPUT] + [conv(16, 3, dilation=2)] * 3 + [HEAD]),
    (lambda: models.five_layer_cnn(), [INPUT] + [conv(f, 5) for f in (8, 8, 16, 16, 32)] + [HEAD]),
]


@pytest.mark.parametrize("build, expected", ARCHITECTURES, ids=[
    "slide_demo_1", "slide_demo_2", "slide_demo_3", "simple_cnn", "simple_cnn_dropout",
    "simple_cnn_dilation", "five_layer_cnn"])
def test_course_builders_layer_by_layer(build, expected):
    """Each builder's layers and their settings, so a misplaced Dropout, a
    dilated head or a lost activation fails (parameter counts cannot see
    any of these)."""
    assert [settings(layer) for layer in build().layers] == expected


@pytest.mark.parametrize("kwargs", [{}, {"dropout": 0.2}, {"dilation_rate": 2}])
def test_simple_cnn_predictions_from_the_loop_oracles(kwargs):
    """The whole model's values without Keras: three ReLU convolutions by the
    direct-loop oracle ('same', dilated if asked; Dropout is the identity at
    inference), then the 1x1 head and a softmax over the channels."""
    from minicnn.functional.reference import conv2d_direct
    model = models.simple_cnn((9, 7, 1), 3, dtype="float64", **kwargs)
    rng = np.random.default_rng(0)
    model.set_weights([rng.standard_normal(w.shape) * 0.5 for w in model.get_weights()])
    weights = model.get_weights()
    x = rng.standard_normal((2, 9, 7, 1))
    h, d = x, kwargs.get("dilation_rate", 1)
    for i in range(3):
        h = np.maximum(conv2d_direct(h, weights[2 * i], weights[2 * i + 1], (1, 1), "same",
                                     (d, d)), 0.0)
    z = conv2d_direct(h, weights[6], weights[7], (1, 1), "valid", (1, 1))
    expected = np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.usefixtures("keras")
@pytest.mark.parametrize("build, build_keras, expected", COURSE)
def test_course_counts_and_layers_match_keras(build, build_keras, expected):
    model, kmodel = build(), build_keras()
    assert model.count_params() == expected == kmodel.count_params()
    assert [type(layer).__name__ for layer in model.layers] == \
        [type(layer).__name__ for layer in kmodel.layers]


def test_course_unet_counts():
    model = models.unet((104, 104, 1), 2)
    text = summary_text(model)
    assert totals(text) == (1946342, 1946340, 2)
    assert model.count_params() == 1946342
    assert "Total params: 1,946,342" in text


@pytest.mark.usefixtures("keras")
def test_course_unet_counts_match_keras():
    model = models.unet((104, 104, 1), 2)
    kmodel = keras_unet((104, 104, 1), 2)
    assert model.count_params() == kmodel.count_params() == 1946342
    non_trainable = sum(w.numpy().size for w in kmodel.non_trainable_weights)
    assert non_trainable == 2


def conv_params(c_in, filters, k=3):
    """kh * kw * C_in * F + F."""
    return k * k * c_in * filters + filters


def test_unet_variants_counted_by_hand():
    """U-Nets on (32, 32, 1) with 3 classes. The default (filters 32, 64, 128,
    bottleneck 256, nearest upsampling, input BatchNormalization on 1 channel):
        BN 4; encoder 320 + 9,248, 18,496 + 36,928, 73,856 + 147,584;
        bottleneck 295,168 + 590,080; decoder (upsampled 2f + skip f = 3f in):
        442,496 + 147,584, 110,656 + 36,928, 27,680 + 9,248; head 32 * 3 + 3 = 99
        total 1,946,375
    upsampling='transpose': each level adds Conv2DTranspose(f, 2, strides=2)
    on 2f channels, 4 * 2f * f + f, but concatenates f + f = 2f channels
    instead of 3f, so its first decoder convolution has 9 * f * f fewer:
        1,946,375 + sum over f of (f - f**2) = 1,946,375 - 21,280 = 1,925,095
    four levels (8, 16, 32, 64) with a 128 bottleneck: 491,015
    no input BatchNormalization (dropout adds nothing): 1,946,375 - 4 = 1,946,371"""
    def count(filters, bottleneck, transpose=False, batchnorm=True):
        total = 4 if batchnorm else 0
        c = 1
        for f in filters:
            total += conv_params(c, f) + conv_params(f, f)
            c = f
        total += conv_params(c, bottleneck) + conv_params(bottleneck, bottleneck)
        c = bottleneck
        for f in reversed(filters):
            if transpose:
                total += conv_params(c, f, k=2)       # kernel (2, 2, f, c): 4 c f + f
                c = f
            total += conv_params(c + f, f) + conv_params(f, f)
            c = f
        return total + conv_params(c, 3, k=1)

    assert count((32, 64, 128), 256) == 1946375
    assert count((32, 64, 128), 256, transpose=True) == 1946375 - 21280 == 1925095
    assert count((8, 16, 32, 64), 128) == 491015
    assert count((32, 64, 128), 256, batchnorm=False) == 1946371
    for kwargs, expected in [({}, 1946375), ({"upsampling": "transpose"}, 1925095),
                             ({"filters": (8, 16, 32, 64), "bottleneck": 128}, 491015),
                             ({"input_batchnorm": False, "dropout": 0.1}, 1946371)]:
        assert models.unet((32, 32, 1), 3, **kwargs).count_params() == expected, kwargs


def test_transpose_unet_weight_shapes_written_out():
    """Keras's weight order: layer by layer, kernel then bias (BN: gamma,
    beta, moving mean, moving variance); Conv2DTranspose kernels are
    (kh, kw, F, C_in)."""
    level = lambda c, f: [(3, 3, c, f), (f,), (3, 3, f, f), (f,)]         # noqa: E731
    up = lambda c, f: [(2, 2, f, c), (f,)]                                # noqa: E731
    expected = ([(1,)] * 4 + level(1, 32) + level(32, 64) + level(64, 128)
                + level(128, 256)
                + up(256, 128) + level(256, 128)
                + up(128, 64) + level(128, 64)
                + up(64, 32) + level(64, 32)
                + [(1, 1, 32, 3), (3,)])
    model = models.unet((32, 32, 1), 3, upsampling="transpose")
    assert [w.shape for w in model.get_weights()] == expected


@pytest.mark.usefixtures("keras")
def test_unet_variants_count_like_keras():
    for kwargs in ({"upsampling": "transpose"}, {"filters": (8, 16, 32, 64), "bottleneck": 128},
                   {"input_batchnorm": False, "dropout": 0.1}):
        model = models.unet((32, 32, 1), 3, **kwargs)
        kmodel = keras_unet((32, 32, 1), 3, **kwargs)
        assert model.count_params() == kmodel.count_params(), kwargs
        assert [w.shape for w in model.get_weights()] == \
            [tuple(w.shape) for w in kmodel.get_weights()], kwargs


def test_functional_table_rows():
    text = summary_text(models.slide_demo(1))
    rows = [line.split() for line in text.splitlines()]
    assert text.splitlines()[0].startswith('Model: "')
    assert "Connected to" in text
    conv = next(r for r in rows if r[1:2] == ["(Conv2D)"])
    assert conv[2:6] == ["(None,", "110,", "92,", "3)"] and conv[6] == "30"
    assert conv[7].endswith("[0][0]") and conv[7].startswith("input_layer")
    assert any(r[1:2] == ["(InputLayer)"] for r in rows)


def test_functional_table_written_out_for_a_tiny_model():
    """Each column is as wide as its longest cell plus 2 ("bn
    (BatchNormalization)" is 23 characters: 25; "(None, 4, 4, 1)" 15: 17;
    "Param #" 7: 9; "image[0][0]" 11: 14), each line starts with a space and
    loses its trailing ones, and the rules span 25 + 17 + 9 + 14 + 1 = 66.
    Counts: conv 3 * 3 * 1 * 2 + 2 = 20; bn 4 * 2 = 8, of which the moving
    mean and variance (4) are non-trainable."""
    x = layers.Input((4, 4, 1), name="image")
    h = layers.Conv2D(2, 3, padding="same", name="conv")(x)
    model = models.Model(x, layers.BatchNormalization(name="bn")(h), name="tiny")
    assert summary_text(model).splitlines() == [
        'Model: "tiny"',
        "_" * 66,
        " Layer (type)             Output Shape     Param #  Connected to",
        "=" * 66,
        " image (InputLayer)       (None, 4, 4, 1)  0        -",
        " conv (Conv2D)            (None, 4, 4, 2)  20       image[0][0]",
        " bn (BatchNormalization)  (None, 4, 4, 2)  8        conv[0][0]",
        "=" * 66,
        "Total params: 28",
        "Trainable params: 24",
        "Non-trainable params: 4",
        "_" * 66,
    ]


def test_sequential_table_written_out_for_a_tiny_model():
    """No input row and no "Connected to" column: 25 + 17 + 9 + 1 = 52 wide."""
    model = models.Sequential([layers.Input((4, 4, 1)),
                               layers.Conv2D(2, 3, padding="same", name="conv"),
                               layers.BatchNormalization(name="bn")])
    lines = summary_text(model).splitlines()
    assert lines[0].startswith('Model: "') and lines[1:] == [
        "_" * 52,
        " Layer (type)             Output Shape     Param #",
        "=" * 52,
        " conv (Conv2D)            (None, 4, 4, 2)  20",
        " bn (BatchNormalization)  (None, 4, 4, 2)  8",
        "=" * 52,
        "Total params: 28",
        "Trainable params: 24",
        "Non-trainable params: 4",
        "_" * 52,
    ]


def test_merge_rows_list_every_input():
    text = summary_text(models.unet((16, 16, 1), 2, filters=(2,), bottleneck=4))
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if "(Concatenate)" in line)
    assert "up_sampling2d" in lines[i] and "conv2d" in lines[i + 1].strip()


def test_sequential_table_has_no_input_row_and_no_connections():
    model = models.Sequential([layers.Input((8, 8, 1)), layers.Conv2D(3, 3, padding="same"),
                               layers.BatchNormalization()])
    text = summary_text(model)
    assert "InputLayer" not in text and "Connected to" not in text
    assert totals(text) == (30 + 12, 30 + 6, 6)


def test_frozen_layer_counts_as_non_trainable(capsys):
    model = models.simple_cnn((8, 8, 1), 3)
    model.layers[1].trainable = False                 # 160 weights frozen
    model.summary()
    assert totals(capsys.readouterr().out) == (4851, 4851 - 160, 160)
