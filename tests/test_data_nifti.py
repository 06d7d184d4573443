"""NIfTI I/O: round trips, image/label pair checks, and every bad-file error."""
import gzip
import re

import nibabel as nib
import numpy as np
import pytest

from minicnn.data import NiftiError, load_nifti, load_pair, save_nifti

AFFINE = np.array([[2.0, 0, 0, -90], [0, 2.0, 0, -126], [0, 0, 2.0, -72], [0, 0, 0, 1]])


@pytest.fixture
def volumes():
    rng = np.random.default_rng(0)
    image = rng.normal(size=(7, 6, 5)).astype(np.float32)
    labels = rng.integers(0, 4, size=(7, 6, 5)).astype(np.uint8)
    return image, labels


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int16])
def test_round_trip(tmp_path, suffix, dtype):
    array = (np.arange(7 * 6 * 5).reshape(7, 6, 5) % 97).astype(dtype)
    path = save_nifti(tmp_path / f"v{suffix}", array, AFFINE)
    loaded, affine, header = load_nifti(path, ndim=3)
    assert loaded.dtype == dtype
    np.testing.assert_array_equal(loaded, array)
    np.testing.assert_array_equal(affine, AFFINE)
    assert header.get_zooms() == (2.0, 2.0, 2.0)


def test_int64_and_bool_are_stored_portably(tmp_path):
    labels = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    loaded, _, _ = load_nifti(save_nifti(tmp_path / "l.nii.gz", labels, AFFINE))
    assert loaded.dtype == np.int32
    np.testing.assert_array_equal(loaded, labels)
    mask, _, _ = load_nifti(save_nifti(tmp_path / "m.nii.gz", labels > 5, AFFINE))
    assert mask.dtype == np.uint8
    np.testing.assert_array_equal(mask, labels > 5)


def test_int64_out_of_int32_range_is_refused(tmp_path):
    with pytest.raises(NiftiError, match="outside int32"):
        save_nifti(tmp_path / "l.nii.gz", np.full((2, 2, 2), 2**40), AFFINE)


def test_header_of_input_is_kept_and_dtype_follows_array(tmp_path, volumes):
    image, _ = volumes
    img = nib.Nifti1Image((image * 100).astype(np.int16), AFFINE)
    img.set_qform(AFFINE, code="scanner")
    img.set_sform(AFFINE, code="mni")
    nib.save(img, tmp_path / "in.nii.gz")
    _, affine, header = load_nifti(tmp_path / "in.nii.gz")
    prediction = np.linspace(0, 1, image.size, dtype=np.float32).reshape(image.shape)
    save_nifti(tmp_path / "out.nii.gz", prediction, affine, header)
    loaded, affine_out, header_out = load_nifti(tmp_path / "out.nii.gz")
    # The float prediction must not be squeezed into the input's int16.
    np.testing.assert_array_equal(loaded, prediction)
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(affine_out, AFFINE)
    assert int(header_out["sform_code"]) == 4 and int(header_out["qform_code"]) == 1


def test_scaled_file_is_returned_as_floats(tmp_path):
    img = nib.Nifti1Image(np.arange(8, dtype=np.int16).reshape(2, 2, 2), AFFINE)
    img.header.set_slope_inter(0.5, 10)
    nib.save(img, tmp_path / "s.nii")
    loaded, _, _ = load_nifti(tmp_path / "s.nii")
    np.testing.assert_allclose(loaded, 0.5 * np.arange(8).reshape(2, 2, 2) + 10)


def test_load_pair_ok(tmp_path, volumes):
    image, labels = volumes
    save_nifti(tmp_path / "t1.nii.gz", image, AFFINE)
    # Whole-number float labels (common after some tools) are accepted as ints.
    save_nifti(tmp_path / "seg.nii.gz", labels.astype(np.float32), AFFINE + 1e-5)
    im, lab, affine, _ = load_pair(tmp_path / "t1.nii.gz", tmp_path / "seg.nii.gz")
    assert lab.dtype.kind == "i"
    np.testing.assert_array_equal(lab, labels)
    np.testing.assert_array_equal(im, image)
    np.testing.assert_array_equal(affine, AFFINE)


