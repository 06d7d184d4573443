"""The soft Dice loss, per image and class (not keras.losses.Dice; see below)."""
import numbers

import numpy as np

from .._validate import as_array, same_shape
from ..functional import losses as F
from .base import Loss, _check_probabilities


class Dice(Loss):
    """Soft Dice loss: 1 - mean over images and classes of a smoothed Dice.

        dice_nc = (2 sum_hw y p + smooth) / (sum_hw y + sum_hw p + smooth)
        loss    = 1 - mean_{n, c} dice_nc

    y_true one-hot and y_pred probabilities, both (N, H, W, C). Each image
    and each class gets its own score, so a small structure counts as much as
    the background, and the batch is the mean of its images.

    Why ``smooth=1.0``: it is added above and below, so a class absent from
    both the truth and the prediction of an image scores 1 (agreement, loss
    0) instead of 0 / 0; the gradient stays finite; and for a tiny structure
    a one-pixel miss moves the score less. It is measured in pixels, so its
    effect shrinks as structures grow. The forward and backward passes use
    the same smooth. ``smooth=0`` gives the plain soft Dice.

    keras.losses.Dice differs: by default (axis=None) it pools the whole
    batch and all channels into one score, background included, and adds
    1e-7 to the denominator only: 1 - 2 sum(y p) / (sum y + sum p + 1e-7).
    With ``axis=(1, 2)`` Keras scores each image and class and averages
    them, which is this loss with smooth=0 up to that 1e-7.
    """

    default_name = "dice"

    def __init__(self, smooth=1.0, name=None):
        super().__init__(name)
        if isinstance(smooth, bool) or not isinstance(smooth, numbers.Real):
            raise TypeError(f"smooth must be a number >= 0, got {smooth!r}")
        if not 0 <= smooth < np.inf:
            raise ValueError(f"smooth must be a number >= 0, got {smooth!r}")
        self.smooth = float(smooth)

    def _forward(self, y_true, y_pred, check_values=True):
        y_true = as_array(y_true, "y_true", dtype=y_pred.dtype)
        same_shape(y_true, y_pred, "y_true", "y_pred")
        if check_values:
            _check_probabilities(y_pred)
        if self.smooth == 0:
            pixel_axes = tuple(range(1, y_pred.ndim - 1))
            empty = (y_true.sum(axis=pixel_axes) + y_pred.sum(axis=pixel_axes)) == 0
            if np.any(empty):
                n, c = np.argwhere(empty)[0]
                raise ValueError(
                    f"Dice with smooth=0 is 0/0 for image {n}, class {c}: the class "
                    "is absent from both y_true and y_pred; use smooth > 0")
        return F.dice_loss_forward(y_true, y_pred, self.smooth)

    def _backward(self, dy, cache):
        return F.dice_loss_backward(dy, cache)

    def get_config(self):
        return {"name": self.name, "smooth": self.smooth}
