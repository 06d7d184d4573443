"""``minicnn predict`` on what users bring: bad values, posterior maps, volume
tables, several subjects and folders.

The weights are an untrained small U-Net saved with its card (what these
tests check does not depend on a trained network, and building it takes
well under a second). Refusals stop before any prediction and are in the
fast set; the runs that segment volumes are in the slow set.
"""
import csv
import json
import os

import nibabel as nib
import numpy as np
import pytest

import minicnn
from minicnn import data, datasets, segmentation
from minicnn.cli import main

CLASSES = ("background", "CSF", "grey matter", "white matter")

pytestmark = pytest.mark.usefixtures("restore_global_state")




@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    folder = tmp_path_factory.mktemp("weights")
    minicnn.set_random_seed(0)
    card = segmentation.new_card("unet-small", CLASSES, 2, 2.0)
    model = segmentation.build(card, (8, 8, 1))
    path = folder / "model.npz"
    segmentation.save_model(model, card, path)
    return path


def _subject(k):
    """A block of synthetic subject k (2 mm): 40 x 48 x 12 voxels of its middle."""
    image, _ = data.SynthGenerator(seed=0).volume(k)
    centre = [n // 2 for n in image.shape]
    block = image[centre[0] - 20:centre[0] + 20, centre[1] - 24:centre[1] + 24,
                  centre[2] - 6:centre[2] + 6]
    return np.ascontiguousarray(block), datasets.icbm152(resolution=2).affine


def _save(path, image, affine):
    data.save_nifti(path, image, affine)
    return path


def _run(weights, *argv):
    return main(["predict", "--weights", str(weights), *map(str, argv)])


def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err), err
    return errors[0]


# ----------------------------------------------------------------- refusals
@pytest.mark.parametrize("kind, words", [
    ("nan", "1 of its 23,040 voxels are NaN or infinite"),
    ("inf", "3 of its 23,040 voxels are NaN or infinite"),
    ("empty", "every voxel is 0.0: the image is empty"),
    ("constant", "every voxel is 7.0: the image is constant"),
])
def test_bad_values_name_the_file_and_write_nothing(weights, tmp_path, capsys, kind, words):
    image, affine = _subject(2)
    image = image.astype(np.float32)
    if kind == "nan":
        image[3, 4, 5] = np.nan
    elif kind == "inf":
        image[0, 0, :3] = np.inf
    elif kind in ("empty", "constant"):
        image[:] = 0.0 if kind == "empty" else 7.0
    path = _save(tmp_path / f"{kind}.nii.gz", image, affine)
    out = tmp_path / "labels.nii.gz"
    assert _run(weights, "--input", path, "--output", out, "--posteriors",
                tmp_path / "p.nii.gz", "--volumes", tmp_path / "v.csv") == 1
    line = _error_line(capsys)
    assert str(path) in line and words in line, line
    assert sorted(os.listdir(tmp_path)) == [f"{kind}.nii.gz"]           # nothing written


@pytest.mark.parametrize("argv, words", [
    (["--volumes", "v.txt"], "--volumes must end in .csv or .json"),
    (["--posteriors", "p.png"], "--posteriors must end in .nii or .nii.gz"),
])
def test_output_names_are_checked_before_anything_runs(weights, tmp_path, capsys, argv,
                                                      words):
    image, affine = _subject(2)
    path = _save(tmp_path / "t1.nii.gz", image, affine)
    argv = [str(tmp_path / a) if a.endswith((".txt", ".png")) else a for a in argv]
    assert _run(weights, "--input", path, "--output", tmp_path / "l.nii.gz", *argv) == 1
    assert words in _error_line(capsys)
    assert not (tmp_path / "l.nii.gz").exists()


def test_several_inputs_need_output_folders(weights, tmp_path, capsys):
    image, affine = _subject(2)
    a, b = _save(tmp_path / "a.nii.gz", image, affine), _save(tmp_path / "b.nii.gz", image,
                                                                 affine)
    assert _run(weights, "--input", a, b, "--output", tmp_path / "l.nii.gz") == 1
    assert "--output must be a folder when --input names several" in _error_line(capsys)
    assert _run(weights, "--input", a, a, "--output", tmp_path / "out") == 1
    assert "names the same file twice" in _error_line(capsys)
    (tmp_path / "empty").mkdir()
    assert _run(weights, "--input", tmp_path / "empty", "--output", tmp_path / "out") == 1
    assert "holds no .nii or .nii.gz file" in _error_line(capsys)


