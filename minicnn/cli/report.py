"""The figures ``minicnn train`` and ``minicnn predict`` write.

``minicnn train``: training curves and a held-out montage.

curves.png, four panels against the epoch (a fraction of an epoch for
per-batch values):

    loss             every batch's training loss (faint), its moving average,
                     and the validation loss after each epoch
    accuracy         pixel accuracy, training (epoch mean) and validation
    Dice per class   CSF, GM, WM; training dashed, validation solid
    learning rate    the cosine decay, batch by batch

montage.png, one row per held-out slice, four columns:

    input | label | prediction | errors

Label maps use one fixed colour per class
(``minicnn.segmentation.colours``, the colours of every minicnn figure:
background black, CSF sky blue, grey matter orange, white matter
near-white), with a legend; the error column shows the input in grey with
the misclassified pixels in red. Slices are drawn with their first in-plane
voxel axis to the right and the second upwards: for axial RAS+ slices the
subject's left is on the left ("neurological" view), anterior at the top.

``minicnn predict --figure overlay.png``: three orthogonal slices through
the centre of the predicted brain, axial, coronal and sagittal, each drawn
anatomy-up (superior or anterior at the top, the subject's left on the
left, anterior on the right in the sagittal view), with voxels shown at
their true aspect ratio: the input in grey under the labels in translucent
colours (``OVERLAY_COLOURS``: white matter bluish green, as near-white
would vanish over the white matter's bright grey).

Every figure is written atomically (``minicnn.files.atomic_path``): to a
temporary file beside it, then renamed.
"""
import os

import numpy as np
from matplotlib.colors import ListedColormap, to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..files import atomic_path
from ..segmentation.colours import OVERLAY_COLOURS, colours_of

OVERLAY_ALPHA = 0.45
MONTAGE_FRACTIONS = (0.4, 0.65)   # where the montage's slices sit in the brain
DICE_COLOURS = ("#0072b2", "#d55e00", "#009e73")   # CSF, GM, WM curves
SMOOTHING = 15                                      # batches in the moving average


def _save(fig, path):
    # A bare Figure, not pyplot: no global state, no window, nothing to close.
    # matplotlib picks PNG, PDF, SVG... from the temporary name's extension,
    # which is the final name's.
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight")


def check_figure_path(path, name):
    """Refuse a figure path matplotlib cannot write (the option is `name`)."""
    path = os.fspath(path)
    kinds = Figure().canvas.get_supported_filetypes()
    kind = os.path.splitext(path)[1][1:].lower()
    if kind not in kinds:
        raise ValueError(f"{name} must end in one of {', '.join('.' + k for k in kinds)}, "
                         f"got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{name}: no folder {folder!r} to write into")


