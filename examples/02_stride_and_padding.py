# %% introduction and setup
"""Course section 1a, stride and padding: how big is a convolution's output?

    python examples/02_stride_and_padding.py [--out DIR] [--quick]

Along one axis, for an input of n pixels, a kernel of k pixels, stride s
(the step between two kernel positions) and dilation d (a kernel spans
k_eff = (k - 1) * d + 1 pixels; d = 1 here, see example 03):

    padding='valid'  no padding; every window lies inside the image
                     out = floor((n - k_eff) / s) + 1
    padding='same'   zeros around the image so that
                     out = ceil(n / s)              (= n when s = 1)
                     total pad = max((out - 1) * s + k_eff - n, 0)
                     before = total // 2, after = total - before

Keras puts the odd padding pixel after (bottom/right), not before: with
n = 110, k = 3, s = 2 'same' pads (0, 1), not (1, 1).

The slide says "the stride must divide the image evenly; you can pad the
image if necessary". What happens when it does not: with 'valid', the last
pixels that no window reaches are silently dropped (n = 110, k = 3, s = 2:
54 outputs, the last column is never read); 'same' pads instead and keeps
them. Either way, a stride of 2 halves the image, like pooling (example 04).

Figures: padding_grid.png (the windows on a 6 x 7 input, padded cells in
grey, pixels no window reads in pink), stride_padding_slice.png (an edge
filter on a brain slice, each output drawn at the place its pixels come
from, at its own pixel size).
"""
import _common
import numpy as np
from matplotlib.patches import Rectangle

from minicnn import layers
from minicnn.functional.im2col import conv_output_size, same_padding

args, out = _common.setup("02_stride_and_padding", "Stride and padding (course section 1a)")
plt = _common.plt
MODES = [("valid", 1), ("same", 1), ("valid", 2), ("same", 2)]

# %% 1. the sizes
_common.banner("Output sizes for a 3x3 kernel (one axis at a time)")
print(f"{'n':>4} {'padding':>8} {'stride':>6} {'out':>4} {'pad (before, after)':>20} "
      f"{'pixels never read':>18}")
for n in (110, 92, 75, 93, 7, 6):
    for padding, stride in MODES:
        size = conv_output_size(n, 3, stride, 1, padding)
        pads = same_padding(n, 3, stride, 1) if padding == "same" else (0, 0)
        # The last window ends at (size - 1) * stride + k - 1 of the padded
        # input; anything after it (beyond the padding) is never read.
        last_read = (size - 1) * stride + 3 - 1 - pads[0]
        unread = max(n - 1 - last_read, 0)
        print(f"{n:>4} {padding:>8} {stride:>6} {size:>4} {str(pads):>20} {unread:>18}")

_common.banner("The same sizes from real Conv2D layers on a (1, 110, 92, 1) input")
x = np.zeros((1, 110, 92, 1), dtype=np.float32)
for padding, stride in MODES:
    y = layers.Conv2D(3, 3, strides=stride, padding=padding)(x)
    want = tuple(conv_output_size(n, 3, stride, 1, padding) for n in (110, 92))
    print(f"Conv2D(3, 3, strides={stride}, padding={padding!r:8}) -> {y.shape}  "
          f"(formula: {want})")
    assert y.shape[1:3] == want

