"""Write synthetic 1 mm T1 subjects as NIfTI files, to try `minicnn predict`
on a folder (README, "Segment your own scan").

    python docs/example_subjects.py FOLDER [--count 5] [--first 2000]

Subjects k = first .. first + count - 1 of ``SynthGenerator(template,
seed=0)`` with the 'train' preset, as ``minicnn train --resolution 1``
makes them: ids from 2000 on are the held-out ones, never trained on or
validated with. Each is the ICBM152 template's brain, deformed, with its
own intensities, bias field, blur and noise, skull-stripped, in the
template's 1 mm grid (150 x 186 x 158 voxels), written as
``sub-<k>_T1w.nii.gz``; its true labels as ``sub-<k>_labels.nii.gz`` in a
``truth`` folder beside them, so that the folder itself holds T1s only.
"""
import argparse
import os

import numpy as np

from minicnn import data, datasets
from minicnn.data import synth


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--count", type=int, default=5)
    parser.add_argument("--first", type=int, default=2000)
    args = parser.parse_args(argv)
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    truth = os.path.join(args.folder, "truth")
    os.makedirs(truth, exist_ok=True)
    template = datasets.icbm152(resolution=1)
    generator = data.SynthGenerator(template, seed=0, **synth.preset("train"))
    for k in range(args.first, args.first + args.count):
        image, labels = generator.volume(k, axis=2)
        data.save_nifti(os.path.join(args.folder, f"sub-{k}_T1w.nii.gz"),
                        image.astype(np.float32), template.affine)
        data.save_nifti(os.path.join(truth, f"sub-{k}_labels.nii.gz"),
                        labels.astype(np.uint8), template.affine)
        print(f"sub-{k}: {' x '.join(map(str, image.shape))} voxels of 1 mm")


if __name__ == "__main__":
    main()
