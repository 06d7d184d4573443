# %% introduction and setup
"""Course section 1b, receptive field and dilation: which input pixels can change one output?

    python examples/03_receptive_field_and_dilation.py [--out DIR] [--quick]

The receptive field of an output pixel is the set of input pixels that can
change it. For a stack of convolutions, with k_eff = (k - 1) * d + 1 the
span of a kernel of size k dilated by d, and s the stride, it grows layer by
layer (r: the field's width in input pixels, j: the distance in input
pixels between two neighbouring pixels of the layer's output):

    r_0 = 1, j_0 = 1
    r_l = r_{l-1} + (k_eff_l - 1) * j_{l-1}
    j_l = j_{l-1} * s_l

So three 3x3 layers see 7 x 7 pixels; dilated by 2, the same three layers
(the same 9 weights each) see 13 x 13: "dilations increase the receptive
field without increasing parameters". A stride of 2 doubles the step j for
every later layer.

Measured, not only computed: the receptive field is where the gradient of
one output pixel with respect to the input is non-zero. One backward pass
gives it: set dL/dy = 1 at one output pixel and 0 elsewhere, and
model.backward(dy) returns dL/dx, a map of how much each input pixel
influences that output. Its non-zero extent must equal the formula. (To
keep every ReLU open, the kernels are made positive and the input
positive; with ReLUs closed, parts of the field could show a zero gradient
for that particular input.)

The map shows more than the formula: the influence is concentrated in the
middle (the "effective receptive field", Luo et al. 2016), and three
layers dilated by 2 only reach every other pixel (the "gridding" artefact);
dilations 1, 2, 4 cover the field without holes.

Figures: receptive_fields.png (the measured gradient maps, analytic field
outlined), rf_growth.png (field size and parameters against depth, and the
fields drawn on a 2 mm brain slice).
"""
import _common
import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.patches import Rectangle
from matplotlib.ticker import ScalarFormatter

from minicnn import layers, models

args, out = _common.setup("03_receptive_field_and_dilation",
                          "Receptive field and dilation (course section 1b)")
plt = _common.plt
SIZE = 41                 # input H = W, larger than every field below; centre 20


# %% the formula, and the measurement by one backward pass
def analytic_field(convs):
    """Receptive field width after each (kernel, stride, dilation) layer."""
    r, j, rows = 1, 1, []
    for k, s, d in convs:
        k_eff = (k - 1) * d + 1
        r, j = r + (k_eff - 1) * j, j * s
        rows.append((k, s, d, k_eff, j, r))
    return rows


def conv_net(convs, filters=16, n_classes=3):
    """Conv2D(16, k, 'same', relu) per (k, s, d), then the 1x1 softmax classifier."""
    inputs = x = layers.Input((SIZE, SIZE, 1), dtype="float64")
    for k, s, d in convs:
        x = layers.Conv2D(filters, k, strides=s, dilation_rate=d, padding="same",
                          activation="relu", dtype="float64")(x)
    outputs = layers.Conv2D(n_classes, 1, activation="softmax", dtype="float64")(x)
    return models.Model(inputs, outputs)


