"""Weights on disk: minicnn's ``.npz`` format and Keras's ``.weights.h5``.

``model.save_weights(path)`` / ``model.load_weights(path)`` choose the format
from the file name: ``*.npz`` or ``*.weights.h5``. Files are written
atomically (``minicnn.files.atomic_path``): to a temporary file in the same
directory, then renamed over `path`, so a crash mid-write never leaves a
half-written file behind and an older file at `path` stays intact until the
new one is complete.

minicnn ``.npz`` (format version 1)
-----------------------------------
A NumPy archive, readable with ``np.load(path)`` (no pickle):

    "__minicnn__"                a 0-d string array holding JSON:
                                 {"format": "minicnn-weights", "version": 1,
                                  "model": <model name>,
                                  "layers": [{"name", "class",
                                              "weights": [[name, shape], ...]}, ...]}
    "0003/conv2d_1/kernel"       one array per weight, keyed
                                 "<position in model.layers>/<layer name>/<weight name>"

Loading matches layers by position and class, not by name: automatic names
differ between two instances of the same model ('conv2d' and 'conv2d_7').
If the architectures differ, the error names the first layer that differs.

Keras ``.weights.h5``
---------------------
The HDF5 layout Keras 3 writes with ``model.save_weights("m.weights.h5")``:

    layers/<key>/vars/<i>     the i-th weight of a layer, in get_weights order
    layers/<key>/vars         attribute "name": the layer's name
    vars                      attribute "name": the model's name

where <key> is the snake-case class name, numbered when it repeats, in
``model.layers`` order: conv2d, conv2d_1, ..., batch_normalization,
input_layer (a Sequential has no input layer). Every layer has a group, even
one without weights. Reading and writing these files needs h5py.
"""
import json
import os

import numpy as np

from ..files import atomic_path
from ..layers.base import _snake_case

FORMAT_NAME = "minicnn-weights"
FORMAT_VERSION = 1
_META_KEY = "__minicnn__"


def _format_of(filepath, action):
    path = os.fspath(filepath)
    if path.endswith(".weights.h5"):
        return path, "h5"
    if path.endswith(".npz"):
        return path, "npz"
    raise ValueError(f"{action}: filepath must end with '.npz' (minicnn format) or "
                     f"'.weights.h5' (Keras format), got {path!r}")


def save_weights(model, filepath):
    """Write `model`'s weights to `filepath` (format from its extension)."""
    path, kind = _format_of(filepath, "save_weights")
    writer = _write_npz if kind == "npz" else _write_keras_h5
    with atomic_path(path) as tmp:
        writer(model, tmp)


def load_weights(model, filepath):
    """Read weights into `model`; the architecture must match the file's."""
    path, kind = _format_of(filepath, "load_weights")
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_weights: no such file {path!r}")
    weights = _read_npz(model, path) if kind == "npz" else _read_keras_h5(model, path)
    model.set_weights(weights)


# --------------------------------------------------------------------- .npz
def describe(model):
    """The architecture as plain data: class and weight shapes per layer."""
    return [{"name": layer.name, "class": type(layer).__name__,
             "weights": [[key, list(w.shape)] for key, w in layer.params.items()]}
            for layer in model.layers]


def _layer_text(entry):
    weights = ", ".join(f"{key} {tuple(shape)}" for key, shape in entry["weights"])
    return (f"{entry['name']!r} ({entry['class']}"
            + (f"; {weights})" if weights else ", no weights)"))


def _first_difference(model, mine, theirs, path):
    """Raise an error naming the first layer that differs, if any."""
    for i in range(max(len(mine), len(theirs))):
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a is None or b is None or a["class"] != b["class"] or a["weights"] != b["weights"]:
            here = _layer_text(a) if a else "nothing (the model has fewer layers)"
            there = _layer_text(b) if b else "nothing (the file has fewer layers)"
            raise ValueError(
                f"load_weights: {path!r} was saved from a different architecture "
                f"({len(theirs)} layers; {model.name} has {len(mine)}). First "
                f"difference at layer {i}: the model has {here}, the file has {there}")


