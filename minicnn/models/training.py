"""compile, fit, evaluate, predict: the training loop, one readable step.

One training step (``train_on_batch``) is the whole of learning::

    y_pred = model.forward(x, training=True)       # 1. forward pass, caches kept
    value  = model.loss(y, y_pred)                 # 2. loss: mean over batch and pixels
    dy     = model.loss.backward()                 # 3. dL/dy_pred
    model.backward(dy)                             # 4. every layer's .grads
    optimizer.apply_gradients(                     # 5. update the weights in place
        (layer.grads[k], layer.params[k]) for each trainable weight)
    metric.update_state(y, y_pred)                 # 6. bookkeeping

with one difference, Keras's: when the model ends in a softmax or sigmoid
(almost always), steps 2-4 start from that activation's logits z, so that a
cross-entropy is computed from them, unclipped, and its gradient
p - y enters the output layer below the activation (``minicnn.losses``
explains why; ``evaluate`` and ``test_on_batch`` compute the loss the same
way)::

    logits = model.output_logits()                 # z, p = softmax(z), its cache
    value = model.loss.on_logits(y, logits)        # 2'. from z; p shared, not recomputed
    model.backward(AtLogits(model.loss.backward()))  # 3'-4'. dL/dz, skips the softmax

Each quantity is computed once per step: the softmax by the output layer
(the loss terms read it from ``logits``), one check that the values are
finite (on z, before the loss, which then does not check again), and one
argmax of the prediction and one of the labels, shared by the metrics that
count classes (``Metric.counts_classes``).

``fit`` repeats it over the batches of each epoch (shuffled with minicnn's
seeded generator, so ``set_random_seed(s)`` fixes the order), evaluates the
validation data after each epoch, and reports to the callbacks and the
progress bar. An epoch's ``loss`` is the mean over its samples (batch means
weighted by batch size, as Keras computes it); metrics accumulate over the
epoch (see ``minicnn.metrics``). ``fit`` returns a ``History`` whose
``history`` dict has Keras's keys: loss, accuracy, ..., val_loss, ...

Data
----
``x``/``y`` are NumPy arrays (N, H, W, C), ``x`` a list of arrays for a model
with several inputs. For data that do not fit in memory, ``x`` may instead be
an iterable of (x_batch, y_batch) pairs: a list, an object with ``__len__``
and ``__getitem__`` (like keras.utils.Sequence, whose ``on_epoch_end`` is
called), or a generator. A re-iterable is read anew each epoch; a one-shot
generator is continued across epochs, so give it ``steps_per_epoch`` and let
it loop forever. Bad data raise errors that name the arrays and shapes.

Divergence
----------
A prediction holding NaN or infinity (diverged weights, or bad data) has no
meaningful loss, and minicnn's losses refuse it. The step then reports a NaN
loss and changes nothing, where Keras's loss would turn NaN.
``callbacks.TerminateOnNaN`` stops training on it, and ``ModelCheckpoint``
never saves an epoch whose loss is not finite.

Differences from Keras 3, on purpose: ``train_on_batch``/``test_on_batch``
return the values of that batch alone (Keras 3 keeps running means across
calls); only single-output models can be compiled.
"""
import math
import numbers

import numpy as np

from .. import losses, metrics as metrics_module, optimizers
from ..layers.base import AtLogits
from .._validate import positive_int
from ..callbacks import CallbackList, History
from ..rng import make_rng
from .data import Batches, is_stream
from .progress import Progbar


