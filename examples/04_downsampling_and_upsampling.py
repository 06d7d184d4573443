# %% introduction and setup
"""Course section 1c, downsampling and upsampling: halving an image and doubling it back.

    python examples/04_downsampling_and_upsampling.py [--out DIR] [--quick]

Downsampling, MaxPooling2D(2): each 2 x 2 block becomes its maximum,
"summarising essential features at a lower resolution" and halving H and W:

    y[i, j] = max(x[2i, 2j], x[2i, 2j+1], x[2i+1, 2j], x[2i+1, 2j+1])
    backward: the block's gradient goes to its maximum, the others get 0

With 'valid' an odd size loses its last row (75 -> 37), 'same' pads it
(75 -> 38); either way doubling back does not give 75. That is why a U-Net
needs H and W divisible by 2**depth, and why the data are padded first
(minicnn.data.pad_to_multiple: 75 x 93 -> 80 x 96 for depth 3 or 4).

Upsampling, three ways from the slides, plus one:

- transpose convolution, Conv2DTranspose(f, 2, strides=2): every input pixel
  stamps a copy of the learned kernel, scaled by its value, into the output;
  where stamps overlap (kernel larger than the stride) they add up.
  Parameters: 2 * 2 * C_in * f + f;
- interpolation + 2x2 convolution: UpSampling2D(2) then Conv2D(f, 2,
  'same'); the same number of parameters, 2 * 2 * C_in * f + f;
- nearest neighbour, UpSampling2D(2): each pixel becomes a 2 x 2 block; no
  parameters (the course's U-Net uses it);
- bilinear, UpSampling2D(2, interpolation='bilinear'): each output pixel
  mixes its 2 x 2 nearest inputs with weights 3/4 and 1/4 per axis.

Two identities show how they relate: a transpose convolution with a 2 x 2
kernel of ones is exactly nearest upsampling, and one with the 4 x 4 kernel
[1/4, 3/4, 3/4, 1/4] (outer product) is exactly bilinear upsampling away
from the border. A learned transpose convolution can become either, or
something better for the task.

Figures: toy_examples.png (the numbers, small enough to check by hand),
brain_slice.png (a slice pooled and upsampled back four ways, with errors).
"""
import _common
import numpy as np

from minicnn import data, layers

args, out = _common.setup("04_downsampling_and_upsampling",
                          "Downsampling and upsampling (course section 1c)")
plt = _common.plt
np.set_printoptions(precision=2, suppress=True)


def layer_with(layer, shape, kernel):
    """A convolution layer built for `shape` holding the given kernel, no bias."""
    layer.build((None,) + shape)
    layer.set_weights([kernel])
    return layer


def grid(array):
    """(H, W) of a one-image, one-channel NHWC array, for printing and drawing."""
    return np.asarray(array)[0, ..., 0]


# %% 1. max pooling
_common.banner("MaxPooling2D(2) on a 4 x 4 image")
toy = np.array([[1, 3, 2, 0],
                [4, 2, 1, 1],
                [0, 1, 5, 6],
                [2, 2, 7, 3]], dtype=np.float64)[None, :, :, None]   # (1, 4, 4, 1)
pool = layers.MaxPooling2D(2, dtype="float64")
pooled = pool(toy)                                                   # (1, 2, 2, 1)
print("input:\n", grid(toy), "\nmax of each 2 x 2 block:\n", grid(pooled))
routed = pool.backward(np.ones_like(pooled))                         # (1, 4, 4, 1)
print("backward of a gradient of 1 per output: each block's 1 goes to its maximum\n",
      grid(routed))
for n in (75, 93, 80):
    sizes = [layers.MaxPooling2D(2, padding=p)(np.zeros((1, n, 8, 1))).shape[1]
             for p in ("valid", "same")]
    print(f"height {n}: 'valid' -> {sizes[0]} (x2 = {2 * sizes[0]}), "
          f"'same' -> {sizes[1]} (x2 = {2 * sizes[1]})")

