# %% introduction and setup
"""Course sections 1d and 1e: final activations make probabilities; the loss grades them.

    python examples/05_activations_and_losses.py [--out DIR] [--quick]

Final activations (per pixel, on the C scores z of the last 1x1 layer):

    sigmoid   S(z) = 1 / (1 + e^-z)               one yes/no probability per
                                                   channel (binary tasks, masks)
    softmax   p_j = e^{z_j} / sum_i e^{z_i}       C probabilities summing to 1
                                                   (one class per pixel)

Cross-entropy, the slides' formula, in bits, for N examples and C classes:

    CE = -(1/N) sum_i sum_c True_i^c log2(Predicted_i^c)

Only the true class's term survives (True is one-hot), so each example costs
-log2 of the probability given to its true class: 1 bit for 0.5, 0.32 bits
for 0.8. Keras (and minicnn) use the natural log, so their value is the bits
times ln 2, and they average over every pixel of every image.

The slides' worked example has slips, corrected here:

1. The table gives data_2 the prediction (.1, .5, .4), so its true class
   (WM) has 0.5: 1 bit. The slide's sum uses 0.4 (1.32 bits) and reports
   3.64; with the table's numbers the sum is 1 + 1.32 + 1 = 3.32.
2. The formula has a 1/N, but the arithmetic adds the three examples up:
   3.32 and 0.97 are sums. The means (the loss Keras reports) are 1.11 and
   0.32 bits. The lesson is unchanged: the better prediction costs less.
3. The minus sign: some versions of the formula lack it, and the expansion
   writes "1 x -log2(0.5) + 1 x log2(.4) + 1 x log2(.4)", which taken
   literally is 1 - 1.32 - 1.32 = -1.64. log2 of a probability is <= 0; the
   minus in front of the sum makes the loss positive.

A second slip, in the course's demo networks: a sigmoid over 3 classes
gives three independent answers (they need not sum to 1), so the output is
not a distribution over classes; use a softmax for one class per pixel.

Last, why a training loop computes the cross-entropy from the softmax's
input (the logits) rather than from its output: Keras's fit does, and so
does minicnn's. Called on probabilities, the loss clips p to [1e-7, 1 - 1e-7]
before the log, so once a network is confidently wrong (p of the true class
below 1e-7) the value is stuck at -ln(1e-7) = 16.1 and its gradient is 0:
it stops learning. From the logits z there is no clip: the loss is
-log softmax(z)_true and its gradient is p - y, -1 on the true class.

Figures: activations.png (sigmoid, softmax, -log2 p), cross_entropy.png (the
slides' two tables, per example), softmax_output.png (a softmax-like output
on a brain slice: the template's tissue probabilities, their argmax and the
cross-entropy per pixel), saturated_softmax.png (the confidently wrong
network trained from clipped probabilities and from logits).
"""
import math

import _common
import numpy as np

from minicnn import datasets, layers, losses, models, optimizers
from minicnn.functional.activations import sigmoid_forward, softmax_forward
from minicnn.functional.losses import cross_entropy_bits

args, out = _common.setup("05_activations_and_losses",
                          "Final activations and losses (course sections 1d, 1e)")
plt = _common.plt
np.set_printoptions(precision=3, suppress=True)

# %% 1. activations
_common.banner("Sigmoid and softmax on the same three scores")
z = np.array([[2.0, 1.0, 0.1]])                        # (N=1, C=3) scores of one pixel
sigmoid, _ = sigmoid_forward(z)
softmax, _ = softmax_forward(z)
print(f"scores z           {z[0]}")
print(f"sigmoid(z)         {sigmoid[0]}  sum {sigmoid.sum():.3f}  (three separate yes/no "
      "answers: not a distribution)")
print(f"softmax(z)         {softmax[0]}  sum {softmax.sum():.3f}")
print(f"softmax(z + 100)   {softmax_forward(z + 100)[0][0]}  (only differences between "
      "scores matter)")
print("The course's demo networks end with a sigmoid over 3 classes; minicnn's builders "
      "use a softmax.")

# %% 2. the slides' cross-entropy
TRUE = np.array([[1, 0, 0],           # data_0: GM
                 [0, 1, 0],           # data_1: WM
                 [0, 1, 0]], float)   # data_2: WM        columns: GM, WM, CSF
TABLE_1 = np.array([[.5, .2, .3],
                    [.2, .4, .4],
                    [.1, .5, .4]])
TABLE_2 = np.array([[.8, .1, .1],
                    [.1, .8, .1],
                    [.1, .8, .1]])
_common.banner("The slides' cross-entropy, in bits (log2)")
per_example = {}
for name, table in (("first table", TABLE_1), ("second table", TABLE_2)):
    bits = cross_entropy_bits(TRUE, table)                # (N,) = -log2 p(true class)
    per_example[name] = bits
    terms = " + ".join(f"{b:.2f}" for b in bits)
    print(f"{name}: per example -log2 p(true) = {terms}")
    print(f"    sum  = {bits.sum():.3f}   (what the slide computes)")
    print(f"    mean = {bits.mean():.3f}   (the formula's 1/N: the loss)")
