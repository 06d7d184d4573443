"""Rebuild minicnn's embedded ICBM 152 files from the nilearn wheel, bit for bit.

    pip download nilearn==0.14.1 --no-deps -d /tmp/nilearn_wheel
    python -m minicnn.datasets.build_icbm152 /tmp/nilearn_wheel/nilearn-0.14.1-py3-none-any.whl

SOURCE is the wheel, or a directory holding the three files below (directly
or under nilearn/datasets/data/). The output directory defaults to the
package's own data/ folder; ``--out DIR`` writes elsewhere (the test suite
does that and compares checksums).

Input: the ICBM 2009a nonlinear symmetric template as nilearn ships it,
197 x 233 x 189 voxels of 1 mm, uint8: a skull-stripped T1 and grey- and
white-matter probability maps scaled to 0..255. Its sha256 sums are checked
first, so a different release cannot silently change the data.

Derivation, in integers so that it is exact and reproducible (p = 255 is
probability 1):

    mask = T1 > 0                                   (the brain)
    p_bg  = 255 outside the mask, 0 inside
    p_csf = clip(255 - p_gm - p_wm, 0, 255) inside the mask, 0 outside
    p_gm, p_wm set to 0 outside the mask
    labels = argmax(p_bg, p_csf, p_gm, p_wm) = 0, 1, 2, 3  (ties: lowest class)

Crop: the mask's bounding box grown by 2 voxels per side (within the
template's field of view; the brain stem touches its lower edge), then by
one more voxel where needed to make every side even, so that 2 x 2 x 2
blocks tile it: 150 x 186 x 158 voxels at 1 mm.

2 mm: every 2 x 2 x 2 block becomes one voxel. Probabilities and T1 are block
means rounded half up, (sum + 4) // 8; labels are the argmax of the block
sums (so a 2 mm voxel gets its majority tissue by probability mass):
75 x 93 x 79 voxels. The affine follows: a 2 mm voxel's centre is the
mean of its block's centres, hence the half-voxel shift.

Shipped: T1 and labels at 1 mm and 2 mm, and the probability maps:

    2 mm   icbm152_2mm_tissue.nii.gz   (X, Y, Z, 4)  bg, CSF, GM, WM (rounded means)
    1 mm   icbm152_1mm_tissue.nii.gz   (X, Y, Z, 2)  GM, WM only

At 1 mm no rounding is involved and the four classes sum to exactly 255 in
every voxel (the source's GM + WM never exceeds 255, so the clip never
acts; ``derive`` checks it), hence GM and WM determine the other two
exactly, given the mask (labels > 0, equally T1 > 0):

    p_csf = 255 - p_gm - p_wm inside the mask, 0 outside
    p_bg  = 255 outside the mask, 0 inside

Stored this way the 1 mm map takes 3.3 MB instead of 4.4 MB for all four
channels (4.4 MB for CSF, GM, WM: CSF is as costly as GM, background
almost free). ``minicnn.datasets.icbm152(1)`` rebuilds the four classes.
At 2 mm the rounded block means no longer sum to 255 exactly, so all four
are stored.

Each volume is written as NIfTI-1 bytes by nibabel and gzip-compressed with
a zero timestamp and no file name in the gzip header, so the bytes depend
only on the data (and on zlib's compressor). checksums.json records the
sha256 of each .nii.gz file and of its uncompressed NIfTI payload.
"""
import argparse
import gzip
import hashlib
import json
import os
import zipfile

import nibabel as nib
import numpy as np

# Atomic, so that an interrupted build never leaves a truncated file.
from ..files import write_bytes

SOURCES = {
    "t1": ("mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz",
           "421a10e872fd6cadae7f61d358dffbcc1795a497d61ee76c5dda2503e1a1e9e6"),
    "gm": ("mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
           "97a5ca69bd24db37a9cb7b32525e1733a209af904129bf1cd36da06d24243bed"),
    "wm": ("mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz",
           "382d92812de4744f9c86c7a0e4f680dc317a0a50e4da1f0153618a6798c7b7db"),
}
WHEEL_DIR = "nilearn/datasets/data/"
MARGIN = 2
DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