# %% 2. transpose convolution
_common.banner("Conv2DTranspose(1, 2, strides=2): each pixel stamps the kernel")
small = np.array([[1, 2], [3, 4]], dtype=np.float64)[None, :, :, None]   # (1, 2, 2, 1)
stamp = np.array([[1.0, 0.5], [0.5, 0.25]])
transpose2 = layer_with(layers.Conv2DTranspose(1, 2, strides=2, use_bias=False,
                                               dtype="float64"),
                        (2, 2, 1), stamp[:, :, None, None])   # kernel (kh, kw, f, C_in)
stamped = transpose2(small)
print("input:\n", grid(small), "\nkernel:\n", stamp, "\noutput (4 x 4), block (i, j) = "
      "input[i, j] * kernel:\n", grid(stamped))
stamp3 = np.ones((3, 3))
transpose3 = layer_with(layers.Conv2DTranspose(1, 3, strides=2, padding="same",
                                               use_bias=False, dtype="float64"),
                        (2, 2, 1), stamp3[:, :, None, None])
overlapped = transpose3(small)
print("a 3 x 3 kernel of ones with stride 2: the stamps overlap and add up, an uneven "
      "'checkerboard':\n", grid(overlapped))

_common.banner("Two identities")
rng = np.random.default_rng(0)
image = rng.random((1, 6, 8, 1))
nearest = layers.UpSampling2D(2, dtype="float64")(image)
ones = layer_with(layers.Conv2DTranspose(1, 2, strides=2, use_bias=False, dtype="float64"),
                  (6, 8, 1), np.ones((2, 2, 1, 1)))
print(f"transpose conv, 2x2 kernel of ones  vs UpSampling2D(2):  max |difference| = "
      f"{np.abs(ones(image) - nearest).max():.1e}")
taps = np.array([0.25, 0.75, 0.75, 0.25])
bilinear_kernel = np.outer(taps, taps)[:, :, None, None]                # (4, 4, 1, 1)
learned_bilinear = layer_with(layers.Conv2DTranspose(1, 4, strides=2, padding="same",
                                                     use_bias=False, dtype="float64"),
                              (6, 8, 1), bilinear_kernel)
bilinear = layers.UpSampling2D(2, interpolation="bilinear", dtype="float64")(image)
difference = np.abs(learned_bilinear(image) - bilinear)[0, ..., 0]
print(f"transpose conv, 4x4 bilinear kernel vs bilinear upsampling: max |difference| "
      f"= {difference[1:-1, 1:-1].max():.1e} inside, {difference.max():.2f} on the border "
      "(bilinear repeats the edge pixel, the convolution sees zeros)")

_common.banner("Parameters: transpose convolution vs interpolation + 2x2 convolution")
features = np.zeros((1, 13, 12, 64), dtype=np.float32)     # 64 channels from the decoder
upconv = layers.Conv2DTranspose(32, 2, strides=2)
up_then_conv = layers.Conv2D(32, 2, padding="same")
a = upconv(features)
b = up_then_conv(layers.UpSampling2D(2)(features))
for name, layer, result in (("Conv2DTranspose(32, 2, strides=2)", upconv, a),
                            ("UpSampling2D(2) + Conv2D(32, 2, 'same')", up_then_conv, b)):
    print(f"{name:40s} {features.shape} -> {result.shape}, "
          f"{layer.count_params():,} parameters = 2*2*64*32 + 32")

