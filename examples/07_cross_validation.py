# %% introduction and setup
"""Course section 1g, cross-validation: split by subject, and train once per fold.

    python examples/07_cross_validation.py [--out DIR] [--quick] [--epochs N]
                                           [--backend numba|numpy]

Slices of one brain look alike: a network tested on slices of a subject it
was trained on is tested on what it has seen. So whole subjects are assigned
to one set, before slicing:

    train     the network learns from these
    validate  watched during training (choosing epochs, comparing models)
    test      looked at once, at the end: the score you report

One such split (the course: 75% / 15% / 10% of its subjects) gives one test
score, which depends on which few subjects happened to land in the test
set. k-fold cross-validation cuts the subjects into k groups; each group is
the test set once while the others train (and validate). Every subject is
tested exactly once, and the k scores show how much the result varies:
report their mean and spread, not the best fold.

The course drew k-fold but did not run it, and seeded its split with the
clock (not reproducible). Here both are seeded, on synthetic subjects (the
embedded template, warped and re-imaged; see docs/data.md), with the course's
simple CNN on its task (background incl. CSF / grey matter / white matter).

Figures: splits.png (which subject is in which set, per fold), fold_scores.png
(the test scores of every fold, their mean and spread).
"""
import _common
import numpy as np

from minicnn import data, models, set_random_seed

args, out = _common.setup("07_cross_validation",
                          "Cross-validation by subject (course section 1g)", training=True)
plt = _common.plt
N_SUBJECTS = 6 if args.quick else 15
K = 3 if args.quick else 5
EPOCHS = args.epochs or (1 if args.quick else 6)
LEARNING_RATE = args.learning_rate or 1e-3
STEP = 6 if args.quick else 3                 # every STEP-th axial slice of a subject
N_CLASSES = 3
subjects = list(range(N_SUBJECTS))

# %% 1. the splits
_common.banner(f"One split of {N_SUBJECTS} subjects, 75% / 15% / 10% (seeded)")
train, val, test = data.split_subjects(subjects, (0.75, 0.15, 0.10), seed=0)
print(f"train {train}\nvalidate {val}\ntest {test}")
print("(the same ids and seed give the same split on any machine)")

_common.banner(f"{K}-fold cross-validation by subject")
folds = data.kfold(subjects, k=K, seed=0, validation=0.15)
for i, fold in enumerate(folds):
    print(f"fold {i}: train {fold.train}  validate {fold.validation}  test {fold.test}")
tested = sorted(s for fold in folds for s in fold.test)
print(f"every subject is tested exactly once: {tested == subjects}")

# %% 2. train per fold
_common.banner(f"Generating {N_SUBJECTS} synthetic subjects")
x_all, y4_all, owner = _common.synth_subjects(subjects, step=STEP)
y_all = data.remap_labels(y4_all, _common.TO_COURSE_TASK)      # CSF -> background
print(f"x {x_all.shape}, y {y_all.shape}: about {len(x_all) // N_SUBJECTS} slices per "
      "subject")


def rows_of(ids):
    return np.isin(owner, ids)


results = []
for i, fold in enumerate(folds):
    _common.banner(f"Fold {i}: test subjects {fold.test}")
    set_random_seed(i)                            # each fold's weights: reproducible
    tr, va, te = rows_of(fold.train), rows_of(fold.validation), rows_of(fold.test)
    model = models.simple_cnn(x_all.shape[1:], n_classes=N_CLASSES)
    history, seconds = _common.train(model, x_all[tr], y_all[tr], N_CLASSES, EPOCHS,
                                     batch_size=8, learning_rate=LEARNING_RATE,
                                     validation=(x_all[va], y_all[va]))
    result = _common.score(model, x_all[te], y_all[te], N_CLASSES)
    result["seconds"] = seconds
    results.append(result)
    print(f"fold {i}: {tr.sum()} training slices, {seconds:.0f} s; test accuracy "
          f"{result['accuracy']:.3f}, Dice GM {result['dice_per_class']['grey matter']:.3f}, "
          f"WM {result['dice_per_class']['white matter']:.3f}")

