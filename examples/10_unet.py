# %% introduction and setup
"""Course part 3, the U-Net: the course's network beats the simple ones; its variants compared.

    python examples/10_unet.py [--out DIR] [--quick] [--epochs N] [--learning-rate R]
                               [--backend numba|numpy] [--all-variants]

The U-Net (Ronneberger et al. 2015) as the course builds it
(minicnn.models.unet, see its docstring for the diagram):

    input -> BatchNormalization
    encoder, per level: two Conv(f, 3x3) -> skip; MaxPooling2D(2)   f = 32, 64, 128
    bottleneck: two Conv(256, 3x3)
    decoder, per level: UpSampling2D(2) -> Concatenate with the skip
                        -> two Conv(f, 3x3)                          f = 128, 64, 32
    Conv(n_classes, 1x1, softmax)

Each pooling doubles the step between the pixels a 3x3 kernel reads, so
the receptive field grows fast: 68 pixels at the bottleneck and 96 at the
output by the formula of example 03 (192 mm at 2 mm per pixel: the whole
slice), where the simple CNN of example 09 sees 7. The skips bring back
the fine detail that pooling dropped (example 04). H and W must divide 2**levels: the 75 x 93
slices are padded to 80 x 96 (example 08).

The lesson, the course's point: a U-Net should beat the simple networks.
Same task and held-out subjects as example 09 (the course's 3 classes on
synthetic subjects, 0-7 train, 8 validates, 9-11 are held out); example
09's scores are printed beside the course U-Net's (from its own default
run, see EXAMPLE_09 below), with a line that says whether the U-Net is
ahead of every one of them on grey and on white matter.

Compared here, as in the course's exercises, every one trained the same
way for the same number of epochs:

- the course's U-Net (nearest-neighbour upsampling);
- a small U-Net under 120k parameters: 8/16/32 filters, bottleneck 48;
- with --all-variants, also: transpose convolutions instead of
  upsampling, Conv2DTranspose(f, 2, strides=2), learned; and one more
  level, 32/64/128/256 filters, bottleneck 512 (H, W divide 16). Each
  costs about as much as the course's U-Net per step, the 4-level one
  more, so the default run leaves them out to stay near 5 minutes.

Training: the recipe of the main job (`minicnn train`, docs/train.md) on
the eight training subjects of example 09, 8 epochs of the 286 training
slices (576 steps) for each network: Adam from 1e-3, decayed along half
a cosine to 2 % of it by the last step; categorical cross-entropy plus
the soft Dice loss (minicnn.losses); batches of 4 (more, smaller
updates); no augmentation. Example 09 trains its small networks for 10
epochs of 36 batches of 8 with cross-entropy at a constant 1e-3. The
printed tables give each network's training time.

One detail matters in short runs. BatchNormalization normalises each batch
by its own mean and variance while training, but at test time by moving
averages updated with Keras's momentum 0.99: they start at (0, 1) and need
a few hundred steps to forget that. Before then the network is tested on
inputs scaled differently from the ones it trained on, and the scores
collapse. The input BatchNormalization averages a known quantity, the
training images' mean and variance, so its moving averages are started at
those values here (init_input_batchnorm below); training is unchanged.

Slips of the course fixed here or elsewhere: one of its U-Nets computed a
skip connection and never used it (minicnn.models.unet concatenates every
one); its padding helper padded 110 to 144 (data.pad_to_multiple: 112).

Figures: curves.png, comparison.png, predictions.png (as in example 09).
"""
import math

import _common

from minicnn import losses, models, optimizers, set_random_seed

args, out = _common.setup("10_unet", "U-Nets compared (course part 3)", training=True,
                          flags={"--all-variants": "also train the transpose-convolution "
                                 "and 4-level U-Nets (each as long as the course's or longer)"})
plt = _common.plt
EPOCHS = args.epochs or (1 if args.quick else 8)
LEARNING_RATE = args.learning_rate or 1e-3
FINAL_RATE = 0.02           # the cosine decay ends at 2 % of LEARNING_RATE, as in minicnn train
BATCH_SIZE = 4
N_CLASSES = 3

# Example 09's held-out Dice (grey matter, white matter) on the same subjects
# 9-11, as its default run printed it (AMD EPYC, 2 cores, 2026-12-05).
EXAMPLE_09 = {"simple CNN": (0.819, 0.641), "+ dropout 0.2": (0.816, 0.644),
              "+ dilation 2": (0.820, 0.656), "5-layer 5x5": (0.826, 0.787)}

# %% 1. the course's U-Net
_common.banner("The course's U-Net on its (104, 104, 1) PET slices, 2 classes")
course = models.unet((104, 104, 1), 2)
course.summary()
assert course.count_params() == 1_946_342

# %% 2. data
_common.banner("Data: synthetic subjects, padded to 80 x 96 (divisible by 16)")
sets, ids = _common.course_task_data(args.quick, multiple=16)
(x_train, y_train), validation, (x_test, y_test) = (sets["train"], sets["validation"],
                                                    sets["test"])
