"""Callbacks: code ``fit`` runs at fixed points of training, as in Keras.

``fit`` calls, in this order::

    on_train_begin
    for each epoch:
        on_epoch_begin(epoch)
        for each batch:  on_train_batch_begin(batch); ...step...; on_train_batch_end(batch, logs)
        (validation)
        on_epoch_end(epoch, logs)       logs: {'loss', 'accuracy', 'val_loss', ...}
    on_train_end

A callback reaches the model through ``self.model`` and stops training by
setting ``self.model.stop_training = True`` (fit finishes the current epoch's
bookkeeping, then returns).

Provided: History (always added by fit), EarlyStopping, ModelCheckpoint,
CSVLogger, TerminateOnNaN.

Direction of a monitored quantity (``mode``)
--------------------------------------------
'min' means lower is better, 'max' higher is better. 'auto' picks 'min' for
names containing 'loss' and 'max' for accuracy, Dice and IoU; any other name
needs an explicit mode. The course notebook monitored val_loss with mode
'max' and so kept its *worst* epoch; minicnn warns when a mode contradicts
the name like that.
"""
import csv
import math
import os
import sys
import warnings

import numpy as np

_HIGHER_IS_BETTER = ("acc", "dice", "iou", "auc", "precision", "recall")


def _monitor_direction(monitor, mode, who):
    """'min' or 'max' for `monitor`, warning on a mode against its name."""
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    name = monitor.lower()
    guess = ("min" if "loss" in name else
             "max" if any(word in name for word in _HIGHER_IS_BETTER) else None)
    if mode == "auto":
        if guess is None:
            raise ValueError(
                f"{who}: cannot tell whether monitor={monitor!r} should be "
                "minimised or maximised; pass mode='min' or mode='max'")
        return guess
    if guess is not None and guess != mode:
        warnings.warn(
            f"{who}: monitor={monitor!r} with mode={mode!r} keeps the epoch with the "
            f"{'highest' if mode == 'max' else 'lowest'} value, which looks like the "
            f"worst one; did you mean mode={guess!r} (or 'auto')?", stacklevel=3)
    return mode


def _improved(value, best, direction, min_delta=0.0):
    if best is None:
        return True
    if direction == "min":
        return value < best - min_delta
    return value > best + min_delta


class Callback:
    """Base class: every hook does nothing."""

    def __init__(self):
        self.model = None

    def set_model(self, model):
        self.model = model

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): pass
    def on_train_batch_end(self, batch, logs=None): pass


class CallbackList:
    """Calls a hook on every callback, in order."""

    def __init__(self, callbacks, model):
        self.callbacks = list(callbacks)
        for i, cb in enumerate(self.callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}] must be a minicnn Callback, got "
                                f"{type(cb).__name__}")
            cb.set_model(model)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call_all(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
        return call_all


class History(Callback):
    """Records the epoch logs: ``history.history['val_loss'][epoch]``."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)


class EarlyStopping(Callback):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs.

    As in Keras 3: with restore_best_weights=True the model ends training
    (stopped early or not) with the weights of its best epoch; with a
    `baseline`, the patience counter restarts only on epochs that beat it.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor = monitor
        self.direction = _monitor_direction(monitor, mode, "EarlyStopping")
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.verbose = verbose
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.start_from_epoch = int(start_from_epoch)

    def on_train_begin(self, logs=None):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def _is_improvement(self, value, reference):
        return _improved(value, reference, self.direction, self.min_delta)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping: monitor={self.monitor!r} is not in the "
                           f"epoch logs {sorted(logs)}; 'val_' quantities need "
                           "validation data")
        if epoch < self.start_from_epoch:
            return
        value = float(logs[self.monitor])
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if not math.isnan(value) and self._is_improvement(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._is_improvement(value, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print("Restoring model weights from the end of the best epoch: "
                      f"{self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the weights after each epoch, or only when `monitor` improves.

    `filepath` ends with '.npz' or '.weights.h5' and may hold fields filled
    from the epoch (1-based) and the logs: 'w-{epoch:02d}-{val_loss:.3f}.npz'.
    An epoch whose loss or weights are NaN or infinite is never written: the
    last good file stays as it was.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=True, mode="auto", initial_value_threshold=None):
        super().__init__()
        path = os.fspath(filepath)
        if not (path.endswith(".npz") or path.endswith(".weights.h5")):
            raise ValueError("ModelCheckpoint: filepath must end with '.npz' or "
                             f"'.weights.h5' (minicnn saves weights), got {path!r}")
        if not save_weights_only:
            raise ValueError("ModelCheckpoint: minicnn saves weights only; "
                             "save_weights_only must be True")
        self.filepath = path
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.direction = _monitor_direction(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.last_saved = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self.filepath.format(epoch=epoch + 1, **logs)
        value = logs.get(self.monitor)
        if self.save_best_only:
            if value is None:
                raise ValueError(f"ModelCheckpoint: monitor={self.monitor!r} is not in "
                               f"the epoch logs {sorted(logs)}")
            if not (math.isfinite(value) and _improved(value, self.best, self.direction)):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best}")
                return
        loss = logs.get("loss", 0.0)
        weights = self.model.get_weights()
        if not math.isfinite(loss) or not all(np.all(np.isfinite(w)) for w in weights):
            print(f"Epoch {epoch + 1}: ModelCheckpoint did not save {path!r}: the loss "
                  "or the weights are NaN or infinite", file=sys.stderr)
            return
        if self.save_best_only:
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} "
                      f"to {value:.5f}, saving model to {path}")
            self.best = value
        self.model.save_weights(path)
        self.last_saved = path


class CSVLogger(Callback):
    """Append one CSV row per epoch: epoch, then the logs' keys in sorted order."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.separator = separator
        self.append = bool(append)

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) and os.path.getsize(self.filename)
        self._file = open(self.filename, "a" if self.append else "w", newline="")
        self._writer = None
        self._write_header = not exists

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._writer is None:
            self._keys = sorted(logs)
            self._writer = csv.DictWriter(self._file, fieldnames=["epoch"] + self._keys,
                                          delimiter=self.separator)
            if self._write_header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        row.update({key: logs.get(key, "NA") for key in self._keys})
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        self._file.close()


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    The weights are then unusable; ModelCheckpoint refuses to save them, so
    the last checkpoint written before the divergence is kept.
    """

    def __init__(self):
        super().__init__()
        self.stopped = None       # (epoch, batch, loss) once triggered
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.stopped = (self._epoch, batch, loss)
            print(f"Epoch {self.stopped[0] + 1}, batch {batch}: the loss is {loss}; "
                  "terminating training. Lower the learning rate or check the data "
                  "for NaN/inf; the last checkpoint saved before this is intact.",
                  file=sys.stderr)
            self.model.stop_training = True
