"""Metrics: accuracy, Dice, and the baseline a metric has with no learning.

Functions score one batch and return a float. Classes accumulate over
batches the Keras way::

    acc = metrics.CategoricalAccuracy()
    for x, y in batches:
        acc.update_state(y, model(x))
    acc.result()         # mean over the images seen so far
    acc.reset_state()    # e.g. at the start of an epoch

Shapes: y_pred is (N, H, W, C) class probabilities (or logits: argmax does
not care); y_true is one-hot of the same shape or, for categorical accuracy
and Dice, integer labels (N, H, W) or (N, H, W, 1) as the sparse loss takes.
Metrics need no gradient.

Accuracy (the slides: (1/N) sum_i I(predicted_i = label_i), over pixels)
    categorical_accuracy = mean over pixels of [argmax_c y_pred == argmax_c y_true]
    binary_accuracy      = mean over elements of [(y_pred > threshold) == y_true]
The classes CategoricalAccuracy and BinaryAccuracy average as Keras's do:
each image's accuracy first (the mean over its pixels), then the mean of
those over every image seen. While all images have one size this is the
fraction of all pixels; across batches of different image sizes each image
weighs the same, whatever its number of pixels (an image of 4 pixels with
1 right, then one of 8 all right: (1/4 + 1) / 2 = 0.625, not 9/12).

Dice of class c, with T the pixels labelled c and P those predicted c
(hard: P from the argmax; soft: sums of probabilities instead of counts)
    dice_c = 2 |T and P| / (|T| + |P|) = 2 I_c / (Y_c + P_c)
The counts I_c, Y_c, P_c are summed over every pixel of every image and
batch seen, and dice_c is computed from the totals, so the result does not
depend on how the data were split into batches. (The Dice *loss* in
``minicnn.losses`` instead scores each image separately and smooths, because
it must have a gradient for every image.) The reported Dice is the mean of
dice_c over the classes in ``class_ids`` (all by default).

A class absent from both truth and prediction (Y_c + P_c = 0) has no Dice:
it is *excluded* (NaN in ``result_per_class``, left out of the mean), not
counted as 1. Counting it as 1 would reward a model for every slice that
happens to lack the class, inflating the score; excluding it scores only
what is there. If no selected class is present at all, the mean is NaN.

Baseline (the slides: "baseline for metrics is not usually 0")
    baseline(metric, y_true) = metric(y_true, majority class everywhere)
Predicting background everywhere on a brain slice already scores a high
accuracy; the Dice of every foreground class is 0. A model is only as good
as its distance from that baseline.

``get('accuracy')`` (or 'acc') always means categorical (argmax) accuracy.
Keras resolves 'accuracy' from the loss and picks binary accuracy after
binary cross-entropy, which scores each channel on its own and inflates the
accuracy of a softmax output trained that way (a slip in the course's
notebooks). CategoricalAccuracy refuses a single channel, whose argmax is
always 0: use 'binary_accuracy' for a sigmoid mask.
"""
import copy
import numbers
from abc import ABC, abstractmethod

import numpy as np

from ._validate import as_array, class_labels, one_of, positive_int, same_shape


def _prediction(y_pred):
    """y_pred as an array of rank >= 2 (N, ..., C), not empty."""
    y_pred = as_array(y_pred, "y_pred")
    if y_pred.ndim < 2 or y_pred.size == 0:
        raise ValueError("y_pred must be a non-empty array of rank >= 2 "
                         f"(N, ..., C), got shape {y_pred.shape}")
    return y_pred


def _true_classes(y_true, y_pred):
    """The true class of each pixel, (N, H, W), from one-hot y_true of
    y_pred's shape or from integer labels of shape (N, H, W) or (N, H, W, 1)."""
    y_true = as_array(y_true, "y_true")
    pixels = y_pred.shape[:-1]
    if y_true.shape == y_pred.shape:
        return y_true.argmax(axis=-1)
    if y_true.shape in (pixels, pixels + (1,)):
        return class_labels(y_true.reshape(pixels), y_pred.shape[-1], "y_true")
    raise ValueError(f"y_true must be one-hot of shape {y_pred.shape} or integer "
                     f"labels of shape {pixels}, got shape {y_true.shape}")