slip = -math.log2(0.5) - 2 * math.log2(0.4)
print(f"The slide's 3.64 = -log2(0.5) - log2(0.4) - log2(0.4) = {slip:.2f}: its expansion "
      "has log2(.5) for data_2's true class (WM), as in the table, but the next line "
      "reads log2(.4).")
print(f"With the table's 0.5 the sum is {per_example['first table'].sum():.2f} "
      f"(mean {per_example['first table'].mean():.2f}).")
literal = -math.log2(0.5) + math.log2(0.4) + math.log2(0.4)
print(f"Taken literally, the expansion's signs '1 x -log2(0.5) + 1 x log2(.4) + ...' "
      f"give {literal:.2f}: the minus must apply to every term.")
print(f"Second table: {per_example['second table'].sum():.3f} bits summed (the slide's "
      f"0.97), {per_example['second table'].mean():.3f} bits on average.")

_common.banner("The same in Keras's units: natural log, mean over examples")
for name, table in (("first table", TABLE_1), ("second table", TABLE_2)):
    loss = losses.CategoricalCrossentropy()
    value = loss(TRUE, table)
    print(f"{name}: CategoricalCrossentropy = {value:.4f} nats = mean bits "
          f"{per_example[name].mean():.4f} x ln 2 ({per_example[name].mean() * math.log(2):.4f})")
    assert abs(value - per_example[name].mean() * math.log(2)) < 1e-6
gradient = losses.CategoricalCrossentropy(from_logits=True)
gradient(TRUE, np.log(TABLE_2))        # logits whose softmax is the second table
print("With a softmax in front, d(loss)/d(scores) = (softmax - true) / N:\n",
      gradient.backward())

# %% 3. figures
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8), layout="constrained")
grid = np.linspace(-6, 6, 241)
s = sigmoid_forward(grid)[0]
axes[0].plot(grid, s, label="S(z) = 1 / (1 + e^-z)")
axes[0].plot(grid, s * (1 - s), "--", label="S'(z) = S(z) (1 - S(z))")
axes[0].set_xlabel("score z")
axes[0].set_title("Sigmoid: one probability per channel")
axes[0].legend(fontsize=8)
scores = np.stack([grid, np.full_like(grid, 1.0), np.full_like(grid, 0.1)], axis=1)
probabilities = softmax_forward(scores)[0]                           # (241, 3)
for c, name in enumerate(("GM (score z)", "WM (score 1)", "CSF (score 0.1)")):
    axes[1].plot(grid, probabilities[:, c], label=name)
axes[1].set_xlabel("score z of GM")
axes[1].set_title("Softmax: the three always sum to 1")
axes[1].legend(fontsize=8)
p = np.linspace(0.02, 1, 200)
axes[2].plot(p, -np.log2(p), color="tab:gray")
for value, label in ((0.5, "0.5: 1 bit"), (0.4, "0.4: 1.32 bits"), (0.8, "0.8: 0.32 bits")):
    axes[2].plot(value, -math.log2(value), "o", markersize=7, label=label)
axes[2].set_xlabel("probability given to the true class")
axes[2].set_ylabel("-log2 p (bits)")
axes[2].set_title("Cross-entropy of one example")
axes[2].legend(fontsize=8)
_common.save(fig, out, "activations.png")

fig, ax = plt.subplots(figsize=(8, 4.2), layout="constrained")
positions = np.arange(3)
for offset, (name, colour) in zip((-0.2, 0.2), (("first table", "tab:orange"),
                                               ("second table", "tab:green"))):
    bits = per_example[name]
    bars = ax.bar(positions + offset, bits, width=0.38, color=colour,
                  label=f"{name}: sum {bits.sum():.2f}, mean {bits.mean():.2f} bits")
    ax.bar_label(bars, fmt="%.2f", fontsize=9)
ax.bar(2 - 0.2, -math.log2(0.4), width=0.38, fill=False, edgecolor="tab:red",
       linestyle="--", label="the slide's slip: 0.4 read for data_2 (sum 3.64)")
ax.set_xticks(positions, ["data_0 (GM)", "data_1 (WM)", "data_2 (WM)"])
ax.set_ylabel("-log2 p(true class) (bits)")
ax.set_ylim(0, 1.7)
ax.set_title("The slides' cross-entropy example, per example")
ax.legend(fontsize=8, loc="upper left")
_common.save(fig, out, "cross_entropy.png")

_common.banner("A softmax-like output on a brain slice")
icbm = datasets.icbm152(resolution=2)
z_index = 45
tissue = icbm.tissue[:, :, z_index]                      # (75, 93, 4), sums to 1
labels = icbm.labels[:, :, z_index]                      # (75, 93)
onehot = np.eye(4)[labels]                               # (75, 93, 4)
pixel_bits = cross_entropy_bits(onehot, np.clip(tissue, 1e-7, 1))   # (75, 93)
print("The template ships per-voxel tissue probabilities (4 classes summing to 1): what "
      "a perfect softmax might output. Argmax per pixel -> label map.")
