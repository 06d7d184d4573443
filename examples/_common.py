"""Helpers shared by the example scripts, so each script shows its concept only.

Nothing here teaches anything about networks: command-line options, the
output folder, printing, the colours of label maps, loading brain slices,
and a train-then-score routine for the scripts that train (01, 07, 09, 10).

Every script accepts

    --out DIR    where figures go (default: examples/out/<script name>/, or
                 $MINICNN_EXAMPLES_OUT/<script name>/ when that is set)
    --quick      a much smaller run (also: environment MINICNN_QUICK=1),
                 used by the tests; the numbers it prints are not meaningful
and the scripts that train (01, 07, 09, 10) also

    --backend    'numba' (compiled kernels, the default) or 'numpy' (the
                 readable reference kernels)
    --epochs N, --learning-rate R    to train longer or differently

The scripts are also notebooks: their `# %%` cells run one by one in a
Jupyter kernel (after `jupytext --to notebook`), VS Code or Spyder. There is
no command line there, so every option takes its default (setup's `argv`
sets them), and no `__file__`, so the scripts name themselves.
"""
import argparse
import os
import sys
import time

import minicnn

import matplotlib

matplotlib.use("Agg")   # files only, no window: works on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from minicnn import data, datasets, metrics, optimizers  # noqa: E402
from minicnn.exercises import catalogue  # noqa: E402
from minicnn.segmentation.colours import TISSUE_COLOURS, colours_of  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
QUICK_ENV = "MINICNN_QUICK"
OUT_ENV = "MINICNN_EXAMPLES_OUT"     # replaces examples/out as the default root

# ----------------------------------------------------------------- labels
# The embedded data have 4 classes; the course's task merged CSF into the
# background (3 classes: background, GM, WM).
CLASSES = {4: ("background", "CSF", "grey matter", "white matter"),
           3: ("background", "grey matter", "white matter")}
TO_COURSE_TASK = {0: 0, 1: 0, 2: 1, 3: 2}      # 4 classes -> the course's 3


def label_cmap(n_classes=4):
    """A categorical colour map: one flat colour per class, no blending, the
    colours of every minicnn figure (``minicnn.segmentation.colours``)."""
    colours = colours_of(CLASSES[n_classes])
    cmap = ListedColormap(colours)
    norm = BoundaryNorm(np.arange(n_classes + 1) - 0.5, n_classes)
    return cmap, norm


def label_legend(target, n_classes=4, **kwargs):
    """A legend naming each class colour, on a figure (once) or on one axes."""
    handles = [Patch(facecolor=TISSUE_COLOURS[name], edgecolor="0.4", label=name)
               for name in CLASSES[n_classes]]
    options = dict(loc="lower center", ncol=n_classes, fontsize=9, frameon=False)
    options.update(kwargs)
    target.legend(handles=handles, **options)


# ---------------------------------------------------------------- options
def setup(name, description, training=False, flags=None, argv=None):
    """Parse the common options; returns (args, output folder).

    name: the script's name, e.g. "01_kernels_and_parameters", given by the
    script because a notebook has no __file__ to take it from; the figures
    go to examples/out/<name>/ (or $MINICNN_EXAMPLES_OUT/<name>/) unless
    --out says otherwise.
    training=True adds --backend (and switches minicnn to it if given), --epochs and
    --learning-rate (None when not given: each script has its defaults).
    flags: a script's own on/off options, {"--name": "help text"} (False
    unless given).
    argv: the options as a list of strings. By default, the command line
    when the example runs as a script; in a notebook, none (every option at
    its default).
    """
    if os.path.basename(name) != name or name.endswith(".py"):
        raise ValueError(f"setup() takes the script's name, such as "
                         f"'01_kernels_and_parameters', not a file or path: {name!r}")
    # The default folder is found from this module's location, so it is the
    # same from any working directory, as a script or in a notebook.
    out_root = os.environ.get(OUT_ENV) or os.path.join(HERE, "out")
    parser = argparse.ArgumentParser(prog=f"{name}.py", description=description)
    parser.add_argument("--out", default=os.path.join(out_root, name),
                        help="folder for the figures (default: %(default)s)")
    parser.add_argument("--quick", action="store_true",
                        help=f"a tiny run for tests (also {QUICK_ENV}=1)")
    if training:
        parser.add_argument("--backend", choices=minicnn.backend.BACKENDS, default=None,
                            help="kernel backend (default: the library's, numba "
                            "when it imports)")
        parser.add_argument("--epochs", type=int, default=None,
                            help="passes over the training data")
        parser.add_argument("--learning-rate", type=float, default=None,
                            help="Adam's learning rate")
    for flag, text in (flags or {}).items():
        parser.add_argument(flag, action="store_true", help=text)
    if argv is None:
        argv = script_arguments()
        if argv is None:
            print("no command line (a notebook?): every option at its default; "
                  "setup(..., argv=[...]) sets them")
            argv = []
    args = parser.parse_args(argv)
    args.quick = args.quick or os.environ.get(QUICK_ENV, "0") not in ("", "0")
    os.makedirs(args.out, exist_ok=True)
    if training:
        args.backend = choose_backend(args.backend)
    minicnn.set_random_seed(0)
    print(f"{name}: figures go to {args.out}" + ("  [quick mode]" if args.quick else ""))
    return args, args.out