class _Mean:
    """Mean of per-batch values weighted by batch size."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, value, n):
        self.total += value * n
        self.count += n

    def result(self):
        return self.total / self.count if self.count else float("nan")


class TrainingMixin:
    """compile / fit / evaluate / predict for ``Model`` (see the module docstring)."""

    compiled = False

    def compile(self, optimizer="rmsprop", loss=None, metrics=None):
        """Choose the optimizer, the loss and the metrics (objects or Keras names)."""
        if self.built and self._multi_output:
            raise ValueError(f"{self.name}.compile: the model has "
                             f"{len(self.outputs)} outputs; minicnn trains "
                             "single-output models only")
        if loss is None:
            raise ValueError("compile: loss is required, e.g. "
                             "loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if metrics is None:
            metrics = []
        elif isinstance(metrics, (str, metrics_module.Metric)) or callable(metrics):
            metrics = [metrics]
        self.metrics = [metrics_module.get(m) for m in metrics]
        names = ["loss"] + [m.name for m in self.metrics]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"compile: two metrics are named {name!r}; give "
                                 "them distinct names")
        self.compiled = True

    @property
    def metrics_names(self):
        return ["loss"] + [m.name for m in getattr(self, "metrics", [])]

    # ------------------------------------------------------------- checking
    def _require_compiled(self, action):
        if not self.compiled:
            raise ValueError(f"{action}: call model.compile(optimizer, loss, metrics) first")

    def _check_x(self, x, action):
        """x as a list of arrays, one per input, with one batch size."""
        xs = list(x) if self._multi_input else [x]
        if self._multi_input and (not isinstance(x, (list, tuple)) or len(xs) != len(self.inputs)):
            raise ValueError(f"{action}: x must be a list of {len(self.inputs)} arrays, "
                             "one per model input")
        xs = [np.asarray(a) for a in xs]
        self._build_from(xs)
        for a, t in zip(xs, self.inputs):
            if a.ndim != len(t.shape):
                raise ValueError(f"{action}: x must have shape (N,) + {t.shape[1:]}, "
                                 f"got {a.shape}")
        if len({len(a) for a in xs}) > 1:
            raise ValueError(f"{action}: the input arrays have different batch sizes "
                             f"{[a.shape[0] for a in xs]}")
        return xs

    def _build_from(self, xs):
        """Build a Sequential made without an Input from its first data."""
        if not self.built:
            self.build((None,) + tuple(xs[0].shape[1:]))

    def _check_y(self, xs, y, action):
        """y as an array matching x's batch and the output's shape."""
        if y is None:
            raise ValueError(f"{action}: y is missing; pass the targets y (or x as an "
                             "iterable of (x, y) batches)")
        y = np.asarray(y)
        self._build_from(xs)
        if len(y) != len(xs[0]):
            raise ValueError(f"{action}: x and y must have the same number of samples, "
                             f"got x {xs[0].shape} and y {y.shape}")
        out = self.outputs[0]
        if isinstance(self.loss, losses.SparseCategoricalCrossentropy):
            want, got = out.shape[1:-1], y.shape[1:len(out.shape) - 1]
        else:
            want, got = out.shape[1:], y.shape[1:]
            if (y.ndim == len(out.shape) and out.shape[-1] is not None
                    and y.shape[-1] != out.shape[-1]):
                raise ValueError(
                    f"{action}: y has {y.shape[-1]} classes on its last axis, but the "
                    f"model's output ({out.layer.name!r}) has {out.shape[-1]} channels; "
                    f"one-hot encode y with {out.shape[-1]} classes or change the "
                    "model's last layer")
        if len(got) != len(want) or any(w is not None and g != w for g, w in zip(got, want)):
            raise ValueError(f"{action}: y must have shape (N,) + {tuple(out.shape[1:])} "
                             f"to match the model's output, got {y.shape}")
        return y

    def _batches(self, x, y, batch_size, shuffle, steps, action):
        if is_stream(x, self):
            if y is not None:
                raise ValueError(f"{action}: y must be None when x is an iterable of "
                                 "(x, y) batches")
            check = None if action == "predict" else (
                lambda xs, yb: (xs, self._check_y(xs, yb, action)))
            return Batches(stream=x, steps=steps, check=check)
        xs = self._check_x(x, action)
        y = None if action == "predict" else self._check_y(xs, y, action)
        rng = make_rng() if shuffle else None
        return Batches(xs, y, batch_size, rng, steps=steps)

    # ----------------------------------------------------------------- steps
    def _loss_value(self, y, y_pred):
        """(the loss of the last forward, the Logits it was computed from or
        None), or (NaN, None) when the prediction is not finite: the one check
        of its values (see "Divergence" above)."""
        logits = self.output_logits()
        checked = y_pred if logits is None else logits.z     # finite z: finite p
        if not np.all(np.isfinite(checked)):
            return float("nan"), None
        if logits is None:
            return self.loss(y, y_pred), None
        return self.loss.on_logits(y, logits), logits

    def _update_metrics(self, y, y_pred):
        """Every metric on this batch, the argmaxes computed once for all the
        metrics that count classes."""
        classes = None
        for m in self.metrics:
            if m.counts_classes:
                if classes is None:
                    classes = metrics_module.class_maps(y, y_pred)
                m.update_state_from_classes(*classes)
            else:
                m.update_state(y, y_pred)

    def _train_step(self, xs, y):
        """Steps 1-6 of the module docstring, on one batch."""
        y_pred = self.forward(xs if self._multi_input else xs[0], training=True)
        value, logits = self._loss_value(y, y_pred)
        if math.isnan(value):
            return value                # diverged: nothing learnt, nothing counted
        gradient = self.loss.backward(1.0)
        self.backward(gradient if logits is None else AtLogits(gradient))
        self.optimizer.apply_gradients(
            [(layer.grads[key], layer.params[key]) for layer, key in self.trainable_slots()])
        self._update_metrics(y, y_pred)
        return value

    def _test_step(self, xs, y):
        y_pred = self.forward(xs if self._multi_input else xs[0], training=False)
        value, _ = self._loss_value(y, y_pred)
        if not math.isnan(value):
            self._update_metrics(y, y_pred)
        return value

    def _logs(self, loss_mean):
        logs = {"loss": loss_mean.result()}
        logs.update((m.name, float(m.result())) for m in self.metrics)
        return logs

    def _reset_metrics(self):
        for m in self.metrics:
            m.reset_state()

    def _run_batch(self, step, x, y, action):
        self._require_compiled(action)
        xs = self._check_x(x, action)
        y = self._check_y(xs, y, action)
        self._reset_metrics()
        mean = _Mean()
        mean.add(step(xs, y), len(y))
        return self._logs(mean)

    def train_on_batch(self, x, y, return_dict=False):
        """One training step on (x, y); returns its loss (and metrics)."""
        return _flatten(self._run_batch(self._train_step, x, y, "train_on_batch"), return_dict)

    def test_on_batch(self, x, y, return_dict=False):
        """Loss (and metrics) of one batch, weights unchanged."""
        return _flatten(self._run_batch(self._test_step, x, y, "test_on_batch"), return_dict)

    # ------------------------------------------------------------ fit and co.
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None):
        """Train for `epochs` epochs; returns a History (see the module docstring)."""
        self._require_compiled("fit")
        batch_size = positive_int(32 if batch_size is None else batch_size, "batch_size")
        epochs = positive_int(epochs, "epochs", minimum=0)
        verbose = _verbosity(verbose)
        if steps_per_epoch is not None:
            steps_per_epoch = positive_int(steps_per_epoch, "steps_per_epoch")
        if validation_split:
            if validation_data is not None:
                raise ValueError("fit: give validation_data or validation_split, not both")
            x, y, validation_data = self._split_validation(x, y, validation_split)
        train = self._batches(x, y, batch_size, shuffle, steps_per_epoch, "fit")
        val = None
        if validation_data is not None:
            val = self._validation_batches(validation_data,
                                           validation_batch_size or batch_size,
                                           validation_steps)

        self.history = History()
        cbs = CallbackList([self.history] + list(callbacks or []), self)
        self.stop_training = False
        cbs.on_train_begin()
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            cbs.on_epoch_begin(epoch)
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs}")
            bar = Progbar(train.length, verbose=verbose)
            mean, step = _Mean(), 0
            for step, (xs, yb) in enumerate(train.epoch(), start=1):
                cbs.on_train_batch_begin(step - 1)
                mean.add(self._train_step(xs, yb), len(xs[0]))
                logs = self._logs(mean)
                cbs.on_train_batch_end(step - 1, logs)
                bar.update(step, logs)
                if self.stop_training:
                    break
            epoch_logs = self._logs(mean)
            if val is not None:
                val_logs = self._evaluate_batches(val)
                epoch_logs.update((f"val_{k}", v) for k, v in val_logs.items())
            bar.update(step, epoch_logs, finalize=True)
            cbs.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cbs.on_train_end()
        return self.history

    def _split_validation(self, x, y, validation_split):
        """The last `validation_split` of the samples, taken before shuffling."""
        if not isinstance(validation_split, numbers.Real) or not 0 < validation_split < 1:
            raise ValueError(f"fit: validation_split must be a float in (0, 1), got "
                             f"{validation_split!r}")
        if is_stream(x, self):
            raise ValueError("fit: validation_split needs arrays; with an iterable of "
                             "batches pass validation_data instead")
        xs = self._check_x(x, "fit")
        y = self._check_y(xs, y, "fit")
        split_at = int(math.floor(len(y) * (1.0 - validation_split)))
        if split_at in (0, len(y)):
            raise ValueError(f"fit: validation_split={validation_split} of {len(y)} "
                             "samples leaves an empty training or validation set")
        train_x = [a[:split_at] for a in xs]
        val_x = [a[split_at:] for a in xs]
        pick = (lambda parts: parts) if self._multi_input else (lambda parts: parts[0])
        return pick(train_x), y[:split_at], (pick(val_x), y[split_at:])

    def _validation_batches(self, data, batch_size, steps):
        if isinstance(data, tuple) and len(data) == 2 and not is_stream(data[0], self):
            return self._batches(data[0], data[1], batch_size, False, steps, "fit (validation)")
        if isinstance(data, tuple) and len(data) == 3:
            raise ValueError("fit: validation_data must be (x_val, y_val); sample "
                             "weights are not supported")
        return self._batches(data, None, batch_size, False, steps, "fit (validation)")

    def _evaluate_batches(self, batches, bar=None):
        self._reset_metrics()
        mean, step = _Mean(), 0
        for step, (xs, y) in enumerate(batches.epoch(), start=1):
            if y is None:
                raise ValueError("evaluate: each batch must be an (x, y) pair")
            mean.add(self._test_step(xs, y), len(xs[0]))
            if bar is not None:
                bar.update(step, self._logs(mean))
        logs = self._logs(mean)
        if bar is not None:
            bar.update(step, logs, finalize=True)
        return logs

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", steps=None,
                 return_dict=False):
        """Loss (and metrics) over the whole data, weights unchanged."""
        self._require_compiled("evaluate")
        batch_size = positive_int(32 if batch_size is None else batch_size, "batch_size")
        batches = self._batches(x, y, batch_size, False, steps, "evaluate")
        bar = Progbar(batches.length, verbose=_verbosity(verbose))
        return _flatten(self._evaluate_batches(batches, bar), return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None):
        """The model's output for `x`, computed `batch_size` samples at a time."""
        self._require_built()
        batch_size = positive_int(32 if batch_size is None else batch_size, "batch_size")
        batches = self._batches(x, None, batch_size, False, steps, "predict")
        bar = Progbar(batches.length, verbose=_verbosity(verbose))
        outputs, step = [], 0
        for step, (xs, _) in enumerate(batches.epoch(), start=1):
            outputs.append(self.forward(xs if self._multi_input else xs[0], training=False))
            bar.update(step)
        bar.update(step, finalize=True)
        if not outputs:
            raise ValueError("predict: x holds no samples")
        if self._multi_output:
            return [np.concatenate(parts) for parts in zip(*outputs)]
        return np.concatenate(outputs)

    def predict_on_batch(self, x):
        """The model's output for one batch (no batching, no progress bar)."""
        return self.forward(x, training=False)


def _verbosity(verbose):
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 'auto', 0, 1 or 2, got {verbose!r}")
    return int(verbose)


def _flatten(logs, return_dict):
    """Keras's return convention: a dict, a scalar loss, or [loss, *metrics]."""
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values
