"""minicnn: a convolutional network framework in NumPy, every gradient by hand.

    from minicnn import layers, losses, metrics, initializers

Data are NHWC (batch, height, width, channels) and weights use Keras's
layouts, so weights move between minicnn and Keras with no transposes.
"""
from .backend import get_backend, set_backend
from .config import floatx, set_floatx
from .rng import set_random_seed
from . import initializers, layers, losses, metrics
from . import optimizers
from . import callbacks
from . import models
from . import data
from . import datasets
from . import segmentation

__version__ = "0.1.0"

__all__ = [
    "floatx", "set_floatx", "get_backend", "set_backend", "set_random_seed",
    "initializers", "layers", "losses", "metrics",
]
__all__ += ["models", "optimizers", "callbacks"]
__all__ += ["data", "datasets", "segmentation"]
