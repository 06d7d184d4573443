"""The embedded ICBM 152 template: contents, stated class fractions, checksums,
and the builder reproducing the shipped files from the nilearn wheel."""
import hashlib
import gzip
import json
import os

import numpy as np
import pytest

from minicnn import datasets
from minicnn.data import class_fractions, load_nifti

DATA = datasets.DATA_DIR
WHEEL = os.environ.get("MINICNN_NILEARN_WHEEL",
                       "/tmp/nilearn_wheel/nilearn-0.14.1-py3-none-any.whl")

# The fractions stated in minicnn.datasets' docstring: (whole volume, brain slices).
STATED = {
    2: ([0.576, 0.030, 0.251, 0.143], [0.457, 0.037, 0.316, 0.190], 59),
    1: ([0.572, 0.036, 0.247, 0.144], [0.456, 0.044, 0.311, 0.189], 119),
}


@pytest.fixture(scope="module", params=[2, 1])
def icbm(request):
    return datasets.icbm152(request.param)


def brain_slices(labels):
    """Axial slices whose brain covers at least 20% of the slice."""
    axial = np.moveaxis(labels, 2, 0)
    return axial[(axial > 0).mean(axis=(1, 2)) >= 0.2]


def test_shapes_types_and_space(icbm):
    r = icbm.resolution
    shape = {2: (75, 93, 79), 1: (150, 186, 158)}[r]
    assert icbm.t1.shape == icbm.labels.shape == icbm.mask.shape == shape
    assert icbm.t1.dtype == np.float32 and icbm.labels.dtype == np.int32
    assert 0 <= icbm.t1.min() and icbm.t1.max() <= 1
    corner = {2: [-73.5, -108.5, -71.5], 1: [-74.0, -109.0, -72.0]}[r]
    np.testing.assert_array_equal(icbm.affine[:3, :3], r * np.eye(3))
    np.testing.assert_array_equal(icbm.affine[:3, 3], corner)
    assert icbm.class_names == ("background", "CSF", "grey matter", "white matter")
    np.testing.assert_array_equal(icbm.mask, icbm.labels > 0)
    assert (icbm.t1[icbm.mask] > 0).all()
    if r == 1:
        np.testing.assert_array_equal(icbm.mask, icbm.t1 > 0)   # the mask is T1 > 0
    assert icbm.tissue.shape == shape + (4,) and icbm.tissue.dtype == np.float32
    assert icbm.tissue.min() >= 0
    np.testing.assert_allclose(icbm.tissue.sum(-1), 1, rtol=1e-6)
    agree = (icbm.tissue.argmax(-1) == icbm.labels).mean()
    assert agree == 1.0 if r == 1 else agree > 0.999           # 1 mm: exact, unrounded
    assert repr(icbm).startswith(f"ICBM152(resolution={r} mm")


def test_stated_class_fractions(icbm):
    whole, slices, n_slices = STATED[icbm.resolution]
    assert set(np.unique(icbm.labels)) == {0, 1, 2, 3}
    np.testing.assert_allclose(class_fractions(icbm.labels, 4), whole, atol=6e-4)
    brain = brain_slices(icbm.labels)
    assert len(brain) == n_slices
    measured = class_fractions(brain, 4)
    np.testing.assert_allclose(measured, slices, atol=6e-4)
    # The "roughly 0.46, 0.04, 0.31, 0.19".
    np.testing.assert_allclose(measured, [0.46, 0.04, 0.31, 0.19], atol=0.01)


def test_two_mm_is_the_block_average_of_one_mm():
    fine, coarse = datasets.icbm152(1), datasets.icbm152(2)
    blocks = fine.t1.reshape(75, 2, 93, 2, 79, 2).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(coarse.t1, blocks, atol=0.5 / 255 + 1e-6)
    # Voxel (i, j, k) at 2 mm and its block's centre map to the same point.
    centre_fine = fine.affine @ [2 * 10 + 0.5, 2 * 20 + 0.5, 2 * 30 + 0.5, 1]
    np.testing.assert_allclose(coarse.affine @ [10, 20, 30, 1], centre_fine)


