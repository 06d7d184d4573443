"""Level 4: the U-Net trained with a learner's function beside the library's run.

Conv2D's are in the slow set: the library's conv2d_forward and
conv2d_backward, written out as learners' files, pass; a zoo Conv2D
backward (dx with the kernel's taps unflipped) checked with level 4 alone
fails it, and the count printed proves that its function ran in every step.
The other exercises' level-4 runs are on demand: python -m pytest -m level4.
All of them share one library run per network (level4._LIBRARY_RUNS).
"""
import shutil

import pytest

from minicnn import exercises
from minicnn.exercises import catalogue, zoo

CONV2D = ("conv2d_forward", "conv2d_backward")


def _level4(path):
    lines = []
    report = exercises.check(path, level=4, say=lines.append)
    return report, "\n".join(lines)


@pytest.mark.slow
@pytest.mark.parametrize("name", CONV2D)
def test_the_library_conv2d_passes_level_4(name, tmp_path):
    report, text = _level4(exercises.start(name, tmp_path, solution=True))
    assert report.passed, text
    assert f"{name} 15 times per step" in text
    assert (tmp_path / f"{name}-level4.png").is_file()


@pytest.mark.slow
def test_a_zoo_conv2d_backward_fails_level_4_alone(tmp_path):
    entry = zoo.entries("conv2d_backward__kernel_not_flipped")[0]
    path = tmp_path / "conv2d_backward.py"
    shutil.copy(entry.path, path)
    report, text = _level4(path)
    assert [level.number for level in report.levels] == [4], text
    assert report.failed and report.failed.key == "training", text
    assert "conv2d_backward 15 times per step" in text


@pytest.mark.level4
@pytest.mark.parametrize("name", [n for n in catalogue.names() if n not in CONV2D])
def test_every_other_library_kernel_passes_level_4(name, tmp_path):
    report, text = _level4(exercises.start(name, tmp_path, solution=True))
    print(text)
    assert report.passed, text
