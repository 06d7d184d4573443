"""The pretrained model that ships inside minicnn.

    minicnn predict --input T1.nii.gz --output labels.nii.gz     # no --weights

uses the model in this package's folder: the course's U-Net trained at 1 mm
on slices along all three views of synthetic subjects (BUILD.json gives the
command, the machine, the checksums and the held-out Dice; ``python -m
minicnn.pretrained.build`` trains it again). Three files make the model:

    model.npz    the weights, stored as float16 (half the size); loaded as float32
    model.json   its model card (``minicnn.segmentation.card``, version 2) with two more
                 fields: "weights_dtype": "float16" and "notice": "NOTICE.txt"
    NOTICE.txt   the ICBM 2009a template's copyright and permission notice and
                 citations: the weights derive from the template (they were
                 trained on it and on synthetic subjects made from it)

They are package data (setup.cfg), so a wheel carries them. Where they are
absent (a checkout with the model deleted), ``weights_path()`` raises and
``minicnn predict`` without --weights stops saying so rather than use
anything else.

A model trained by ``minicnn train`` (or a script that writes the weights
and card with ``segmentation.save_model``) becomes the shipped one with

    from minicnn import pretrained
    pretrained.export("minicnn-train/model.npz")        # into this folder

float16 storage. Each weight w is stored as fl16(w), w rounded to the
nearest float16: a relative error of at most 2**-11 (4.9e-4) for
6.1e-5 <= |w| <= 65504, an absolute one of at most 2**-25 (3e-8) below
(float16's subnormals); ``export`` refuses weights beyond 65504 (they
would become inf). Loading casts them back to float32 (``load_weights``
sets each weight in its layer's dtype). The label maps predicted with the
float16 weights agree with those of the float32 weights to a Dice of at
least FLOAT16_MIN_DICE per class (tests/test_cli_predict.py on a small
trained U-Net).
"""
import os

import numpy as np

from .. import files
from ..datasets import icbm152_notice
from ..segmentation import card as cards

DIRECTORY = os.path.dirname(os.path.abspath(__file__))
WEIGHTS, NOTICE = "model.npz", "NOTICE.txt"
FLOAT16_MIN_DICE = 0.99
DERIVATION = """\
Pretrained minicnn model (model.npz, model.json in this folder)
===============================================================

These weights were trained by minicnn on the ICBM 2009a Nonlinear Symmetric
template embedded in minicnn (minicnn/datasets/data) and on synthetic
subjects made from it (minicnn.data.synth); they are derived from the
template, whose notice follows.

"""


def weights_path():
    """The shipped model's weights (.npz; its card beside it), or an error
    saying that none ships."""
    path = os.path.join(DIRECTORY, WEIGHTS)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"no pretrained model ships with this minicnn (no {path}): pass --weights "
            "with a model.npz written by 'minicnn train'")
    return path


def export(weights, folder=None):
    """Write the model `weights` (.npz, its card beside it) to `folder`
    (default: this package's folder) as the shipped model: float16
    weights, the card (version 2) with "weights_dtype" and "notice", and
    NOTICE.txt. Returns the path of the written .npz."""
    folder = DIRECTORY if folder is None else os.fspath(folder)
    card = cards.load_card(weights)              # a version 1 card gains its views
    with np.load(weights, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    for key, array in arrays.items():
        if array.dtype.kind == "f":
            if np.abs(array).max(initial=0) > np.finfo(np.float16).max:
                raise ValueError(f"{weights}: weight {key!r} reaches "
                                 f"{np.abs(array).max():g}, beyond float16's "
                                 f"{np.finfo(np.float16).max:g}; it cannot ship as float16")
            arrays[key] = array.astype(np.float16)
    path = os.path.join(folder, WEIGHTS)
    with files.atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    card = {**card, "version": cards.CARD_VERSION, "weights_dtype": "float16",
            "notice": NOTICE}
    cards.write_json(cards.card_path(path), card)
    files.write_text(os.path.join(folder, NOTICE), DERIVATION + icbm152_notice())
    return path
