"""What a segmentation leaves behind: label maps, posterior maps, volume tables.

For each subject ``minicnn predict`` writes (each file atomically, through
``minicnn.files``):

- the label map: (X, Y, Z) uint8, 0 .. K-1, in the input's grid, with its
  affine and header;
- with ``--posteriors``, the class probabilities: (X, Y, Z, K) float32 in
  the same grid, the views' average (what FSL FAST and ANTs Atropos write
  as posterior or partial-volume maps); the class names go into the
  header's description (80 characters at most, as NIfTI allows) and, in
  full, into a sidecar JSON of the same name (``posterior_card_path``);
- with ``--volumes``, one row per subject: the file, its voxel size, the
  volume of each class in mL (voxel count x |det A| / 1000, A the 3 x 3
  part of the affine), the total brain (every class but background) and
  the findings of the input checks. The extension chooses the format:
  .csv (one header line, then a line per subject) or .json (a list of
  objects).

And for a folder of subjects, which files are inputs and where each output
goes (``subject_files``, ``output_path``).
"""
import csv
import io
import json
import os

import numpy as np

from .. import data, files

NIFTI_SUFFIXES = (".nii", ".nii.gz")
VOLUME_FORMATS = (".csv", ".json")


# ------------------------------------------------------------- subjects
def is_nifti(path):
    return os.fspath(path).lower().endswith(NIFTI_SUFFIXES)


def stem(path):
    """'sub-01_T1w.nii.gz' -> 'sub-01_T1w'."""
    name = os.path.basename(os.fspath(path))
    for suffix in sorted(NIFTI_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[:-len(suffix)]
    return name


def subject_files(inputs):
    """The input files of `inputs` (paths of NIfTI files or of folders, whose
    NIfTI files are taken in sorted order); raises ValueError naming what is
    neither, and FileNotFoundError for a path that does not exist."""
    found = []
    for path in map(os.fspath, inputs):
        if os.path.isdir(path):
            inside = sorted(os.path.join(path, name) for name in os.listdir(path)
                            if is_nifti(name) and os.path.isfile(os.path.join(path, name)))
            if not inside:
                raise ValueError(f"--input folder {path!r} holds no .nii or .nii.gz file")
            found += inside
        elif not os.path.exists(path):
            raise FileNotFoundError(f"--input: no such file or folder {path!r}")
        elif not is_nifti(path):
            raise ValueError(f"--input {path!r} is not a .nii or .nii.gz file")
        else:
            found.append(path)
    if len({os.path.abspath(p) for p in found}) != len(found):
        raise ValueError("--input names the same file twice")
    names = [stem(p) for p in found]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"--input: several files are named {twice[0]!r}; their outputs "
                         "would overwrite each other in one folder")
    return found


def output_path(folder, input_path, suffix):
    """The output of `input_path` in `folder`: its stem + `suffix`
    ('_labels.nii.gz', '_posteriors.nii.gz')."""
    return os.path.join(os.fspath(folder), stem(input_path) + suffix)


# ------------------------------------------------------------- posteriors
def posterior_card_path(path):
    """'p.nii.gz' -> 'p.json': the sidecar naming the classes of a posterior map."""
    return os.path.join(os.path.dirname(os.fspath(path)), stem(path) + ".json")


def write_posteriors(path, probabilities, affine, header, class_names, refined=False):
    """Write (X, Y, Z, K) class probabilities as a 4D float32 NIfTI and the
    class names beside it (see the module docstring); `refined` says in the
    sidecar that they were refined by the subject's intensities."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 4 or probabilities.shape[-1] != len(class_names):
        raise ValueError(f"probabilities must be (X, Y, Z, {len(class_names)}), got "
                         f"shape {probabilities.shape}")
    description = ("posteriors: " + ", ".join(class_names)).encode("ascii", "replace")[:79]
    written = data.save_nifti(path, probabilities, affine, header, dtype=np.float32,
                              description=description.decode("ascii"))
    files.write_text(posterior_card_path(path), json.dumps({
        "format": "minicnn-posteriors", "file": os.path.basename(os.fspath(path)),
        "axis": 3, "classes": list(class_names),
        "meaning": "voxel (x, y, z, k): the probability of class k, averaged over "
                   "the views the network ran along"
                   + (", then refined by the subject's intensities (minicnn.segmentation."
                      "refine: the network's probabilities as priors of a Gaussian "
                      "mixture fitted by EM)" if refined else "")}, indent=2) + "\n")
    return written


# ---------------------------------------------------------------- volumes
def volume_row(source, labels, affine, class_names, findings):
    """One subject's row of the volumes table (an ordered dict)."""
    counts, ml = data.class_volumes_ml(labels, affine, len(class_names))
    sizes = data.voxel_sizes(affine)
    row = {"file": os.fspath(source),
           "voxel_mm": " x ".join(f"{s:.4g}" for s in sizes)}
    row.update({f"{name} mL": round(float(v), 3) for name, v in zip(class_names, ml)})
    row["brain mL"] = round(float(ml[1:].sum()), 3)
    for finding in findings:
        row[f"{finding.check} ({'ok' if finding.ok else 'warning'})"] = \
            None if np.isnan(finding.value) else round(float(finding.value), 4)
    return row


def write_volumes(path, rows):
    """Write the table (.csv or .json by the extension of `path`), atomically."""
    kind = os.path.splitext(os.fspath(path))[1].lower()
    if kind not in VOLUME_FORMATS:
        raise ValueError(f"--volumes must end in .csv or .json, got {os.fspath(path)!r}")
    if kind == ".json":
        return files.write_text(path, json.dumps(rows, indent=2) + "\n")
    columns = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return files.write_text(path, text.getvalue())
