"""compile / fit / evaluate / predict: learning, bookkeeping, data, errors."""
import io

import numpy as np
import pytest

from minicnn import layers, losses, metrics, models, optimizers, set_random_seed
from minicnn.models.progress import Progbar

F64 = "float64"


def toy_data(n=6, size=8, classes=2, seed=0, dtype=F64):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, size, size, 1)).astype(dtype)
    bins = np.linspace(-0.5, 0.5, classes - 1)
    y = np.eye(classes)[np.digitize(x[..., 0], bins)].astype(dtype)
    return x, y


def small_net(classes=2, dtype=F64, dropout=None):
    return models.conv_stack((8, 8, 1), classes, (4,), dropout=dropout, dtype=dtype)


def test_overfits_a_tiny_batch():
    """A small U-Net learns 3-class labels of 4 images to near-zero loss."""
    set_random_seed(0)
    x, y = toy_data(n=4, size=16, classes=3, dtype="float32")
    model = models.unet((16, 16, 1), 3, filters=(8, 16), bottleneck=16)
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, batch_size=4, epochs=100, verbose=0)
    assert history.history["loss"][0] > 0.9
    assert history.history["loss"][-1] < 0.01
    assert history.history["accuracy"][-1] == 1.0
    assert model.evaluate(x, y, verbose=0)[1] == 1.0


def test_same_seed_same_weights_bit_for_bit():
    x, y = toy_data(n=10)

    def train(seed):
        set_random_seed(seed)
        model = small_net(dropout=0.3)
        model.compile("adam", "categorical_crossentropy")
        model.fit(x, y, batch_size=3, epochs=3, verbose=0)     # shuffled, dropout
        return model.get_weights()

    a, b, c = train(5), train(5), train(6)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not all(np.array_equal(u, v) for u, v in zip(a, c))


def test_history_has_keras_keys_and_epoch_means():
    x, y = toy_data(n=8)
    model = small_net()
    model.compile("sgd", "categorical_crossentropy", metrics=["accuracy", "dice"])
    history = model.fit(x, y, batch_size=3, epochs=2, validation_data=(x[:3], y[:3]),
                        verbose=0)
    assert list(history.history) == ["loss", "accuracy", "dice", "val_loss",
                                     "val_accuracy", "val_dice"]
    assert history.epoch == [0, 1] and len(history.history["val_dice"]) == 2
    assert model.history is history
    # val_loss is the loss of the weights at the end of the epoch
    assert history.history["val_loss"][-1] == pytest.approx(
        model.evaluate(x[:3], y[:3], verbose=0)[0], rel=1e-12)


def test_validation_split_takes_the_last_samples_before_shuffling():
    x, y = toy_data(n=8)

    def run(x_train, y_train, **kwargs):
        set_random_seed(1)
        model = small_net()
        model.compile("sgd", "categorical_crossentropy")
        return model.fit(x_train, y_train, batch_size=2, epochs=2, verbose=0,
                         **kwargs).history

    split = run(x, y, validation_split=0.25)
    explicit = run(x[:6], y[:6], validation_data=(x[6:], y[6:]))
    assert split == explicit
    assert split != run(x[2:], y[2:], validation_data=(x[:2], y[:2]))


def test_streams_train_like_arrays():
    """A list of batches, a Sequence and a generator give the weights arrays give."""
    x, y = toy_data(n=6)
    batches = [(x[i:i + 2], y[i:i + 2]) for i in range(0, 6, 2)]

    class Seq:
        def __init__(self):
            self.ends = 0

        def __len__(self):
            return len(batches)

        def __getitem__(self, i):
            return batches[i]

        def on_epoch_end(self):
            self.ends += 1

    def forever():
        while True:
            yield from batches

    def train(data, **kwargs):
        set_random_seed(2)
        model = small_net()
        model.compile("adam", "categorical_crossentropy", ["accuracy"])
        history = model.fit(data, epochs=2, verbose=0, **kwargs)
        return model.get_weights(), history.history

    reference, ref_history = train(x, y=y, batch_size=2, shuffle=False)
    seq = Seq()
    for data, kwargs in ((batches, {}), (seq, {}), (forever(), {"steps_per_epoch": 3})):
        weights, history = train(data, **kwargs)
        assert all(np.array_equal(a, b) for a, b in zip(weights, reference))
        assert history == ref_history
    assert seq.ends == 2


def test_one_shot_generator_without_steps_runs_out():
    x, y = toy_data(n=4)
    model = small_net()
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match="the data ran out"):
        model.fit(((x[i:i + 2], y[i:i + 2]) for i in (0, 2)), epochs=2, verbose=0)


def test_predict_and_evaluate_are_batched():
    x, y = toy_data(n=7)
    model = small_net()
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    np.testing.assert_allclose(model.predict(x, batch_size=3, verbose=0), model(x),
                               rtol=1e-13, atol=1e-15)
    whole = model.evaluate(x, y, batch_size=7, verbose=0)
    batched = model.evaluate(x, y, batch_size=2, verbose=0)
    assert batched == pytest.approx(whole, rel=1e-12)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "accuracy"]
    stream = model.predict(iter([x[:4], x[4:]]), verbose=0)      # batches of x alone
    np.testing.assert_allclose(stream, model(x), rtol=1e-13, atol=1e-15)