def class_maps(y_true, y_pred):
    """(true classes, predicted classes, C): two (N, H, W) integer maps, the
    argmax of y_pred and of one-hot y_true (or the integer labels as they
    are), and the number of classes. ``fit`` computes them once per batch for
    every metric that counts classes (``Metric.counts_classes``)."""
    y_pred = _prediction(y_pred)
    if y_pred.shape[-1] < 2:
        raise ValueError(
            f"the argmax of y_pred needs C >= 2 classes, got y_pred of shape "
            f"{y_pred.shape}: the argmax of one channel is always 0; use "
            "binary_accuracy (or Dice in mode='soft') for a single sigmoid channel")
    return _true_classes(y_true, y_pred), y_pred.argmax(axis=-1), y_pred.shape[-1]


def _categorical_matches(y_true, y_pred):
    """[argmax y_pred == true class] per pixel, shape (N, H, W)."""
    true, predicted, _ = class_maps(y_true, y_pred)
    return true == predicted


def _binary_matches(y_true, y_pred, threshold):
    """[(y_pred > threshold) == y_true] per element, the shape of y_pred."""
    y_pred = _prediction(y_pred)
    y_true = as_array(y_true, "y_true")
    same_shape(y_true, y_pred, "y_true", "y_pred")
    if not np.all((y_true == 0) | (y_true == 1)):
        raise ValueError("y_true must hold 0/1 labels for binary accuracy, got "
                         f"values from {np.min(y_true)} to {np.max(y_true)}")
    return (y_pred > threshold) == (y_true == 1)