# %% 2. the windows, drawn
def draw_grid(ax, h, w, padding, stride):
    """The padded input, the first window, and every window's centre."""
    (top, bottom), (left, right) = [
        same_padding(n, 3, stride, 1) if padding == "same" else (0, 0) for n in (h, w)]
    oh, ow = (conv_output_size(n, 3, stride, 1, padding) for n in (h, w))
    # Window (oy, ox) covers padded rows oy*s .. oy*s+2, i.e. image rows
    # oy*s - top .. oy*s - top + 2; its centre is one pixel in.
    centres_y = np.arange(oh) * stride - top + 1
    centres_x = np.arange(ow) * stride - left + 1
    read_y = {c + o for c in centres_y for o in (-1, 0, 1)}
    read_x = {c + o for c in centres_x for o in (-1, 0, 1)}
    for i in range(-top, h + bottom):
        for j in range(-left, w + right):
            inside = 0 <= i < h and 0 <= j < w
            colour = "0.8" if not inside else (
                "white" if i in read_y and j in read_x else "#f4a6a6")  # red: never read
            ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, edgecolor="0.3",
                                   facecolor=colour))
            if not inside:
                ax.text(j, i, "0", ha="center", va="center", fontsize=7, color="0.4")
    cy, cx = np.meshgrid(centres_y, centres_x, indexing="ij")
    ax.plot(cx.ravel(), cy.ravel(), "o", color="tab:red", markersize=5)
    ax.add_patch(Rectangle((centres_x[0] - 1.5, centres_y[0] - 1.5), 3, 3, fill=False,
                           edgecolor="tab:blue", linewidth=2.5))
    ax.set_xlim(-2, w + 1)
    ax.set_ylim(h + 1, -2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"padding='{padding}', stride {stride}\noutput {oh} x {ow}; "
                 f"pad rows ({top}, {bottom}), cols ({left}, {right})", fontsize=9)


fig, axes = plt.subplots(1, 4, figsize=(13, 3.8), layout="constrained")
for ax, (padding, stride) in zip(axes, MODES):
    draw_grid(ax, 6, 7, padding, stride)
fig.suptitle("A 3x3 kernel on a 6 x 7 input: white = image, grey = zero padding, pink = "
             "never read; red dots = window centres (one output pixel each), blue = "
             "first window", fontsize=10)
_common.save(fig, out, "padding_grid.png")

# %% 3. on a brain slice
_common.banner("An edge filter on a brain slice, four ways")
slices, _, positions = _common.template_slices(axis=2)
image = slices[np.argmin(np.abs(positions - 45))][None]          # (1, 75, 93, 1)
laplacian = np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], dtype=np.float32)
fig, axes = plt.subplots(1, 5, figsize=(14, 3.9), layout="constrained")
h, w = image.shape[1:3]


def place(ax, picture, extent, title, **style):
    """Draw an (H, W) array with array axis 0 horizontal, axis 1 up (anterior up)."""
    im = ax.imshow(picture.T, origin="lower", extent=extent, interpolation="nearest",
                   **style)
    ax.add_patch(Rectangle((-0.5, -0.5), h, w, fill=False, linestyle="--",
                           edgecolor="tab:orange"))
    ax.set_facecolor("0.55")                       # grey where there is no output
    ax.set_xlim(-1.5, h + 0.5)
    ax.set_ylim(-1.5, w + 0.5)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=9)
    return im


place(axes[0], image[0, ..., 0], (-0.5, h - 0.5, -0.5, w - 0.5),
      f"input {h} x {w} (orange: its border)", cmap="gray")
for ax, (padding, stride) in zip(axes[1:], MODES):
    conv = layers.Conv2D(1, 3, strides=stride, padding=padding, use_bias=False)
    conv.build((None, h, w, 1))
    conv.set_weights([laplacian[:, :, None, None]])        # kernel (3, 3, 1, 1)
    result = conv(image)[0, ..., 0]                        # (OH, OW)
    # Output pixel i reads input pixels i*s - before .. i*s - before + 2:
    # its centre is at i*s - before + 1, and it stands for s input pixels.
    extent = []
    for n, size in zip((h, w), result.shape):
        before = same_padding(n, 3, stride, 1)[0] if padding == "same" else 0
        first, last = 1 - before, (size - 1) * stride + 1 - before
        extent += [first - stride / 2, last + stride / 2]
    im = place(ax, result, extent, f"padding='{padding}', stride {stride}: "
               f"{result.shape[0]} x {result.shape[1]}", cmap="RdBu_r", vmin=-0.6, vmax=0.6)
    print(f"padding={padding!r:8} stride {stride}: {image.shape[1:3]} -> {result.shape}")
fig.colorbar(im, ax=axes[1:], shrink=0.8, label="Laplacian filter response")
fig.suptitle("The same 3x3 Laplacian (edge) kernel; each output is drawn where its "
             "pixels come from (grey: no output). 'valid' loses a border, stride 2 has "
             "pixels twice as big", fontsize=10)
_common.save(fig, out, "stride_padding_slice.png")

# %% write it yourself
_common.exercises("02_stride_and_padding")
