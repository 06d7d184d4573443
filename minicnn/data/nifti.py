"""NIfTI images in and out, with errors that name the file.

A NIfTI file holds an N-d array (here: a 3D volume of shape (X, Y, Z), or
(X, Y, Z, C) for several channels) and a 4 x 4 *affine* matrix that maps a
voxel index to a position in millimetres in scanner or template space:

    [x_mm, y_mm, z_mm, 1]^T = affine @ [i, j, k, 1]^T

Two volumes are "in the same space" when they have the same shape and the same
affine; only then does voxel (i, j, k) of a label map describe voxel (i, j, k)
of the image. ``load_pair`` checks exactly that, and ``save_nifti`` writes a
prediction with the affine (and header) of the image it was computed from, so
it overlays the input in any viewer. It writes atomically (``minicnn.files``):
a reader never sees half a volume, and a failed write keeps the old file.

nibabel does the reading and writing; every nibabel or zlib exception is
wrapped in a ``NiftiError`` that names the file and says what is wrong (not a
NIfTI file, truncated or corrupt, wrong number of dimensions, mismatched
pair), with the original exception chained for the curious.
"""
import gzip
import os
import zlib

import nibabel as nib
import numpy as np

from ..files import atomic_path

_SUFFIXES = (".nii", ".nii.gz")


class NiftiError(ValueError):
    """A NIfTI file that cannot be used: unreadable, wrong rank, mismatched pair."""