print(f"mean cross-entropy of the labels under them: {pixel_bits.mean():.3f} bits per "
      f"pixel; {np.mean(pixel_bits > 0.5):.1%} of pixels cost more than 0.5 bit (the "
      "tissue boundaries)")
fig, axes = plt.subplots(2, 4, figsize=(11, 7.4), layout="constrained")
for c, name in enumerate(_common.CLASSES[4]):
    im = _common.show(axes[0, c], tissue[..., c], f"P({name})", cmap="viridis",
                      vmin=0, vmax=1)
fig.colorbar(im, ax=axes[0, :], shrink=0.8, label="probability")
_common.show(axes[1, 0], icbm.t1[:, :, z_index], "the T1 image")
_common.show(axes[1, 1], tissue.argmax(axis=-1), "argmax: one class per pixel", labels=4)
im = _common.show(axes[1, 2], pixel_bits, "cross-entropy of the labels", cmap="magma",
                  vmin=0, vmax=2)
axes[1, 3].axis("off")
# The last cell holds the colour bar (in an inset, so the grid stays even) and
# the legend of the label colours.
fig.colorbar(im, cax=axes[1, 3].inset_axes([0.0, 0.1, 0.07, 0.8]),
             label="cross-entropy, bits per pixel")
_common.label_legend(axes[1, 3], 4, loc="center right", ncol=1, fontsize=10)
fig.suptitle(f"Softmax output, per pixel [P(background), P(CSF), P(GM), P(WM)] (here: "
             f"the template's tissue maps, axial slice z={z_index})", fontsize=11)
_common.save(fig, out, "softmax_output.png")

# %% 4. a confidently wrong network: clipped probabilities stall, logits learn
_common.banner("A confidently wrong softmax: the loss from probabilities vs from logits")
# One 1x1 convolution with a softmax: 3 classes per pixel from one input
# channel. Its weights are set so that every pixel says class 0 with
# p(class 2) ~ 1e-26, while the truth is class 2 everywhere.
rng = np.random.default_rng(0)
x_sat = rng.uniform(0.5, 1.5, (4, 8, 8, 1))               # (N, H, W, 1), positive
y_sat = np.zeros((4, 8, 8, 3))
y_sat[..., 2] = 1.0                                       # truth: class 2


def wrong_network():
    model = models.Sequential([layers.Input((8, 8, 1), dtype="float64"),
                               layers.Conv2D(3, 1, activation="softmax", dtype="float64")])
    model.set_weights([np.array([40.0, 0.0, -20.0]).reshape(1, 1, 1, 3), np.zeros(3)])
    return model


clipped_model, clipped_loss = wrong_network(), losses.CategoricalCrossentropy()
keras_model = wrong_network()
keras_model.compile(optimizer=optimizers.SGD(0.5), loss="categorical_crossentropy")
sgd = optimizers.SGD(0.5)
steps = 5 if args.quick else 40
curves = {"clipped": [], "logits": []}
for step in range(steps):
    # (a) the loss called on the probabilities: clip(p, 1e-7, 1 - 1e-7), then log.
    curves["clipped"].append(clipped_loss(y_sat, clipped_model.forward(x_sat, training=True)))
    clipped_model.backward(clipped_loss.backward())
    sgd.apply_gradients([(layer.grads[k], layer.params[k])
                         for layer, k in clipped_model.trainable_slots()])
    # (b) fit's step, as Keras's: the cross-entropy from the softmax's logits.
    curves["logits"].append(keras_model.train_on_batch(x_sat, y_sat))
kernel_gradient = np.abs(clipped_model.layers[0].grads["kernel"]).max()
print(f"(a) loss on clipped probabilities: {curves['clipped'][0]:.2f} at step 1, "
      f"{curves['clipped'][-1]:.2f} at step {steps}; largest kernel gradient "
      f"{kernel_gradient:.1e}: the clip cut it, nothing learns")
print(f"(b) fit (from the logits, as in Keras): {curves['logits'][0]:.1f} at step 1, "
      f"{curves['logits'][-1]:.2f} at step {steps}; gradient at the logits = p - y, "
      "-1 for the true class")
right = (keras_model.predict(x_sat, verbose=0).argmax(axis=-1) == 2).mean()
print(f"    pixels now predicted as the true class: {right:.0%} "
      f"(clipped run: {(clipped_model.forward(x_sat).argmax(axis=-1) == 2).mean():.0%})")
fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
ax.plot(np.arange(1, steps + 1), curves["clipped"], "o-", label="(a) clipped probabilities")
ax.plot(np.arange(1, steps + 1), curves["logits"], "s-", label="(b) from the logits (fit)")
ax.axhline(-math.log(1e-7), color="0.6", linestyle=":", label="-ln(1e-7) = 16.1")
ax.set_yscale("log")
ax.set_xlabel("SGD step (learning rate 0.5)")
ax.set_ylabel("categorical cross-entropy (nats)")
ax.set_title("A confidently wrong softmax output, trained two ways")
ax.legend(fontsize=8)
_common.save(fig, out, "saturated_softmax.png")

# %% write it yourself
_common.exercises("05_activations_and_losses")