NOTICE = """\
ICBM 2009a Nonlinear Symmetric template (MNI152NLin2009aSym), as embedded in minicnn
=====================================================================================

The files icbm152_*.nii.gz in this folder are derived from the ICBM 2009a
nonlinear symmetric template (T1 image and grey/white matter probability maps,
1 mm, as distributed in the nilearn 0.14.1 wheel) by
minicnn/datasets/build_icbm152.py: brain mask T1 > 0, CSF = clip(1 - GM - WM,
0, 1) inside the mask, labels = argmax(background, CSF, GM, WM), cropped to the
brain's bounding box plus 2 mm, and block-averaged to 2 mm.

It is ONE template averaged over 152 brains (nonlinear registration), not
data from individual subjects.

Copyright and permission notice (from the template's LICENSE)
-------------------------------------------------------------
Copyright (C) 1993-2004 Louis Collins, McConnell Brain
Imaging Centre, Montreal Neurological Institute, McGill University.
Permission to use, copy, modify, and distribute this software and
its documentation for any purpose and without fee is hereby granted,
provided that the above copyright notice appear in all copies.  The
authors and McGill University make no representations about the
suitability of this software for any purpose.  It is provided "as
is" without express or implied warranty.  The authors are not
responsible for any data loss, equipment damage, property loss, or
injury to subjects or patients resulting from the use or misuse of
this software package.

Citations
---------
VS Fonov, AC Evans, RC McKinstry, CR Almli, DL Collins. Unbiased nonlinear
average age-appropriate brain templates from birth to adulthood.
NeuroImage 47, Supplement 1, S102 (2009), Organization for Human Brain
Mapping 2009 Annual Meeting. doi:10.1016/S1053-8119(09)70884-5

VS Fonov, AC Evans, K Botteron, CR Almli, RC McKinstry, DL Collins and BDCG.
Unbiased average age-appropriate atlases for pediatric studies.
NeuroImage 54(1), 313-327 (2011). doi:10.1016/j.neuroimage.2010.07.033

DL Collins, AP Zijdenbos, WFC Baare, AC Evans. ANIMAL+INSECT: Improved
cortical structure segmentation. Information Processing in Medical Imaging
(IPMI 1999), LNCS 1613, 210-223. doi:10.1007/3-540-48714-X_16

Source: http://nist.mni.mcgill.ca/?p=904 (RRID:SCR_008796)
"""


def _read_sources(source):
    """{'t1': bytes, 'gm': bytes, 'wm': bytes} from a wheel or a directory."""
    raw = {}
    if os.path.isfile(source) and zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as wheel:
            for key, (name, _) in SOURCES.items():
                raw[key] = wheel.read(WHEEL_DIR + name)
    elif os.path.isdir(source):
        for key, (name, _) in SOURCES.items():
            for candidate in (os.path.join(source, name), os.path.join(source, WHEEL_DIR, name)):
                if os.path.isfile(candidate):
                    with open(candidate, "rb") as f:
                        raw[key] = f.read()
                    break
            else:
                raise FileNotFoundError(f"{name} not found in {source} "
                                        f"(nor under {WHEEL_DIR})")
    else:
        raise FileNotFoundError(f"source {source!r} is neither the nilearn wheel nor a directory")
    for key, (name, digest) in SOURCES.items():
        if hashlib.sha256(raw[key]).hexdigest() != digest:
            raise ValueError(f"{name} in {source} is not the expected file (sha256 "
                             "mismatch): use the nilearn 0.14.1 wheel")
    return raw


def _volume(gz_bytes):
    img = nib.Nifti1Image.from_bytes(gzip.decompress(gz_bytes))
    return np.asanyarray(img.dataobj).astype(np.int32), img.affine


def _crop_box(mask):
    """Bounding box of `mask` + MARGIN, inside the volume, with even sides."""
    where = np.argwhere(mask)
    lo = np.maximum(where.min(axis=0) - MARGIN, 0)
    hi = np.minimum(where.max(axis=0) + 1 + MARGIN, mask.shape)
    for a in range(3):
        if (hi[a] - lo[a]) % 2:
            if hi[a] < mask.shape[a]:
                hi[a] += 1
            else:
                lo[a] -= 1
    return lo, hi


