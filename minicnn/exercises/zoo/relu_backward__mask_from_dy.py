"""ReLU backward that keeps the gradient where dy is positive, not where x was.

The slope of the ReLU depends on its input x (kept in the cache); the sign
of the gradient arriving from above says nothing about it.
"""


def relu_backward(dy, cache):
    """dx = dy * f'(x) (plain ReLU only)."""
    return dy * (dy > 0)                             # THE MISTAKE: cache.x > 0