def script_arguments():
    """The command-line options when an example runs as a script, else None.

    Run as a script (python examples/01_....py, IPython's %run, Spyder's Run
    file), the file is the __main__ module and sys.argv[0] names it. A
    notebook kernel runs cells in a __main__ module that has no file, and
    its sys.argv is the kernel's own command line (ipykernel_launcher.py
    -f kernel-1234.json), not options for the example; an interactive
    Python has no file and an empty sys.argv[0].
    """
    script = getattr(sys.modules["__main__"], "__file__", None)
    if script and os.path.realpath(sys.argv[0]) == os.path.realpath(script):
        return sys.argv[1:]
    return None


def choose_backend(name=None):
    """Switch to backend `name` if given; otherwise keep the library's default
    (numba whenever it imports, see minicnn.backend). Prints the one in use."""
    if name is not None:
        minicnn.set_backend(name)
    print(f"backend: {minicnn.get_backend()}")
    return minicnn.get_backend()


def exercises(name):
    """End an example by naming the exercises that have you write its kernels
    yourself (minicnn.exercises, docs/exercises.md)."""
    found = catalogue.for_example(f"{name}.py")
    banner("Write it yourself")
    if not found:
        print("This section's code handles data, it is not a kernel: no exercise writes "
              "it. 'minicnn exercise list' shows the kernels you can write and check "
              "(docs/exercises.md).")
    for exercise in found:
        print(f"exercise {exercise.name}: {exercise.title}\n"
              f"    minicnn exercise start {exercise.name}, then\n"
              f"    minicnn exercise check minicnn-exercises/{exercise.file_name}")


def banner(title):
    print()
    print(title)
    print("-" * len(title))


# ---------------------------------------------------------------- figures
def show(ax, image, title=None, labels=None, **kwargs):
    """Draw a slice with anatomy's 'up' at the top.

    minicnn's slices are (H, W) = two voxel axes in RAS order (e.g. axial:
    left->right, posterior->anterior). Transposed and flipped, anterior (or
    superior) is up and the subject's right is on the picture's right.
    labels=K draws a K-class label map with the categorical colours.
    """
    picture = np.flipud(np.asarray(image).T)
    if labels:
        cmap, norm = label_cmap(labels)
        im = ax.imshow(picture, cmap=cmap, norm=norm, interpolation="nearest")
    else:
        kwargs.setdefault("cmap", "gray")
        im = ax.imshow(picture, interpolation="nearest", **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return im


def save(fig, out, name):
    """Write `fig` to out/name at a resolution that stays small and sharp.

    In a notebook kernel the figure is also shown below the cell (the Agg
    backend draws nothing on screen by itself); a kernel has loaded IPython
    already, and a plain script run never imports it."""
    path = os.path.join(out, name)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"figure: {path}")
    if script_arguments() is None and "IPython" in sys.modules:
        from IPython.display import Image, display
        display(Image(path))
    return path


# ------------------------------------------------------------------ data
def template_slices(axis=2, min_brain=0.2):
    """Slices of the embedded template (2 mm): x (N, H, W, 1), y (N, H, W), positions.

    Only slices whose brain covers at least `min_brain` of the slice: the
    nearly empty end slices say little about tissue.
    """
    icbm = datasets.icbm152(resolution=2)
    x, y, positions = data.extract_slices(icbm.t1, axis=axis, labels=icbm.labels)
    keep = (y > 0).mean(axis=(1, 2)) >= min_brain
    return x[keep], y[keep], positions[keep]


