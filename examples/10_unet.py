# %% introduction and setup
"""Course part 3, the U-Net: the course's network, its exercises, trained and compared.

    python examples/10_unet.py [--out DIR] [--quick] [--epochs N] [--learning-rate R]
                               [--backend numba|numpy]

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

Compared here, as in the course's exercises:

- the course's U-Net (nearest-neighbour upsampling);
- transpose convolutions instead: Conv2DTranspose(f, 2, strides=2), learned;
- one more level: 32/64/128/256 filters, bottleneck 512 (H, W divide 16);
- a small U-Net under 120k parameters: 8/16/32 filters, bottleneck 48.

Trained like example 09 (Adam, batches of 8, the course's 3-class task on
synthetic subjects, whole subjects per set), for 3 epochs only: this shows
how the variants compare for the same short budget, not how good each can
get (`--epochs 10` does better; `minicnn train` trains the course's U-Net
longer on the 4-class task). The learning rate is 3e-3, three times example
09's, because the run is short: measured over these 3 epochs, the small
U-Net has not yet learned white matter at 1e-3 (Dice 0.00) and has at 3e-3
(0.48), while the course's U-Net scores the same at either rate.

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
import _common

from minicnn import models, set_random_seed

args, out = _common.setup("10_unet", "U-Nets compared (course part 3)", training=True)
plt = _common.plt
EPOCHS = args.epochs or (1 if args.quick else 3)
LEARNING_RATE = args.learning_rate or 3e-3
N_CLASSES = 3

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


def init_input_batchnorm(model, x):
    """Start the input BatchNormalization's moving averages at x's statistics.

    Training normalises by each batch's statistics either way; this only
    removes the lag of the moving averages used at test time (see above).
    """
    layer = next(layer for layer in model.layers if "moving_mean" in layer.params)
    layer.params["moving_mean"][...] = x.mean()
    layer.params["moving_variance"][...] = x.var()
    return layer


candidates = {
    "course U-Net": lambda: models.unet(shape, N_CLASSES),
    "transpose conv": lambda: models.unet(shape, N_CLASSES, upsampling="transpose"),
    "4 levels": lambda: models.unet(shape, N_CLASSES, filters=(32, 64, 128, 256),
                                    bottleneck=512),
    "small (< 120k)": lambda: models.unet(shape, N_CLASSES, filters=(8, 16, 32),
                                          bottleneck=48),
}

# %% 3. training
results, histories = {}, {}
for name, build in candidates.items():
    set_random_seed(0)
    model = build()
    _common.banner(f"{name}: {model.count_params():,} parameters, {EPOCHS} epochs")
    norm = init_input_batchnorm(model, x_train)
    histories[name], seconds = _common.train(model, x_train, y_train, N_CLASSES, EPOCHS,
                                             batch_size=8, learning_rate=LEARNING_RATE,
                                             validation=validation)
    print(f"input BatchNormalization: moving mean {norm.params['moving_mean'][0]:.4f}, "
          f"variance {norm.params['moving_variance'][0]:.4f}; training images: mean "
          f"{x_train.mean():.4f}, variance {x_train.var():.4f}")
    results[name] = _common.score(model, x_test, y_test, N_CLASSES)
    results[name].update(params=model.count_params(), seconds=seconds)
assert results["small (< 120k)"]["params"] < 120_000

_common.banner(f"Test scores on held-out subjects {ids['test']} ({len(x_test)} slices)")
baseline = _common.print_scores(results, y_test, N_CLASSES)
print("(scores on padded slices: the padding is background, easy for every model)")

# %% figures
fig, axes = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
_common.plot_curves(axes, histories)
fig.suptitle(f"Training U-Net variants ({len(x_train)} slices of {len(ids['train'])} "
             "subjects)", fontsize=11)
_common.save(fig, out, "curves.png")

_common.save_comparison(out, results, baseline, x_test, y_test, N_CLASSES,
                        f"Held-out subjects {ids['test']}: test accuracy and Dice "
                        f"after {EPOCHS} epochs")
