# %% introduction and setup
"""Course section 1f, metrics: accuracy, Dice, and the score of a network that learned nothing.

    python examples/06_metrics.py [--out DIR] [--quick]

Labels are integers (classes), so the course does not score them with a
mean squared error. Two metrics:

    categorical accuracy = (1/N) sum_i I(predicted_i = label_i)    over pixels
    Dice of class c      = 2 |X and Y| / (|X| + |Y|)
                           X: pixels labelled c, Y: pixels predicted c
                           perfect overlap: 2 |X| / (|X| + |X|) = 1

Accuracy counts every pixel alike, and most pixels of a brain slice are
background: "the baseline for metrics is not usually 0". Predicting
background everywhere, a network that learned nothing, scores the
background fraction: 0.58 on the template's whole volume (the slide's "guess
all 0 -> metric = 0.6") and 0.46 on slices through the brain. Its Dice is 0
for CSF, GM and WM, so the mean Dice over the tissues (not the background)
starts from 0 and measures only the tissue. Report a metric with its
baseline, or use Dice.

A slip of the course's notebook, measured here: a softmax output trained
with binary cross-entropy and metrics=['acc'] makes Keras report *binary*
accuracy, which scores each of the C one-hot channels as its own yes/no
question. The all-background guess then looks much better than it is.

Everything is measured on real label maps: the embedded template's axial
slices, and a synthetic subject (the template, warped) for the "atlas"
prediction. Figures: predictions.png (each prediction on one slice, errors
in red, with its scores), scores.png (accuracy, binary accuracy and mean
tissue Dice of each prediction, against the baselines).
"""
import _common
import numpy as np

from minicnn import data, datasets, metrics

args, out = _common.setup("06_metrics", "Metrics and their baselines (course section 1f)")
plt = _common.plt
NAMES = _common.CLASSES[4]
TISSUES = (1, 2, 3)                                      # CSF, GM, WM: not background

# %% 1. Dice by hand
_common.banner("Dice on a toy example")
truth = np.array([[0, 1, 1, 0],
                  [0, 1, 1, 0]])
guess = np.array([[0, 0, 1, 1],
                  [0, 0, 1, 1]])
overlap, sizes = np.sum((truth == 1) & (guess == 1)), (np.sum(truth == 1), np.sum(guess == 1))
print(f"truth {truth.tolist()}  prediction {guess.tolist()}")
print(f"Dice of class 1 = 2 * {overlap} / ({sizes[0]} + {sizes[1]}) = "
      f"{2 * overlap / sum(sizes):.2f};  accuracy = {np.mean(truth == guess):.2f}")
print(f"perfect overlap: 2 * {sizes[0]} / ({sizes[0]} + {sizes[0]}) = 1.00")
hard = metrics.dice_per_class(truth[None], guess[None], n_classes=2)
print(f"minicnn.metrics.dice_per_class: {hard}")

# %% 2. real label maps
icbm = datasets.icbm152(resolution=2)
volume_onehot = data.one_hot(icbm.labels, 4)[None]           # (1, X, Y, Z, 4)
_common.banner("Baselines: predicting background everywhere")
x, y, positions = _common.template_slices(axis=2)             # y (N, 75, 93), 4 classes
onehot = data.one_hot(y, 4)                                    # (N, 75, 93, 4)
for name, target in (("whole volume", volume_onehot), (f"{len(y)} brain slices", onehot)):
    accuracy = metrics.baseline("accuracy", target)
    binary = metrics.baseline("binary_accuracy", target)
    dice = metrics.baseline(metrics.Dice(class_ids=TISSUES), target)
    print(f"{name:16s} accuracy {accuracy:.3f}   binary accuracy over 4 channels "
          f"{binary:.3f}   mean Dice of CSF, GM, WM {dice:.3f}")
print("The course's 'guess all 0 -> metric = 0.6' is the whole-volume accuracy, 0.58 here.")

# A few label maps scored against the truth, from worst to best.
generator = data.SynthGenerator(seed=0)
_, subject, _ = generator.slices(0, axis=2, positions=positions)    # another anatomy
predictions = {
    "all background": np.zeros_like(y),
    "CSF missed\n(called background)": np.where(y == 1, 0, y),
    "shifted 2 voxels": np.roll(y, 2, axis=2),
    "shifted 1 voxel": np.roll(y, 1, axis=2),
    "perfect": y.copy(),
}
# The atlas: the template's labels as the prediction for a warped subject.
targets = {name: y for name in predictions}
predictions["template labels for\na synthetic subject"] = y.copy()
targets["template labels for\na synthetic subject"] = subject

_common.banner("Scores of some predictions (4 classes; Dice from the argmax)")
print(f"{'prediction':40s} {'accuracy':>8s} {'binary acc':>10s} "
      + " ".join(f"{n[:5]:>6s}" for n in ("bg", "CSF", "GM", "WM")) + f" {'tissue Dice':>11s}")