def _block_sum(volume):
    """(X, Y, Z, ...) -> (X/2, Y/2, Z/2, ...): sums over 2 x 2 x 2 blocks."""
    x, y, z = volume.shape[:3]
    rest = volume.shape[3:]
    return volume.reshape(x // 2, 2, y // 2, 2, z // 2, 2, *rest).sum(axis=(1, 3, 5))


def derive(raw):
    """The derived arrays and affines: {resolution_mm: {name: array}, ...}."""
    t1, affine = _volume(raw["t1"])
    gm, _ = _volume(raw["gm"])
    wm, _ = _volume(raw["wm"])
    mask = t1 > 0
    p = np.stack([255 * ~mask,
                  np.clip(255 - gm - wm, 0, 255) * mask,
                  gm * mask,
                  wm * mask], axis=-1)                          # (X, Y, Z, 4), 0..255
    lo, hi = _crop_box(mask)
    box = tuple(slice(a, b) for a, b in zip(lo, hi))
    t1, p = t1[box], p[box]
    affine_1mm = affine.copy()
    affine_1mm[:3, 3] = affine[:3, :3] @ lo + affine[:3, 3]
    # 2 mm voxel (i, j, k) covers 1 mm voxels 2i..2i+1: its centre is 1 mm
    # voxel 2i + 0.5, hence scale 2 and offset 0.5.
    halve = np.diag([2.0, 2.0, 2.0, 1.0])
    halve[:3, 3] = 0.5
    p_sum = _block_sum(p)                                      # (X/2, Y/2, Z/2, 4), 0..2040
    if not (p.sum(axis=-1) == 255).all():
        raise ValueError("the 1 mm probabilities do not sum to 255 in every voxel, so "
                         "GM and WM alone would not determine CSF and background")
    return {
        1: {"t1": t1.astype(np.uint8), "labels": p.argmax(-1).astype(np.uint8),
            "tissue": p[..., 2:].astype(np.uint8), "affine": affine_1mm},
        2: {"t1": ((_block_sum(t1) + 4) // 8).astype(np.uint8),
            "labels": p_sum.argmax(-1).astype(np.uint8),
            "tissue": ((p_sum + 4) // 8).astype(np.uint8),
            "affine": affine_1mm @ halve},
    }


def nifti_gz_bytes(array, affine):
    """Deterministic .nii.gz bytes: fixed header fields, gzip mtime 0, no name."""
    img = nib.Nifti1Image(array, affine)
    img.header.set_xyzt_units("mm")
    img.set_sform(affine, code="mni")
    img.set_qform(affine, code="mni")
    img.header["descrip"] = b"ICBM 2009a sym template, minicnn build_icbm152"
    payload = img.to_bytes()
    return gzip.compress(payload, compresslevel=9, mtime=0), payload


def build(source, out=DATA_DIR):
    """Write the derived files and checksums.json into `out`; return the checksums."""
    raw = _read_sources(source)
    os.makedirs(out, exist_ok=True)
    files = {}
    for mm, volumes in derive(raw).items():
        for name in ("t1", "labels", "tissue"):
            data, payload = nifti_gz_bytes(volumes[name], volumes["affine"])
            filename = f"icbm152_{mm}mm_{name}.nii.gz"
            write_bytes(os.path.join(out, filename), data)
            files[filename] = {"sha256": hashlib.sha256(data).hexdigest(),
                               "payload_sha256": hashlib.sha256(payload).hexdigest(),
                               "bytes": len(data)}
    notice = NOTICE.encode("utf-8")
    write_bytes(os.path.join(out, "ICBM152_LICENSE.txt"), notice)
    files["ICBM152_LICENSE.txt"] = {"sha256": hashlib.sha256(notice).hexdigest(),
                                    "bytes": len(notice)}
    checksums = {"source": {name: digest for name, digest in SOURCES.values()},
                 "files": files}
    text = json.dumps(checksums, indent=1, sort_keys=True) + "\n"
    write_bytes(os.path.join(out, "checksums.json"), text.encode("utf-8"))
    return checksums


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", help="nilearn-0.14.1 wheel, or a directory with the files")
    parser.add_argument("--out", default=DATA_DIR, help="output directory (default: package data)")
    args = parser.parse_args(argv)
    checksums = build(args.source, args.out)
    for name, entry in sorted(checksums["files"].items()):
        print(f"{entry['bytes']:>9}  {entry['sha256'][:16]}  {name}")


if __name__ == "__main__":
    main()
