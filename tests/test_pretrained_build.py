"""The script that trains the shipped model (minicnn.pretrained.build): its
record agrees with the files that ship, and a rebuild is judged by held-out
Dice within the stated tolerance, whatever its checksum."""
import json
import os

import pytest

from minicnn import datasets, pretrained
from minicnn.segmentation import card as model_card
from minicnn.pretrained import build

CLASSES = ("background", "CSF", "GM", "WM")


def _record():
    with open(os.path.join(pretrained.DIRECTORY, build.RECORD), encoding="utf-8") as f:
        return json.load(f)


def test_the_record_names_the_shipped_weights_and_this_scripts_command():
    record = _record()
    shipped = os.path.join(pretrained.DIRECTORY, pretrained.WEIGHTS)
    assert record["sha256_shipped_weights"] == build.sha256(shipped)
    assert record["command"] == ["minicnn"] + build.COMMAND
    assert record["dice_tolerance"] == build.DICE_TOLERANCE
    assert set(record["heldout_dice"]) == {"synthetic_subjects", "icbm152_template"}
    for scores in record["heldout_dice"].values():
        assert set(scores) == set(CLASSES) and all(0 <= d <= 1 for d in scores.values())


def test_the_shipped_card_is_the_commands_recipe():
    """--resolution 1 --views all: the card says 1 mm and all three views."""
    card = model_card.load_card(pretrained.weights_path())
    assert card["voxel_mm"] == 1.0
    assert card["views"] == ["axial", "coronal", "sagittal"]


def _fake_training(dice_shift):
    """A stand-in for build.train: writes a tiny model as 'minicnn train' would
    and returns metrics whose every Dice is the record's plus `dice_shift`."""
    record = _record()

    def train(out):
        os.makedirs(out, exist_ok=True)
        card = model_card.new_card("unet-small", datasets.icbm152(resolution=2).class_names,
                               2, 1.0, views=["axial", "coronal", "sagittal"])
        model_card.save_model(model_card.build(card, (8, 8, 1)), card, os.path.join(out, "model.npz"))
        heldout = {name: {"dice": {c: d + dice_shift for c, d in scores.items()}}
                   for name, scores in record["heldout_dice"].items()}
        return {"heldout": heldout, "recipe": {"test_subjects": record["heldout_subjects"]}}
    return train


def test_build_exports_float16_weights_and_records_their_checksum(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "train", _fake_training(0.0))
    folder = tmp_path / "package"
    folder.mkdir()
    record = build.build(str(tmp_path / "run"), str(folder))
    written = json.loads((folder / build.RECORD).read_text(encoding="utf-8"))
    assert written == record
    assert record["sha256_shipped_weights"] == build.sha256(folder / pretrained.WEIGHTS)
    assert record["sha256_float32_weights"] == build.sha256(tmp_path / "run" / "model.npz")
    assert model_card.load_card(str(folder / pretrained.WEIGHTS))["weights_dtype"] == "float16"
    assert (folder / pretrained.NOTICE).is_file()


@pytest.mark.parametrize("shift, status, verdict", [
    (0.009, 0, "within the tolerance"),
    (-0.011, 1, "OUTSIDE the tolerance"),
])
def test_verify_judges_a_rebuild_by_dice_not_by_checksum(tmp_path, monkeypatch, capsys,
                                                         shift, status, verdict):
    monkeypatch.setattr(build, "train", _fake_training(shift))
    assert build.verify(str(tmp_path / "run")) == status
    printed = capsys.readouterr().out
    assert "not bit-identical" in printed
    assert f"largest gap {abs(shift):.4f}: {verdict}" in printed


def test_verify_refuses_a_record_made_by_another_command(tmp_path, monkeypatch, capsys):
    record = dict(_record(), command=["minicnn", "train", "--epochs", "1"])
    model_card.write_json(str(tmp_path / build.RECORD), record)
    monkeypatch.setattr(build, "train", lambda out: pytest.fail("must not train"))
    assert build.verify(str(tmp_path / "run"), str(tmp_path)) == 1
    assert "is not this script's" in capsys.readouterr().out