def synth_subjects(subjects, step=2, min_brain=0.05, seed=0):
    """Axial slices of synthetic subjects, each subject normalised on its own.

    Every `step`-th axial position (neighbouring slices are nearly
    identical, so this loses little), keeping slices whose brain covers at
    least `min_brain`. Intensities: the course's z-score then min-max over
    the subject. Returns x (N, 75, 93, 1) float32, y (N, 75, 93) int32 and
    the subject of each slice (N,).
    """
    generator = data.SynthGenerator(seed=seed)
    xs, ys, owner = [], [], []
    for k in subjects:
        x, y, _ = generator.slices(k, axis=2, positions=np.arange(0, generator.shape[2], step))
        keep = (y > 0).mean(axis=(1, 2)) >= min_brain
        xs.append(data.zscore_minmax(x[keep]))
        ys.append(y[keep])
        owner.append(np.full(int(keep.sum()), k))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)


def course_task_data(quick, multiple=1):
    """Train / validation / test slices of synthetic subjects, the course's task.

    Whole subjects per set (see example 07): subjects 0-7 train, 8
    validates, 9-11 test (quick: 0, 1, 2 and fewer slices). Labels are
    merged to the course's 3 classes (CSF -> background). Images and labels
    are padded so that H and W divide `multiple`. Returns {'train': (x, y),
    'validation': (x, y), 'test': (x, y)} and the subject ids of each set.
    """
    ids = ({"train": [0], "validation": [1], "test": [2]} if quick else
           {"train": list(range(8)), "validation": [8], "test": [9, 10, 11]})
    step = 6 if quick else 2
    sets = {}
    for name, subjects in ids.items():
        x, y4, _ = synth_subjects(subjects, step=step)
        y = data.remap_labels(y4, TO_COURSE_TASK)
        if multiple > 1:
            x, y, _ = pad_pair(x, y, multiple)
        sets[name] = (x, y)
        print(f"{name:10s} subjects {subjects}: x {x.shape}, y {y.shape}")
    return sets, ids


def pad_pair(x, y, multiple):
    """Pad images and labels alike so H and W divide `multiple` (a U-Net's 2**depth)."""
    x, margins = data.pad_to_multiple(x, multiple)
    y, _ = data.pad_to_multiple(y[..., None], multiple)
    return x, y[..., 0], margins


# --------------------------------------------------------------- training
def train(model, x, y, n_classes, epochs, batch_size=8, learning_rate=1e-3,
          validation=None, verbose=2, loss="categorical_crossentropy"):
    """Compile with Adam + `loss` (the course's cross-entropy unless given), fit,
    return (history, seconds). learning_rate: a number or a schedule.

    The course used Adam with learning_rate=1e-4 for 3 to 10 epochs over
    about 260 subjects, i.e. thousands of steps. The examples take a few
    hundred steps at most, so they start from Keras's default rate, 1e-3
    (the scripts say why when they use another), and batches of 8 rather
    than Keras's 32: more updates for the same computation.
    """
    model.compile(optimizer=optimizers.Adam(learning_rate),
                  loss=loss, metrics=["accuracy"])
    if validation is not None:
        validation = (validation[0], data.one_hot(validation[1], n_classes))
    start = time.perf_counter()
    history = model.fit(x, data.one_hot(y, n_classes), batch_size=batch_size,
                        epochs=epochs, validation_data=validation, verbose=verbose)
    return history, time.perf_counter() - start


def score(model, x, y, n_classes):
    """Accuracy and Dice per class of `model` on (x, y), from the argmax.

    Returns {'accuracy', 'dice' (the mean over the foreground classes),
    'dice_per_class' {name: value}, 'prediction' (N, H, W)}.
    """
    probabilities = model.predict(x, batch_size=32, verbose=0)
    dice = metrics.Dice(n_classes=n_classes, class_ids=tuple(range(1, n_classes)))
    dice.update_state(y, probabilities)
    names = CLASSES[n_classes]
    return {"accuracy": metrics.categorical_accuracy(y, probabilities),
            "dice": dice.result(),
            "dice_per_class": {names[c]: d for c, d in dice.result_per_class().items()},
            "prediction": probabilities.argmax(axis=-1)}


