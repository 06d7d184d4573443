"""``minicnn predict``: views, voxel sizes, the input warnings, the overlay
figure and the pretrained model shipped in the package.

The tiny training run test_cli.py's tests share (``tiny_training``: a small
U-Net trained on axial slices at 2 mm) gives the weights, so the tests that
use them are in the slow set; cards that say other things (three
views, 1 mm, version 1) are that card edited, since the network is fully
convolutional and runs on any slice. Everything runs in-process through
``main(argv)`` with the numpy backend.
"""
import json
import os

import matplotlib.image
import nibabel as nib
import numpy as np
import pytest

from minicnn import data, datasets, metrics, pretrained, segmentation
from minicnn.segmentation import card as model_card
from minicnn.cli import main
from test_data_quality import inverted, with_skull

ALL = ["axial", "coronal", "sagittal"]

pytestmark = pytest.mark.usefixtures("restore_global_state")




@pytest.fixture
def weights(tiny_training):
    """model.npz of the shared tiny training run (axial, 2 mm), its card beside it."""
    out, status = tiny_training
    assert status == 0
    return out / "model.npz"


def _with_card(weights, folder, name, **changes):
    """A copy of `weights` under `name` whose card has `changes` (None deletes)."""
    with open(model_card.card_path(weights), encoding="utf-8") as f:
        card = json.load(f)
    for key, value in changes.items():
        if value is None:
            card.pop(key)
        else:
            card[key] = value
    path = folder / f"{name}.npz"
    path.write_bytes(weights.read_bytes())
    model_card.write_json(model_card.card_path(path), card)
    return path


def _predict(weights, image_path, out_path, *extra):
    argv = ["predict", "--input", str(image_path), "--output", str(out_path),
            "--backend", "numpy", *extra]
    if weights is not None:
        argv[1:1] = ["--weights", str(weights)]
    return main(argv)


def _labels(path):
    return np.asarray(nib.load(path).dataobj)


def _subject(k=2):
    """A block of 48 x 56 x 16 voxels of synthetic subject k (2 mm), its middle
    (small, for speed: the network is fully convolutional)."""
    image, _ = data.SynthGenerator(seed=0).volume(k)
    affine = datasets.icbm152(resolution=2).affine.copy()
    affine[:3, 3] += affine[:3, :3] @ [14, 18, 30]            # the block's first voxel
    return image[14:62, 18:74, 30:46], affine


def _one_error_line(capsys):
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "error:" in lines[0] and "Traceback" not in captured.err
    return lines[0]


def _pipeline(weights, image, affine, views):
    """The documented library pipeline, step by step (docs/train.md)."""
    card = model_card.load_card(weights)
    ras, ras_affine, back = data.to_ras(image.astype(np.float32), affine)
    sizes = data.voxel_sizes(ras_affine)
    volume, work_sizes = ras, sizes
    if np.any(np.abs(sizes / card["voxel_mm"] - 1) > 0.1):
        shape, ratios = data.grid_for_voxel_size(ras.shape, sizes, card["voxel_mm"])
        volume, work_sizes = data.resample(ras, ratios, shape), sizes * np.array(ratios)
    model, _ = model_card.load_model(weights, (8, 8, 1))
    margin = model_card.crop_margin_voxels(card, float(min(work_sizes)))
    prob = segmentation.segment_views(model, model_card.normalise(volume, card), views, 8, margin)
    if volume.shape != ras.shape:
        prob = data.resample(prob, [m / n for m, n in zip(volume.shape, ras.shape)],
                             ras.shape)
    return data.from_ras(prob.argmax(-1).astype(np.uint8), back)


# ------------------------------------------------------------------- views
@pytest.mark.slow
def test_all_views_of_the_card_are_averaged(weights, tmp_path, capsys):
    three = _with_card(weights, tmp_path, "three", views=ALL)
    image, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(three, tmp_path / "t1.nii.gz", tmp_path / "all.nii.gz") == 0
    printed = capsys.readouterr().out
    assert "on axial, coronal, sagittal slices" in printed
    assert "along axial, coronal, sagittal" in printed
    np.testing.assert_array_equal(_labels(tmp_path / "all.nii.gz"),
                                  _pipeline(three, image, affine, ALL))
    assert _predict(three, tmp_path / "t1.nii.gz", tmp_path / "two.nii.gz",
                    "--views", "sagittal,axial") == 0
    assert "along sagittal, axial" in capsys.readouterr().out
    np.testing.assert_array_equal(_labels(tmp_path / "two.nii.gz"),
                                  _pipeline(three, image, affine, ["axial", "sagittal"]))


