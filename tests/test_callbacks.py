"""Callbacks: EarlyStopping, ModelCheckpoint, CSVLogger, TerminateOnNaN, History.

Monitored values are scripted: a callback listed first overwrites the epoch
logs with a chosen sequence, and marks the weights with the epoch number, so
what each callback keeps or restores can be read off exactly.
"""
import csv

import numpy as np
import pytest

from minicnn import callbacks, models


class Script(callbacks.Callback):
    """Set logs[key] to values[epoch] and every weight to the epoch number."""

    def __init__(self, key, values):
        super().__init__()
        self.key, self.values = key, values

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.model.set_weights([np.full(w.shape, float(epoch)) for w in self.model.get_weights()])


def make_model():
    model = models.conv_stack((4, 4, 1), 2, (2,), dtype="float64")
    model.compile("sgd", "categorical_crossentropy", ["accuracy"])
    return model


def data(n=4):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, 4, 4, 1))
    return x, np.eye(2)[(x[..., 0] > 0).astype(int)]


def fit(model, cbs, epochs, **kwargs):
    x, y = data()
    return model.fit(x, y, batch_size=4, epochs=epochs, callbacks=cbs, verbose=0, **kwargs)


def weights_epoch(model):
    """The epoch number the Script callback wrote into the weights."""
    values = {float(v) for w in model.get_weights() for v in np.unique(w)}
    assert len(values) == 1
    return values.pop()


# --------------------------------------------------------------- EarlyStopping
# (monitored values, patience, min_delta, mode, and worked by hand: the epoch
# it stops at (0: it never stops), the best epoch). Keras's rule: an epoch
# improves when it beats the best by more than min_delta; otherwise `wait`
# grows, and training stops at the epoch where wait reaches patience.
EARLY_STOPPING = [
    # best 0.5 at epoch 1; epochs 2, 3 do not improve: wait 2 = patience at 3
    ([1.0, 0.5, 0.6, 0.7, 0.8, 0.9], 2, 0.0, "min", 3, 1),
    # 0.9 beats 1.0 by more than 0.05; 0.89 does not beat 0.9 by 0.05: stop at 2
    ([1.0, 0.9, 0.89, 0.88, 0.87, 0.86], 1, 0.05, "min", 2, 1),
    # best 0.3 at epoch 1; 0.2, 0.2 do not improve: stop at 3 (0.4 never seen)
    ([0.1, 0.3, 0.2, 0.2, 0.4, 0.1, 0.1], 2, 0.0, "max", 3, 1),
    # every epoch improves: it never stops, the last epoch is the best
    ([1.0, 0.8, 0.6, 0.4, 0.2], 0, 0.0, "min", 0, 4),
]


@pytest.mark.parametrize("values, patience, min_delta, mode, stopped, best", EARLY_STOPPING)
def test_early_stopping_as_worked_by_hand(values, patience, min_delta, mode, stopped, best):
    stopper = callbacks.EarlyStopping("val_score", patience=patience, min_delta=min_delta,
                                      mode=mode, restore_best_weights=True)
    model = make_model()
    history = fit(model, [Script("val_score", values), stopper], epochs=len(values))
    assert stopper.stopped_epoch == stopped and stopper.best_epoch == best
    assert len(history.epoch) == (stopped + 1 if stopped else len(values))
    assert weights_epoch(model) == best                      # the best weights restored


@pytest.mark.parametrize("values, patience, min_delta, mode",
                         [case[:4] for case in EARLY_STOPPING])
def test_early_stopping_matches_keras(values, patience, min_delta, mode, keras):
    stopper = callbacks.EarlyStopping("val_score", patience=patience, min_delta=min_delta,
                                      mode=mode, restore_best_weights=True)
    model = make_model()
    history = fit(model, [Script("val_score", values), stopper], epochs=len(values))

    class FakeKerasModel:                     # what Keras's callback touches
        stop_training = False

        def get_weights(self):
            return [self.epoch]

        def set_weights(self, weights):
            self.restored = weights[0]

    fake = FakeKerasModel()
    k_stopper = keras.callbacks.EarlyStopping("val_score", patience=patience,
                                              min_delta=min_delta, mode=mode,
                                              restore_best_weights=True)
    k_stopper.set_model(fake)
    k_stopper.on_train_begin()
    for epoch, value in enumerate(values):
        fake.epoch = epoch
        k_stopper.on_epoch_end(epoch, {"val_score": value})
        if fake.stop_training:
            break
    k_stopper.on_train_end()
    assert len(history.epoch) == epoch + 1
    assert stopper.stopped_epoch == k_stopper.stopped_epoch
    assert stopper.best_epoch == k_stopper.best_epoch
    assert weights_epoch(model) == fake.restored == stopper.best_epoch


def test_early_stopping_mode_auto_and_errors():
    assert callbacks.EarlyStopping("val_loss").direction == "min"
    assert callbacks.EarlyStopping("val_accuracy").direction == "max"
    assert callbacks.EarlyStopping("dice").direction == "max"
    with pytest.raises(ValueError, match="pass mode='min' or mode='max'"):
        callbacks.EarlyStopping("val_score")
    with pytest.raises(ValueError, match="mode must be"):
        callbacks.EarlyStopping("val_loss", mode="lowest")
    with pytest.raises(ValueError, match="'val_loss' is not in the epoch logs"):
        fit(make_model(), [callbacks.EarlyStopping()], epochs=1)


