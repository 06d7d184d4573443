"""What a trained model needs besides its weights: the model card.

``minicnn train`` (and ``save_model``) writes two files side by side:

    model.npz     the weights (``model.save_weights``; layer classes and shapes inside)
    model.json    the model card: how to rebuild the network and how to feed it

and ``minicnn predict --weights model.npz`` reads both. The card (version 2)
holds::

    {"format": "minicnn-model-card", "version": 2,
     "model": "unet",                          a name of MODELS below
     "builder": "unet", "arguments": {...},    minicnn.models.<builder>(shape, n_classes, **arguments)
     "n_classes": 4, "class_names": [...],     index k of the output = class_names[k]
     "axis": 2,                                the first view's voxel axis (RAS+: 2 = axial)
     "views": ["axial", "coronal", "sagittal"],  the views the weights were trained on
     "voxel_mm": 2.0,                          the voxel size the network was trained at
     "pad_multiple": 8,                        H and W are padded to a multiple of this
     "crop_margin_mm": 8.0,                    slices are cut from the brain's box grown by this
     "normalisation": {...}}                   how the volumes were scaled, see below

Views are named as in ``minicnn.segmentation.VIEWS``: sagittal, coronal and axial
slices lie across RAS+ voxel axes 0, 1 and 2. ``minicnn predict`` runs the
network along every view the card lists (or those asked for, never one it
lists not) and averages the class probabilities
(``minicnn.segmentation.segment_views``).

Version 1 cards, written before views, lack "views" and "crop_margin_mm":
``load_card`` reads them as trained on the one view of their "axis", with
the default margin, and every other field means what it meant.

The network itself is fully convolutional, so the card has no input size:
the same weights run on slices of any height and width (a multiple of
``pad_multiple`` for a U-Net): on each view's slices, cropped to the brain.

The normalisation is ``minicnn.data.scale_by_brain_percentile`` (MRI
intensities have no unit, so every volume is scaled by a high percentile of
its brain before slicing). The card records its name and every setting,
``{"method": "scale-by-brain-percentile", "brain_threshold": 0.1, ...}``, and
``normalise`` applies what a card records: training, held-out scoring and
``minicnn predict`` scale every volume the same way.
"""
import inspect
import json
import math
import numbers
import os

from .. import data, files, models
from .views import VIEWS, view_axes

CARD_FORMAT = "minicnn-model-card"
CARD_VERSION = 2
READABLE_VERSIONS = (1, 2)
# A margin of background around the brain, about what the training slices
# had (the template is cropped to the brain plus 2 mm, then padded to the
# network's multiple), so that the network sees the brain's edge in context.
# On the 1 mm template, margins of 0 to 16 mm changed 0 to 0.5 % of the
# whole-slice labels (moving the crop moves the U-Net's pooling grid) and
# no Dice in its third decimal.
CROP_MARGIN_MM = 8.0
AXIS_VIEWS = {axis: view for view, axis in VIEWS.items()}   # 2 -> "axial"

# name: (builder in minicnn.models, its arguments, what it is)
MODELS = {
    "unet": ("unet", {}, "the course's U-Net: 32/64/128 filters, bottleneck 256, "
             "nearest-neighbour upsampling"),
    "unet-transpose": ("unet", {"upsampling": "transpose"},
                       "the course's U-Net with Conv2DTranspose upsampling"),
    "unet-deep": ("unet", {"filters": [32, 64, 128, 256], "bottleneck": 512},
                  "one more level: 32/64/128/256, bottleneck 512"),
    "unet-small": ("unet", {"filters": [8, 16, 32], "bottleneck": 48},
                   "a U-Net under 120k parameters: 8/16/32, bottleneck 48"),
    "simple": ("simple_cnn", {}, "the course's simple CNN: three Conv(16, 3x3)"),
    "simple-dropout": ("simple_cnn", {"dropout": 0.2}, "the simple CNN with Dropout(0.2)"),
    "simple-dilated": ("simple_cnn", {"dilation_rate": 2},
                       "the simple CNN with dilation_rate=2"),
    "five-layer": ("five_layer_cnn", {}, "the 5-layer 5x5 exercise: 8/8/16/16/32 filters"),
}

# The settings are the library function's defaults, read from its signature,
# so that the card cannot record other numbers than those training applied.
NORMALISATION = {"method": "scale-by-brain-percentile",
                 **{name: parameter.default for name, parameter
                    in inspect.signature(data.scale_by_brain_percentile).parameters.items()
                    if parameter.default is not parameter.empty}}


def model_help():
    """One line per model name, for --help."""
    return "; ".join(f"{name}: {text}" for name, (_, _, text) in MODELS.items())


def pad_multiple(builder, arguments):
    """H and W must divide this: 2**levels for a U-Net, 1 for the plain CNNs."""
    if builder == "unet":
        return 2 ** len(arguments.get("filters", (32, 64, 128)))
    return 1


