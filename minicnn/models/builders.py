"""Ready-made models: the course's networks and its U-Net.

All convolutions are 3x3 (5x5 in the exercise) with ReLU, stride 1, and
'same' padding unless stated; the last layer is a 1x1 convolution with one
channel per class and a softmax. Parameter counts (``model.count_params()``)
are those of the course's Keras models:

| builder                              | layers                                         | params    |
|--------------------------------------|------------------------------------------------|-----------|
| slide_demo(1)                        | Conv(3) Dropout Conv(3, 1x1), (110, 92, 1)     | 42        |
| slide_demo(2), slide_demo(3)         | 2 or 3 x [Conv(3) Dropout], Conv(3, 1x1)       | 126, 210  |
| simple_cnn()                         | 3 x Conv(16), Conv(3, 1x1)                     | 4,851     |
| simple_cnn(dropout=0.2)              | Dropout(0.2) after each Conv(16)               | 4,851     |
| simple_cnn(dilation_rate=2)          | the Conv(16)s dilated by 2                     | 4,851     |
| five_layer_cnn()                     | Conv 5x5 with 8, 8, 16, 16, 32 filters         | 24,379    |
| unet((104, 104, 1), 2)               | the course's U-Net                             | 1,946,342 |

(The slide demos in the course end with a sigmoid over 3 classes, one of its
slips: independent sigmoids do not make a distribution over classes. These
builders use a softmax; pass final_activation to change it.)

The U-Net (Ronneberger et al. 2015), as in the course
-------------------------------------------------------
    input -> [BatchNormalization]
    encoder, for f in filters (32, 64, 128):
        Conv(f) -> Conv(f) [-> Dropout]      ---- skip ----.
        MaxPooling2D(2)                                    |
    bottleneck: Conv(256) -> Conv(256) [-> Dropout]        |
    decoder, for f in reversed(filters):                   |
        UpSampling2D(2) (or Conv2DTranspose(f, 2, strides=2))
        Concatenate(axis=3)([upsampled, skip]) <-----------'
        Conv(f) -> Conv(f) [-> Dropout]
    Conv(n_classes, 1x1, softmax)

With padding='same' every 2x2 pooling halves H and W, and upsampling doubles
them back, so H and W must divide 2 ** len(filters). With padding='valid'
(the original paper) each 3x3 convolution trims 2 pixels, so the skips are
cropped (Cropping2D, centred) to the upsampled size before concatenation and
the output is smaller than the input: 572 -> 388 for the paper's 4 levels.
"""
import numbers

from .._validate import one_of, positive_int, rate
from ..layers.convolutional import Conv2D, Conv2DTranspose
from ..layers.core import Input
from ..layers.merging import Concatenate
from ..layers.normalization import BatchNormalization
from ..layers.pooling import MaxPooling2D
from ..layers.regularization import Dropout
from ..layers.reshaping import Cropping2D, UpSampling2D
from .model import Model

COURSE_INPUT_SHAPE = (110, 92, 1)    # a 2D slice of the course's T1 volumes


def _shape3(input_shape):
    try:
        shape = tuple(input_shape)
    except TypeError:
        shape = None
    if shape is None or len(shape) != 3 or not all(
            isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 1 for d in shape):
        raise ValueError(f"input_shape must be (height, width, channels), three integers "
                         f">= 1, got {input_shape!r}")
    return tuple(int(d) for d in shape)


def _check_head(n_classes, final_activation):
    n_classes = positive_int(n_classes, "n_classes")
    if n_classes == 1 and final_activation == "softmax":
        raise ValueError("n_classes=1 with a softmax always outputs 1.0; use "
                         "n_classes=2 (one-hot background/foreground) or "
                         "final_activation='sigmoid'")
    return n_classes


def conv_stack(input_shape, n_classes, filters, kernel_size=3, dropout=None,
               dilation_rate=1, activation="relu", final_activation="softmax",
               name=None, dtype=None):
    """Convolutions ('same') of the given filter counts, then a 1x1 classifier.

    dropout=None adds no Dropout layers; a number adds Dropout(dropout) after
    every convolution but the last (0.0 included, as in the slide demos).
    """
    input_shape = _shape3(input_shape)
    n_classes = _check_head(n_classes, final_activation)
    if dropout is not None:
        dropout = rate(dropout, "dropout")
    inputs = x = Input(input_shape, dtype=dtype)
    for f in filters:
        x = Conv2D(f, kernel_size, padding="same", dilation_rate=dilation_rate,
                   activation=activation, dtype=dtype)(x)
        if dropout is not None:
            x = Dropout(dropout, dtype=dtype)(x)
    outputs = Conv2D(n_classes, 1, activation=final_activation, dtype=dtype)(x)
    return Model(inputs, outputs, name=name)


def slide_demo(n_layers=1, input_shape=COURSE_INPUT_SHAPE, n_classes=3, dropout=0.0,
               final_activation="softmax", dtype=None):
    """The slides' demos: `n_layers` x [Conv(3, 3x3), Dropout], Conv(3, 1x1)."""
    n_layers = positive_int(n_layers, "n_layers")
    return conv_stack(input_shape, n_classes, (3,) * n_layers, dropout=dropout,
                      final_activation=final_activation, dtype=dtype)


