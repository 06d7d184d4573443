# %% introduction and setup
"""Course section 1h, feature extraction: from a volume to the (N, H, W, C) arrays a network eats.

    python examples/08_feature_extraction.py [--out DIR] [--quick]

"Many ways to analyse volumes": a network for 2D images sees a volume as a
pile of slices, a 2.5D network as slices carrying their neighbours, a 3D
network as cubes (patches). Keras (and minicnn) want the data as one array,
channels last:

    2D / 2.5D   x (N, H, W, C)       N images of H x W pixels, C channels
                y (N, H, W)          one integer class per pixel
                                     -> one-hot (N, H, W, K) for the loss
    3D          x (N, D, H, W, C)    N cubes (minicnn's layers are 2D; the
                                     patches are shown for completeness)

minicnn.data does each step and remembers where every piece came from, so
predictions go back into the volume:

    extract_slices(volume, axis, labels)             x, y, positions
    extract_slices(..., context=k)                   2k + 1 neighbours as channels
    extract_patches(volume, size, stride, labels)    x, y, origins
    slices_to_volume / patches_to_volume             back to (X, Y, Z)
    pad_to_multiple(x, 2**depth) / undo_margins      sizes a U-Net accepts

The embedded template is 75 x 93 x 79 voxels of 2 mm, axes RAS (axis 0
left -> right, 1 posterior -> anterior, 2 inferior -> superior): axis 0
gives sagittal slices, 1 coronal, 2 axial.

Fixed from the course's notebook: its padding helper grew 110 to 144 where
112 suffices for a depth-3 U-Net; its per-volume label remapping could give
one tissue different indices in different subjects (minicnn uses one mapping
for all, data.label_mapping / remap_labels).

Figures: planes.png (one slice along each axis with its array shape),
stacks_and_patches.png (a 2.5D stack's channels, 3D patches on a slice, and
the padding a U-Net needs).
"""
import _common
import numpy as np
from matplotlib.patches import Rectangle

from minicnn import data, datasets

args, out = _common.setup("08_feature_extraction", "Feature extraction (course section 1h)")
plt = _common.plt
icbm = datasets.icbm152(resolution=2)
volume, labels = icbm.t1, icbm.labels                   # (75, 93, 79), (75, 93, 79)
print(f"template volume {volume.shape}, labels {labels.shape} "
      f"(classes {', '.join(icbm.class_names)})")

# %% normalise
_common.banner("Intensities: the course's z-score then min-max, over the brain")
normalised = data.zscore_minmax(volume, mask=icbm.mask)
brain = normalised[icbm.mask]
print(f"brain voxels: mean {brain.mean():.3f}, min {brain.min():.3f}, max {brain.max():.3f} "
      "(statistics from the brain, applied to every voxel)")

# %% 2D slices
_common.banner("2D slices along each axis (empty slices dropped)")
planes = {}
for axis, name in ((0, "sagittal"), (1, "coronal"), (2, "axial")):
    x, y, positions = data.extract_slices(normalised, axis=axis, labels=labels)
    planes[name] = (x, y, positions)
    fractions = data.class_fractions(y, 4)
    print(f"axis {axis} ({name:8s}): x {x.shape}, y {y.shape}, positions "
          f"{positions[0]}..{positions[-1]}; class fractions "
          + ", ".join(f"{f:.2f}" for f in fractions))

x_axial, y_axial, positions = planes["axial"]
rebuilt = data.slices_to_volume(y_axial, positions, axis=2, shape=labels.shape)
print(f"slices_to_volume(y, positions, axis=2) gives the label volume back exactly: "
      f"{np.array_equal(rebuilt, labels)}")
onehot = data.one_hot(y_axial, 4)
print(f"one_hot(y, 4): {y_axial.shape} int -> {onehot.shape} float32, one 1 per pixel: "
      f"{bool(np.all(onehot.sum(axis=-1) == 1))}")

_common.banner("The course's slices: a 92 x 110 x 92 volume along axis 0")
course_volume = np.ones((92, 110, 92), dtype=np.float32)
x_course, _, _ = data.extract_slices(course_volume, axis=0)
print(f"x {x_course.shape}: the slides' input (None, 110, 92, 1)")
for depth in (3, 4):
    padded, margins = data.pad_to_multiple(x_course, 2 ** depth)
    print(f"pad_to_multiple(x, 2**{depth}) -> {padded.shape} (before {margins.before}, "
          f"after {margins.after}); undo_margins gives {data.undo_margins(padded, margins).shape}")