def test_train_on_batch_and_test_on_batch():
    x, y = toy_data(n=4)
    model = small_net()
    model.compile(optimizers.SGD(0.1), losses.CategoricalCrossentropy(),
                  [metrics.CategoricalAccuracy()])
    before = model.get_weights()
    loss, acc = model.test_on_batch(x, y)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert loss == pytest.approx(losses.CategoricalCrossentropy()(y, model(x)))
    assert 0 <= acc <= 1
    first = model.train_on_batch(x, y, return_dict=True)
    assert first["loss"] == pytest.approx(loss)
    assert model.train_on_batch(x, y)[0] < first["loss"]
    assert model.metrics_names == ["loss", "categorical_accuracy"]


def test_multi_input_model_trains():
    a, b = layers.Input((6, 6, 1), dtype=F64), layers.Input((6, 6, 2), dtype=F64)
    merged = layers.Concatenate(dtype=F64)([a, b])
    out = layers.Conv2D(2, 3, padding="same", activation="softmax", dtype=F64)(merged)
    model = models.Model([a, b], out)
    model.compile("adam", "categorical_crossentropy")
    rng = np.random.default_rng(0)
    xa, xb = rng.standard_normal((5, 6, 6, 1)), rng.standard_normal((5, 6, 6, 2))
    y = np.eye(2)[rng.integers(0, 2, (5, 6, 6))]
    history = model.fit([xa, xb], y, batch_size=2, epochs=2, validation_split=0.4, verbose=0)
    assert len(history.history["val_loss"]) == 2
    assert model.predict([xa, xb], verbose=0).shape == (5, 6, 6, 2)


def test_sparse_labels_and_lazy_sequential():
    x, y = toy_data(n=4)
    labels = y.argmax(-1)
    model = models.Sequential([layers.Conv2D(2, 3, padding="same", activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(x, labels, epochs=2, verbose=0)
    assert model.built and len(history.history["loss"]) == 2


# ------------------------------------------------------------------ progress
def test_verbose_levels(capsys):
    x, y = toy_data(n=4)
    model = small_net()
    model.compile("adam", "categorical_crossentropy", ["accuracy"])
    model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    assert capsys.readouterr().out == ""
    model.fit(x, y, batch_size=2, epochs=2, verbose=1, validation_data=(x, y))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("2/2 [==============================] - ")
    assert "/step - loss: " in lines[1] and " - val_accuracy: " in lines[1]
    model.fit(x, y, batch_size=2, epochs=1, verbose=2)
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("2/2 - ") and "[" not in out[1]


def test_progress_bar_redraws_in_place_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    bar = Progbar(4, verbose=1, stream=stream, interval=0.0)
    for step in range(1, 4):
        bar.update(step, {"loss": 1.0 / step})
    bar.update(4, {"loss": 0.25}, finalize=True)
    text = stream.getvalue()
    assert text.count("\r") == 4 and "ETA: " in text and "steps/s" in text
    assert text.endswith("\n") and "4/4 [==============================]" in text
    unknown = Progbar(None, verbose=1, stream=Terminal(), interval=0.0)
    unknown.update(3)
    assert "3/Unknown" in unknown.stream.getvalue()


# -------------------------------------------------------------------- errors
def test_bad_input_raises_clear_errors():
    x, y = toy_data(n=4)
    model = small_net()
    with pytest.raises(ValueError, match="call model.compile"):
        model.fit(x, y, verbose=0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        model.compile("adamm", "categorical_crossentropy")
    with pytest.raises(ValueError, match="unknown loss 'categorical_crossentropyy'"):
        model.compile("adam", "categorical_crossentropyy")
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        model.compile("adam", "categorical_crossentropy", ["acuracy"])
    with pytest.raises(ValueError, match="loss is required"):
        model.compile("adam")
    model.compile("adam", "categorical_crossentropy")
    with pytest.raises(ValueError, match=r"same number of samples, got x \(4, 8, 8, 1\) "
                                         r"and y \(3, 8, 8, 2\)"):
        model.fit(x, y[:3], verbose=0)
    three = np.concatenate([y, np.zeros(y.shape[:-1] + (1,))], axis=-1)
    with pytest.raises(ValueError, match="y has 3 classes on its last axis, but the "
                                         "model's output .* has 2 channels"):
        model.fit(x, three, verbose=0)
    with pytest.raises(ValueError, match="y has 3 classes"):
        model.evaluate(x, three, verbose=0)
    with pytest.raises(ValueError, match=r"y must have shape \(N,\) \+ \(8, 8, 2\)"):
        model.fit(x, y[:, :6], verbose=0)
    with pytest.raises(ValueError, match="y is missing"):
        model.fit(x, verbose=0)
    with pytest.raises(ValueError, match=r"x must have shape \(N,\) \+ \(8, 8, 1\)"):
        model.fit(x[..., 0], y, verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be a float in \(0, 1\)"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(ValueError, match="y must be None"):
        model.fit([(x, y)], y, verbose=0)
    with pytest.raises(ValueError, match="each batch must be an"):
        model.fit([(x, y, y)], verbose=0)
    with pytest.raises(ValueError, match="y has 3 classes"):
        model.fit([(x, three)], verbose=0)
    with pytest.raises(ValueError, match="verbose must be"):
        model.fit(x, y, verbose=3)
    with pytest.raises(ValueError, match="batch_size must be"):
        model.fit(x, y, batch_size=0, verbose=0)
    two_out = models.Model(model.inputs[0], [model.layers[1].output, model.outputs[0]])
    with pytest.raises(ValueError, match="single-output models"):
        two_out.compile("adam", "categorical_crossentropy")