def simple_cnn(input_shape=COURSE_INPUT_SHAPE, n_classes=3, dropout=None, dilation_rate=1,
               dtype=None):
    """The course's simple CNN: three Conv(16, 3x3), Conv(n_classes, 1x1)."""
    return conv_stack(input_shape, n_classes, (16, 16, 16), dropout=dropout,
                      dilation_rate=dilation_rate, dtype=dtype)


def five_layer_cnn(input_shape=COURSE_INPUT_SHAPE, n_classes=3, dtype=None):
    """The 5-layer exercise: Conv 5x5 with 8, 8, 16, 16, 32 filters."""
    return conv_stack(input_shape, n_classes, (8, 8, 16, 16, 32), kernel_size=5,
                      dtype=dtype)


# ---------------------------------------------------------------------- U-Net
def valid_unet_output_size(n, depth):
    """Output size of a 'valid' U-Net for input size n, or None if impossible.

    Each level's two 3x3 convolutions trim 4 pixels and its pooling needs an
    even size; the decoder doubles and trims 4 again.
    """
    for _ in range(depth):
        n -= 4
        if n < 2 or n % 2:
            return None
        n //= 2
    n -= 4
    if n < 1:
        return None
    for _ in range(depth):
        n = 2 * n - 4
        if n < 1:
            return None
    return n


def _check_same_size(n, depth, axis):
    factor = 2 ** depth
    if n % factor:
        target = -(-n // factor) * factor
        extra = target - n
        pad = (extra // 2, extra - extra // 2)
        raise ValueError(
            f"unet: input {axis} {n} is not divisible by 2**{depth} = {factor} (the "
            f"U-Net pools {depth} times with padding='same'); pad the images to "
            f"{target} (add {pad[0]} before and {pad[1]} after along the {axis}, e.g. "
            "np.pad on the data or layers.ZeroPadding2D), or use fewer levels")


def _check_valid_size(n, depth, axis):
    if valid_unet_output_size(n, depth) is not None:
        return
    below = next((m for m in range(n - 1, 0, -1) if valid_unet_output_size(m, depth)), None)
    above = next(m for m in range(n + 1, n + 2 ** (depth + 3))
                 if valid_unet_output_size(m, depth))
    options = f"{below} or {above}" if below else f"{above}"
    raise ValueError(
        f"unet(padding='valid'): input {axis} {n} does not fit: every pooling needs "
        f"an even size after its two 3x3 'valid' convolutions; use an input {axis} "
        f"of {options} (crop or pad the images), or padding='same'")


def _conv_block(x, filters, padding, dropout, activation, dtype):
    x = Conv2D(filters, 3, padding=padding, activation=activation, dtype=dtype)(x)
    x = Conv2D(filters, 3, padding=padding, activation=activation, dtype=dtype)(x)
    if dropout:
        x = Dropout(dropout, dtype=dtype)(x)
    return x


def _centre_crop(skip, target, dtype):
    """Crop `skip` to `target`'s height and width, centred ('valid' U-Net)."""
    crops = []
    for have, want in zip(skip.shape[1:3], target.shape[1:3]):
        extra = have - want
        crops.append((extra // 2, extra - extra // 2))
    return Cropping2D(tuple(crops), dtype=dtype)(skip)


def unet(input_shape, n_classes, filters=(32, 64, 128), bottleneck=256,
         upsampling="nearest", input_batchnorm=True, padding="same", dropout=0.0,
         activation="relu", final_activation="softmax", name=None, dtype=None):
    """The course's U-Net (see the module docstring); the defaults reproduce it.

    upsampling: 'nearest' (UpSampling2D, as in the course) or 'transpose'
    (Conv2DTranspose(f, 2, strides=2), learned). dropout > 0 adds
    Dropout(dropout) after every pair of convolutions. `activation` is that
    of the 3x3 convolutions.
    """
    input_shape = _shape3(input_shape)
    n_classes = _check_head(n_classes, final_activation)
    filters = tuple(positive_int(f, "filters") for f in filters)
    if not filters:
        raise ValueError("unet: filters must list at least one level, got ()")
    bottleneck = positive_int(bottleneck, "bottleneck")
    upsampling = one_of(upsampling, ("nearest", "transpose"), "upsampling")
    padding = one_of(padding, ("same", "valid"), "padding")
    dropout = rate(dropout, "dropout")
    depth = len(filters)
    check = _check_same_size if padding == "same" else _check_valid_size
    check(input_shape[0], depth, "height")
    check(input_shape[1], depth, "width")

    inputs = x = Input(input_shape, dtype=dtype)
    if input_batchnorm:
        x = BatchNormalization(dtype=dtype)(x)
    skips = []
    for f in filters:                                   # encoder
        x = _conv_block(x, f, padding, dropout, activation, dtype)
        skips.append(x)
        x = MaxPooling2D(2, dtype=dtype)(x)
    x = _conv_block(x, bottleneck, padding, dropout, activation, dtype)
    for f, skip in zip(reversed(filters), reversed(skips)):   # decoder
        if upsampling == "nearest":
            x = UpSampling2D(2, dtype=dtype)(x)
        else:
            x = Conv2DTranspose(f, 2, strides=2, padding=padding, dtype=dtype)(x)
        if padding == "valid":
            skip = _centre_crop(skip, x, dtype)
        x = Concatenate(axis=3, dtype=dtype)([x, skip])
        x = _conv_block(x, f, padding, dropout, activation, dtype)
    outputs = Conv2D(n_classes, 1, activation=final_activation, dtype=dtype)(x)
    return Model(inputs, outputs, name=name)
