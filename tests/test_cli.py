"""The ``minicnn`` command end to end, on a tiny configuration.

One short training run (``tiny_training`` in conftest.py: a small U-Net,
one epoch on a few slices of one synthetic subject, the numpy backend) is
shared by the tests of its outputs and by the ``predict`` round trips; they
are in the slow set, with the other whole trainings. Usage errors, summary
and gradcheck are in the fast set. Everything runs in-process through
``main(argv)``, except one subprocess test of ``python -m minicnn``.
"""
import json
import os
import subprocess
import sys

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest

from minicnn import data, datasets, segmentation
from minicnn.segmentation import card as model_card
from minicnn.cli import main
from cli_helpers import TINY, train_tiny

OUTPUTS = ("model.npz", "model.json", "metrics.json", "curves.png", "montage.png",
           "icbm152_pred.nii.gz")

pytestmark = pytest.mark.usefixtures("restore_global_state")




@pytest.fixture
def trained(tiny_training):
    """Folder of the shared tiny training run (and its exit status)."""
    return tiny_training


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "error:" in lines[0] and "Traceback" not in captured.err
    return lines[0]


# ------------------------------------------------------------------- train
@pytest.mark.slow
def test_train_writes_every_output(trained):
    out, status = trained
    assert status == 0
    for name in OUTPUTS:
        assert (out / name).is_file(), name
    for name in ("curves.png", "montage.png"):
        picture = matplotlib.image.imread(out / name)
        assert picture.ndim == 3 and min(picture.shape[:2]) > 200


@pytest.mark.slow
def test_train_metrics_json(trained):
    out, _ = trained
    content = json.loads((out / "metrics.json").read_text())
    assert content["seed"] == 0 and content["backend"] == "numpy"
    assert content["wall_time_s"] > 0
    assert content["recipe"]["model"] == "unet-small"
    assert content["recipe"]["train_subjects"] == [0]
    assert content["recipe"]["val_subjects"] == [1000]
    assert content["recipe"]["test_subjects"] == [2000]
    assert content["recipe"]["train_samples_per_epoch"] == 6
    assert content["recipe"]["views"] == ["axial"] and content["recipe"]["resolution_mm"] == 2
    history = content["history"]
    for key in ("loss", "accuracy", "dice_csf", "dice_gm", "dice_wm",
                "val_loss", "val_accuracy", "val_dice_csf", "val_dice_gm", "val_dice_wm"):
        assert len(history[key]) == 1 and np.isfinite(history[key][0]), key
    for scores in content["heldout"].values():
        assert set(scores["dice"]) == {"background", "CSF", "GM", "WM"}
        assert all(0 <= d <= 1 for d in scores["dice"].values())
        mean = np.mean([scores["dice"][c] for c in ("CSF", "GM", "WM")])
        assert scores["mean_dice"] == pytest.approx(mean)
        assert 0 < scores["accuracy"] <= 1
    assert content["heldout"]["synthetic_subjects"]["per_subject"][0]["subject"] == 2000


@pytest.mark.slow
def test_train_step_losses_add_up_to_the_epoch_loss(trained):
    """Per-batch losses recovered from fit's running means: their
    size-weighted mean is the epoch's loss (6 slices: batches of 4 and 2)."""
    content = json.loads((trained[0] / "metrics.json").read_text())
    steps = content["steps"]["loss"]
    assert len(steps) == 2
    assert (4 * steps[0] + 2 * steps[1]) / 6 == pytest.approx(content["history"]["loss"][0])
    assert steps[0] != pytest.approx(steps[1])


@pytest.mark.slow
def test_train_prediction_nifti_is_in_the_template_space(trained):
    image = nib.load(trained[0] / "icbm152_pred.nii.gz")
    template = datasets.icbm152(resolution=2)
    np.testing.assert_allclose(image.affine, template.affine)
    labels = np.asarray(image.dataobj)
    assert labels.shape == template.t1.shape and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1, 2, 3}


