"""Layers with Keras's names, arguments, defaults and weight layouts.

Each layer is a thin class around the pure kernels in ``minicnn.functional``;
see ``minicnn.layers.base`` for the protocol they share.
"""
from .base import AtLogits, Layer
from .convolutional import Conv2D, Conv2DTranspose
from .pooling import AveragePooling2D, MaxPooling2D
from .reshaping import Cropping2D, UpSampling2D, ZeroPadding2D
from .activation import Activation, ReLU, Softmax
from .merging import Add, Concatenate
from .normalization import BatchNormalization
from .regularization import Dropout
from .core import Input, InputLayer
