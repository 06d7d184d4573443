"""Subject splits, k-fold and slab splits: disjoint, complete, reproducible."""
import numpy as np
import pytest

from minicnn import set_random_seed
from minicnn.data import kfold, split_positions, split_subjects

IDS = [f"sub-{i:03d}" for i in range(40)]


def test_split_subjects_partition_and_sizes():
    train, val, test = split_subjects(IDS, seed=3)
    assert (len(train), len(val), len(test)) == (30, 6, 4)
    assert not set(train) & set(val) and not set(train) & set(test) and not set(val) & set(test)
    assert sorted(train + val + test) == sorted(IDS)
    assert train == [i for i in IDS if i in set(train)]       # input order kept


def test_split_subjects_reproducible_and_seed_dependent():
    assert split_subjects(IDS, seed=3) == split_subjects(IDS, seed=3)
    assert split_subjects(IDS, seed=3) != split_subjects(IDS, seed=4)
    set_random_seed(11)
    first = split_subjects(IDS)
    set_random_seed(11)
    assert split_subjects(IDS) == first                       # the global seed works too


@pytest.mark.parametrize("n, ratios, sizes", [
    (10, (0.75, 0.15, 0.10), (8, 1, 1)),   # 7.5, 1.5, 1.0 -> largest remainder to train
    (4, (0.75, 0.15, 0.10), (2, 1, 1)),    # every set with ratio > 0 gets one subject
    (7, (0.5, 0.5), (4, 3)),               # tie goes to the first set
    (5, (0.8, 0.2, 0.0), (4, 1, 0)),
])
def test_set_sizes(n, ratios, sizes):
    parts = split_subjects(list(range(n)), ratios, seed=0)
    assert tuple(len(p) for p in parts) == sizes


@pytest.mark.parametrize("n, k", [(10, 5), (13, 4), (3, 3), (40, 10)])
def test_kfold_each_subject_tested_once(n, k):
    ids = list(range(100, 100 + n))
    folds = kfold(ids, k, seed=1)
    assert len(folds) == k
    tested = [s for fold in folds for s in fold.test]
    assert sorted(tested) == ids                             # each exactly once
    sizes = [len(f.test) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val, test in folds:
        assert sorted(train + val + test) == ids
        assert not set(train) & set(val) and not set(test) & (set(train) | set(val))
        if n - len(test) >= 2:
            assert len(val) >= 1
    assert kfold(ids, k, seed=1) == folds
    assert kfold(ids, k, seed=2) != folds or n == k


def test_kfold_without_validation():
    for train, val, test in kfold(list(range(9)), 3, seed=0, validation=0):
        assert val == [] and len(train) == 6


def test_split_positions_gap():
    positions = np.arange(5, 70)
    for n_slabs in (3, 6, 9):
        train, val, test = split_positions(positions, gap=4, n_slabs=n_slabs, seed=2)
        sets = [train, val, test]
        assert all(len(s) for s in sets)
        for i in range(3):
            for j in range(3):
                if i != j:
                    distance = np.abs(sets[i][:, None] - sets[j][None, :]).min()
                    assert distance > 4                      # no neighbours across sets
        kept = np.concatenate(sets)
        assert len(np.unique(kept)) == len(kept) and np.isin(kept, positions).all()
    assert all(np.array_equal(a, b) for a, b in
               zip(split_positions(positions, seed=2), split_positions(positions, seed=2)))


def test_split_positions_cuts_the_gap_from_train():
    positions = np.arange(90, dtype=np.uint16)     # unsigned: differences must not wrap
    train, val, test = split_positions(positions, gap=3, seed=0)
    # Three slabs of 30; the held-out slabs stay whole, train loses 3 per border.
    assert len(val) + len(test) in (60, 57)        # 57 when val borders test
    assert len(test) == 30
    assert len(train) in (27, 24)
    assert train.dtype.kind == "i"


def test_split_positions_too_thin_slabs():
    with pytest.raises(ValueError, match="is empty after removing gap=8 slices around 9 slabs"):
        split_positions(np.arange(60), gap=8, n_slabs=9, seed=0)


def test_split_positions_proportions_with_many_slabs():
    train, val, test = split_positions(np.arange(200), (0.75, 0.15, 0.10), gap=2,
                                       n_slabs=20, seed=0)
    assert len(train) > len(val) > len(test) > 0


def test_errors():
    with pytest.raises(ValueError, match="'a' appears more than once"):
        split_subjects(["a", "b", "a"])
    with pytest.raises(ValueError, match="ids must not be empty"):
        split_subjects([])
    with pytest.raises(TypeError, match="ids must be hashable"):
        split_subjects([[1], [2]])
    with pytest.raises(TypeError, match="ids must be a sequence"):
        split_subjects(5)
    with pytest.raises(ValueError, match=r"ratios must sum to 1, got \[0.5, 0.4\]"):
        split_subjects(IDS, (0.5, 0.4))
    with pytest.raises(TypeError, match="ratios must be a sequence of numbers"):
        split_subjects(IDS, ("a", "b"))
    with pytest.raises(ValueError, match="non-negative"):
        split_subjects(IDS, (1.2, -0.2))
    with pytest.raises(ValueError, match="2 items cannot fill 3 non-empty sets"):
        split_subjects(["a", "b"])
    with pytest.raises(ValueError, match="k must be <= the number of subjects \\(3\\), got 4"):
        kfold([1, 2, 3], 4)
    with pytest.raises(ValueError, match="k must be an integer >= 2, got 1"):
        kfold([1, 2, 3], 1)
    with pytest.raises(ValueError, match="validation must be a fraction"):
        kfold([1, 2, 3], 2, validation=1.0)
    with pytest.raises(ValueError, match="seed must be None or a non-negative integer"):
        split_subjects(IDS, seed=-1)
    with pytest.raises(ValueError, match="positions must be a non-empty array of integers"):
        split_positions([0.5, 1.5])
    with pytest.raises(ValueError, match="n_slabs=50 exceeds the 10 positions"):
        split_positions(np.arange(10), n_slabs=50)
    with pytest.raises(ValueError, match="gap must be an integer >= 0"):
        split_positions(np.arange(10), gap=-1)
