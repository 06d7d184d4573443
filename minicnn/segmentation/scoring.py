"""Scoring a trained network on held-out whole volumes.

Dice of class c over a set of volumes is computed from voxel totals,

    dice_c = 2 sum_v |T_c and P_c| / (sum_v |T_c| + sum_v |P_c|)

summed over every voxel of every volume (``minicnn.metrics.Dice``), so a
large brain weighs more than a small one, as it has more voxels to get
right; per-subject scores are reported beside the pooled ones. "mean_dice"
is the mean over CSF, grey and white matter (background left out: it is
easy and would flatter the mean). Whole volumes means every slice, empty
ones included: a prediction of tissue outside the brain counts against it.
"""
import numpy as np

from .. import metrics
from .scan import segment_at_card_voxels

BAR = {"mean_dice": 0.85, "GM": 0.90, "WM": 0.90}
SHORT = ("background", "CSF", "GM", "WM")


def segment(model, card, image):
    """Normalised image and predicted labels (uint8) of one whole RAS+ volume
    at the card's voxel size, segmented as ``minicnn predict`` does: along
    every view of the card, probabilities averaged."""
    normalised, probabilities = segment_at_card_voxels(model, card, image)
    return normalised, probabilities.argmax(axis=-1).astype(np.uint8)


def synthetic_subjects(model, card, generator, ids):
    """Scores of held-out synthetic subjects (pooled and per subject), and
    the first one's (normalised image, labels, prediction) to look at."""
    truths, preds, per_subject, first = [], [], [], None
    for k in ids:
        image, labels = generator.volume(k, axis=card["axis"])      # (X, Y, Z) each
        normalised, pred = segment(model, card, image)
        truths.append(labels)
        preds.append(pred)
        per_subject.append({"subject": k, **scores([labels], [pred], card["n_classes"])})
        if first is None:
            first = (normalised, labels, pred)
    pooled = scores(truths, preds, card["n_classes"])
    return {"subjects": list(ids), **pooled, "per_subject": per_subject}, first


def template(model, card, icbm):
    """Scores on the ICBM template's whole volume, and its (normalised image,
    predicted labels)."""
    normalised, pred = segment(model, card, icbm.t1)
    return scores([icbm.labels], [pred], card["n_classes"]), (normalised, pred)


def scores(truths, preds, n_classes):
    """Dice per class (from voxel totals over all volumes) and accuracy."""
    dice = metrics.Dice(n_classes=n_classes)
    correct = total = 0
    for truth, pred in zip(truths, preds):
        dice.update_state(truth[None], pred[None])
        correct += int((truth == pred).sum())
        total += truth.size
    per_class = {SHORT[c]: d for c, d in dice.result_per_class().items()}
    return {"dice": per_class,
            "mean_dice": float(np.mean([per_class[n] for n in SHORT[1:n_classes]])),
            "accuracy": correct / total}


def meets_bar(result):
    """Mean Dice of CSF, GM, WM >= 0.85 with GM and WM each >= 0.90."""
    dice = result["dice"]
    return bool(result["mean_dice"] >= BAR["mean_dice"] and dice["GM"] >= BAR["GM"]
                and dice["WM"] >= BAR["WM"])