@pytest.mark.slow
def test_views_the_model_has_not_seen_are_refused(weights, tmp_path, capsys):
    image, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz",
                    "--views", "axial,coronal") == 1
    line = _one_error_line(capsys)
    assert "the model was not trained on coronal slices; its card lists axial" in line
    assert not (tmp_path / "l.nii.gz").exists()
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz",
                    "--views", "transverse") == 2
    assert "expected 'all' or view names among sagittal, coronal, axial" in \
        _one_error_line(capsys)


@pytest.mark.slow
def test_a_version_1_card_keeps_working(weights, tmp_path, capsys):
    """Written before views: read as trained on the view of its axis."""
    old = _with_card(weights, tmp_path, "old", version=1, views=None, crop_margin_mm=None)
    image, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(old, tmp_path / "t1.nii.gz", tmp_path / "old.nii.gz") == 0
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "new.nii.gz") == 0
    assert "on axial slices" in capsys.readouterr().out
    np.testing.assert_array_equal(_labels(tmp_path / "old.nii.gz"),
                                  _labels(tmp_path / "new.nii.gz"))
    assert model_card.load_card(old)["views"] == ["axial"]
    assert _predict(old, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz", "--views",
                    "sagittal") == 1
    assert "its card lists axial" in _one_error_line(capsys)