def test_load_pair_shape_mismatch_names_both_files(tmp_path, volumes):
    image, labels = volumes
    save_nifti(tmp_path / "t1.nii.gz", image, AFFINE)
    save_nifti(tmp_path / "seg.nii.gz", labels[:-1], AFFINE)
    with pytest.raises(NiftiError, match=r"t1\.nii\.gz.*\(7, 6, 5\).*seg\.nii\.gz.*\(6, 6, 5\)"):
        load_pair(tmp_path / "t1.nii.gz", tmp_path / "seg.nii.gz")


def test_load_pair_affine_mismatch(tmp_path, volumes):
    image, labels = volumes
    shifted = AFFINE.copy()
    shifted[0, 3] += 1.0
    save_nifti(tmp_path / "t1.nii.gz", image, AFFINE)
    save_nifti(tmp_path / "seg.nii.gz", labels, shifted)
    with pytest.raises(NiftiError, match="affines differing by up to 1"):
        load_pair(tmp_path / "t1.nii.gz", tmp_path / "seg.nii.gz")
    # Within a looser tolerance the same pair is accepted.
    load_pair(tmp_path / "t1.nii.gz", tmp_path / "seg.nii.gz", atol=1.5)


def test_load_pair_non_integer_labels(tmp_path, volumes):
    image, _ = volumes
    save_nifti(tmp_path / "t1.nii.gz", image, AFFINE)
    save_nifti(tmp_path / "seg.nii.gz", image, AFFINE)  # an image passed as labels
    with pytest.raises(NiftiError, match=r"seg\.nii\.gz must be whole numbers"):
        load_pair(tmp_path / "t1.nii.gz", tmp_path / "seg.nii.gz")


def test_load_pair_complex_labels(tmp_path, volumes):
    image, labels = volumes
    save_nifti(tmp_path / "t1.nii.gz", image, AFFINE)
    nib.save(nib.Nifti1Image(labels.astype(np.complex64), AFFINE), tmp_path / "c.nii.gz")
    with pytest.raises(NiftiError, match=r"c\.nii\.gz must be integers, got dtype complex64"):
        load_pair(tmp_path / "t1.nii.gz", tmp_path / "c.nii.gz")


def test_explicit_dtype_and_overwriting_a_loaded_file(tmp_path, volumes):
    image, _ = volumes
    path = save_nifti(tmp_path / "v.nii", image, AFFINE, dtype=np.float64)
    loaded, _, _ = load_nifti(path)
    assert loaded.dtype == np.float64
    save_nifti(path, np.zeros_like(image), AFFINE)      # the loaded array is a copy
    np.testing.assert_array_equal(loaded, image)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.nii.gz"):
        load_nifti(tmp_path / "nope.nii.gz")


def test_not_a_nifti_name(tmp_path):
    (tmp_path / "t1.png").write_bytes(b"\x89PNG")
    with pytest.raises(NiftiError, match=r"t1\.png.*not a NIfTI file name"):
        load_nifti(tmp_path / "t1.png")


def test_directory(tmp_path):
    (tmp_path / "d.nii").mkdir()
    with pytest.raises(NiftiError, match="is a directory"):
        load_nifti(tmp_path / "d.nii")


@pytest.mark.parametrize("name, content, reason", [
    ("text.nii", b"this is not an image\n" * 40, "no NIfTI magic"),
    ("text.nii.gz", gzip.compress(b"this is not an image\n" * 40), "no NIfTI magic"),
    ("short.nii", b"tiny", "only 4 bytes, shorter than a NIfTI header"),
    ("plain.nii.gz", b"not even gzip" * 40, "not gzip-compressed"),
    ("cut.nii.gz", gzip.compress(bytes(range(256)) * 40)[:300], "truncated or corrupt gzip"),
])
def test_not_nifti_content(tmp_path, name, content, reason):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(NiftiError, match=rf"{name}: not a readable NIfTI file: {reason}"):
        load_nifti(tmp_path / name)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("keep", [0.1, 0.7])