# %% 3. figures
def draw_numbers(ax, array, title, vmax):
    ax.imshow(array, cmap="Blues", vmin=0, vmax=vmax)
    for (i, j), value in np.ndenumerate(array):
        ax.text(j, i, f"{value:g}", ha="center", va="center", fontsize=10,
                color="white" if value > 0.6 * vmax else "black")
    ax.set_xticks(np.arange(array.shape[1] + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(array.shape[0] + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="0.5", linewidth=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(title, fontsize=9)


fig, axes = plt.subplots(2, 4, figsize=(12, 6.4), layout="constrained")
draw_numbers(axes[0, 0], grid(toy), "input 4 x 4", 7)
draw_numbers(axes[0, 1], grid(pooled), "MaxPooling2D(2): 2 x 2", 7)
draw_numbers(axes[0, 2], grid(routed), "its backward: gradient\nto each block's maximum", 1)
draw_numbers(axes[0, 3], grid(layers.UpSampling2D(2, dtype="float64")(pooled)),
             "UpSampling2D(2) (nearest) of the pooled", 7)
draw_numbers(axes[1, 0], grid(small), "input 2 x 2", 4)
draw_numbers(axes[1, 1], stamp, "kernel 2 x 2", 4)
draw_numbers(axes[1, 2], grid(stamped), "Conv2DTranspose, stride 2:\nstamps side by side", 4)
draw_numbers(axes[1, 3], grid(overlapped),
             "3 x 3 kernel of ones, stride 2:\nstamps overlap and add", 10)
fig.suptitle("Downsampling (top) and transpose convolution (bottom), the numbers",
             fontsize=11)
_common.save(fig, out, "toy_examples.png")

_common.banner("A brain slice halved and doubled back")
slices, _, positions = _common.template_slices(axis=2)
slice_75x93 = slices[np.argmin(np.abs(positions - 45))][None]    # (1, 75, 93, 1)
padded, margins = data.pad_to_multiple(slice_75x93, 16)            # (1, 80, 96, 1)
print(f"padded {slice_75x93.shape[1:3]} -> {padded.shape[1:3]} so that halving and "
      f"doubling give the same size back (margins before {margins.before}, after "
      f"{margins.after})")
low = layers.MaxPooling2D(2)(padded)                                 # (1, 40, 48, 1)
shape = low.shape[1:]
methods = {
    "nearest\nUpSampling2D(2)": layers.UpSampling2D(2)(low),
    "bilinear\nUpSampling2D(2, 'bilinear')":
        layers.UpSampling2D(2, interpolation="bilinear")(low),
    "transpose conv\n4x4 bilinear kernel": layer_with(
        layers.Conv2DTranspose(1, 4, strides=2, padding="same", use_bias=False),
        shape, bilinear_kernel.astype(np.float32))(low),
    "nearest + 2x2 conv\n(kernel of 1/4: a blur)": layer_with(
        layers.Conv2D(1, 2, padding="same", use_bias=False), (80, 96, 1),
        np.full((2, 2, 1, 1), 0.25, dtype=np.float32))(layers.UpSampling2D(2)(low)),
}
fig, axes = plt.subplots(2, 5, figsize=(13, 6.6), layout="constrained")
_common.show(axes[0, 0], padded[0, ..., 0], f"input, padded to {padded.shape[1]} x "
             f"{padded.shape[2]}", vmin=0, vmax=1)
_common.show(axes[1, 0], low[0, ..., 0], f"MaxPooling2D(2): {low.shape[1]} x "
             f"{low.shape[2]}", vmin=0, vmax=1)
for col, (name, up) in enumerate(methods.items(), start=1):
    error = np.abs(up - padded)[0, ..., 0]
    rmse = float(np.sqrt(np.mean(error ** 2)))
    print(f"{name.replace(chr(10), ': '):55s} -> {up.shape[1:3]}, RMS error vs input "
          f"{rmse:.3f}")
    _common.show(axes[0, col], up[0, ..., 0], name, vmin=0, vmax=1)
    im = _common.show(axes[1, col], error, f"|error|, RMS {rmse:.3f}", cmap="magma",
                      vmin=0, vmax=0.5)
fig.colorbar(im, ax=axes[1, 1:], shrink=0.8, label="|upsampled - input|")
fig.suptitle("Max pooling keeps the brightest pixel of each block (white matter grows, "
             "dark CSF thins); upsampling cannot restore what pooling dropped",
             fontsize=11)
_common.save(fig, out, "brain_slice.png")

# %% write it yourself
_common.exercises("04_downsampling_and_upsampling")