@pytest.mark.slow
def test_train_weights_reload_with_their_card(trained):
    out, _ = trained
    card = json.loads((out / "model.json").read_text())
    assert card["model"] == "unet-small" and card["n_classes"] == 4
    assert card["pad_multiple"] == 8 and card["axis"] == 2 and card["voxel_mm"] == 2.0
    assert card["version"] == 2 and card["views"] == ["axial"]
    assert card["crop_margin_mm"] == model_card.CROP_MARGIN_MM
    model, _ = model_card.load_model(out / "model.npz", (80, 96, 1))
    assert model.count_params() == model_card.build(card, (80, 96, 1)).count_params()


@pytest.mark.slow
def test_card_records_the_normalisation_and_predict_refuses_an_unknown_one(
        trained, tmp_path, capsys):
    card = json.loads((trained[0] / "model.json").read_text())
    assert card["normalisation"] == {"method": "scale-by-brain-percentile",
                                     "brain_threshold": 0.1,
                                     "brain_reference_percentile": 99.9,
                                     "percentile": 99.0, "clip": [0.0, 1.5]}
    card["normalisation"]["method"] = "zscore"
    (tmp_path / "odd.npz").write_bytes((trained[0] / "model.npz").read_bytes())
    model_card.write_json(tmp_path / "odd.json", card)
    image, _, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(tmp_path / "odd.npz", tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 1
    assert "unknown normalisation 'zscore'" in _one_error_line(capsys)


@pytest.mark.slow
def test_train_same_seed_same_run(trained, tmp_path):
    assert train_tiny(tmp_path) == 0
    first = json.loads((trained[0] / "metrics.json").read_text())
    again = json.loads((tmp_path / "metrics.json").read_text())
    assert first["history"] == again["history"]
    assert first["heldout"] == again["heldout"]
    with np.load(trained[0] / "model.npz") as a, np.load(tmp_path / "model.npz") as b:
        # Keys hold automatic layer names ('conv2d_7'), which differ between
        # two models made in one process; the arrays, in order, must not.
        keys_a = [k for k in a.files if k != "__minicnn__"]      # that one holds names
        keys_b = [k for k in b.files if k != "__minicnn__"]
        assert len(keys_a) == len(keys_b) > 0
        for key_a, key_b in zip(keys_a, keys_b):
            np.testing.assert_array_equal(a[key_a], b[key_b])


# ----------------------------------------------------------------- predict
def _subject(k=2):
    """16 axial slices through the middle of synthetic subject k (few, for speed)."""
    generator = data.SynthGenerator(seed=0)
    image, labels = generator.volume(k)
    return image[..., 30:46], labels[..., 30:46], datasets.icbm152(resolution=2).affine


def _predict(weights, image_path, out_path, *extra):
    return main(["predict", "--weights", str(weights), "--input", str(image_path),
                 "--output", str(out_path), "--backend", "numpy", *extra])


@pytest.mark.slow
def test_predict_round_trip_matches_the_direct_pipeline(trained, tmp_path, capsys):
    image, _, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(trained[0] / "model.npz", tmp_path / "t1.nii.gz",
                    tmp_path / "labels.nii.gz") == 0
    written = nib.load(tmp_path / "labels.nii.gz")
    np.testing.assert_allclose(written.affine, affine)
    labels = np.asarray(written.dataobj)
    assert labels.dtype == np.uint8 and labels.shape == image.shape

    model, card = model_card.load_model(trained[0] / "model.npz", (80, 96, 1))
    prob = segmentation.segment_views(model, data.scale_by_brain_percentile(image), ["axial"], 8,
                              margin=4)                      # 8 mm at 2 mm
    np.testing.assert_array_equal(labels, prob.argmax(axis=-1))

    printed = capsys.readouterr().out
    ml = 8 / 1000                                   # a 2 mm voxel is 8 mm^3
    for c, name in enumerate(card["class_names"]):
        assert f"{(labels == c).sum() * ml:.1f}" in printed.split(name)[1].split("\n")[0]
    assert "resampled" not in printed


@pytest.mark.slow
def test_predict_undoes_any_axis_order_and_flips(trained, tmp_path):
    """The same image stored as LPS with permuted axes gives the same labels."""
    image, _, affine = _subject()
    data.save_nifti(tmp_path / "ras.nii.gz", image, affine)
    # Stored array: axis order (Y, Z, X) with X and Y flipped (a valid NIfTI of
    # the same brain): stored[j, k, i] = image[X-1-i, Y-1-j, k].
    stored = np.transpose(image[::-1, ::-1, :], (1, 2, 0)).copy()
    x, y, _ = image.shape
    flip = np.diag([-1.0, -1.0, 1.0, 1.0])
    flip[0, 3], flip[1, 3] = x - 1, y - 1
    permute = np.zeros((4, 4))
    permute[0, 2] = permute[1, 0] = permute[2, 1] = permute[3, 3] = 1  # stored -> (i, j, k)
    data.save_nifti(tmp_path / "lps.nii.gz", stored, affine @ flip @ permute)
    weights = trained[0] / "model.npz"
    assert _predict(weights, tmp_path / "ras.nii.gz", tmp_path / "ras_labels.nii.gz") == 0
    assert _predict(weights, tmp_path / "lps.nii.gz", tmp_path / "lps_labels.nii.gz") == 0
    ras = np.asarray(nib.load(tmp_path / "ras_labels.nii.gz").dataobj)
    lps = nib.load(tmp_path / "lps_labels.nii.gz")
    np.testing.assert_allclose(lps.affine, affine @ flip @ permute)
    expected = np.transpose(ras[::-1, ::-1, :], (1, 2, 0))
    np.testing.assert_array_equal(np.asarray(lps.dataobj), expected)


@pytest.mark.slow
def test_predict_resamples_other_voxel_sizes(trained, tmp_path, capsys):
    """A 1 mm copy (each 2 mm voxel repeated 2 x 2 x 2) is resampled to 2 mm,
    which gives back the 2 mm image exactly, and the labels come back at 1 mm."""
    image, _, affine = _subject()
    fine = image.repeat(2, 0).repeat(2, 1).repeat(2, 2)
    fine_affine = affine.copy()
    fine_affine[:3, :3] /= 2
    fine_affine[:3, 3] -= 0.5 * np.diag(fine_affine)[:3]   # the same field of view
    data.save_nifti(tmp_path / "t1_2mm.nii.gz", image, affine)
    data.save_nifti(tmp_path / "t1_1mm.nii.gz", fine, fine_affine)
    weights = trained[0] / "model.npz"
    assert _predict(weights, tmp_path / "t1_2mm.nii.gz", tmp_path / "l2.nii.gz") == 0
    capsys.readouterr()
    assert _predict(weights, tmp_path / "t1_1mm.nii.gz", tmp_path / "l1.nii.gz") == 0
    assert "resampled 1 x 1 x 1 mm voxels to 2 mm" in capsys.readouterr().out
    coarse = np.asarray(nib.load(tmp_path / "l2.nii.gz").dataobj)
    labels = np.asarray(nib.load(tmp_path / "l1.nii.gz").dataobj)
    assert labels.shape == fine.shape
    np.testing.assert_allclose(nib.load(tmp_path / "l1.nii.gz").affine, fine_affine)
    # Interpolated probabilities move boundaries by at most a voxel or so:
    # most voxels agree with the 2 mm labels repeated.
    agree = np.mean(labels == coarse.repeat(2, 0).repeat(2, 1).repeat(2, 2))
    assert agree > 0.85


@pytest.mark.slow
def test_predict_writes_plain_uint8_labels_whatever_the_input_storage(trained, tmp_path):
    """An int16 input stored with a scale factor: the labels must not inherit
    the scaling (they would read back as 0, 2.5, 5 ...)."""
    image, _, affine = _subject()
    scaled = nib.Nifti1Image((image * 1000).astype(np.float32), affine)
    scaled.set_data_dtype(np.int16)
    scaled.header.set_slope_inter(2.5, 10.0)
    nib.save(scaled, tmp_path / "t1_int16.nii.gz")
    assert _predict(trained[0] / "model.npz", tmp_path / "t1_int16.nii.gz",
                    tmp_path / "labels.nii.gz") == 0
    written = nib.load(tmp_path / "labels.nii.gz")
    assert written.get_data_dtype() == np.uint8
    labels = np.asarray(written.dataobj)
    assert labels.dtype == np.uint8 and set(np.unique(labels)) <= {0, 1, 2, 3}
    assert len(np.unique(labels)) > 1


# ------------------------------------------------------------ bad input
@pytest.mark.parametrize("argv, status, words", [
    (["train", "--model", "resnet"], 2, "invalid choice: 'resnet'"),
    (["train", "--epochs", "0"], 2, "expected an integer >= 1, got 0"),
    (["train", "--batch-size", "many"], 2, "expected an integer, got 'many'"),
    (["train", "--learning-rate", "-1"], 2, "expected a number > 0"),
    (["fly"], 2, "invalid choice: 'fly'"),
    (["predict", "--input", "a.nii.gz"], 2, "the following arguments are required"),
    (["summary", "--input-shape", "80,96"], 2, "expected three integers"),
])
def test_bad_usage_is_one_line(argv, status, words, capsys):
    assert main(argv) == status
    assert words in _one_error_line(capsys)


def test_train_out_must_be_a_folder(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["train", *TINY, "--out", str(tmp_path / "file")]) == 1
    assert "exists and is not a folder" in _one_error_line(capsys)


@pytest.mark.slow
def test_predict_refuses_missing_or_wrong_files(trained, tmp_path, capsys):
    weights = trained[0] / "model.npz"
    image, _, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    data.save_nifti(tmp_path / "4d.nii.gz", np.stack([image, image], -1), affine)
    (tmp_path / "text.nii.gz").write_text("not an image")
    out = tmp_path / "labels.nii.gz"
    cases = [
        (weights, tmp_path / "missing.nii.gz", out, "no such file or folder"),
        (weights, tmp_path / "text.nii.gz", out, "not a readable NIfTI file"),
        (weights, tmp_path / "4d.nii.gz", out, "expected a 3D image"),
        (tmp_path / "missing.npz", tmp_path / "t1.nii.gz", out, "no weights file"),
        (tmp_path / "t1.nii.gz", tmp_path / "t1.nii.gz", out, "must be a minicnn .npz"),
        (weights, tmp_path / "t1.nii.gz", tmp_path / "labels.png", "must end in .nii"),
        (weights, tmp_path / "t1.nii.gz", tmp_path / "no" / "l.nii.gz", "no folder"),
        (weights, tmp_path / "t1.nii.gz", tmp_path / "t1.nii.gz", "is the input image"),
    ]
    for w, image_path, out_path, words in cases:
        assert _predict(w, image_path, out_path) == 1, words
        assert words in _one_error_line(capsys)
    assert not out.exists()


@pytest.mark.slow
def test_predict_refuses_weights_that_do_not_fit(trained, tmp_path, capsys):
    """Weights of the plain CNN beside the small U-Net's card; a card alone."""
    card = json.loads((trained[0] / "model.json").read_text())
    other = model_card.build({"builder": "simple_cnn", "arguments": {}, "n_classes": 4},
                         (80, 96, 1))
    model_card.save_model(other, card, tmp_path / "wrong.npz")
    image, _, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(tmp_path / "wrong.npz", tmp_path / "t1.nii.gz",
                    tmp_path / "l.nii.gz") == 1
    assert "different architecture" in _one_error_line(capsys)

    (tmp_path / "lonely.npz").write_bytes((trained[0] / "model.npz").read_bytes())
    assert _predict(tmp_path / "lonely.npz", tmp_path / "t1.nii.gz",
                    tmp_path / "l.nii.gz") == 1
    assert "no model card" in _one_error_line(capsys)

    (tmp_path / "broken.npz").write_bytes(b"")
    (tmp_path / "broken.json").write_text("{")
    assert _predict(tmp_path / "broken.npz", tmp_path / "t1.nii.gz",
                    tmp_path / "l.nii.gz") == 1
    assert "not readable JSON" in _one_error_line(capsys)


def test_python_dash_m_reports_one_line_in_a_subprocess(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "minicnn", "predict", "--weights", str(tmp_path / "w.npz"),
         "--input", str(tmp_path / "t1.nii.gz"), "--output", str(tmp_path / "l.nii.gz")],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "MINICNN_DEBUG": "0"})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"minicnn predict: error: no weights file {str(tmp_path / 'w.npz')!r}"]


