"""On-the-fly data augmentation for batches of 2D slices.

Each batch is transformed with fresh random parameters when it is drawn, so
the network rarely sees the exact same image twice, and the augmented set is
never stored. All transforms take x (N, H, W, C) images and y (N, H, W)
integer labels and return new arrays (inputs are not modified).

Flip. A brain is roughly left-right symmetric, so a left-right mirror image
is another plausible brain; an up-down or front-back mirror is not. Which
axis of a slice is left-right depends on the volume's orientation and on the
slicing axis: ``left_right_axis(affine, slice_axis)`` reads it from the NIfTI
affine (None for sagittal slices, which have no left-right axis).

Rotation by a small angle t about the slice centre c, in voxel units
(assumes square in-plane voxels). Output pixel v reads the input at

    u = R(-t) (v - c) + c,        R(t) = [[cos t, -sin t], [sin t, cos t]]

images bilinearly, labels by nearest neighbour (see ``interpolate``); pixels
that come from outside the slice are 0 (background).

Intensity jitter: x' = a x + b with a ~ U(1 - gain, 1 + gain) and
b ~ U(-shift, shift) per image, then optional Gaussian noise N(0, noise^2)
per pixel; it mimics scanner-to-scanner differences left after
normalisation. Labels are unchanged.
"""
import numpy as np

from .._validate import as_array
from .interpolate import linear_sample, nearest_sample


def left_right_axis(affine, slice_axis):
    """The NHWC axis (1 = H or 2 = W) of slices along `slice_axis` that runs
    left-right in `affine`'s space, or None if the slices are sagittal."""
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must be 4 x 4, got shape {affine.shape}")
    if slice_axis not in (0, 1, 2):
        raise ValueError(f"slice_axis must be 0, 1 or 2, got {slice_axis!r}")
    directions = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    lr = int(np.argmax(np.abs(directions[0])))  # voxel axis most aligned with x (L-R)
    if lr == slice_axis:
        return None
    in_plane = [a for a in (0, 1, 2) if a != slice_axis]
    return 1 + in_plane.index(lr)


def _rotation_coords(h, w, angle):
    """Input positions (H*W, 2) read by each output pixel for a rotation."""
    c = np.array([(h - 1) / 2, (w - 1) / 2])
    grid = np.stack(np.meshgrid(np.arange(h), np.arange(w), indexing="ij"), -1)  # (H, W, 2)
    cos, sin = np.cos(-angle), np.sin(-angle)
    inverse = np.array([[cos, -sin], [sin, cos]])
    return (grid.reshape(-1, 2) - c) @ inverse.T + c          # (H*W, 2)


class Augmenter:
    """A random transform of (x, y) batches, configured once, drawn per batch.

    flip_axis      : 1 or 2 (the left-right axis of the slices, see
                     ``left_right_axis``), or None for no flips.
    max_rotation   : rotations uniform in [-max_rotation, max_rotation] degrees.
    gain, shift    : intensity jitter a ~ U(1 - gain, 1 + gain), b ~ U(-shift, shift).
    noise          : standard deviation of added Gaussian noise.
    Call ``aug(x, y, rng)`` with a NumPy Generator.
    """

    def __init__(self, flip_axis=None, max_rotation=10.0, gain=0.1, shift=0.05, noise=0.0):
        if flip_axis not in (None, 1, 2):
            raise ValueError(f"flip_axis must be None, 1 (H) or 2 (W), got {flip_axis!r}")
        for name, value, upper in (("max_rotation", max_rotation, 180), ("gain", gain, 1),
                                   ("shift", shift, np.inf), ("noise", noise, np.inf)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not 0 <= value < upper:
                raise ValueError(f"{name} must be a number in [0, {upper}), got {value!r}")
        self.flip_axis = flip_axis
        self.max_rotation = float(max_rotation)
        self.gain, self.shift, self.noise = float(gain), float(shift), float(noise)

    def __repr__(self):
        return (f"Augmenter(flip_axis={self.flip_axis}, max_rotation={self.max_rotation}, "
                f"gain={self.gain}, shift={self.shift}, noise={self.noise})")

    def __call__(self, x, y, rng):
        x = as_array(x, "x", ndim=4).astype(np.float32)   # a copy: input untouched
        y = as_array(y, "y", ndim=3)
        if y.shape != x.shape[:3]:
            raise ValueError(f"y must be (N, H, W) = {x.shape[:3]}, got {y.shape}")
        y = y.copy()
        n, h, w, c = x.shape
        if self.flip_axis is not None:
            flip = rng.random(n) < 0.5
            x[flip] = np.flip(x[flip], axis=self.flip_axis)
            y[flip] = np.flip(y[flip], axis=self.flip_axis)
        if self.max_rotation > 0:
            angles = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))
            for i in range(n):  # one vectorised resampling per image
                coords = _rotation_coords(h, w, angles[i])
                x[i] = linear_sample(x[i], coords).reshape(h, w, c)
                y[i] = nearest_sample(y[i][..., None], coords)[:, 0].reshape(h, w)
        a = rng.uniform(1 - self.gain, 1 + self.gain, (n, 1, 1, 1)).astype(np.float32)
        b = rng.uniform(-self.shift, self.shift, (n, 1, 1, 1)).astype(np.float32)
        x = a * x + b
        if self.noise > 0:
            x += rng.normal(0, self.noise, x.shape).astype(np.float32)
        return x, y
