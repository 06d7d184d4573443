# %% introduction and setup
"""Course part 2, simple networks: four small CNNs trained on the same slices and compared.

    python examples/09_simple_networks.py [--out DIR] [--quick] [--epochs N]
                                          [--learning-rate R] [--backend numba|numpy]

The course's simple CNN is three Conv2D(16, 3x3, 'same', relu) and a 1x1
Conv2D with a softmax over the classes (4,851 parameters for 3 classes).
Its variants, all trained here the same way:

| model                 | change                           | params | receptive field |
|-----------------------|----------------------------------|--------|-----------------|
| simple CNN            | -                                | 4,851  | 7 x 7           |
| + dropout             | Dropout(0.2) after each conv     | 4,851  | 7 x 7           |
| + dilation            | dilation_rate=2                  | 4,851  | 13 x 13         |
| 5-layer 5x5 exercise  | 5x5 kernels, 8/8/16/16/32 filters| 24,379 | 21 x 21         |

The task is the course's: background (CSF included) / grey matter / white
matter, on 2 mm axial slices (75 x 93) of synthetic subjects; whole subjects
train, validate and test (example 07). Training: Adam, categorical
cross-entropy, batches of 8. The course used a learning rate of 1e-4 over
260 subjects; with a few hundred steps here, 1e-3 (see _common.train).

What to look for: a 7 x 7 field (14 mm) sees a pixel's intensity and its
immediate neighbours, enough to tell GM from WM by brightness, not much
more. Dropout changes little in a short run (its point is to reduce
overfitting in long ones); dilation widens the field at no cost in
parameters; the 5-layer network's 21 x 21 field and 5 times the weights
help most, notably where a bias field makes white matter darker. The
course reported a test accuracy of about 0.95 for the simple CNN on its
(real) data; compare accuracy with its baseline (predicting background
everywhere), and look at Dice.

Figures: curves.png (validation loss and accuracy per epoch),
comparison.png (test scores and parameters), predictions.png (held-out
slices: input | label | each model's prediction, errors in red).
"""
import _common

from minicnn import models, set_random_seed

args, out = _common.setup("09_simple_networks", "Simple networks compared (course part 2)",
                          training=True)
plt = _common.plt
EPOCHS = args.epochs or (1 if args.quick else 10)
LEARNING_RATE = args.learning_rate or 1e-3
N_CLASSES = 3

# %% data
_common.banner("Data: synthetic subjects, whole subjects per set")
sets, ids = _common.course_task_data(args.quick)
(x_train, y_train), validation, (x_test, y_test) = (sets["train"], sets["validation"],
                                                    sets["test"])
shape = x_train.shape[1:]                                   # (75, 93, 1)

# %% the four networks, trained
candidates = {
    "simple CNN": lambda: models.simple_cnn(shape, N_CLASSES),
    "+ dropout 0.2": lambda: models.simple_cnn(shape, N_CLASSES, dropout=0.2),
    "+ dilation 2": lambda: models.simple_cnn(shape, N_CLASSES, dilation_rate=2),
    "5-layer 5x5": lambda: models.five_layer_cnn(shape, N_CLASSES),
}
results, histories = {}, {}
for name, build in candidates.items():
    _common.banner(f"{name}: {EPOCHS} epochs")
    set_random_seed(0)                          # the same start for every model
    model = build()
    histories[name], seconds = _common.train(model, x_train, y_train, N_CLASSES, EPOCHS,
                                             batch_size=8, learning_rate=LEARNING_RATE,
                                             validation=validation)
    results[name] = _common.score(model, x_test, y_test, N_CLASSES)
    results[name].update(params=model.count_params(), seconds=seconds)

# %% test scores
_common.banner(f"Test scores on held-out subjects {ids['test']} ({len(x_test)} slices)")
baseline = _common.print_scores(results, y_test, N_CLASSES)

# %% figures
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
_common.plot_curves(axes, histories)
fig.suptitle(f"Training the course's simple networks ({len(x_train)} slices of "
             f"{len(ids['train'])} subjects)", fontsize=11)
_common.save(fig, out, "curves.png")

_common.save_comparison(out, results, baseline, x_test, y_test, N_CLASSES,
                        f"Held-out subjects {ids['test']}: test accuracy and Dice "
                        f"after {EPOCHS} epochs")

# %% write it yourself
_common.exercises("09_simple_networks")