# -------------------------------------------------------- outputs (slow)
@pytest.mark.slow
def test_posteriors_sum_to_one_and_their_argmax_is_the_label_map(weights, tmp_path):
    image, affine = _subject(2)
    path = _save(tmp_path / "t1.nii.gz", image, affine)
    assert _run(weights, "--input", path, "--output", tmp_path / "l.nii.gz",
                "--posteriors", tmp_path / "p.nii.gz") == 0
    posteriors = nib.load(tmp_path / "p.nii.gz")
    p = np.asarray(posteriors.dataobj)
    labels = np.asarray(nib.load(tmp_path / "l.nii.gz").dataobj)
    assert p.shape == image.shape + (4,) and p.dtype == np.float32
    np.testing.assert_allclose(p.sum(axis=-1), 1.0, atol=1e-5)
    assert np.array_equal(p.argmax(axis=-1), labels)
    np.testing.assert_allclose(posteriors.affine, affine)
    sidecar = json.loads((tmp_path / "p.json").read_text())
    assert sidecar["classes"] == list(CLASSES) and sidecar["axis"] == 3
    assert b"CSF, grey matter, white matter" in posteriors.header["descrip"].tobytes()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["csv", "json"])
def test_volumes_add_up_to_the_label_map(weights, tmp_path, kind):
    image, affine = _subject(2)
    path = _save(tmp_path / "t1.nii.gz", image, affine)
    table = tmp_path / f"volumes.{kind}"
    assert _run(weights, "--input", path, "--output", tmp_path / "l.nii.gz",
                "--volumes", table) == 0
    labels = np.asarray(nib.load(tmp_path / "l.nii.gz").dataobj)
    voxel_ml = abs(np.linalg.det(affine[:3, :3])) / 1000
    rows = (json.loads(table.read_text()) if kind == "json"
            else list(csv.DictReader(table.open())))
    assert len(rows) == 1 and rows[0]["file"] == str(path)
    row = {k: float(v) for k, v in rows[0].items() if k.endswith(" mL")}
    for c, name in enumerate(CLASSES):
        assert row[f"{name} mL"] == pytest.approx((labels == c).sum() * voxel_ml, abs=1e-3)
    assert row["brain mL"] == pytest.approx((labels > 0).sum() * voxel_ml, abs=1e-3)
    assert any(k.startswith("skull-stripped") for k in rows[0])


@pytest.mark.slow
def test_a_folder_of_subjects_with_one_broken_file(weights, tmp_path, capsys):
    folder = tmp_path / "subjects"
    folder.mkdir()
    for k, name in ((2, "sub-01"), (3, "sub-03")):
        image, affine = _subject(k)
        _save(folder / f"{name}.nii.gz", image, affine)
    (folder / "sub-02.nii.gz").write_text("not an image")
    (folder / "notes.txt").write_text("not a NIfTI: not an input")
    out, table = tmp_path / "labels", tmp_path / "volumes.csv"
    status = _run(weights, "--input", folder, "--output", out, "--posteriors",
                  tmp_path / "posteriors", "--volumes", table)
    captured = capsys.readouterr()
    assert status == 1
    assert sorted(os.listdir(out)) == ["sub-01_labels.nii.gz", "sub-03_labels.nii.gz"]
    assert sorted(os.listdir(tmp_path / "posteriors")) == [
        "sub-01_posteriors.json", "sub-01_posteriors.nii.gz",
        "sub-03_posteriors.json", "sub-03_posteriors.nii.gz"]
    progress = [line for line in captured.out.splitlines() if line.startswith("[")]
    assert [line.split(":")[0] for line in progress] == [
        f"[1/3] {folder / 'sub-01.nii.gz'}", f"[3/3] {folder / 'sub-03.nii.gz'}"]
    assert f"[2/3] {folder / 'sub-02.nii.gz'}: error: " in captured.err
    assert "not a readable NIfTI file" in captured.err and "skipped" in captured.err
    assert "1 of 3 subjects failed" in captured.err.strip().splitlines()[-1]
    rows = list(csv.DictReader(table.open()))
    assert [os.path.basename(r["file"]) for r in rows] == ["sub-01.nii.gz", "sub-03.nii.gz"]
    assert "2 of 3 subjects segmented" in captured.out