def measured_field(model):
    """dL/dx for dL/dy = 1 at the centre output pixel: (gradient map, extent)."""
    rng = np.random.default_rng(0)
    # Positive kernels and inputs: every ReLU is open, so no path is cut.
    # Each filter's weights are scaled to sum to 1 (a weighted average), so
    # values neither explode nor vanish with depth and the softmax does not
    # saturate (a saturated softmax has a gradient of exactly 0).
    weights = []
    for w in model.get_weights():
        if w.ndim == 4:                                    # kernel (kh, kw, C_in, F)
            w = np.abs(w) / np.abs(w).sum(axis=(0, 1, 2), keepdims=True)
        weights.append(w)
    model.set_weights(weights)
    x = rng.uniform(0.5, 1.5, (1, SIZE, SIZE, 1))
    y = model.forward(x)                                   # (1, OH, OW, 3)
    dy = np.zeros_like(y)
    dy[0, y.shape[1] // 2, y.shape[2] // 2, 0] = 1.0       # one output pixel, class 0
    grad = np.abs(model.backward(dy)[0, ..., 0])           # (SIZE, SIZE)
    rows = np.flatnonzero(grad.any(axis=1))
    cols = np.flatnonzero(grad.any(axis=0))
    extent = (rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1)
    return grad, extent, (rows[0], cols[0])


STACKS = [
    ("course simple CNN: 3 x 3x3", [(3, 1, 1)] * 3),
    ("6 x 3x3 (twice as deep)", [(3, 1, 1)] * 6),
    ("course dilated CNN: 3 x 3x3, d=2", [(3, 1, 2)] * 3),
    ("3 x 3x3, d = 1, 2, 4", [(3, 1, 1), (3, 1, 2), (3, 1, 4)]),
    ("3 x 3x3, first with stride 2", [(3, 2, 1), (3, 1, 1), (3, 1, 1)]),
]

# %% 1. computed and measured
results = []
for title, convs in STACKS:
    _common.banner(title)
    print(f"{'layer':>5} {'k':>3} {'s':>3} {'d':>3} {'k_eff':>6} {'jump':>5} {'field':>6}")
    for i, (k, s, d, k_eff, j, r) in enumerate(analytic_field(convs), start=1):
        print(f"{i:>5} {k:>3} {s:>3} {d:>3} {k_eff:>6} {j:>5} {r:>6}")
    analytic = analytic_field(convs)[-1][-1]
    model = conv_net(convs)
    grad, extent, corner = measured_field(model)
    inside = grad[corner[0]:corner[0] + extent[0], corner[1]:corner[1] + extent[1]]
    share = np.count_nonzero(inside) / inside.size
    print(f"analytic field {analytic} x {analytic}; measured (non-zero input gradient) "
          f"{extent[0]} x {extent[1]}; {share:.0%} of its pixels reached; "
          f"{model.count_params():,} parameters")
    assert extent == (analytic, analytic), (extent, analytic)
    results.append((title, convs, grad, analytic, corner, share, model.count_params()))

_common.banner("The course's builders agree")
for dilation, field in ((1, 7), (2, 13)):
    model = models.simple_cnn((SIZE, SIZE, 1), dilation_rate=dilation, dtype="float64")
    _, extent, _ = measured_field(model)
    print(f"models.simple_cnn(dilation_rate={dilation}): field {extent[0]} x {extent[1]} "
          f"(analytic {field}), {model.count_params():,} parameters")
    assert extent == (field, field)
deep, dilated = results[1][-1], results[2][-1]
print(f"Dilation 2 nearly doubles the field (7 -> 13) with the same {dilated:,} parameters; "
      f"6 undilated layers reach 13 with {deep:,} ({deep / dilated:.1f} times as many).")

# %% 2. the maps
fig, axes = plt.subplots(1, len(results), figsize=(3.1 * len(results), 3.9),
                         layout="constrained")
VIEW = 10                 # show the centre 21 x 21 pixels: every field fits
for ax, (title, convs, grad, analytic, corner, share, n_params) in zip(axes, results):
    centre = SIZE // 2
    crop = grad[centre - VIEW:centre + VIEW + 1, centre - VIEW:centre + VIEW + 1]
    shown = np.where(crop > 0, crop, np.nan)                # zero: left blank (white)
    im = ax.imshow(shown / np.nanmax(shown), cmap="viridis", interpolation="nearest",
                   norm=LogNorm(vmin=1e-4, vmax=1))
    ax.add_patch(Rectangle((VIEW - analytic / 2, VIEW - analytic / 2), analytic,
                           analytic, fill=False, edgecolor="tab:red", linewidth=1.5))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{title}\nfield {analytic} x {analytic}, {share:.0%} reached\n"
                 f"{n_params:,} parameters", fontsize=9)
fig.colorbar(im, ax=axes, shrink=0.8,
             label="|d output / d input|, relative (log scale; white = 0)")
fig.suptitle(f"Input gradient of the centre output pixel (centre {2 * VIEW + 1} x "
             f"{2 * VIEW + 1} of a {SIZE} x {SIZE} input); red square: the analytic "
             "receptive field", fontsize=11)
_common.save(fig, out, "receptive_fields.png")

# %% 3. growth with depth, on a brain
depths = np.arange(1, 9)
fig, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
curves = [("plain, d = 1", lambda n: [(3, 1, 1)] * n),
          ("dilated, d = 2", lambda n: [(3, 1, 2)] * n),
          ("d = 1, 2, 4, 8, ...", lambda n: [(3, 1, 2 ** i) for i in range(n)])]
for name, make in curves:
    fields = [analytic_field(make(n))[-1][-1] for n in depths]
    axes[0].plot(depths, fields, "o-", label=name)
axes[0].set_yscale("log", base=2)
axes[0].yaxis.set_major_formatter(ScalarFormatter())
axes[0].set_xlabel("number of 3x3 layers")
axes[0].set_ylabel("receptive field (pixels, log scale)")
axes[0].set_title("Field size against depth")
axes[0].legend()
# A 3x3 Conv2D with 16 filters on 16 channels: 3*3*16*16 + 16 weights,
# whatever its dilation (the first reads 1 channel, the classifier adds 51).
params = [3 * 3 * 1 * 16 + 16 + (n - 1) * (3 * 3 * 16 * 16 + 16) + 16 * 3 + 3 for n in depths]
axes[1].plot(depths, params, "o-", color="tab:gray", label="any dilation (the same)")
axes[1].set_xlabel("number of 3x3 layers (16 filters)")
axes[1].set_ylabel("parameters")
axes[1].set_title("Parameters against depth: dilation adds none")
axes[1].legend()
slices, _, positions = _common.template_slices(axis=2)
image = slices[np.argmin(np.abs(positions - 45)), ..., 0]
_common.show(axes[2], image, "Fields on a 2 mm axial slice")
h, w = image.shape
colours = ("tab:blue", "tab:orange", "tab:green", "tab:red")
for n, ((title, _, _, analytic, _, _, _), colour) in enumerate(zip(results[:4], colours)):
    # Side by side across the brain, in the picture's coordinates (show()
    # puts array axis 0 across and axis 1 upwards).
    cx, cy = h * (n + 1) / 5, w / 2
    axes[2].add_patch(Rectangle((cx - analytic / 2, cy - analytic / 2), analytic, analytic,
                                fill=False, edgecolor=colour, linewidth=2,
                                label=f"{analytic} px = {2 * analytic} mm: {title}"))
axes[2].legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.02))
_common.save(fig, out, "rf_growth.png")

# %% write it yourself
_common.exercises("03_receptive_field_and_dilation")