# ------------------------------------------------------- summary, gradcheck
def test_summary_prints_the_course_unet_count(capsys):
    assert main(["summary", "--model", "unet", "--classes", "2",
                 "--input-shape", "104,104,1"]) == 0
    printed = capsys.readouterr().out
    assert "Total params: 1,946,342" in printed      # the course's Keras number
    assert "Non-trainable params: 2" in printed


def test_summary_default_is_what_train_builds(capsys):
    assert main(["summary", "--model", "unet-small"]) == 0
    printed = capsys.readouterr().out
    assert "(None, 80, 96, 4)" in printed and "Total params: 96,624" in printed


def test_gradcheck_command_checks_the_classes_named(capsys):
    """The table itself runs once, in test_gradcheck.py; here the command's
    filter and its usage error."""
    assert main(["gradcheck", "maxpooling2d", "Add"]) == 0
    printed = capsys.readouterr().out
    assert "3 passed, 0 failed (3 cases" in printed
    assert "MaxPooling2D 2x2" in printed and "Conv2D" not in printed
    assert main(["gradcheck", "conv3d"]) == 2
    assert "no row checks 'conv3d'; the names are" in _one_error_line(capsys)


# ---------------------------------------------------------- helpers
@pytest.mark.slow
def test_train_at_1_mm_on_three_views_writes_a_card_predict_can_use(tmp_path):
    """1 mm, every view, crops: the card says so, the held-out volumes are
    scored at 1 mm, and predict segments the 1 mm template along all three
    views without resampling."""
    out = tmp_path / "out"
    compiled = [arg if arg != "numpy" else "numba" for arg in TINY]   # 36 s, not 86 s
    assert main(["train", *compiled, "--resolution", "1", "--views", "all", "--slices", "2",
                 "--out", str(out)]) == 0
    card = json.loads((out / "model.json").read_text())
    assert card["voxel_mm"] == 1.0 and card["views"] == ["axial", "coronal", "sagittal"]
    recipe_record = json.loads((out / "metrics.json").read_text())["recipe"]
    assert recipe_record["crop"] == 112 and recipe_record["synth"] == "train"
    assert recipe_record["train_samples_per_epoch"] == 6       # 1 subject x 3 views x 2
    predicted = nib.load(out / "icbm152_pred.nii.gz")
    assert predicted.shape == datasets.icbm152(1).t1.shape


def test_train_refuses_unknown_views(tmp_path, capsys):
    assert main(["train", *TINY, "--views", "axial,top", "--out", str(tmp_path)]) == 2
    assert "--views" in capsys.readouterr().err


def test_train_refuses_subjects_that_reach_the_held_out_ids(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["train", *TINY, "--subjects", "600", "--epochs", "2", "--out", str(out)]) == 1
    assert "would reach the validation subjects" in _one_error_line(capsys)
    assert main(["train", *TINY, "--val-subjects", "1001", "--out", str(out)]) == 1
    assert "would reach the held-out subjects" in _one_error_line(capsys)
    assert not out.exists()                  # refused before anything was written