def build(card, input_shape):
    """The network described by `card`, for inputs of `input_shape` (H, W, C)."""
    builder = getattr(models, card["builder"])
    return builder(tuple(input_shape), card["n_classes"], **card["arguments"])


def new_card(name, class_names, axis, voxel_mm, views=None):
    """The card of a model `name` (a key of MODELS) about to be trained on
    slices along `axis` and, if given, other `views` too (names of
    ``VIEWS``, the view of `axis` among them; default: that view only)."""
    builder, arguments, _ = MODELS[name]
    views = [AXIS_VIEWS[axis]] if views is None else list(views)
    view_axes(views)                                  # names checked
    if AXIS_VIEWS[axis] not in views:
        raise ValueError(f"views {views} must include {AXIS_VIEWS[axis]!r}, the view of "
                         f"axis {axis}")
    return {"format": CARD_FORMAT, "version": CARD_VERSION, "model": name,
            "builder": builder, "arguments": dict(arguments),
            "n_classes": len(class_names), "class_names": list(class_names),
            "axis": int(axis), "views": views, "voxel_mm": float(voxel_mm),
            "pad_multiple": pad_multiple(builder, arguments),
            "crop_margin_mm": CROP_MARGIN_MM,
            "normalisation": dict(NORMALISATION)}


def crop_margin_voxels(card, voxel_mm):
    """The card's crop margin in voxels of `voxel_mm` (rounded up)."""
    return math.ceil(card["crop_margin_mm"] / voxel_mm - 1e-9)


def card_path(weights_path):
    """model.npz -> model.json (the card sits beside the weights)."""
    path = os.fspath(weights_path)
    return (path[:-len(".npz")] if path.endswith(".npz") else path) + ".json"


def write_json(path, content):
    """Write `content` as JSON (indented, one final newline), atomically."""
    files.write_text(path, json.dumps(content, indent=2) + "\n")


def save_model(model, card, weights_path):
    """Write the weights (.npz, atomically) and the card beside them."""
    model.save_weights(weights_path)
    write_json(card_path(weights_path), card)


def load_card(weights_path):
    """Read and check the card next to `weights_path`; errors say what is wrong."""
    weights_path = os.fspath(weights_path)
    if not weights_path.endswith(".npz"):
        raise ValueError(f"--weights must be a minicnn .npz file written by 'minicnn "
                         f"train', got {weights_path!r}")
    if not os.path.isfile(weights_path):
        raise FileNotFoundError(f"no weights file {weights_path!r}")
    path = card_path(weights_path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no model card {path!r} next to the weights: 'minicnn "
                                "train' writes it beside the .npz, keep the two together")
    try:
        with open(path, encoding="utf-8") as f:
            card = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"model card {path!r} is not readable JSON ({err})") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT \
            or card.get("version") not in READABLE_VERSIONS:
        raise ValueError(f"{path!r} is not a minicnn model card (format {CARD_FORMAT!r} "
                         f"version {' or '.join(map(str, READABLE_VERSIONS))})")
    if card["version"] == 1:          # one view, the default margin
        card = {**card, "views": [AXIS_VIEWS.get(card.get("axis"))],
                "crop_margin_mm": CROP_MARGIN_MM}
    missing = [k for k in ("builder", "arguments", "n_classes", "class_names", "axis",
                           "views", "voxel_mm", "pad_multiple", "crop_margin_mm",
                           "normalisation") if k not in card]
    if missing or card["builder"] not in {b for b, _, _ in MODELS.values()}:
        raise ValueError(f"model card {path!r} is incomplete or names an unknown builder "
                         f"(missing {missing}, builder {card.get('builder')!r})")
    try:
        view_axes(card["views"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"model card {path!r}: {err}") from None
    margin = card["crop_margin_mm"]
    if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not margin >= 0:
        raise ValueError(f"model card {path!r}: crop_margin_mm must be a number >= 0 (mm), "
                         f"got {margin!r}")
    method = card["normalisation"].get("method") \
        if isinstance(card["normalisation"], dict) else None
    if method != NORMALISATION["method"]:
        raise ValueError(f"model card {path!r}: unknown normalisation {method!r}; this "
                         f"minicnn knows {NORMALISATION['method']!r}")
    return card


def load_model(weights_path, input_shape):
    """Rebuild the card's network for `input_shape` and load the weights.

    Weights saved from another architecture are refused by ``load_weights``
    with the first layer that differs.
    """
    card = load_card(weights_path)
    model = build(card, input_shape)
    model.load_weights(weights_path)
    return model, card


def normalise(volume, card):
    """`volume` scaled as the card records (``data.scale_by_brain_percentile``)."""
    settings = {k: v for k, v in card["normalisation"].items() if k != "method"}
    return data.scale_by_brain_percentile(volume, **settings)