def test_one_mm_tissue_is_exact_and_block_averages_to_two_mm():
    """The stored 1 mm GM, WM counts rebuild all four classes as n / 255 (bg 1
    outside the brain, CSF the rest inside); their 2 x 2 x 2 block means,
    rounded half up, are the stored 2 mm counts, bit for bit."""
    fine = datasets.icbm152(1)
    stored, _, _ = load_nifti(os.path.join(DATA, "icbm152_1mm_tissue.nii.gz"), ndim=4)
    assert stored.shape == (150, 186, 158, 2) and stored.dtype == np.uint8
    counts = np.rint(fine.tissue * 255).astype(np.int64)       # (X, Y, Z, 4)
    np.testing.assert_allclose(fine.tissue, counts / 255, atol=1e-7)
    np.testing.assert_array_equal(counts[..., 2:], stored)
    np.testing.assert_array_equal(counts[..., 0], 255 * ~fine.mask)
    assert (counts.sum(-1) == 255).all()
    coarse, _, _ = load_nifti(os.path.join(DATA, "icbm152_2mm_tissue.nii.gz"), ndim=4)
    block_sums = counts.reshape(75, 2, 93, 2, 79, 2, 4).sum(axis=(1, 3, 5))
    np.testing.assert_array_equal((block_sums + 4) // 8, coarse)
    # and as probabilities: the 2 mm map is the 1 mm map's block mean, to rounding
    blocks = fine.tissue.reshape(75, 2, 93, 2, 79, 2, 4).mean(axis=(1, 3, 5))
    np.testing.assert_allclose(datasets.icbm152(2).tissue, blocks, atol=3 / 255)


def test_each_call_returns_fresh_arrays():
    a = datasets.icbm152(2)
    a.labels[:] = 0
    assert datasets.icbm152(2).labels.max() == 3


def test_shipped_files_match_checksums():
    with open(os.path.join(DATA, "checksums.json"), encoding="utf-8") as f:
        checksums = json.load(f)
    shipped = sorted(n for n in os.listdir(DATA) if n != "checksums.json")
    assert shipped == sorted(checksums["files"])
    for name, entry in checksums["files"].items():
        with open(os.path.join(DATA, name), "rb") as f:
            content = f.read()
        assert len(content) == entry["bytes"]
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], name
        if name.endswith(".gz"):
            payload = hashlib.sha256(gzip.decompress(content)).hexdigest()
            assert payload == entry["payload_sha256"], name
    total = sum(e["bytes"] for e in checksums["files"].values())
    assert total < 6_500_000            # the template's share of the package budget


def test_package_data_stays_under_20_mb():
    """Everything minicnn installs besides its Python sources (the template,
    and later a pretrained model) must stay under 20 MB in all."""
    package = os.path.dirname(os.path.dirname(DATA))
    total = 0
    for folder, dirs, files in os.walk(package):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        total += sum(os.path.getsize(os.path.join(folder, name))
                     for name in files if not name.endswith(".py"))
    assert total < 20_000_000, f"package data {total:,} bytes"


def test_notice_and_citations():
    notice = datasets.icbm152_notice()
    assert "Copyright (C) 1993-2004 Louis Collins, McConnell Brain" in notice
    assert "provided that the above copyright notice appear in all copies" in notice
    for citation in ("Fonov", "NeuroImage 54(1), 313-327 (2011)", "Collins", "ANIMAL+INSECT"):
        assert citation in notice


def test_bad_resolution():
    for bad in (3, 1.5, True, "2"):
        with pytest.raises(ValueError, match="resolution must be 1 or 2"):
            datasets.icbm152(bad)


@pytest.mark.skipif(not os.path.isfile(WHEEL),
                    reason=f"nilearn 0.14.1 wheel not found at {WHEEL} (set "
                           "MINICNN_NILEARN_WHEEL; get it with: pip download "
                           "nilearn==0.14.1 --no-deps -d /tmp/nilearn_wheel)")
def test_builder_reproduces_shipped_files(tmp_path):
    from minicnn.datasets import build_icbm152
    build_icbm152.build(WHEEL, str(tmp_path))
    for name in sorted(os.listdir(DATA)):
        with open(os.path.join(DATA, name), "rb") as a, open(tmp_path / name, "rb") as b:
            assert a.read() == b.read(), f"{name} differs from the rebuilt file"


def test_builder_refuses_other_sources(tmp_path):
    from minicnn.datasets import build_icbm152
    with pytest.raises(FileNotFoundError, match="neither the nilearn wheel nor a directory"):
        build_icbm152.build(str(tmp_path / "missing.whl"), str(tmp_path))
    with pytest.raises(FileNotFoundError, match="mni_icbm152_t1_tal_nlin_sym_09a_converted"):
        build_icbm152.build(str(tmp_path), str(tmp_path / "out"))
    for key, (name, _) in build_icbm152.SOURCES.items():
        (tmp_path / name).write_bytes(b"not the template")
    with pytest.raises(ValueError, match="sha256 mismatch"):
        build_icbm152.build(str(tmp_path), str(tmp_path / "out"))