def _threshold(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"threshold must be a finite number, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"threshold must be a finite number, got {value!r}")
    return float(value)


def categorical_accuracy(y_true, y_pred):
    """The fraction of pixels whose predicted class (argmax) is the true one."""
    return float(np.mean(_categorical_matches(y_true, y_pred)))


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of elements where [y_pred > threshold] equals y_true."""
    return float(np.mean(_binary_matches(y_true, y_pred, _threshold(threshold))))


# ------------------------------------------------------------------ Dice ---
def _dice_counts(y_true, y_pred, mode, n_classes):
    """Per-class totals (I, Y, P), each of shape (C,), for one batch.

    y_pred: (N, ..., C) probabilities, or in hard mode an integer label map
    of the same shape as y_true (then n_classes is required). y_true: one-hot
    of y_pred's shape, or integer labels of shape (N, ..., [1]).
    """
    y_pred = as_array(y_pred, "y_pred")
    y_true = as_array(y_true, "y_true")
    if mode == "hard" and y_pred.dtype.kind in "iu":             # label maps
        if n_classes is None:
            raise ValueError("n_classes is required when y_pred holds integer "
                             f"labels (shape {y_pred.shape}) instead of probabilities")
        same_shape(y_true, y_pred, "y_true", "y_pred")
        true = class_labels(y_true, n_classes, "y_true")
        pred = class_labels(y_pred, n_classes, "y_pred")
    else:
        y_pred = _prediction(y_pred)
        n_found = y_pred.shape[-1]
        if n_classes is not None and n_found != n_classes:
            raise ValueError(f"y_pred must have n_classes={n_classes} channels, "
                             f"got shape {y_pred.shape}")
        if mode == "hard" and n_found < 2:
            raise ValueError(
                f"hard Dice needs C >= 2 channels, got y_pred of shape "
                f"{y_pred.shape}: the argmax of one channel is always 0; use "
                "mode='soft', or pass thresholded integer labels and n_classes=2")
        n_classes = n_found
        if mode == "soft" and y_true.shape == y_pred.shape:
            true = y_true                                        # one-hot, used as is
        else:
            true = _true_classes(y_true, y_pred)                 # (N, H, W)
            if mode == "soft":
                true = true[..., None] == np.arange(n_classes)   # (N, H, W, C)
        pred = y_pred.argmax(axis=-1) if mode == "hard" else y_pred
    if mode == "hard":
        return _class_counts(true, pred, n_classes)
    if not np.all((y_pred >= 0) & (y_pred <= 1)):
        raise ValueError("soft Dice needs probabilities in [0, 1], got y_pred "
                         f"values from {np.min(y_pred)} to {np.max(y_pred)}")
    true = true.astype(np.float64).reshape(-1, n_classes)       # (N*H*W, C)
    pred = pred.astype(np.float64).reshape(-1, n_classes)       # (N*H*W, C)
    return (true * pred).sum(axis=0), true.sum(axis=0), pred.sum(axis=0)


def _class_counts(true, predicted, n_classes):
    """Per-class totals (|T and P|, |T|, |P|), each (C,), of two class maps."""
    # bincount counts each class label.
    true, predicted = true.ravel(), predicted.ravel()
    return (np.bincount(true[true == predicted], minlength=n_classes),
            np.bincount(true, minlength=n_classes),
            np.bincount(predicted, minlength=n_classes))


def _check_class_ids(class_ids, n_classes):
    if class_ids is None:
        return None
    if isinstance(class_ids, numbers.Integral):
        class_ids = (class_ids,)
    ids = tuple(positive_int(c, "class_ids", minimum=0) for c in class_ids)
    if not ids or len(set(ids)) != len(ids):
        raise ValueError(f"class_ids must be distinct class indices, got {class_ids!r}")
    if n_classes is not None and max(ids) >= n_classes:
        raise ValueError(f"class_ids must lie in [0, {n_classes}) for "
                         f"n_classes={n_classes}, got {class_ids!r}")
    return ids


class Metric(ABC):
    """Base class: ``update_state``, ``result``, ``reset_state`` and ``name``.

    Calling a metric, ``m(y_true, y_pred)``, updates it and returns the
    result so far, as a Keras metric does. A metric that only counts classes
    (the argmax of the prediction against the true class) sets
    ``counts_classes`` and implements ``update_state_from_classes(true,
    predicted, n_classes)`` on the maps of ``class_maps``, so that ``fit``
    takes each argmax once per batch for all of them.
    """

    default_name = "metric"
    counts_classes = False

    def __init__(self, name=None):
        name = self.default_name if name is None else name
        if not isinstance(name, str) or not name:
            raise TypeError(f"name must be a non-empty string, got {name!r}")
        self.name = name
        self.reset_state()

    @abstractmethod
    def update_state(self, y_true, y_pred):
        """Add one batch to the totals."""

    @abstractmethod
    def result(self):
        """The score over every batch since the last reset, as a float."""

    @abstractmethod
    def reset_state(self):
        """Forget every batch seen."""

    def __call__(self, y_true, y_pred):
        self.update_state(y_true, y_pred)
        return self.result()

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class _MatchRate(Metric):
    """Accumulates per-image match rates, as Keras's Mean does: result = the
    sum over images of each one's fraction of matches / images seen (0 before
    any)."""

    def reset_state(self):
        self.total = 0.0        # sum of the per-image match rates
        self.count = 0          # images seen

    def _add(self, matches):
        per_image = matches.reshape(len(matches), -1).mean(axis=1)     # (N,)
        self.total += float(per_image.sum())
        self.count += len(matches)

    def result(self):
        # 0.0 before any update, as Keras's divide_no_nan gives.
        return self.total / self.count if self.count else 0.0


class CategoricalAccuracy(_MatchRate):
    """Accuracy of the argmax: per image over its pixels, then the mean over
    every image of every batch seen (Keras's semantics)."""

    default_name = "categorical_accuracy"
    counts_classes = True

    def update_state(self, y_true, y_pred):
        self.update_state_from_classes(*class_maps(y_true, y_pred))

    def update_state_from_classes(self, true, predicted, n_classes):
        self._add(true == predicted)


class BinaryAccuracy(_MatchRate):
    """Accuracy of [y_pred > threshold]: per image over its elements, then the
    mean over every image of every batch seen (Keras's semantics)."""

    default_name = "binary_accuracy"

    def __init__(self, threshold=0.5, name=None):
        self.threshold = _threshold(threshold)
        super().__init__(name)

    def update_state(self, y_true, y_pred):
        self._add(_binary_matches(y_true, y_pred, self.threshold))


class Dice(Metric):
    """Dice per class from totals over every batch seen, and their mean.

    mode='hard': classes from the argmax (the segmentation one would draw);
    mode='soft': probabilities summed instead of counted. n_classes fixes the
    number of classes (required for integer label maps, checked otherwise);
    class_ids selects the classes averaged by ``result``, e.g. (1, 2) for the
    foreground of background / grey matter / white matter.
    ``result_per_class()`` gives {class: dice} for every class.
    """

    default_name = "dice"

    def __init__(self, n_classes=None, mode="hard", class_ids=None, name=None):
        self.n_classes = None if n_classes is None else positive_int(
            n_classes, "n_classes", minimum=2)
        self.mode = one_of(mode, ("hard", "soft"), "mode")
        self.class_ids = _check_class_ids(class_ids, self.n_classes)
        super().__init__(name)

    def reset_state(self):
        # Per-class totals (C,): |T and P|, |T|, |P|; empty until C is known.
        self._zero_totals(self.n_classes or 0)

    def _zero_totals(self, n_classes):
        self.intersection = np.zeros(n_classes)
        self.true_total = np.zeros(n_classes)
        self.pred_total = np.zeros(n_classes)

    @property
    def counts_classes(self):
        return self.mode == "hard"

    def update_state(self, y_true, y_pred):
        self._add(*_dice_counts(y_true, y_pred, self.mode, self.n_classes))

    def update_state_from_classes(self, true, predicted, n_classes):
        """Hard Dice from the class maps of ``class_maps``."""
        if self.n_classes is not None and n_classes != self.n_classes:
            raise ValueError(f"y_pred must have n_classes={self.n_classes} channels, "
                             f"got {n_classes}")
        self._add(*_class_counts(true, predicted, n_classes))

    def _add(self, intersection, true_total, pred_total):
        n_found = intersection.size
        if self.intersection.size == 0:                         # the first batch sets C
            if self.class_ids is not None and max(self.class_ids) >= n_found:
                raise ValueError(f"class_ids must lie in [0, {n_found}) for y_pred "
                                 f"with {n_found} classes, got {self.class_ids}")
            self._zero_totals(n_found)
        elif n_found != self.intersection.size:
            raise ValueError(f"y_pred has {n_found} classes, but earlier batches "
                             f"had {self.intersection.size}")
        self.intersection += intersection
        self.true_total += true_total
        self.pred_total += pred_total

    def _per_class(self):
        """dice_c as an array (C,), NaN where the class was never seen."""
        denominator = self.true_total + self.pred_total
        present = denominator > 0
        dice = np.full(denominator.shape, np.nan)
        dice[present] = 2.0 * self.intersection[present] / denominator[present]
        return dice

    def result_per_class(self):
        """{class index: Dice}, NaN for a class absent from truth and prediction."""
        return {c: float(d) for c, d in enumerate(self._per_class())}

    def result(self):
        """Mean Dice of the selected classes that are present (NaN if none)."""
        dice = self._per_class()
        if self.class_ids is not None and dice.size:
            dice = dice[list(self.class_ids)]
        present = dice[~np.isnan(dice)]
        return float(present.mean()) if present.size else float("nan")


def dice_coefficient(y_true, y_pred, mode="hard", class_ids=None, n_classes=None):
    """Mean Dice over classes of one batch (see ``Dice``)."""
    metric = Dice(n_classes=n_classes, mode=mode, class_ids=class_ids)
    metric.update_state(y_true, y_pred)
    return metric.result()


def dice_per_class(y_true, y_pred, mode="hard", n_classes=None):
    """{class index: Dice} of one batch; NaN for a class absent from both."""
    metric = Dice(n_classes=n_classes, mode=mode)
    metric.update_state(y_true, y_pred)
    return metric.result_per_class()


class MeanMetricWrapper(Metric):
    """Turn a function ``fn(y_true, y_pred, **kwargs) -> float`` into a metric.

    Each batch's value is weighted by its number of images N, so the result
    is the per-image mean over every batch seen, whatever the batch sizes.
    """

    def __init__(self, fn, name=None, **kwargs):
        if not callable(fn):
            raise TypeError(f"fn must be callable, got {fn!r}")
        self.fn, self.kwargs = fn, kwargs
        super().__init__(name if name is not None else getattr(fn, "__name__", "metric"))

    def reset_state(self):
        self.total = 0.0
        self.count = 0

    def update_state(self, y_true, y_pred):
        n_images = len(y_pred)
        self.total += float(self.fn(y_true, y_pred, **self.kwargs)) * n_images
        self.count += n_images

    def result(self):
        return self.total / self.count if self.count else 0.0


def baseline(metric, y_true):
    """The score of predicting the majority class of `y_true` everywhere.

    y_true: one-hot (N, ..., C), or 0/1 labels with C = 1 (then the majority
    value, 0 or 1, is predicted). Ties go to the lower class. `metric` is a
    name, a Metric (copied, so its own state is untouched) or a function
    fn(y_true, y_pred) -> float.

    >>> y = np.eye(2)[[0, 0, 0, 1]]            # 3 background pixels, 1 foreground
    >>> baseline('categorical_accuracy', y)
    0.75
    """
    y_true = as_array(y_true, "y_true")
    if y_true.ndim < 2 or y_true.size == 0:
        raise ValueError("y_true must be a non-empty array of rank >= 2 "
                         f"(N, ..., C), got shape {y_true.shape}")
    n_classes = y_true.shape[-1]
    if n_classes == 1:
        majority = 1.0 if np.mean(y_true) > 0.5 else 0.0
        y_pred = np.full(y_true.shape, majority)
    else:
        counts = y_true.reshape(-1, n_classes).sum(axis=0)      # pixels per class (C,)
        y_pred = np.zeros(y_true.shape)
        y_pred[..., int(np.argmax(counts))] = 1.0
    if isinstance(metric, Metric):
        metric = copy.deepcopy(metric)
        metric.reset_state()
    else:
        metric = get(metric)
    return float(metric(y_true, y_pred))


_ALL = (CategoricalAccuracy, BinaryAccuracy, Dice)
_BY_NAME = {"accuracy": CategoricalAccuracy, "acc": CategoricalAccuracy,
            **{cls.default_name: cls for cls in _ALL},
            **{cls.__name__: cls for cls in _ALL}}


def get(identifier):
    """A metric object from a name, a Metric subclass, a Metric (returned as
    it is) or a function (wrapped in MeanMetricWrapper).

    Names: 'accuracy' / 'acc' / 'categorical_accuracy', 'binary_accuracy',
    'dice', or the class names. A new object is made each time; snake-case
    names become its ``name``, as in Keras's logs.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, type):
        if issubclass(identifier, Metric):
            return identifier()
        raise TypeError(f"metric class must subclass minicnn.metrics.Metric, "
                        f"got {identifier!r}")
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown metric {identifier!r}; allowed names: "
                             f"{sorted(_BY_NAME)}")
        cls = _BY_NAME[identifier]
        return cls() if identifier == cls.__name__ else cls(name=identifier)
    if callable(identifier):
        return MeanMetricWrapper(identifier)
    raise TypeError(f"metric must be a name, a Metric or a function, got {identifier!r}")