def test_truncated_file(tmp_path, suffix, keep):
    noise = np.random.default_rng(1).normal(size=(20, 20, 20)).astype(np.float32)
    path = save_nifti(tmp_path / f"t{suffix}", noise, AFFINE)
    with open(path, "rb") as f:
        content = f.read()
    with open(path, "wb") as f:
        f.write(content[: int(len(content) * keep)])
    with pytest.raises(NiftiError, match=rf"t{suffix}: .*truncated or corrupt"):
        load_nifti(path)


def test_4d_where_3d_expected(tmp_path):
    save_nifti(tmp_path / "fmri.nii.gz", np.zeros((4, 4, 4, 3), np.float32), AFFINE)
    with pytest.raises(NiftiError, match=r"fmri\.nii\.gz: expected a 3D image, got shape \(4, 4, 4, 3\)"):
        load_nifti(tmp_path / "fmri.nii.gz", ndim=3)
    with pytest.raises(NiftiError, match="expected a 3D image"):
        load_pair(tmp_path / "fmri.nii.gz", tmp_path / "fmri.nii.gz")
    volume, _, _ = load_nifti(tmp_path / "fmri.nii.gz")   # no ndim: returned as is
    assert volume.shape == (4, 4, 4, 3)


def test_trailing_singleton_axis_is_dropped(tmp_path):
    save_nifti(tmp_path / "v.nii.gz", np.ones((4, 3, 2, 1), np.float32), AFFINE)
    volume, _, _ = load_nifti(tmp_path / "v.nii.gz", ndim=3)
    assert volume.shape == (4, 3, 2)


def test_bad_path_type():
    with pytest.raises(TypeError, match="path must be a path"):
        load_nifti(42)


def test_save_errors(tmp_path):
    with pytest.raises(NiftiError, match="not a NIfTI file name"):
        save_nifti(tmp_path / "v.npy", np.zeros((2, 2, 2)), AFFINE)
    with pytest.raises(ValueError, match="affine must be a finite 4 x 4"):
        save_nifti(tmp_path / "v.nii", np.zeros((2, 2, 2)), np.eye(3))
    with pytest.raises(ValueError, match="affine must be a finite 4 x 4"):
        save_nifti(tmp_path / "v.nii", np.zeros((2, 2, 2)), np.full((4, 4), np.nan))
    with pytest.raises(TypeError, match="numeric NumPy array, got list"):
        save_nifti(tmp_path / "v.nii", [[1, 2]], AFFINE)
    with pytest.raises(ValueError, match="2 to 7 dimensions"):
        save_nifti(tmp_path / "v.nii", np.zeros(5), AFFINE)
    with pytest.raises(NiftiError, match="cannot write"):
        save_nifti(tmp_path / "missing_dir" / "v.nii", np.zeros((2, 2, 2)), AFFINE)


def test_a_failed_save_keeps_the_old_volume_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "labels.nii.gz"
    save_nifti(path, np.ones((2, 2, 2), np.uint8), AFFINE)

    def full_disk(img, filename):
        with open(filename, "wb") as f:
            f.write(b"\x1f\x8b half a volume")
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(nib, "save", full_disk)
    # The error names the file asked for, not the temporary one.
    with pytest.raises(NiftiError, match=rf"^{re.escape(str(path))}: cannot write .*No space"):
        save_nifti(path, np.zeros((2, 2, 2), np.uint8), AFFINE)
    monkeypatch.undo()
    np.testing.assert_array_equal(load_nifti(path)[0], np.ones((2, 2, 2)))
    assert [p.name for p in tmp_path.iterdir()] == ["labels.nii.gz"]
