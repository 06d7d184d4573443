"""The documented pipeline end to end: NIfTI in, slices, padding, batches,
predictions back into a volume, NIfTI out in the input's space."""
import numpy as np

from minicnn import data, datasets


def test_nifti_to_slices_and_back(tmp_path):
    icbm = datasets.icbm152(2)
    data.save_nifti(tmp_path / "t1.nii.gz", icbm.t1, icbm.affine)
    data.save_nifti(tmp_path / "seg.nii.gz", icbm.labels, icbm.affine)

    image, labels, affine, header = data.load_pair(tmp_path / "t1.nii.gz",
                                                   tmp_path / "seg.nii.gz")
    image = data.zscore_minmax(image, mask=labels > 0)
    x, y, positions = data.extract_slices(image, axis=2, labels=labels, context=1)
    assert x.shape == (len(positions), 75, 93, 3)
    x, margins = data.pad_to_multiple(x, 2 ** 3)
    y_padded, _ = data.pad_to_multiple(y, 2 ** 3)
    assert x.shape[1:3] == (80, 96)

    flip = data.left_right_axis(affine, 2)
    batches = data.BatchIterator(x, y_padded, batch_size=16, n_classes=4, seed=0,
                                 augment=data.Augmenter(flip_axis=flip))
    xb, yb = next(iter(batches))
    assert xb.shape == (16, 80, 96, 3) and yb.shape == (16, 80, 96, 4)

    # A perfect "network": the one-hot labels as probabilities.
    probabilities = data.one_hot(y_padded, 4)
    probabilities = data.undo_margins(probabilities, margins)           # (N, 75, 93, 4)
    volume = data.slices_to_volume(probabilities.argmax(-1), positions, 2, image.shape)
    np.testing.assert_array_equal(volume, icbm.labels)

    data.save_nifti(tmp_path / "pred.nii.gz", volume, affine, header)
    _, prediction, affine_out, _ = data.load_pair(tmp_path / "t1.nii.gz",
                                                  tmp_path / "pred.nii.gz")
    np.testing.assert_array_equal(affine_out, icbm.affine)
    np.testing.assert_array_equal(prediction, icbm.labels)
