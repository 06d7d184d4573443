"""Softmax backward with only the diagonal of the Jacobian: dx = y * dy.

y_i depends on every x_j of its slice, so dx_j = y_j (dy_j - sum_i dy_i y_i);
the sum is what keeps dx's entries summing to zero along the axis (adding
a constant to every logit changes no probability).
"""


def softmax_backward(dy, cache):
    """dx from the softmax's output y."""
    return cache.y * dy                              # THE MISTAKE: - sum(dy * y) missing
