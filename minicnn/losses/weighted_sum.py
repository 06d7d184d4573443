"""A weighted sum of losses on the same prediction, such as cross-entropy + Dice.

    L = sum_k w_k L_k(y_true, y_pred)          dL/dy_pred = sum_k w_k dL_k/dy_pred

Keras has no class for this; there one writes a custom loss function
``lambda y, p: ce(y, p) + dice(y, p)``. The sum is linear, so its gradient
is the weighted sum of its terms' gradients, each term keeping its own
cache: ``backward(dy)`` asks term k for ``backward(w_k dy)``.

In the training loop (``on_logits``) each term follows the rule of
``minicnn.losses``: a cross-entropy term reads the output layer's logits,
any other term the probabilities, exactly as the terms of a Keras custom
loss see the one output tensor that carries its logits; all of them then
return gradients with respect to the logits, which add up.

Why the main job (``minicnn train``) trains with cross-entropy + Dice:
cross-entropy is a mean over pixels, so the few pixels of a thin class (CSF
is about 4 % of a brain slice) weigh little in it; the Dice loss scores
every class of every image on its own scale, so a thin class counts as much
as a large one. docs/train.md has the measured effect.
"""
import numbers

import numpy as np

from .base import Loss


class WeightedSum(Loss):
    """L = sum_k weights[k] * losses[k] (weights default to 1).

    ``WeightedSum([CategoricalCrossentropy(), Dice()])`` is the main job's
    loss, named 'categorical_crossentropy+dice' (the terms' names joined by
    '+', unless `name` is given). The terms are Loss objects.
    """

    def __init__(self, losses, weights=None, name=None):
        if isinstance(losses, Loss) or not isinstance(losses, (list, tuple)) \
                or not losses or not all(isinstance(term, Loss) for term in losses):
            raise TypeError("losses must be a list of one or more minicnn Loss objects, "
                            f"got {losses!r}")
        terms = list(losses)
        if weights is None:
            weights = [1.0] * len(terms)
        weights = list(weights)
        if len(weights) != len(terms):
            raise ValueError(f"weights must give one number per loss ({len(terms)}), "
                             f"got {len(weights)}: {weights!r}")
        for w in weights:
            if isinstance(w, bool) or not isinstance(w, numbers.Real) or not np.isfinite(w):
                raise TypeError(f"weights must be finite numbers, got {weights!r}")
        super().__init__("+".join(term.name for term in terms) if name is None else name)
        self.losses, self.weights = terms, [float(w) for w in weights]

    def _forward(self, y_true, y_pred, check_values=True):
        value = sum(w * term(y_true, y_pred) for term, w in zip(self.losses, self.weights))
        return value, "each term keeps its own cache"

    def on_logits(self, y_true, logits):
        """Each term's ``on_logits`` on the one Logits record, weighted and
        summed (see the module docstring)."""
        self._cache = None
        value = sum(w * term.on_logits(y_true, logits)
                    for term, w in zip(self.losses, self.weights))
        self._cache, self._chain = "each term keeps its own cache", None
        self._dtype = logits.z.dtype
        return float(value)

    def _backward(self, dy, cache):
        return sum(term.backward(w * dy) for term, w in zip(self.losses, self.weights))

    def get_config(self):
        return {"name": self.name, "losses": [repr(term) for term in self.losses],
                "weights": self.weights}