# ------------------------------------------------------------- ModelCheckpoint
def test_checkpoint_best_only_keeps_the_lowest_val_loss(tmp_path):
    path = tmp_path / "best.npz"
    values = [0.5, 0.3, 0.4, 0.2, 0.6]
    model = make_model()
    checkpoint = callbacks.ModelCheckpoint(path, save_best_only=True)
    fit(model, [Script("val_loss", values), checkpoint], epochs=5)
    fresh = make_model()
    fresh.load_weights(path)
    assert weights_epoch(fresh) == 3.0 and checkpoint.best == 0.2


def test_checkpoint_mode_max_on_a_loss_warns_and_keeps_the_worst(tmp_path):
    """The course notebook's slip, reproduced on purpose."""
    path = tmp_path / "worst.npz"
    with pytest.warns(UserWarning, match="did you mean mode='min'"):
        checkpoint = callbacks.ModelCheckpoint(path, monitor="val_loss", mode="max",
                                               save_best_only=True)
    model = make_model()
    fit(model, [Script("val_loss", [0.5, 0.3, 0.4, 0.2, 0.6]), checkpoint], epochs=5)
    fresh = make_model()
    fresh.load_weights(path)
    assert weights_epoch(fresh) == 4.0


@pytest.mark.usefixtures("h5py")               # the pattern names .weights.h5 files
def test_checkpoint_every_epoch_with_a_formatted_name(tmp_path):
    pattern = str(tmp_path / "w-{epoch:02d}-{val_loss:.2f}.weights.h5")
    fit(make_model(), [Script("val_loss", [0.5, 0.25]),
                       callbacks.ModelCheckpoint(pattern)], epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-01-0.50.weights.h5",
                                                           "w-02-0.25.weights.h5"]


def test_checkpoint_every_epoch_with_a_formatted_npz_name(tmp_path):
    """The name pattern needs no h5py: {epoch:02d} is 1-based, as in Keras, and
    {val_loss:.2f} is read from that epoch's logs; each file holds its epoch's
    weights (epoch index 0, then 1, written by Script)."""
    pattern = str(tmp_path / "w-{epoch:02d}-{val_loss:.2f}.npz")
    fit(make_model(), [Script("val_loss", [0.5, 0.25]),
                       callbacks.ModelCheckpoint(pattern)], epochs=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-01-0.50.npz", "w-02-0.25.npz"]
    for name, epoch in [("w-01-0.50.npz", 0.0), ("w-02-0.25.npz", 1.0)]:
        saved = make_model()
        saved.load_weights(tmp_path / name)
        assert weights_epoch(saved) == epoch


def test_checkpoint_errors():
    with pytest.raises(ValueError, match="must end with '.npz' or '.weights.h5'"):
        callbacks.ModelCheckpoint("model.keras")
    with pytest.raises(ValueError, match="save_weights_only must be True"):
        callbacks.ModelCheckpoint("w.npz", save_weights_only=False)
    with pytest.raises(ValueError, match="'val_loss' is not in"):
        fit(make_model(), [callbacks.ModelCheckpoint("w.npz", save_best_only=True)], epochs=1)


# ------------------------------------------------------------- TerminateOnNaN
def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    x, y = data(8)
    bad = x[4:].copy()
    bad[0, 0, 0, 0] = np.nan
    batches = [(x[:4], y[:4])] * 3 + [(x[:4], y[:4]), (bad, y[4:]), (x[:4], y[:4])]

    class Epochs:                  # epoch 1: three good batches; epoch 2: NaN in batch 1
        def __init__(self):
            self.epoch = 0

        def __len__(self):
            return 3

        def __getitem__(self, i):
            return batches[3 * self.epoch + i]

        def on_epoch_end(self):
            self.epoch += 1

    path = tmp_path / "last.npz"
    nan_stop = callbacks.TerminateOnNaN()
    model = make_model()
    history = model.fit(Epochs(), epochs=5, verbose=0, callbacks=[
        nan_stop, callbacks.ModelCheckpoint(path, monitor="loss")])
    assert nan_stop.stopped[:2] == (1, 1)
    assert len(history.epoch) == 2 and np.isnan(history.history["loss"][1])
    err = capsys.readouterr().err
    assert "Epoch 2, batch 1: the loss is nan; terminating training" in err
    assert "did not save" in err
    saved = make_model()
    saved.load_weights(path)
    # the file holds the weights of the end of epoch 1, not later ones
    assert any(not np.array_equal(a, b) for a, b in zip(saved.get_weights(), model.get_weights()))


# ------------------------------------------------------------------ CSVLogger
def test_csv_logger(tmp_path):
    path = tmp_path / "log.csv"
    x, y = data()
    model = make_model()
    model.fit(x, y, epochs=2, verbose=0, validation_data=(x, y),
              callbacks=[callbacks.CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert list(rows[0]) == ["epoch", "accuracy", "loss", "val_accuracy", "val_loss"]
    assert [r["epoch"] for r in rows] == ["0", "1"]
    assert float(rows[1]["loss"]) == pytest.approx(model.history.history["loss"][1])
    model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y),
              callbacks=[callbacks.CSVLogger(path, append=True)])
    lines = open(path).read().splitlines()
    assert len(lines) == 4 and lines[0].startswith("epoch,")


def test_callbacks_must_be_minicnn_callbacks():
    """Anything else, e.g. an object with a Keras callback's hooks, is refused."""
    class LooksLikeACallback:
        def on_epoch_end(self, epoch, logs=None):
            pass

    for foreign in (LooksLikeACallback(), object()):
        with pytest.raises(TypeError, match=r"must be a minicnn Callback, "
                                            rf"got {type(foreign).__name__}"):
            fit(make_model(), [foreign], epochs=1)


def test_callbacks_must_be_callbacks(keras):
    with pytest.raises(TypeError, match="minicnn Callback"):
        fit(make_model(), [keras.callbacks.History()], epochs=1)