def print_scores(results, y_test, n_classes):
    """Print each model's held-out scores beside the all-background baseline;
    return that baseline's accuracy."""
    baseline = metrics.baseline("accuracy", np.eye(n_classes)[y_test])
    print(f"{'model':16s} {'params':>10s} {'train s':>8s} {'accuracy':>9s} {'Dice GM':>8s} "
          f"{'Dice WM':>8s} {'mean':>6s}")
    for name, r in results.items():
        d = r["dice_per_class"]
        print(f"{name:16s} {r['params']:>10,} {r['seconds']:>8.0f} {r['accuracy']:>9.3f} "
              f"{d['grey matter']:>8.3f} {d['white matter']:>8.3f} {r['dice']:>6.3f}")
    print(f"baseline (background everywhere): accuracy {baseline:.3f}, Dice 0")
    return baseline


def plot_predictions(axes, x, y, predictions, n_classes, titles):
    """Rows of input | label | each model's prediction, with errors in red.

    axes: (rows, 2 + len(predictions)); x, y: the rows' images and labels;
    predictions: list over models of (rows, H, W) label maps.
    """
    for row in range(len(x)):
        show(axes[row, 0], x[row, ..., 0], "input" if row == 0 else None)
        show(axes[row, 1], y[row], "label" if row == 0 else None, labels=n_classes)
        for col, (pred, title) in enumerate(zip(predictions, titles), start=2):
            ax = axes[row, col]
            show(ax, pred[row], title if row == 0 else None, labels=n_classes)
            wrong = np.flipud((pred[row] != y[row]).T)
            overlay = np.zeros(wrong.shape + (4,))
            overlay[wrong] = (0.9, 0.1, 0.1, 0.8)          # red, mostly opaque
            ax.imshow(overlay, interpolation="nearest")


def plot_curves(axes, histories):
    """Validation loss and accuracy per epoch of each model, training loss dashed."""
    for (name, history), colour in zip(histories.items(), plt.cm.tab10.colors):
        h = history.history
        epochs = np.arange(1, len(h["loss"]) + 1)
        axes[0].plot(epochs, h["loss"], "--", color=colour, alpha=0.6)
        axes[0].plot(epochs, h["val_loss"], "o-", color=colour, label=name)
        axes[1].plot(epochs, h["val_accuracy"], "o-", color=colour, label=name)
    axes[0].set_title("loss (solid: validation, dashed: training)", fontsize=10)
    axes[1].set_title("validation accuracy", fontsize=10)
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8)


def plot_scores(ax, results, baseline):
    """Test accuracy and Dice (GM, WM) of each model; parameters in the labels."""
    names = list(results)
    where = np.arange(len(names))
    for offset, key, colour, label in ((-0.2, "accuracy", "tab:blue", "accuracy"),
                                       (0.2, "dice", "tab:green", "Dice, mean of GM and WM")):
        bars = ax.bar(where + offset, [results[n][key] for n in names], width=0.38,
                      color=colour, label=label)
        ax.bar_label(bars, fmt="%.3f", fontsize=8)
    ax.axhline(baseline, color="tab:blue", linestyle="--", linewidth=1,
               label=f"accuracy of 'all background' ({baseline:.2f})")
    ax.set_xticks(where, [f"{n}\n{results[n]['params']:,} params" for n in names], fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("test score")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)


def save_comparison(out, results, baseline, x_test, y_test, n_classes, title):
    """comparison.png (scores of each model) and predictions.png (three held-out
    slices: input, label and each model's prediction with its errors)."""
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    plot_scores(ax, results, baseline)
    ax.set_title(title, fontsize=10)
    save(fig, out, "comparison.png")

    picks = np.linspace(0.25, 0.75, 3) * (len(x_test) - 1)
    rows = np.unique(picks.astype(int))
    fig, axes = plt.subplots(len(rows), 2 + len(results), squeeze=False,
                             figsize=(2.2 * (2 + len(results)), 2.7 * len(rows)),
                             layout="constrained")
    plot_predictions(axes, x_test[rows], y_test[rows],
                     [r["prediction"][rows] for r in results.values()], n_classes,
                     [f"{n}\nDice {r['dice']:.3f}" for n, r in results.items()])
    label_legend(fig, n_classes, loc="outside lower center")
    fig.suptitle("Held-out slices: prediction errors in red", fontsize=11)
    save(fig, out, "predictions.png")

