"""Regenerate the data figures of docs/data.md.

    python docs/figures/make_figures.py

icbm152.png         : the embedded template (2 mm), T1 and labels, three planes.
synth_subjects.png  : the template's axial slice beside the same slice of
                      synthetic subjects (seed 0), for both intensity models.
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

from minicnn import data, datasets  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LABEL_COLOURS = ListedColormap(["black", "#3b82f6", "#9ca3af", "#f5f5f4"])


def show(ax, image, title=None, labels=False):
    # Axial slices are (left->right, posterior->anterior) arrays; transpose
    # and flip so anterior (or superior) is up and the subject's right is on
    # the right of the picture (neurological convention).
    ax.imshow(np.flipud(image.T), cmap=LABEL_COLOURS if labels else "gray",
              vmin=0 if labels else None, vmax=3 if labels else None,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8)


def template_figure():
    icbm = datasets.icbm152(2)
    centre = [s // 2 for s in icbm.t1.shape]
    fig, axes = plt.subplots(2, 3, figsize=(7.5, 5))
    for col, (axis, name) in enumerate([(2, "axial"), (1, "coronal"), (0, "sagittal")]):
        show(axes[0, col], icbm.t1.take(centre[axis], axis), f"T1, {name} slice {centre[axis]}")
        show(axes[1, col], icbm.labels.take(centre[axis], axis), "labels", labels=True)
    fig.suptitle("minicnn.datasets.icbm152(2): 0 background, 1 CSF (blue), 2 GM, 3 WM",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "icbm152.png"), dpi=110)


def synth_figure(n_subjects=5, position=45):
    icbm = datasets.icbm152(2)
    rows = [("T1 + gamma", data.SynthGenerator(seed=0, intensity="t1", max_thickness=4.0)),
            ("random contrast", data.SynthGenerator(seed=0, intensity="classes",
                                                    max_thickness=4.0))]
    fig, axes = plt.subplots(3, n_subjects + 1, figsize=(1.6 * (n_subjects + 1), 5.6))
    show(axes[0, 0], icbm.t1[:, :, position], f"template, z={position}")
    show(axes[1, 0], icbm.t1[:, :, position], "template")
    show(axes[2, 0], icbm.labels[:, :, position], "template labels", labels=True)
    for k in range(n_subjects):
        for row, (name, generator) in enumerate(rows):
            x, y, _ = generator.slices(k, axis=2, positions=[position])
            show(axes[row, k + 1], x[0, ..., 0], f"subject {k}, {name}")
        show(axes[2, k + 1], y[0], f"subject {k} labels", labels=True)
    fig.suptitle("minicnn.data.SynthGenerator(seed=0): same axial slice position, "
                 "different synthetic subjects", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(HERE, "synth_subjects.png"), dpi=110)


if __name__ == "__main__":
    template_figure()
    synth_figure()
