"""Soft Dice backward that differentiates only the numerator.

dice = (2 I + smooth) / D, and a prediction p appears in I = sum y p and in
D = sum y + sum p + smooth. The quotient rule gives (2 y - dice) / D per
pixel; forgetting D's dependence on p leaves 2 y / D.
"""


def dice_loss_backward(dy, cache):
    """d(dy * value) / d y_pred."""
    y, dice, denominator = cache["y"], cache["dice"], cache["denominator"]
    per_image_class = (y.shape[0],) + (1,) * (y.ndim - 2) + (y.shape[-1],)
    denominator = denominator.reshape(per_image_class)
    return -(dy / dice.size) * (2.0 * y) / denominator     # THE MISTAKE: no - dice