print("(the course's helper padded 110 to 144; the smallest multiple of 8 is 112)")

# %% 2.5D
_common.banner("2.5D: each axial slice with its neighbours as channels")
for context in (1, 2):
    stack, _, _ = data.extract_slices(normalised, axis=2, labels=labels, context=context)
    print(f"context={context}: x {stack.shape}; channel (o + {context}) is slice p + o, "
          f"o = -{context}..{context}")
stack, _, stack_positions = data.extract_slices(normalised, axis=2, labels=labels, context=2)

# %% 3D
_common.banner("3D patches of 32 x 32 x 32, every 16 voxels")
patches, patch_labels, origins = data.extract_patches(normalised, 32, stride=16,
                                                      labels=labels)
print(f"x {patches.shape}, y {patch_labels.shape}, origins {origins.shape} (the last patch "
      "on each axis is flush with the end, so every voxel is covered)")
back = data.patches_to_volume(patches[..., 0], origins, volume.shape)
print(f"patches_to_volume (overlaps averaged) gives the volume back: "
      f"{np.allclose(back, normalised)}")

# %% figures
fig, axes = plt.subplots(2, 3, figsize=(11, 7.4), layout="constrained")
for col, (name, (x, y, pos)) in enumerate(planes.items()):
    middle = len(pos) // 2
    _common.show(axes[0, col], x[middle, ..., 0], f"{name}, slice {pos[middle]}: "
                 f"x[{middle}] of {x.shape}")
    _common.show(axes[1, col], y[middle], f"y[{middle}] of {y.shape}", labels=4)
_common.label_legend(fig, 4, loc="outside lower center")
fig.suptitle("One volume, three ways to slice it: x (N, H, W, C), y (N, H, W)",
             fontsize=11)
_common.save(fig, out, "planes.png")

fig = plt.figure(figsize=(13, 6.8), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=(1, 1.25))
axes = top.subplots(1, 5)
sample = int(np.argmin(np.abs(stack_positions - 45)))
for c, ax in enumerate(axes):
    _common.show(ax, stack[sample, ..., c], f"channel {c}: slice "
                 f"{stack_positions[sample] + c - 2}")
top.suptitle(f"2.5D: one sample of x {stack.shape}, five neighbouring axial slices as "
             "channels", fontsize=10)
left, right = bottom.subplots(1, 2)
z = 40
_common.show(left, normalised[:, :, z], None)
# 3D patches that cross axial slice z, drawn as squares in the picture's
# coordinates (show() puts array axis 0 across and axis 1 upwards). Patches
# at different heights z share a square here, so each square is drawn once.
crossing = origins[(origins[:, 2] <= z) & (origins[:, 2] + 32 > z)]
squares = np.unique(crossing[:, :2], axis=0)
w = volume.shape[1]
for n, (i, j) in enumerate(squares):
    highlight = n == len(squares) // 2
    left.add_patch(Rectangle((i - 0.5, w - j - 32 - 0.5), 32, 32,
                             fill=highlight, alpha=0.35 if highlight else 1,
                             facecolor="tab:orange", edgecolor="tab:cyan",
                             linewidth=2.5 if highlight else 0.8))
left.set_title(f"{len(crossing)} patches cross axial slice {z}: {len(squares)} squares "
               "here,\n32 x 32 each, every 16 voxels (so they overlap by half; one is "
               "filled)", fontsize=9)
padded, margins = data.pad_to_multiple(x_axial[sample:sample + 1], 16)
_common.show(right, padded[0, ..., 0], None)
added = np.ones(padded.shape[1:3], dtype=bool)                 # (80, 96): True = padding
added[margins.before[0]:margins.before[0] + x_axial.shape[1],
      margins.before[1]:margins.before[1] + x_axial.shape[2]] = False
tint = np.zeros(added.shape + (4,))
tint[added] = (0.23, 0.51, 0.96, 0.7)                          # blue: the zeros added
right.imshow(np.flipud(np.transpose(tint, (1, 0, 2))), interpolation="nearest")
right.set_title(f"pad_to_multiple(x, 16): {x_axial.shape[1]} x {x_axial.shape[2]} -> "
                f"{padded.shape[1]} x {padded.shape[2]}\n(blue: zeros added, before "
                f"{margins.before}, after {margins.after})", fontsize=9)
bottom.suptitle("3D patches (left) and padding for a U-Net of depth 4 (right)", fontsize=10)
_common.save(fig, out, "stacks_and_patches.png")

# %% write it yourself
_common.exercises("08_feature_extraction")