def _check_path(path, name, must_exist):
    """`path` as a str ending in .nii or .nii.gz (and existing if asked)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), "
                        f"got {type(path).__name__}")
    path = os.fspath(path)
    if not path.lower().endswith(_SUFFIXES):
        raise NiftiError(f"{name}={path!r} is not a NIfTI file name: "
                         f"expected a name ending in {' or '.join(_SUFFIXES)}")
    if must_exist:
        if not os.path.exists(path):
            raise FileNotFoundError(f"{name}: no file at {path!r}")
        if not os.path.isfile(path):
            raise NiftiError(f"{name}={path!r} is a directory, not a NIfTI file")
    return path


def _diagnose(path):
    """Why nibabel could not open `path`, in words (called only on failure)."""
    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                content = f.read()
        else:
            with open(path, "rb") as f:
                content = f.read()
    except gzip.BadGzipFile:
        return "not gzip-compressed although the name ends in .gz"
    except (OSError, EOFError, zlib.error) as err:
        return f"truncated or corrupt gzip stream ({type(err).__name__})"
    if len(content) < 348:
        return f"only {len(content)} bytes, shorter than a NIfTI header (348)"
    if content[344:348] not in (b"n+1\0", b"ni1\0") and content[4:8] != b"n+2\0":
        return "no NIfTI magic string in the header"
    return "header not understood"


def load_nifti(path, ndim=None):
    """Read a NIfTI file: returns (array, affine, header).

    array  : the voxel values with the file's scaling (scl_slope/scl_inter)
             applied, so an integer label map stays integer and a scaled image
             comes back as floats. Shape (X, Y, Z) for a 3D volume.
    affine : float64 (4, 4), voxel index -> millimetres.
    header : the nibabel header (pass it to ``save_nifti`` to write a result
             in the same space with the same metadata).

    ndim : if given, the rank the caller needs (3 for a volume). Trailing
           axes of length 1 beyond it are dropped, since many tools store a
           volume as (X, Y, Z, 1); any other rank is an error, e.g. a 4D
           time series where a 3D image is expected.
    """
    path = _check_path(path, "path", must_exist=True)
    try:
        # mmap=False: read the voxels into memory, so the array does not
        # change (or vanish) if the file is later overwritten.
        img = nib.load(path, mmap=False)
    except Exception as err:  # nibabel raises many types; all mean "unreadable"
        raise NiftiError(f"{path}: not a readable NIfTI file: {_diagnose(path)} "
                         f"({type(err).__name__}: {err})") from err
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise NiftiError(f"{path}: nibabel reads it as {type(img).__name__}, "
                         f"not as a NIfTI-1 or NIfTI-2 image")
    try:
        # Reading the voxels is what detects a truncated or corrupt file.
        array = np.asanyarray(img.dataobj)
    except Exception as err:
        raise NiftiError(f"{path}: truncated or corrupt voxel data "
                         f"({type(err).__name__}: {err})") from err
    if ndim is not None:
        while array.ndim > ndim and array.shape[-1] == 1:
            array = array[..., 0]
        if array.ndim != ndim:
            raise NiftiError(f"{path}: expected a {ndim}D image, got shape "
                             f"{array.shape} ({array.ndim}D)")
    return np.asarray(array), np.array(img.affine, dtype=np.float64), img.header


def load_pair(image_path, label_path, atol=1e-3):
    """Read a 3D image and its 3D label map and check they share one space.

    Returns (image, labels, affine, header) where labels is an integer array.
    Refused, with both file names in the message: different shapes, affines
    that differ by more than `atol` (millimetres), labels that are not whole
    numbers (e.g. an image passed as the label map, or a resampled label map
    with interpolated values).
    """
    image, affine, header = load_nifti(image_path, ndim=3)
    labels, label_affine, _ = load_nifti(label_path, ndim=3)
    if image.shape != labels.shape:
        raise NiftiError(f"image {os.fspath(image_path)} has shape {image.shape} "
                         f"but labels {os.fspath(label_path)} have shape "
                         f"{labels.shape}: they must be in the same space")
    diff = float(np.max(np.abs(affine - label_affine)))
    if diff > atol:
        raise NiftiError(
            f"image {os.fspath(image_path)} and labels {os.fspath(label_path)} "
            f"have affines differing by up to {diff:.4g} (atol={atol}):\n"
            f"{affine}\nvs\n{label_affine}\nresample one onto the other first")
    if labels.dtype.kind == "f":
        whole = np.isfinite(labels) & (labels == np.rint(labels))
        if not whole.all():
            bad = labels[~whole][:5]
            raise NiftiError(f"labels {os.fspath(label_path)} must be whole "
                             f"numbers; found values such as {bad.tolist()}")
        labels = labels.astype(np.int32)
    elif labels.dtype.kind not in "iu":
        raise NiftiError(f"labels {os.fspath(label_path)} must be integers, "
                         f"got dtype {labels.dtype}")
    return image, labels, affine, header


def _storable(array):
    """`array` in a dtype NIfTI tools read everywhere (no int64, no bool)."""
    if array.dtype == np.bool_:
        return array.astype(np.uint8)
    if array.dtype == np.float16:
        return array.astype(np.float32)
    if array.dtype in (np.int64, np.uint64, np.uint32):
        # argmax and friends return int64, which many NIfTI readers refuse.
        info = np.iinfo(np.int32)
        if array.size and (array.min() < info.min or array.max() > info.max):
            raise NiftiError(f"array values span [{array.min()}, {array.max()}], "
                             f"outside int32; pass dtype= explicitly")
        return array.astype(np.int32)
    return array


def save_nifti(path, array, affine, header=None, dtype=None, description=None):
    """Write `array` to `path` (.nii or .nii.gz) with voxel-to-mm `affine`.

    header      : optional header of the image the array was computed from;
                  its metadata (units, qform/sform codes, orientation) is
                  kept, with the shape and dtype updated to match `array`.
    dtype       : the dtype to store; default: the array's own, except bool
                  -> uint8 and 64-bit integers -> int32 (checked to fit).
    description : text for the header's 'descrip' field (ASCII, at most 79
                  characters, as NIfTI-1 holds).
    Returns the path written.
    """
    path = _check_path(path, "path", must_exist=False)
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise TypeError(f"array must be a numeric NumPy array, got "
                        f"{type(array).__name__}"
                        + (f" of dtype {array.dtype}" if hasattr(array, "dtype") else ""))
    if not 2 <= array.ndim <= 7:
        raise ValueError(f"array must have 2 to 7 dimensions for NIfTI, got "
                         f"shape {array.shape}")
    affine = np.asarray(affine, dtype=np.float64)
    if affine.shape != (4, 4) or not np.isfinite(affine).all():
        raise ValueError(f"affine must be a finite 4 x 4 matrix, got shape "
                         f"{affine.shape}")
    array = _storable(array) if dtype is None else array.astype(dtype)
    if header is not None:
        header = header.copy()
        # Without this, a float prediction saved with an int16 image's header
        # would be rounded and rescaled on write.
        header.set_data_dtype(array.dtype)
    img = nib.Nifti1Image(array, affine, header=header)
    if header is None:
        img.header.set_xyzt_units("mm")
    img.header.set_data_dtype(array.dtype)
    if description is not None:
        if not description.isascii() or len(description) > 79:
            raise ValueError(f"description must be ASCII text of at most 79 characters, "
                             f"got {description!r}")
        img.header["descrip"] = description.encode("ascii")
    try:
        # nibabel gzips when the name ends in .gz: the temporary name ends
        # as `path` does.
        with atomic_path(path) as tmp:
            nib.save(img, tmp)
    except OSError as err:
        raise NiftiError(f"{path}: cannot write ({err})") from err
    return path