shape = x_train.shape[1:]                                      # (80, 96, 1)
steps = EPOCHS * math.ceil(len(x_train) / BATCH_SIZE)          # weight updates per network


def init_input_batchnorm(model, x):
    """Start the input BatchNormalization's moving averages at x's statistics.

    Training normalises by each batch's statistics either way; this only
    removes the lag of the moving averages used at test time (see above).
    """
    layer = next(layer for layer in model.layers if "moving_mean" in layer.params)
    layer.params["moving_mean"][...] = x.mean()
    layer.params["moving_variance"][...] = x.var()
    return layer


def train_with_recipe(model):
    """Adam with a cosine-decayed learning rate, cross-entropy + Dice, batches of 4.

    Cross-entropy is a mean over pixels; the Dice term scores each class of
    each slice on its own scale, so the thin grey-matter ribbon counts as
    much as the background. The rate decays to FINAL_RATE of its start by
    the last step, so that the last epoch settles instead of bouncing.
    """
    schedule = optimizers.CosineDecay(LEARNING_RATE, decay_steps=steps, alpha=FINAL_RATE)
    loss = losses.WeightedSum([losses.CategoricalCrossentropy(), losses.Dice()])
    return _common.train(model, x_train, y_train, N_CLASSES, EPOCHS, batch_size=BATCH_SIZE,
                         learning_rate=schedule, loss=loss, validation=validation)


candidates = {
    "course U-Net": lambda: models.unet(shape, N_CLASSES),
    "small (< 120k)": lambda: models.unet(shape, N_CLASSES, filters=(8, 16, 32),
                                          bottleneck=48),
}
if args.all_variants:
    candidates.update({
        "transpose conv": lambda: models.unet(shape, N_CLASSES, upsampling="transpose"),
        "4 levels": lambda: models.unet(shape, N_CLASSES, filters=(32, 64, 128, 256),
                                        bottleneck=512),
    })

# %% 3. training
results, histories = {}, {}
for name, build in candidates.items():
    set_random_seed(0)
    model = build()
    _common.banner(f"{name}: {model.count_params():,} parameters, {EPOCHS} epochs "
                   f"({steps} steps of {BATCH_SIZE})")
    norm = init_input_batchnorm(model, x_train)
    histories[name], seconds = train_with_recipe(model)
    print(f"input BatchNormalization: moving mean {norm.params['moving_mean'][0]:.4f}, "
          f"variance {norm.params['moving_variance'][0]:.4f}; training images: mean "
          f"{x_train.mean():.4f}, variance {x_train.var():.4f}")
    results[name] = _common.score(model, x_test, y_test, N_CLASSES)
    results[name].update(params=model.count_params(), seconds=seconds)
    dice = results[name]["dice_per_class"]
    print(f"{name}: held-out Dice GM {dice['grey matter']:.3f}, WM {dice['white matter']:.3f}"
          f" after {seconds:.0f} s of training")
assert results["small (< 120k)"]["params"] < 120_000

_common.banner(f"Test scores on held-out subjects {ids['test']} ({len(x_test)} slices), "
               f"each U-Net after {EPOCHS} epochs ({steps} steps)")
baseline = _common.print_scores(results, y_test, N_CLASSES)
print("(scores on padded slices: the padding is background, easy for every model)")

# %% 4. the lesson: the course's U-Net against example 09's networks
_common.banner("The course's U-Net against example 09's networks (same held-out subjects)")
ours = results["course U-Net"]["dice_per_class"]
print(f"{'model':16s} {'Dice GM':>8s} {'Dice WM':>8s}")
print(f"{'course U-Net':16s} {ours['grey matter']:>8.3f} {ours['white matter']:>8.3f}"
      f"   (this run, {results['course U-Net']['seconds']:.0f} s of training)")
for name, (gm, wm) in EXAMPLE_09.items():
    print(f"{name:16s} {gm:>8.3f} {wm:>8.3f}   (example 09, 10 epochs)")
ahead = all(ours["grey matter"] > gm and ours["white matter"] > wm
            for gm, wm in EXAMPLE_09.values())
print(f"the course's U-Net is ahead of every network of example 09 on GM and WM: {ahead}"
      + ("  (quick mode: not meaningful)" if args.quick else ""))

# %% figures
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
_common.plot_curves(axes, histories)
fig.suptitle(f"Training U-Net variants ({len(x_train)} slices of {len(ids['train'])} "
             "subjects)", fontsize=11)
_common.save(fig, out, "curves.png")

_common.save_comparison(out, results, baseline, x_test, y_test, N_CLASSES,
                        f"Held-out subjects {ids['test']}: test accuracy and Dice "
                        f"after {EPOCHS} epochs ({steps} steps of {BATCH_SIZE})")

# %% write it yourself
_common.exercises("10_unet")
