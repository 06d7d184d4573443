"""Label maps: one-hot encoding, consistent remapping, class fractions and volumes.

A label map holds one integer class per voxel. A network with a softmax over
K classes is trained against its one-hot form:

    one_hot(y, K)[..., k] = 1 if y == k else 0        y: (...)  ->  (..., K)

Label values in files are often not 0..K-1 (FreeSurfer uses 2, 3, 41, 42...;
FSL FAST uses 0..3). They must be remapped to 0..K-1 with ONE mapping shared
by every subject. The course built the mapping per volume from np.unique(y),
so a subject missing a class got its other classes shifted: class index 2
meant "white matter" in one subject and "grey matter" in the next. Here the
mapping is built once (``label_mapping`` over all subjects, or written by
hand, which also merges classes, e.g. {0: 0, 1: 0, 2: 1, 3: 2} folds CSF into
background as the course did) and ``remap_labels`` refuses values it does not
know instead of guessing.

The volume of a class is its voxel count times the volume of one voxel,
|det A| mm^3 with A the 3 x 3 part of the NIfTI affine (its columns are the
voxel's edges in mm, so the determinant is the voxel's volume whatever the
rotation; flips only change its sign). In millilitres (1 mL = 1000 mm^3):

    volume_c = #{v : labels[v] = c} |det A| / 1000
"""
import numpy as np

from .._validate import as_array, positive_int


def _integer_labels(labels, name="labels"):
    labels = as_array(labels, name)
    if labels.dtype.kind == "f":
        if not (np.isfinite(labels) & (labels == np.rint(labels))).all():
            raise ValueError(f"{name} must hold whole numbers, got non-integer values")
        labels = labels.astype(np.int64)
    elif labels.dtype.kind == "b":
        labels = labels.astype(np.int64)
    return labels


def one_hot(labels, n_classes, dtype=np.float32):
    """(...) integer labels in [0, n_classes) -> (..., n_classes) one-hot."""
    labels = _integer_labels(labels)
    n_classes = positive_int(n_classes, "n_classes")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, n_classes={n_classes}), got values "
                         f"in [{labels.min()}, {labels.max()}]; remap them first")
    # Comparing against arange broadcasts (..., 1) with (K,) -> (..., K).
    return (labels[..., None] == np.arange(n_classes)).astype(dtype)


def label_mapping(*label_maps):
    """{value: index} for the sorted union of values in all `label_maps`.

    Build it once over every subject (training and test), then apply it to
    each with ``remap_labels``, so that index k means the same tissue in all.
    """
    if not label_maps:
        raise ValueError("label_mapping needs at least one label map")
    values = np.unique(np.concatenate(
        [np.unique(_integer_labels(m, f"label_maps[{i}]")) for i, m in enumerate(label_maps)]))
    return {int(v): i for i, v in enumerate(values)}


def remap_labels(labels, mapping, default=None):
    """Replace each value v of `labels` by mapping[v] (vectorised lookup).

    default : index given to values absent from `mapping`; if None such values
              are an error that lists them (nothing is silently relabelled).
    Returns int32 labels of the same shape.
    """
    labels = _integer_labels(labels)
    if not isinstance(mapping, dict) or not mapping:
        raise TypeError(f"mapping must be a non-empty dict {{value: index}}, got {mapping!r}")
    keys = np.array(sorted(mapping), dtype=np.int64)
    targets = np.array([mapping[k] for k in keys.tolist()], dtype=np.int64)
    values = labels.ravel()
    # searchsorted finds each value's slot among the sorted keys; a value is
    # known only if the key at that slot equals it.
    slot = np.clip(np.searchsorted(keys, values), 0, len(keys) - 1)
    known = keys[slot] == values
    if not known.all():
        unknown = np.unique(values[~known])
        if default is None:
            raise ValueError(f"labels contain values {unknown[:10].tolist()} that are "
                             f"not in mapping (keys {keys.tolist()}); add them or "
                             "pass default=")
    out = np.where(known, targets[slot], -1 if default is None else default)
    return out.reshape(labels.shape).astype(np.int32)


def _class_counts(labels, n_classes):
    """Voxels of each class 0..n_classes-1: (n_classes,) int64."""
    labels = _integer_labels(labels)
    n_classes = positive_int(n_classes, "n_classes")
    if labels.size == 0:
        raise ValueError("labels must not be empty")
    if labels.min() < 0 or labels.max() >= n_classes:
        raise ValueError(f"labels must lie in [0, n_classes={n_classes}), got values "
                         f"in [{labels.min()}, {labels.max()}]")
    return np.bincount(labels.ravel(), minlength=n_classes)


def class_fractions(labels, n_classes):
    """Fraction of voxels in each class 0..n_classes-1 (sums to 1)."""
    counts = _class_counts(labels, n_classes)
    return counts / counts.sum()


def class_volumes_ml(labels, affine, n_classes):
    """(voxel counts, volumes in mL) of each class 0..n_classes-1 of a 3D label map.

    volume_c = count_c |det A| / 1000, A the 3 x 3 part of the (4, 4) affine.
    """
    affine = as_array(affine, "affine", dtype=np.float64)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must be a 4 x 4 matrix, got shape {affine.shape}")
    counts = _class_counts(labels, n_classes)
    voxel_ml = abs(float(np.linalg.det(affine[:3, :3]))) / 1000.0
    return counts, counts * voxel_ml