def _weight_key(index, layer_name, weight_name):
    return f"{index:04d}/{layer_name}/{weight_name}"


def _write_npz(model, tmp):
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
            "model": model.name, "layers": describe(model)}
    arrays = {_META_KEY: np.array(json.dumps(meta))}
    for i, layer in enumerate(model.layers):
        for key, w in layer.params.items():
            arrays[_weight_key(i, layer.name, key)] = w
    np.savez(tmp, **arrays)         # tmp ends in .npz, so savez adds no extension


def _read_npz(model, path):
    with np.load(path, allow_pickle=False) as data:
        if _META_KEY not in data.files:
            raise ValueError(f"load_weights: {path!r} is not a minicnn weights file "
                             f"(it has no {_META_KEY!r} entry)")
        meta = json.loads(str(data[_META_KEY]))
        if meta.get("format") != FORMAT_NAME or meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"load_weights: {path!r} has format {meta.get('format')!r} "
                             f"version {meta.get('version')!r}; this minicnn reads "
                             f"{FORMAT_NAME!r} version {FORMAT_VERSION}")
        _first_difference(model, describe(model), meta["layers"], path)
        return [data[_weight_key(i, entry["name"], key)]
                for i, entry in enumerate(meta["layers"])
                for key, _ in entry["weights"]]


# -------------------------------------------------------------- .weights.h5
def _h5py():
    try:
        import h5py
    except ImportError as err:
        raise ImportError("Keras .weights.h5 files need h5py: pip install h5py") from err
    return h5py


def keras_keys(model):
    """Each layer's group name in a Keras .weights.h5 file, in layer order."""
    used, keys = {}, []
    for layer in model.layers:
        base = _snake_case(type(layer).__name__)
        if base in used:
            used[base] += 1
            keys.append(f"{base}_{used[base]}")
        else:
            used[base] = 0
            keys.append(base)
    return keys


def _write_keras_h5(model, tmp):
    h5py = _h5py()
    with h5py.File(tmp, "w") as f:
        group = f.create_group("layers")
        for key, layer in zip(keras_keys(model), model.layers):
            variables = group.create_group(key).create_group("vars")
            variables.attrs["name"] = layer.name
            for i, w in enumerate(layer.get_weights()):
                variables.create_dataset(str(i), data=w)
        f.create_group("vars").attrs["name"] = model.name


def _read_keras_h5(model, path):
    h5py = _h5py()
    weights = []
    with h5py.File(path, "r") as f:
        if "layers" not in f:
            raise ValueError(f"load_weights: {path!r} has no 'layers' group; it is not "
                             "a Keras .weights.h5 file")
        keys = keras_keys(model)
        extra = sorted(set(f["layers"]) - set(keys))
        for key, layer in zip(keys, model.layers):
            if key not in f["layers"] or "vars" not in f["layers"][key]:
                raise ValueError(
                    f"load_weights: {path!r} has no group layers/{key}/vars for layer "
                    f"{layer.name!r} ({type(layer).__name__}); the architectures differ"
                    + (f" (the file has {extra})" if extra else ""))
            group = f["layers"][key]["vars"]
            arrays = [group[str(i)][()] for i in range(len(group))]
            shapes = [a.shape for a in arrays]
            expected = [w.shape for w in layer.params.values()]
            if shapes != expected:
                raise ValueError(
                    f"load_weights: layer {layer.name!r} ({type(layer).__name__}) has "
                    f"weights of shapes {expected}; {path!r} has {shapes} at layers/{key}: "
                    "the architectures differ")
            weights.extend(arrays)
        if extra:
            raise ValueError(f"load_weights: {path!r} has layers the model lacks: "
                             f"{extra}; the architectures differ")
    return weights
