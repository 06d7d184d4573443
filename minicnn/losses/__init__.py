"""Losses with Keras semantics and hand-written gradients.

    loss = losses.CategoricalCrossentropy()
    value = loss(y_true, y_pred)        # a Python float: the mean over pixels
    dy_pred = loss.backward()           # d value / d y_pred for that last call

A loss object remembers its most recent call, so ``backward(dy)`` returns
d(dy * value) / d y_pred without being given the inputs again (dy is the
gradient arriving at the loss's output, as everywhere in minicnn); ``dy``
defaults to 1. Nothing is divided by the batch size anywhere else: the
1 / (number of pixels) of the mean is the loss's own reduction, and it is in
the gradient already. Inputs are never modified.

Everything runs in y_pred's float dtype (float32 or float64; other dtypes
are cast to ``floatx()``), and y_true is cast to it.

| class                          | name                              | y_true                     |
|--------------------------------|-----------------------------------|----------------------------|
| CategoricalCrossentropy        | 'categorical_crossentropy'        | one-hot, shape of y_pred   |
| SparseCategoricalCrossentropy  | 'sparse_categorical_crossentropy' | integers (N, H, W[, 1])    |
| BinaryCrossentropy             | 'binary_crossentropy'             | 0/1, shape of y_pred       |
| Dice                           | 'dice'                            | one-hot, shape of y_pred   |
| WeightedSum                    | (its terms' names joined by '+')  | what its terms take        |

The equations, the clipping to [1e-7, 1 - 1e-7] and its gradient, and the
per-pixel mean (Keras's 'sum_over_batch_size') are in
``minicnn.functional.losses``. Differences from Keras, on purpose:

- Probabilities outside [0, 1] with ``from_logits=False`` raise a ValueError
  (a common slip: feeding logits to a loss that expects a softmax), and so do
  non-finite logits; Keras computes on and returns nonsense.
- With ``from_logits=True`` and soft labels whose rows do not sum to 1,
  minicnn returns the exact gradient softmax(z) * sum(y) - y; TensorFlow's
  fused op returns softmax(z) - y. They agree for one-hot or smoothed labels.
- ``Dice`` is not ``keras.losses.Dice``; see its docstring.
- ``get('categorical_crossentropy')`` returns a new loss object, not a plain
  function: minicnn losses need their cached forward pass for ``backward``.

Cross-entropy after a softmax or sigmoid, as Keras's fit computes it
--------------------------------------------------------------------
Called on probabilities, ``loss(y_true, p)`` renormalises and clips p to
[1e-7, 1 - 1e-7] before the log (the formula of ``keras.losses`` too). But
when a model ends in a softmax or sigmoid (a layer's ``activation=``, an
Activation layer or a Softmax layer), Keras's fit, train_on_batch and
evaluate (TensorFlow backend) hand the compiled cross-entropy the logits z
that activation remembered, and compute it from them, unclipped:

    categorical   -sum_c y_c log softmax(z)_c        dL/dz = (softmax(z) - y) / count
    sparse        -log softmax(z)_k                  dL/dz = (softmax(z) - onehot(k)) / count
    binary        max(z, 0) - z y + log(1 + e^-|z|)  dL/dz = (sigmoid(z) - y) / count

so the gradient goes straight to the logits and skips the softmax Jacobian.
The difference matters when the output saturates: if the true class gets
p < 1e-7, the clipped formula's value stops at -log(1e-7) = 16.1 and its
gradient is 0 (the clip cuts it), so a confidently wrong network stops
learning; from the logits the value keeps growing and the gradient is
p - y = -1 there, so it learns. minicnn's training loop does the same as
Keras's: ``Loss.on_logits(y_true, logits)``, given the output layer's
``backend.Logits`` record (z, p = activation(z) and the activation's
cache), computes a cross-entropy from z (whatever the activation; a
categorical cross-entropy after a sigmoid takes the softmax of the
sigmoid's logits, exactly as Keras does, so pair them sensibly) and any
other loss (Dice) from p, chained through the activation's Jacobian, so
that ``backward`` returns dL/dz for all of them. After a softmax the
cross-entropy reuses p and the softmax's log sum_c exp z_c: the softmax
runs once per step, in the output layer. A ``WeightedSum`` applies the
rule term by term, as a Keras custom loss sees the same output tensor.
``from_logits=True`` on a loss that follows a softmax is a slip Keras warns
about and then ignores (it uses the remembered logits); so does minicnn.
Calling a loss yourself on probabilities keeps the clipped formula.
"""

from .base import Loss
from .crossentropy import (BinaryCrossentropy, CategoricalCrossentropy,
                           SparseCategoricalCrossentropy)
from .dice import Dice
from .weighted_sum import WeightedSum

_ALL = (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy,
        Dice)      # those that a name can make (a WeightedSum needs its terms)
_BY_NAME = {**{cls.default_name: cls for cls in _ALL},
            **{cls.__name__: cls for cls in _ALL}}


def get(identifier):
    """A loss object from a Keras name ('categorical_crossentropy', ...), a
    class name ('CategoricalCrossentropy'), a Loss subclass or a Loss object
    (returned as it is). Names give a new object with default arguments."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, str):
        if identifier not in _BY_NAME:
            raise ValueError(f"unknown loss {identifier!r}; allowed names: "
                             f"{sorted(_BY_NAME)}")
        return _BY_NAME[identifier]()
    raise TypeError(
        f"loss must be a loss name or a minicnn Loss, got {identifier!r} "
        "(a plain function has no hand-written backward)")


__all__ = ["Loss", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
           "BinaryCrossentropy", "Dice", "WeightedSum", "get"]
