"""``minicnn summary``: the Keras-style table of a model's layers and parameters.

    minicnn summary --model unet

The model is built exactly as ``minicnn train`` builds it (4 classes, the
train command's 80 x 96 x 1 axial slices unless ``--input-shape`` says
otherwise). Parameter counts do not depend on the height and width: a
convolution's weights are its kh x kw x C_in x F kernel and F biases,
whatever the size of the image it slides over.
"""
import argparse

from .. import segmentation
from .arguments import positive_int

DEFAULT_INPUT_SHAPE = (80, 96, 1)     # axial 2 mm slices of the template, padded


def add_arguments(parser):
    parser.add_argument("--model", default="unet", choices=sorted(segmentation.MODELS),
                        metavar="NAME", help="which network (default unet). " + segmentation.card.model_help())
    parser.add_argument("--input-shape", type=_shape, default=DEFAULT_INPUT_SHAPE,
                        metavar="H,W,C", help="input height, width and channels "
                        "(default 80,96,1)")
    parser.add_argument("--classes", type=positive_int, default=4,
                        help="output classes (default 4: background, CSF, GM, WM)")


def run(args):
    builder, arguments, text = segmentation.MODELS[args.model]
    card = {"builder": builder, "arguments": arguments, "n_classes": args.classes}
    model = segmentation.build(card, args.input_shape)
    print(f"{args.model}: {text}")
    model.summary()
    return 0


def _shape(text):
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise argparse.ArgumentTypeError(f"expected three integers >= 1 such as 80,96,1, "
                                         f"got {text!r}")
    return shape
