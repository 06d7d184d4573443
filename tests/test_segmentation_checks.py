"""minicnn.segmentation.checks: the whole-head refusal and the brain volume.
The whole-head check itself is tested in test_data_heads.py and
test_data_quality.py, the command line in test_cli_predict_outputs.py."""
import numpy as np
import pytest

from minicnn import data, datasets, segmentation
from minicnn.segmentation import checks


def _mm10(n):
    """A label map of 30 x 10 x 10 voxels of 10 mm (1 mL each), n of them brain."""
    labels = np.zeros(3000, np.uint8)
    labels[:n] = 2
    return labels.reshape(30, 10, 10), np.diag([10.0, 10.0, 10.0, 1.0])


def test_the_template_has_an_adults_brain_volume():
    """The ICBM152 template's CSF, grey and white matter (MNI space, larger
    than a native brain): 1868 mL at 2 mm."""
    icbm = datasets.icbm152(resolution=2)
    found = segmentation.check_brain_volume(icbm.labels, icbm.affine, 4)
    assert found.check == "brain volume" and found.ok, found
    assert found.value == pytest.approx(1867.8, abs=0.1) and found.limit == 2100
    assert found.message == "1868 mL labelled brain (an adult's, with its CSF: 800-2100 mL)"


@pytest.mark.parametrize("n, ok, limit", [(799, False, 800), (801, True, 800),
                                          (2099, True, 2100), (2101, False, 2100)])
def test_the_range_is_800_to_2100_ml(n, ok, limit):
    found = segmentation.check_brain_volume(*_mm10(n), 4)
    assert found.value == pytest.approx(n) and found.ok == ok and found.limit == limit
    assert ("not one whole adult brain" in found.message) == (not ok)


def test_the_voxel_volume_comes_from_the_affine():
    """|det A| of a rotated, flipped, anisotropic affine: 1 x 2 x 3 mm = 6 uL."""
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[:4, :5, :6] = 1                                          # 120 voxels
    rotation = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([1.0, 2.0, 3.0])
    assert segmentation.check_brain_volume(labels, affine, 2).value == pytest.approx(0.72)


def test_brain_volume_errors_name_the_argument():
    with pytest.raises(ValueError, match="affine must be a 4 x 4 matrix"):
        segmentation.check_brain_volume(np.zeros((4, 4, 4), np.uint8), np.eye(3), 4)
    with pytest.raises(ValueError, match="labels"):
        segmentation.check_brain_volume(np.full((4, 4, 4), 5, np.uint8), np.eye(4), 4)


def _skull_finding(value):
    return data.Finding("skull-stripped", value, 0.2, value <= 0.2, f"{value:.0%} of the rays")


def test_a_whole_head_is_refused_naming_the_file_the_figure_and_what_to_do():
    with pytest.raises(checks.WholeHeadError) as refused:
        checks.refuse_whole_head([_skull_finding(0.45)], "sub-01.nii.gz")
    text = str(refused.value)
    assert text.startswith("sub-01.nii.gz: 45% of the rays; ") and "\n" not in text
    assert checks.SKULL_STRIPPING_TOOLS in text and "--allow-whole-head" in text
    assert isinstance(refused.value, ValueError)       # a folder run skips the subject


def test_a_skull_stripped_brain_and_other_findings_pass():
    contrast = data.Finding("T1 contrast", 0.7, 1.0, False, "inverted")
    checks.refuse_whole_head([_skull_finding(0.2), contrast])     # a warning, not a refusal
