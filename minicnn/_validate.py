"""Argument checks shared by layers, kernels and losses.

Every check raises an error that names the argument, the value received and
what is allowed, so that a learner can fix the call without reading the source.
"""
import numbers

import numpy as np


def positive_int(value, name, minimum=1):
    """`value` as an int >= minimum (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def positive_number(value, name):
    """`value` if it is a finite real number > 0 (booleans are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a finite number > 0, got {value!r}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def int_tuple(value, n, name, minimum=1):
    """An int or a length-`n` sequence of ints, each >= minimum, as a tuple."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (value,) * n
    else:
        try:
            values = tuple(value)
        except TypeError:
            raise TypeError(
                f"{name} must be an int or a tuple of {n} ints, got {value!r}") from None
        if len(values) != n:
            raise ValueError(
                f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must contain integers, got {value!r}")
        if v < minimum:
            raise ValueError(f"{name} values must be >= {minimum}, got {value!r}")
    return tuple(int(v) for v in values)


def one_of(value, choices, name):
    """`value` lower-cased if it is a string among `choices`."""
    lowered = value.lower() if isinstance(value, str) else value
    if lowered not in choices:
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return lowered


def rate(value, name="rate"):
    """A probability in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {value!r}")
    if not 0.0 <= value < 1.0:
        raise ValueError(f"{name} must be a float in [0, 1), got {value!r}")
    return float(value)


def as_array(x, name, ndim=None, dtype=None):
    """`x` as an ndarray (cast to `dtype` if given), with its rank checked."""
    if not isinstance(x, (np.ndarray, numbers.Number, list, tuple)):
        raise TypeError(f"{name} must be a NumPy array, got {type(x).__name__}")
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}")
    if dtype is not None:
        arr = arr.astype(dtype, copy=False)
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(
            f"{name} must have rank {ndim}, got shape {arr.shape} (rank {arr.ndim})")
    return arr


def same_shape(a, b, name_a, name_b):
    """Refuse arrays whose shapes differ: nothing is broadcast silently."""
    if a.shape != b.shape:
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, "
            f"got {a.shape} and {b.shape}")


def class_labels(labels, n_classes, name):
    """Integer class labels in [0, n_classes) as an intp array.

    Floats holding whole numbers are accepted (label volumes often load as
    floats); fractions, booleans and out-of-range labels are refused.
    """
    labels = as_array(labels, name)
    if labels.dtype.kind == "b":
        raise TypeError(f"{name} must hold integer class labels, got dtype bool")
    if labels.dtype.kind == "f":
        fractional = labels[labels != np.round(labels)]
        if fractional.size:
            raise ValueError(f"{name} must hold integer class labels, got "
                             f"non-integer values such as {fractional[0].item()!r}")
    if labels.size:
        low, high = labels.min(), labels.max()
        if low < 0 or high >= n_classes:
            bad = low if low < 0 else high
            raise ValueError(f"{name} labels must lie in [0, {n_classes}) "
                             f"({n_classes} classes), got {bad.item()!r}")
    return labels.astype(np.intp)


def axis(value, ndim, name="axis"):
    """An integer axis in [-ndim, ndim - 1], returned as given (not normalised)."""
    allowed = f"an integer in [{-ndim}, {ndim - 1}]"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be {allowed}, got {value!r}")
    if not -ndim <= value < ndim:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return int(value)