@pytest.mark.slow
def test_a_card_with_bad_views_or_margin_is_refused(weights, tmp_path, capsys):
    image, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    for name, change, words in [("odd", {"views": ["oblique"]}, "views must be distinct"),
                                ("neg", {"crop_margin_mm": -1}, "crop_margin_mm must be")]:
        path = _with_card(weights, tmp_path, name, **change)
        assert _predict(path, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 1
        assert words in _one_error_line(capsys)


# -------------------------------------------------------------- voxel size
def _at(image, affine, factors):
    """`image` with voxels `factors` times smaller along each axis (repeated,
    or averaged for a factor < 1), and its affine: the same field of view."""
    out, out_affine = image, affine.copy()
    for a, f in enumerate(factors):
        if f >= 1:
            out = out.repeat(int(f), axis=a)
        else:
            n = round(1 / f)
            keep = out.shape[a] // n * n
            out = np.take(out, np.arange(keep), axis=a)
            out = out.reshape(out.shape[:a] + (keep // n, n) + out.shape[a + 1:]).mean(a + 1)
    scale = np.array([1 / f for f in factors])
    out_affine[:3, :3] = affine[:3, :3] * scale
    out_affine[:3, 3] = affine[:3, 3] + affine[:3, :3] @ ((scale - 1) / 2)
    return out.astype(np.float32), out_affine


@pytest.mark.parametrize("card_mm, factors, message", [
    (2.0, (1, 1, 1), None),                                        # 2 mm, as trained
    (1.0, (2, 2, 2), None),                                        # 1 mm, as trained
    (2.0, (2, 2, 2), "resampled 1 x 1 x 1 mm voxels to 2 mm"),
    (1.0, (1, 1, 1), "resampled 2 x 2 x 2 mm voxels to 1 mm"),
    (2.0, (1, 1, 1 / 3), "resampled 2 x 2 x 6 mm voxels to 2 mm"),  # anisotropic
], ids=["2mm-card-2mm", "1mm-card-1mm", "2mm-card-1mm", "1mm-card-2mm", "2mm-card-2x2x6"])
@pytest.mark.slow
def test_voxel_sizes(weights, tmp_path, capsys, card_mm, factors, message):
    """The input is resampled to the card's voxel size only when its voxels
    differ, saying so; the labels come back on the input's grid, as the
    library pipeline gives them."""
    model = _with_card(weights, tmp_path, "model", voxel_mm=card_mm)
    image, affine = _at(*_subject(), factors)
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(model, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 0
    printed = capsys.readouterr().out
    if message is None:
        assert "resampled" not in printed
    else:
        assert message in printed
    written = nib.load(tmp_path / "l.nii.gz")
    np.testing.assert_allclose(written.affine, affine)
    np.testing.assert_array_equal(np.asarray(written.dataobj),
                                  _pipeline(model, image, affine, ["axial"]))


@pytest.mark.slow
def test_anisotropic_voxels_give_the_labels_of_the_isotropic_image(weights, tmp_path):
    """2 x 2 x 6 mm (three slices averaged) resampled to 2 mm: the labels
    mostly agree with those of the 2 mm image, at the thick slices' centres."""
    image, affine = _subject()
    image = image[..., :15]                                  # five thick slices
    thick, thick_affine = _at(image, affine, (1, 1, 1 / 3))
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    data.save_nifti(tmp_path / "thick.nii.gz", thick, thick_affine)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 0
    assert _predict(weights, tmp_path / "thick.nii.gz", tmp_path / "lt.nii.gz") == 0
    fine, coarse = _labels(tmp_path / "l.nii.gz"), _labels(tmp_path / "lt.nii.gz")
    assert coarse.shape == (48, 56, 5)
    assert np.mean(coarse == fine[..., 1::3]) > 0.8


@pytest.mark.slow
def test_no_resample_keeps_the_voxels_and_says_so(weights, tmp_path, capsys):
    image, affine = _at(*_subject(), (2, 2, 2))
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz",
                    "--no-resample") == 0
    printed = capsys.readouterr().out
    assert "keeping the input's 1 x 1 x 1 mm voxels (--no-resample)" in printed
    assert "resampled" not in printed


# ---------------------------------------------------------------- warnings
@pytest.mark.parametrize("kind", ["template", "skull", "inverted"])
@pytest.mark.slow
def test_warnings_and_the_segmentation_is_still_written(weights, tmp_path, capsys, kind):
    icbm = datasets.icbm152(resolution=2)
    image = {"template": lambda: icbm.t1, "skull": lambda: with_skull(icbm.t1, 2.0),
             "inverted": lambda: inverted(icbm.t1, icbm.mask)}[kind]()
    data.save_nifti(tmp_path / "t1.nii.gz", image, icbm.affine)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 0
    assert _labels(tmp_path / "l.nii.gz").shape == image.shape
    warnings = [line for line in capsys.readouterr().err.splitlines()
                if line.startswith("WARNING: ")]
    expected = {"template": [], "skull": ["does not look skull-stripped"],
                "inverted": ["looks inverted (T2-like), not like a T1"]}[kind]
    assert len(warnings) == len(expected), warnings
    for line, words in zip(warnings, expected):
        assert words in line and "Check the segmentation by eye" in line


# ------------------------------------------------------------------ figure
@pytest.mark.slow
def test_the_overlay_figure(weights, tmp_path, capsys):
    image, affine = _at(*_subject(), (1, 1, 1))
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz",
                    "--figure", tmp_path / "overlay.png") == 0
    assert "overlay.png" in capsys.readouterr().out
    picture = matplotlib.image.imread(tmp_path / "overlay.png")
    assert picture.ndim == 3 and picture.shape[1] > 2 * picture.shape[0] > 400
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "m.nii.gz",
                    "--figure", tmp_path / "overlay.nii") == 1
    assert "--figure must end in one of .eps" in _one_error_line(capsys)
    assert _predict(weights, tmp_path / "t1.nii.gz", tmp_path / "m.nii.gz",
                    "--figure", tmp_path / "no" / "overlay.png") == 1
    assert "--figure: no folder" in _one_error_line(capsys)
    assert not (tmp_path / "m.nii.gz").exists()          # refused before any work


# -------------------------------------------------------- the shipped model
def test_without_a_shipped_model_predict_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(pretrained, "DIRECTORY", str(tmp_path))
    assert main(["predict", "--input", str(tmp_path / "t1.nii.gz"),
                 "--output", str(tmp_path / "l.nii.gz")]) == 1
    line = _one_error_line(capsys)
    assert "no pretrained model ships with this minicnn" in line and "--weights" in line


@pytest.mark.slow
def test_without_weights_predict_uses_the_shipped_model_and_says_which(
        weights, tmp_path, monkeypatch, capsys):
    shipped = tmp_path / "package"
    shipped.mkdir()
    path = pretrained.export(weights, shipped)
    monkeypatch.setattr(pretrained, "DIRECTORY", str(shipped))
    image, affine = _subject()
    data.save_nifti(tmp_path / "t1.nii.gz", image, affine)
    assert _predict(None, tmp_path / "t1.nii.gz", tmp_path / "l.nii.gz") == 0
    printed = capsys.readouterr().out
    assert f"model: the pretrained model shipped with minicnn, {path}" in printed
    assert "float16 weights; derived from the ICBM152 template, see" in printed
    assert str(shipped / "NOTICE.txt") in printed
    assert _predict(path, tmp_path / "t1.nii.gz", tmp_path / "same.nii.gz") == 0
    np.testing.assert_array_equal(_labels(tmp_path / "l.nii.gz"),
                                  _labels(tmp_path / "same.nii.gz"))


@pytest.mark.slow
def test_export_writes_float16_weights_the_card_and_the_notice(weights, tmp_path):
    path = pretrained.export(weights, tmp_path)
    with np.load(path) as stored, np.load(weights) as original:
        assert stored.files == original.files
        for key in original.files:
            if original[key].dtype.kind == "f":
                assert stored[key].dtype == np.float16
                np.testing.assert_allclose(stored[key], original[key], rtol=2 ** -11,
                                           atol=2 ** -25)
    card = json.loads((tmp_path / "model.json").read_text())
    assert card["version"] == 2 and card["views"] == ["axial"]
    assert card["weights_dtype"] == "float16" and card["notice"] == "NOTICE.txt"
    notice = (tmp_path / "NOTICE.txt").read_text()
    assert "they are derived from the" in notice
    assert datasets.icbm152_notice() in notice
    assert path.endswith("model.npz") and len(list(tmp_path.iterdir())) == 3


@pytest.mark.slow
def test_float16_predictions_match_float32_to_the_stated_dice(weights, tmp_path):
    """On the 2 mm template, the label maps of the float16 and float32 weights
    agree to a Dice >= FLOAT16_MIN_DICE per class."""
    half = pretrained.export(weights, tmp_path)
    icbm = datasets.icbm152(resolution=2)
    card = model_card.load_card(weights)
    volume = model_card.normalise(icbm.t1, card)
    labels = []
    for path in (weights, half):
        model, _ = model_card.load_model(path, (8, 8, 1))
        assert all(w.dtype == np.float32 for w in model.get_weights())
        prob = segmentation.segment_views(model, volume, ["axial"], 8, margin=4)
        labels.append(prob.argmax(-1))
    dice = metrics.Dice(n_classes=4)
    dice.update_state(labels[0][None], labels[1][None])
    present = [c for c in range(4) if (labels[0] == c).sum() > 100]
    per_class = dice.result_per_class()
    assert all(per_class[c] >= pretrained.FLOAT16_MIN_DICE for c in present), per_class


@pytest.mark.slow
def test_export_refuses_weights_float16_cannot_hold(weights, tmp_path):
    with np.load(weights) as stored:
        arrays = {key: stored[key] for key in stored.files}
    key = next(k for k, a in arrays.items() if a.dtype.kind == "f")
    arrays[key] = arrays[key] * 0 + 1e5
    big = _with_card(weights, tmp_path, "big")
    np.savez(big, **arrays)
    with pytest.raises(ValueError, match="beyond float16's 65504"):
        pretrained.export(big, tmp_path / "nowhere")


def test_the_shipped_model_loads():
    """The weights shipped in this checkout: float16, a version 2 card, the notice."""
    path = pretrained.weights_path()
    card = model_card.load_card(path)
    assert card["version"] == 2 and card["weights_dtype"] == "float16"
    with np.load(path) as stored:
        assert {stored[k].dtype for k in stored.files if stored[k].dtype.kind == "f"} == \
            {np.dtype(np.float16)}
    model, _ = model_card.load_model(path, (card["pad_multiple"],) * 2 + (1,))
    assert model.count_params() > 0
    with open(os.path.join(pretrained.DIRECTORY, card["notice"]), encoding="utf-8") as f:
        assert datasets.icbm152_notice() in f.read()
