"""Train / validation / test splits by subject, k-fold, and by slice position.

Why by subject: two slices of one brain are far more alike than slices of two
brains. If slices of a subject land in both training and test sets, the test
score measures memory of that brain, not generalisation to a new one. So
whole subjects are assigned to sets, and only then are they cut into slices.

    split_subjects(ids, ratios=(0.75, 0.15, 0.10), seed)  -> (train, val, test)
    kfold(ids, k, seed)  -> k folds; each subject is in exactly one test fold,
                            the rest is split into train and validation.

Set sizes use largest remainders: n * ratio rounded so the sizes add up to n,
with at least one subject in every set whose ratio is > 0.

With a single volume (the ICBM template) there are no subjects to hold out.
``split_positions`` then holds out slabs of slices, with `gap` slices dropped
at every border between sets (from the training side): neighbouring slices
are nearly identical, so a test slice next to a training slice would be an
easy, misleading test.

Everything is seeded: the same ids, ratios and seed give the same split on any
machine (seed=None draws from minicnn's global generator, which
``minicnn.set_random_seed`` makes reproducible too).
"""
from collections import namedtuple

import numpy as np

from .._validate import positive_int
from ..rng import make_rng

Fold = namedtuple("Fold", ["train", "validation", "test"])


def _check_ids(ids):
    try:
        ids = list(ids)
    except TypeError:
        raise TypeError(f"ids must be a sequence of subject ids, "
                        f"got {type(ids).__name__}") from None
    if not ids:
        raise ValueError("ids must not be empty")
    seen = set()
    for i in ids:
        try:
            if i in seen:
                raise ValueError(f"ids must be unique; {i!r} appears more than once")
        except TypeError:
            raise TypeError(f"ids must be hashable (str or int), got {i!r}") from None
        seen.add(i)
    return ids


def _check_ratios(ratios):
    try:
        ratios = [float(r) for r in ratios]
    except (TypeError, ValueError):
        raise TypeError(f"ratios must be a sequence of numbers, got {ratios!r}") from None
    if len(ratios) < 2 or any(not np.isfinite(r) or r < 0 for r in ratios):
        raise ValueError(f"ratios must be >= 2 non-negative numbers, got {ratios!r}")
    if abs(sum(ratios) - 1.0) > 1e-6:
        raise ValueError(f"ratios must sum to 1, got {ratios!r} (sum {sum(ratios):.6g})")
    return ratios


def _counts(n, ratios):
    """Set sizes that add up to n, as close to n * ratios as possible."""
    exact = np.array(ratios) * n
    counts = np.floor(exact).astype(int)
    # Largest remainders get the leftover items; ties go to the earlier set.
    order = sorted(range(len(ratios)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - counts.sum()]:
        counts[i] += 1
    wanted = [i for i, r in enumerate(ratios) if r > 0]
    if n < len(wanted):
        raise ValueError(f"{n} items cannot fill {len(wanted)} non-empty sets")
    for i in wanted:
        if counts[i] == 0:  # a tiny set rounded to nothing: take from the largest
            counts[int(np.argmax(counts))] -= 1
            counts[i] = 1
    return counts


def split_subjects(ids, ratios=(0.75, 0.15, 0.10), seed=None):
    """Shuffle subject ids with `seed` and cut them into len(ratios) sets.

    Returns a tuple of lists (train, validation, test for three ratios); each
    list keeps the ids in their input order. No id is in two sets.
    """
    ids = _check_ids(ids)
    ratios = _check_ratios(ratios)
    order = make_rng(seed).permutation(len(ids))
    bounds = np.cumsum(_counts(len(ids), ratios))[:-1]
    return tuple([ids[i] for i in np.sort(part)] for part in np.split(order, bounds))


def kfold(ids, k, seed=None, validation=0.15):
    """k folds of (train, validation, test) subject lists.

    The shuffled ids are cut into k test groups of nearly equal size (sizes
    differ by at most one); each subject is in exactly one test group. For
    fold i, the subjects outside test group i are split into train and
    validation with fraction `validation` (at least one validation subject
    when validation > 0). Returns a list of ``Fold(train, validation, test)``.
    """
    ids = _check_ids(ids)
    k = positive_int(k, "k", minimum=2)
    if k > len(ids):
        raise ValueError(f"k must be <= the number of subjects ({len(ids)}), got {k}")
    if not 0 <= validation < 1:
        raise ValueError(f"validation must be a fraction in [0, 1), got {validation!r}")
    rng = make_rng(seed)
    order = rng.permutation(len(ids))
    groups = np.array_split(order, k)
    folds = []
    for i, test in enumerate(groups):
        rest = np.concatenate([g for j, g in enumerate(groups) if j != i])
        rest = rng.permutation(rest)
        if validation > 0:
            n_val, _ = _counts(len(rest), [validation, 1 - validation])
        else:
            n_val = 0
        folds.append(Fold(*([ids[j] for j in np.sort(part)]
                            for part in (rest[n_val:], rest[:n_val], test))))
    return folds


def split_positions(positions, ratios=(0.75, 0.15, 0.10), gap=4, n_slabs=None,
                    seed=None):
    """Split slice positions of ONE volume into sets of contiguous slabs.

    positions : the slice indices to split (e.g. from ``extract_slices``).
    ratios    : fraction of slabs per set (train, validation, test, ...).
    gap       : at every border between sets, the `gap` positions next to
                the border are dropped from the earlier set (train loses
                them, not test), so positions of different sets are always
                more than `gap` slices apart.
    n_slabs   : the sorted positions are cut into this many slabs of nearly
                equal size (default: one per set), assigned to sets by a
                seeded shuffle. More slabs spread each set over the anatomy.
    Returns a tuple of sorted position arrays, one per ratio.

    Mind symmetry: the ICBM 2009 template is left-right symmetric, so for
    sagittal slices position p and its mirror are the same image; hold out
    axial or coronal slabs instead.
    """
    positions = np.unique(np.asarray(positions))
    if positions.size == 0 or positions.dtype.kind not in "iu":
        raise ValueError(f"positions must be a non-empty array of integers, "
                         f"got {positions!r}")
    positions = positions.astype(np.int64)  # differences below must not wrap
    ratios = _check_ratios(ratios)
    gap = positive_int(gap, "gap", minimum=0)
    n_slabs = len(ratios) if n_slabs is None else positive_int(n_slabs, "n_slabs")
    if n_slabs > positions.size:
        raise ValueError(f"n_slabs={n_slabs} exceeds the {positions.size} positions")
    set_of_slab = np.repeat(np.arange(len(ratios)), _counts(n_slabs, ratios))
    set_of_slab = make_rng(seed).permutation(set_of_slab)
    slab = np.repeat(np.arange(n_slabs),
                     [len(s) for s in np.array_split(positions, n_slabs)])
    owner = set_of_slab[slab]  # the set each position belongs to
    # The gap is cut from the earlier set at each border (train before
    # validation before test), so held-out slabs stay whole. The (n, n)
    # distance table is fine for the few hundred slices of a volume.
    later = owner[None, :] > owner[:, None]           # [i, j]: j's set comes after i's
    dist = np.abs(positions[:, None] - positions[None, :])
    keep = ~(later & (dist <= gap)).any(axis=1)
    parts = tuple(positions[keep & (owner == s)] for s in range(len(ratios)))
    for s, (part, r) in enumerate(zip(parts, ratios)):
        if r > 0 and part.size == 0:
            raise ValueError(f"set {s} is empty after removing gap={gap} slices around "
                             f"{n_slabs} slabs of ~{positions.size // n_slabs} slices; "
                             "use fewer slabs or a smaller gap")
    return parts