def _moving_average(values, width):
    values = np.asarray(values, dtype=np.float64)
    width = max(1, min(width, len(values)))
    kernel = np.ones(width) / width
    # 'valid' averages only complete windows; pad the start with its first value.
    padded = np.concatenate([np.full(width - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def plot_curves(path, history, steps, class_names, loss_name):
    """Write curves.png from fit's History dict and the StepLog of batches."""
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(2, 2)
    ax = axes[0, 0]
    ax.plot(steps.epoch_of_step, steps.loss, color="0.75", lw=0.8, label="training, per batch")
    ax.plot(steps.epoch_of_step, _moving_average(steps.loss, SMOOTHING), color="k",
            label=f"training, mean of {SMOOTHING} batches")
    ax.plot(epochs, history["val_loss"], "o-", color="#d55e00", label="validation")
    ax.set(title=f"loss ({loss_name})", xlabel="epoch", ylabel="loss", yscale="log")
    ax.legend(fontsize=8)

    ax = axes[0, 1]
    ax.plot(epochs, history["accuracy"], "s--", color="k", label="training (epoch mean)")
    ax.plot(epochs, history["val_accuracy"], "o-", color="#d55e00", label="validation")
    ax.set(title="pixel accuracy", xlabel="epoch", ylabel="accuracy")
    ax.legend(fontsize=8)

    ax = axes[1, 0]
    for (key, name), colour in zip(_dice_keys(history, class_names), DICE_COLOURS):
        ax.plot(epochs, history[key], "s--", color=colour, alpha=0.6)
        ax.plot(epochs, history["val_" + key], "o-", color=colour, label=name)
    ax.set(title="Dice per class (training dashed, validation solid)", xlabel="epoch",
           ylabel="Dice", ylim=(None, 1.0))
    ax.legend(fontsize=8)

    ax = axes[1, 1]
    ax.plot(steps.epoch_of_step, steps.learning_rate, color="k")
    ax.set(title="learning rate (Adam)", xlabel="epoch", ylabel="learning rate")
    ax.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
    for ax in axes.ravel():
        ax.set_xlim(0, epochs[-1] + 0.1)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    _save(fig, path)


def _dice_keys(history, class_names):
    """(history key, class name) of the per-class Dice metrics, in class order."""
    keys = [k for k in history if k.startswith("dice_")]
    return list(zip(keys, class_names[1:]))


def montage_rows(source, image, labels, pred, axis):
    """(title, image, label, prediction) slices across `axis` at
    MONTAGE_FRACTIONS of the labelled brain's extent."""
    positions = np.flatnonzero(np.moveaxis(labels, axis, 0).reshape(labels.shape[axis], -1)
                               .any(axis=1))
    rows = []
    for fraction in MONTAGE_FRACTIONS:
        p = int(positions[int(round(fraction * (len(positions) - 1)))])
        rows.append((f"{source}, slice {p}", np.take(image, p, axis),
                     np.take(labels, p, axis), np.take(pred, p, axis)))
    return rows


def plot_montage(path, rows, class_names):
    """Write montage.png; rows are (title, image, label, prediction) 2D slices."""
    class_colours = colours_of(class_names)
    cmap = ListedColormap(class_colours)
    n_classes = len(class_names)
    fig = Figure(figsize=(9, 2.6 * len(rows)))
    axes = fig.subplots(len(rows), 4, squeeze=False)
    for r, (title, image, label, pred) in enumerate(rows):
        wrong = label != pred
        brain = max(int((label > 0).sum()), 1)
        panels = [(image, "gray", "input (normalised T1)"),
                  (label, cmap, "label"),
                  (pred, cmap, "prediction"),
                  (image, "gray", f"errors: {int(wrong.sum())} px "
                                  f"({100 * wrong.sum() / brain:.1f}% of brain)")]
        for c, (picture, colours, heading) in enumerate(panels):
            ax = axes[r, c]
            limits = (0, n_classes - 1) if colours is cmap else (0, 1.2)
            ax.imshow(picture.T, origin="lower", cmap=colours, vmin=limits[0],
                      vmax=limits[1], interpolation="nearest")
            if c == 3:
                overlay = np.zeros(wrong.shape + (4,))
                overlay[wrong] = (1.0, 0.0, 0.0, 1.0)                # opaque red
                ax.imshow(overlay.transpose(1, 0, 2), origin="lower", interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0 or c == 3:
                ax.set_title(heading, fontsize=9)
        axes[r, 0].set_ylabel(title, fontsize=9)
    handles = [Patch(facecolor=colour, edgecolor="0.5", label=name)
               for colour, name in zip(class_colours, class_names)]
    handles.append(Patch(facecolor="red", label="misclassified"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _save(fig, path)


def plot_overlay(path, image, labels, voxel_mm, class_names, title=""):
    """Write the predict overlay: `image` (X, Y, Z) and `labels` (X, Y, Z)
    in RAS+ voxel order, voxels of `voxel_mm` (3,), cut through the centre
    of mass of labels > 0 (of the volume if none)."""
    brain = np.argwhere(labels > 0)
    centre = (brain.mean(axis=0) if len(brain) else (np.array(labels.shape) - 1) / 2)
    i, j, k = np.round(centre).astype(int)
    sx, sy, sz = voxel_mm
    # (name, image slice, label slice, aspect = vertical / horizontal voxel
    # size, ends of the horizontal and vertical axes); the first in-plane
    # axis runs right, the second up (origin="lower").
    views = [(f"axial (z = {k})", image[:, :, k], labels[:, :, k], sy / sx, "LR", "PA"),
             (f"coronal (y = {j})", image[:, j, :], labels[:, j, :], sz / sx, "LR", "IS"),
             (f"sagittal (x = {i})", image[i, :, :], labels[i, :, :], sz / sy, "PA", "IS")]
    high = np.percentile(image[image > 0], 99.5) if (image > 0).any() else 1.0
    overlay_colours = colours_of(class_names, OVERLAY_COLOURS)
    colours = np.zeros((len(class_names), 4))            # background stays clear
    for c, colour in enumerate(overlay_colours):
        if colour is not None:
            colours[c] = to_rgba(colour, OVERLAY_ALPHA)
    fig = Figure(figsize=(12, 4.6))
    axes = fig.subplots(1, 3)
    for ax, (name, picture, label, aspect, across, up) in zip(axes, views):
        ax.imshow(picture.T, origin="lower", cmap="gray", vmin=0, vmax=high,
                  aspect=aspect, interpolation="nearest")
        ax.imshow(colours[label].transpose(1, 0, 2), origin="lower", aspect=aspect,
                  interpolation="nearest")
        ax.set_title(name, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel(f"{across[0]} <-> {across[1]}", fontsize=8)
        ax.set_ylabel(f"{up[0]} <-> {up[1]}", fontsize=8)
    handles = [Patch(facecolor=colour, edgecolor="0.5", label=name)
               for colour, name in zip(overlay_colours, class_names) if colour is not None]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    fig.suptitle(f"{title}: predicted labels over the input" if title else
                 "predicted labels over the input", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    _save(fig, path)