scores = {}
for name, prediction in predictions.items():
    target = targets[name]
    probabilities = data.one_hot(prediction, 4)                 # a confident network
    dice = metrics.Dice(n_classes=4, class_ids=TISSUES)
    dice.update_state(target, probabilities)
    per_class = dice.result_per_class()
    scores[name] = {
        "accuracy": metrics.categorical_accuracy(target, probabilities),
        "binary accuracy": metrics.binary_accuracy(data.one_hot(target, 4), probabilities),
        "tissue Dice": dice.result(),
        "per class": per_class,
    }
    s = scores[name]
    print(f"{name.replace(chr(10), ' '):40s} {s['accuracy']:8.3f} {s['binary accuracy']:10.3f} "
          + " ".join(f"{per_class[c]:6.3f}" for c in range(4)) + f" {s['tissue Dice']:11.3f}")
print(f"Accuracy barely notices a missing class (CSF is {np.mean(y == 1):.1%} of the pixels); "
      "its Dice is 0 and the mean tissue Dice drops by a third.")

_common.banner("Soft Dice (probabilities instead of counts)")
tissue = icbm.tissue[:, :, positions].transpose(2, 0, 1, 3)     # (N, 75, 93, 4)
soft = metrics.dice_coefficient(y, tissue, mode="soft", class_ids=TISSUES)
hard = metrics.dice_coefficient(y, tissue, mode="hard", class_ids=TISSUES)
print(f"the template's tissue probabilities against its labels: soft tissue Dice {soft:.3f}, "
      f"hard (argmax) {hard:.3f}: soft Dice also counts the probability mass a confident "
      "argmax would round away (the course defined this one but did not report it)")

# %% 3. figures
index = int(np.argmin(np.abs(positions - 45)))
fig, axes = plt.subplots(2, 4, figsize=(12, 7.6), layout="constrained")
_common.show(axes[0, 0], y[index], f"truth (template, z={positions[index]})", labels=4)
_common.show(axes[1, 0], subject[index], "truth (synthetic subject 0)", labels=4)
panels = ["all background", "CSF missed\n(called background)", "shifted 1 voxel",
          "shifted 2 voxels", "perfect", "template labels for\na synthetic subject"]
for ax, name in zip([axes[0, 1], axes[0, 2], axes[0, 3], axes[1, 1], axes[1, 2],
                     axes[1, 3]], panels):
    s = scores[name]
    prediction, target = predictions[name][index], targets[name][index]
    _common.show(ax, prediction, f"{name}\naccuracy {s['accuracy']:.3f}, tissue Dice "
                 f"{s['tissue Dice']:.3f}", labels=4)
    wrong = np.flipud((prediction != target).T)
    overlay = np.zeros(wrong.shape + (4,))
    overlay[wrong] = (0.9, 0.1, 0.1, 0.85)                      # errors in red
    ax.imshow(overlay, interpolation="nearest")
_common.label_legend(fig, 4, loc="outside lower center")
fig.suptitle("Predictions scored against the truth (errors in red); scores over all "
             f"{len(y)} brain slices", fontsize=11)
_common.save(fig, out, "predictions.png")

fig, ax = plt.subplots(figsize=(11, 4.6), layout="constrained")
order = ["all background", "CSF missed\n(called background)", "template labels for\n"
         "a synthetic subject", "shifted 2 voxels", "shifted 1 voxel", "perfect"]
where = np.arange(len(order))
for offset, key, colour in ((-0.27, "accuracy", "tab:blue"),
                            (0.0, "binary accuracy", "tab:purple"),
                            (0.27, "tissue Dice", "tab:green")):
    values = [scores[name][key] for name in order]
    bars = ax.bar(where + offset, values, width=0.26, color=colour,
                  label=key if key != "tissue Dice" else "mean Dice of CSF, GM, WM")
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
base = scores["all background"]
ax.axhline(base["accuracy"], color="tab:blue", linestyle="--", linewidth=1,
           label=f"accuracy baseline {base['accuracy']:.2f} (all background)")
ax.axhline(base["binary accuracy"], color="tab:purple", linestyle=":", linewidth=1,
           label=f"binary accuracy baseline {base['binary accuracy']:.2f}")
ax.set_xticks(where, order, fontsize=9)
ax.set_ylim(0, 1.3)
ax.set_yticks(np.linspace(0, 1, 6))
ax.set_ylabel("score")
ax.set_title(f"Accuracy starts at the background fraction; tissue Dice starts at 0 "
             f"({len(y)} axial brain slices of the template)")
ax.legend(fontsize=8, loc="upper center", ncol=3)
_common.save(fig, out, "scores.png")

# %% write it yourself
_common.exercises("06_metrics")
