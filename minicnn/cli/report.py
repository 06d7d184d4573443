"""The figures ``minicnn train`` writes: training curves and a held-out montage.

curves.png, four panels against the epoch (a fraction of an epoch for
per-batch values):

    loss             every batch's training loss (faint), its moving average,
                     and the validation loss after each epoch
    accuracy         pixel accuracy, training (epoch mean) and validation
    Dice per class   CSF, GM, WM; training dashed, validation solid
    learning rate    the cosine decay, batch by batch

montage.png, one row per held-out slice, four columns:

    input | label | prediction | errors

Label maps use one fixed colour per class (the Okabe-Ito colour-blind-safe
palette: background black, CSF sky blue, grey matter orange, white matter
near-white), with a legend; the error column shows the input in grey with
the misclassified pixels in red. Slices are drawn with their first in-plane
voxel axis to the right and the second upwards: for axial RAS+ slices the
subject's left is on the left ("neurological" view), anterior at the top.
"""
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch

CLASS_COLOURS = ("#000000", "#56b4e9", "#e69f00", "#f2f2f2")
DICE_COLOURS = ("#0072b2", "#d55e00", "#009e73")   # CSF, GM, WM curves
SMOOTHING = 15                                      # batches in the moving average


def _save(fig, path):
    # A bare Figure, not pyplot: no global state, no window, nothing to close.
    fig.savefig(path, dpi=110, bbox_inches="tight")


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


def plot_montage(path, rows, class_names):
    """Write montage.png; rows are (title, image, label, prediction) 2D slices."""
    cmap = ListedColormap(CLASS_COLOURS[:len(class_names)])
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
               for colour, name in zip(CLASS_COLOURS, class_names)]
    handles.append(Patch(facecolor="red", label="misclassified"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=9,
               frameon=False)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    _save(fig, path)
