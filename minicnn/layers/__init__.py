"""Layers with Keras's names, arguments, defaults and weight layouts.

Each layer is a thin class around the pure kernels in ``minicnn.functional``;
see ``minicnn.layers.base`` for the protocol they share.
"""
from .base import Layer