_common.banner("Across folds")
accuracy = np.array([r["accuracy"] for r in results])
dice = np.array([r["dice"] for r in results])
print(f"test accuracy       {accuracy.mean():.3f} +- {accuracy.std(ddof=1):.3f} "
      f"(min {accuracy.min():.3f}, max {accuracy.max():.3f})")
print(f"test Dice (GM, WM)  {dice.mean():.3f} +- {dice.std(ddof=1):.3f} "
      f"(min {dice.min():.3f}, max {dice.max():.3f})")
print("(mean +- sample standard deviation over folds; a single split would have "
      "reported any one of these)")

# %% 3. figures
ROLE_COLOURS = {"train": "#60a5fa", "validate": "#fbbf24", "test": "#ef4444"}
fig, axes = plt.subplots(2, 1, figsize=(max(6, 0.5 * N_SUBJECTS + 2), 1.6 + 0.45 * (K + 1)),
                         height_ratios=(1, K), layout="constrained")


def draw_rows(ax, rows, labels):
    for r, assignment in enumerate(rows):
        for s in subjects:
            role = ("test" if s in assignment.test else
                    "validate" if s in assignment.validation else "train")
            ax.add_patch(plt.Rectangle((s, r), 0.92, 0.85, color=ROLE_COLOURS[role]))
            ax.text(s + 0.46, r + 0.43, f"{s:02d}", ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.1, N_SUBJECTS)
    ax.set_ylim(len(rows), -0.1)
    ax.set_yticks(np.arange(len(rows)) + 0.43, labels)
    ax.set_xticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


draw_rows(axes[0], [data.Fold(train, val, test)], ["one split"])
axes[0].set_title("Subjects (synthetic, by id) assigned to sets: one 75/15/10 split, then "
                  f"{K} folds", fontsize=10)
draw_rows(axes[1], folds, [f"fold {i}" for i in range(K)])
handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ROLE_COLOURS.values()]
axes[1].legend(handles, list(ROLE_COLOURS), loc="upper center", bbox_to_anchor=(0.5, 0),
               ncol=3, fontsize=9, frameon=False)
_common.save(fig, out, "splits.png")

fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
where = np.arange(K)
axes[0].bar(where - 0.2, accuracy, width=0.38, label="accuracy", color="tab:blue")
axes[0].bar(where + 0.2, dice, width=0.38, label="Dice, mean of GM and WM", color="tab:green")
for values, colour in ((accuracy, "tab:blue"), (dice, "tab:green")):
    axes[0].axhline(values.mean(), color=colour, linestyle="--", linewidth=1)
    axes[0].axhspan(values.mean() - values.std(ddof=1), values.mean() + values.std(ddof=1),
                    color=colour, alpha=0.12)
axes[0].set_xticks(where, [f"fold {i}\ntest {folds[i].test}" for i in range(K)], fontsize=8)
axes[0].set_ylim(min(accuracy.min(), dice.min()) - 0.1, 1)
axes[0].set_ylabel("test score")
axes[0].set_title("Test score of each fold (dashed: mean, band: +- 1 s.d.)", fontsize=10)
axes[0].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)
names = ["background", "grey matter", "white matter"]
per_class = np.array([[r["dice_per_class"][n] for n in names] for r in results])  # (K, 3)
axes[1].boxplot(per_class, showfliers=False)   # every fold is a dot already
axes[1].set_xticks([1, 2, 3], names)
for c in range(3):
    axes[1].plot(np.full(K, c + 1) + np.linspace(-0.08, 0.08, K), per_class[:, c], "o",
                 color="tab:red", markersize=5, alpha=0.8)
axes[1].set_ylabel("test Dice")
axes[1].set_title(f"Dice per class across the {K} folds (dots: folds)", fontsize=10)
_common.save(fig, out, "fold_scores.png")

# %% write it yourself
_common.exercises("07_cross_validation")
