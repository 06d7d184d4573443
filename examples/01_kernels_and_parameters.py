# %% introduction and setup
"""Course section 1a, kernels: what a convolution layer learns and how many numbers it holds.

    python examples/01_kernels_and_parameters.py [--out DIR] [--quick] [--epochs N]

The slides show two small networks on (110, 92, 1) slices, "1 layer, 3
kernels of 3x3" (42 parameters) and "3 layers, 3 kernels of 3x3" (210), and
ask why two layers of the same 3x3 kernels hold 30 and 84 numbers. The answer
is the formula the slides give: a Conv2D layer with F kernels of size
kh x kw, reading an input with C_in channels, holds

    params = F * kh * kw * C_in   (kernel, Keras layout (kh, kw, C_in, F))
           + F                    (one bias per kernel)

The first layer reads the one grey-level channel: 3 * 3*3*1 + 3 = 30. The
next reads the 3 feature maps the first one made: 3 * 3*3*3 + 3 = 84. A 1x1
layer mixing 3 channels into 3 classes: 3 * 1*1*3 + 3 = 12.

Then the 1-layer network is trained on slices of the embedded brain
template, and its three learned 3x3 kernels and the feature maps they make
are drawn: the network learns intensity detectors (dark CSF, grey GM, bright
WM) and edge detectors, and the 1x1 layer combines them into classes.

Figures: kernels.png (the kernels before and after training, numbers
printed in the cells), feature_maps.png (one slice through the trained
network).

A slip of the course: its demo networks end with a sigmoid over 3 classes,
which gives three independent yes/no answers that need not sum to 1. The
builders here end with a softmax (a distribution over the classes); the
parameter counts are the same.
"""
import _common
import numpy as np

from minicnn import data, models

args, out = _common.setup("01_kernels_and_parameters",
                          "Kernels and parameter counts (course section 1a)", training=True)

# %% 1. counts
# slide_demo(n) is n x [Conv2D(3, 3x3, 'same', relu), Dropout], then
# Conv2D(3, 1x1): the slides' networks, on the course's (110, 92, 1) slices.
for n_layers, expected in ((1, 42), (3, 210)):
    _common.banner(f"The slides' {n_layers}-layer network, 3 kernels of 3x3")
    model = models.slide_demo(n_layers, input_shape=(110, 92, 1))
    model.summary()
    print("Where each Conv2D's count comes from (F * kh * kw * C_in + F):")
    for layer in model.layers:
        if "kernel" in layer.params:
            kh, kw, c_in, f = layer.params["kernel"].shape
            print(f"  {layer.name:10s} kernel {(kh, kw, c_in, f)}: "
                  f"{f} * {kh}*{kw}*{c_in} + {f} = {f * kh * kw * c_in + f}")
    total = model.count_params()
    print(f"Total: {total} parameters (the slides: {expected})")
    assert total == expected

# %% 2. learned kernels
_common.banner("Training the 1-layer network on brain slices (background / GM / WM)")
# The course's task: CSF merged into the background. The template's axial
# slices are 75 x 93 (2 mm voxels); convolutions work on any size, so the
# same 42-parameter network is built for that input.
x, y4, positions = _common.template_slices(axis=2)
y = data.remap_labels(y4, _common.TO_COURSE_TASK)
model = models.slide_demo(1, input_shape=x.shape[1:])
conv = model.layers[1]                              # layers[0] is the input layer
initial = conv.params["kernel"].copy()              # (3, 3, 1, 3), glorot uniform
epochs = args.epochs or (3 if args.quick else 40)
# 42 parameters learn slowly at Adam's default rate (1e-3); with so few
# weights a larger rate and small batches (more steps) are safe.
_, seconds = _common.train(model, x, y, 3, epochs, batch_size=8,
                           learning_rate=args.learning_rate or 0.03, verbose=0)
result = _common.score(model, x, y, 3)
print(f"{epochs} epochs on {len(x)} slices in {seconds:.1f} s: "
      f"accuracy {result['accuracy']:.3f}, Dice GM "
      f"{result['dice_per_class']['grey matter']:.3f}, WM "
      f"{result['dice_per_class']['white matter']:.3f} "
      "(on the training slices: this is about kernels, not generalisation)")
learned = conv.params["kernel"]
bias = conv.params["bias"]
# A kernel whose ReLU output is 0 on every training pixel is "dead": the
# ReLU passes no gradient back, so it never learns again (the dying ReLU).
peak = conv.forward(x).max(axis=(0, 1, 2))            # (3,) largest response
dead = [f for f in range(3) if peak[f] == 0]
for f in range(learned.shape[-1]):
    state = "  DEAD: ReLU output 0 on every pixel, no gradient" if f in dead else ""
    print(f"kernel {f} (bias {bias[f]:+.2f}){state}:")
    print(np.array2string(learned[:, :, 0, f], precision=2, suppress_small=True))

# %% 3. figures
plt = _common.plt
fig, axes = plt.subplots(2, 3, figsize=(8, 5.4), layout="constrained")
limit = float(np.abs(np.concatenate([initial, learned])).max())
for row, (kernel, when) in enumerate(((initial, "initial (random)"),
                                      (learned, f"after {epochs} epochs"))):
    for f in range(3):
        ax = axes[row, f]
        k = kernel[:, :, 0, f]                       # (kh, kw): rows are kernel rows
        im = ax.imshow(k, cmap="RdBu_r", vmin=-limit, vmax=limit)
        for (i, j), value in np.ndenumerate(k):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"kernel {f}, {when}", fontsize=9)
fig.colorbar(im, ax=axes, shrink=0.8, label="weight")
fig.suptitle("The first layer's three 3x3 kernels (kernel[:, :, 0, f])", fontsize=11)
_common.save(fig, out, "kernels.png")

# One slice through the trained network: forward() runs the layers in
# order, so the first Conv2D's output is read from the layer itself.
index = int(np.argmin(np.abs(positions - 45)))       # a mid-brain axial slice
sample = x[index:index + 1]
probabilities = model.forward(sample)                # (1, H, W, 3)
features = conv.forward(sample)                      # (1, H, W, 3), after ReLU
fig, axes = plt.subplots(2, 4, figsize=(10, 6.2), layout="constrained")
_common.show(axes[0, 0], sample[0, ..., 0], f"input, axial slice z={positions[index]}")
for f in range(3):
    title = f"feature map {f} (ReLU)" + (": dead" if f in dead else "")
    top = float(features[0, ..., f].max()) or 1.0      # a dead map: all 0, drawn black
    im = _common.show(axes[0, f + 1], features[0, ..., f], title, cmap="magma", vmin=0,
                      vmax=top)
    fig.colorbar(im, ax=axes[0, f + 1], shrink=0.7)
_common.show(axes[1, 0], y[index], "label", labels=3)
for c, name in enumerate(_common.CLASSES[3]):
    im = _common.show(axes[1, c + 1], probabilities[0, ..., c], f"softmax P({name})",
                      cmap="viridis", vmin=0, vmax=1)
fig.colorbar(im, ax=list(axes[1, 1:]), shrink=0.7, label="probability")
_common.label_legend(axes[1, 0], 3, loc="upper center", bbox_to_anchor=(0.5, 0),
                     ncol=1)
fig.suptitle("1 layer, 3 kernels of 3x3: feature maps, then a 1x1 layer + softmax "
             "makes class probabilities", fontsize=11)
_common.save(fig, out, "feature_maps.png")

# %% write it yourself
_common.exercises("01_kernels_and_parameters")
