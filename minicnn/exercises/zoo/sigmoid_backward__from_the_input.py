"""Sigmoid backward that takes its cache for the input and applies the sigmoid again.

The sigmoid's cache is its output y = sigmoid(x), so dx = dy * y * (1 - y);
sigmoid(y) * (1 - sigmoid(y)) is the slope at the wrong place.
"""
import numpy as np


def sigmoid_backward(dy, cache):
    """dx from the cache."""
    s = 1 / (1 + np.exp(-cache))                     # THE MISTAKE: cache is y already
    return dy * s * (1 - s)
