"""Weights on disk: minicnn's .npz, Keras's .weights.h5, atomic writes, errors."""
import json
import os

import numpy as np
import pytest

from keras_models import keras_unet
from minicnn import layers, models
from minicnn.gradcheck import rel_error
from minicnn.models import saving

F64 = "float64"


def small_unet(**kwargs):
    return models.unet((16, 16, 1), 2, filters=(4, 8), bottleneck=8, dtype=F64, **kwargs)


def perturbed(model, seed=0):
    """Give every weight (BatchNormalization's too) non-default values."""
    rng = np.random.default_rng(seed)
    model.set_weights([w + rng.uniform(0.1, 0.5, w.shape) for w in model.get_weights()])
    return model


def x_batch(seed=1):
    return np.random.default_rng(seed).standard_normal((2, 16, 16, 1))


def test_npz_round_trip_between_two_instances(tmp_path):
    source, target = perturbed(small_unet()), small_unet()
    path = tmp_path / "w.npz"
    source.save_weights(path)
    target.load_weights(str(path))
    for a, b in zip(source.get_weights(), target.get_weights()):
        assert np.array_equal(a, b)
    assert np.array_equal(source.predict(x_batch(), verbose=0),
                          target.predict(x_batch(), verbose=0))


def test_npz_format_is_documented_and_pickle_free(tmp_path):
    model = small_unet()
    model.save_weights(tmp_path / "w.npz")
    with np.load(tmp_path / "w.npz", allow_pickle=False) as data:
        meta = json.loads(str(data["__minicnn__"]))
        assert meta["format"] == "minicnn-weights" and meta["version"] == 1
        assert [entry["class"] for entry in meta["layers"]] == \
            [type(layer).__name__ for layer in model.layers]
        conv = model.layers[2]
        key = f"0002/{conv.name}/kernel"
        assert np.array_equal(data[key], conv.params["kernel"])
        assert len(data.files) == 1 + len(model.get_weights())


def test_write_is_atomic(tmp_path, monkeypatch):
    model = perturbed(small_unet())
    path = tmp_path / "w.npz"
    model.save_weights(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", crash)
    perturbed(model, seed=5)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before             # the old file is intact
    assert os.listdir(tmp_path) == ["w.npz"]       # no temporary file left


def test_different_architecture_names_the_first_layer_that_differs(tmp_path):
    small_unet().save_weights(tmp_path / "w.npz")
    other = models.unet((16, 16, 1), 2, filters=(4, 6), bottleneck=8, dtype=F64)
    different = other.layers[5]                    # first conv of the second level
    with pytest.raises(ValueError, match=rf"layer 5: the model has '{different.name}' "
                                         r"\(Conv2D; kernel \(3, 3, 4, 6\)"):
        other.load_weights(tmp_path / "w.npz")
    shorter = models.unet((16, 16, 1), 2, filters=(4,), bottleneck=8, dtype=F64)
    with pytest.raises(ValueError, match="different architecture"):
        shorter.load_weights(tmp_path / "w.npz")
    no_bn = small_unet(input_batchnorm=False)
    with pytest.raises(ValueError, match=r"layer 1: .*Conv2D.*BatchNormalization"):
        no_bn.load_weights(tmp_path / "w.npz")


def test_file_errors(tmp_path):
    model = small_unet()
    with pytest.raises(ValueError, match="must end with '.npz'"):
        model.save_weights(tmp_path / "w.h5")
    with pytest.raises(FileNotFoundError, match="no such file"):
        model.load_weights(tmp_path / "missing.npz")
    np.savez(tmp_path / "plain.npz", a=np.ones(3))
    with pytest.raises(ValueError, match="not a minicnn weights file"):
        model.load_weights(tmp_path / "plain.npz")


# ------------------------------------------------------------- Keras .weights.h5
def test_keras_h5_keys_follow_keras_naming():
    model = small_unet()
    keys = saving.keras_keys(model)
    assert keys[:4] == ["input_layer", "batch_normalization", "conv2d", "conv2d_1"]
    assert keys.count("max_pooling2d") == 1 and "max_pooling2d_1" in keys
    seq = models.Sequential([layers.Input((4, 4, 1)), layers.Conv2D(2, 1), layers.Conv2D(2, 1)])
    assert saving.keras_keys(seq) == ["conv2d", "conv2d_1"]


def tiny_functional():
    """Input, Conv2D, BatchNormalization, Conv2D, Conv2D 1x1; every name given."""
    x = layers.Input((6, 6, 2), dtype=F64, name="image")
    h = layers.Conv2D(4, 3, padding="same", dtype=F64, name="first")(x)
    h = layers.BatchNormalization(dtype=F64, name="bn")(h)
    h = layers.Conv2D(4, 3, padding="same", dtype=F64, name="second")(h)
    y = layers.Conv2D(2, 1, activation="softmax", dtype=F64, name="head")(h)
    return models.Model(x, y, name="tiny")


def tiny_sequential():
    return models.Sequential([layers.Input((6, 6, 2), dtype=F64),
                              layers.Conv2D(3, 3, padding="same", dtype=F64),
                              layers.BatchNormalization(dtype=F64),
                              layers.Conv2D(2, 1, activation="softmax", dtype=F64)])


def h5_tree(h5py, path):
    """{HDF5 path: dataset shape, or the group's 'name' attribute} of a file."""
    tree = {}
    with h5py.File(path, "r") as f:
        def visit(name, item):
            if isinstance(item, h5py.Dataset):
                tree[name] = item.shape
            elif "name" in item.attrs:
                tree[name] = item.attrs["name"]
        f.visititems(visit)
    return tree


def test_weights_h5_layout_as_documented(tmp_path, h5py):
    """The layout saving.py documents (Keras 3's): layers/<key>/vars/<i> per
    weight in get_weights order, <key> the snake-case class name numbered
    when it repeats, in model.layers order; each layer's vars group carries
    its name, the top-level vars group the model's. Written out for the tiny
    model (kernel (kh, kw, C_in, F); BatchNormalization gamma, beta,
    moving_mean, moving_variance):"""
    model = perturbed(tiny_functional())
    path = tmp_path / "tiny.weights.h5"
    model.save_weights(path)
    assert h5_tree(h5py, path) == {
        "layers/input_layer/vars": "image",
        "layers/conv2d/vars": "first",
        "layers/conv2d/vars/0": (3, 3, 2, 4),
        "layers/conv2d/vars/1": (4,),
        "layers/batch_normalization/vars": "bn",
        "layers/batch_normalization/vars/0": (4,),
        "layers/batch_normalization/vars/1": (4,),
        "layers/batch_normalization/vars/2": (4,),
        "layers/batch_normalization/vars/3": (4,),
        "layers/conv2d_1/vars": "second",
        "layers/conv2d_1/vars/0": (3, 3, 4, 4),
        "layers/conv2d_1/vars/1": (4,),
        "layers/conv2d_2/vars": "head",
        "layers/conv2d_2/vars/0": (1, 1, 4, 2),
        "layers/conv2d_2/vars/1": (2,),
        "vars": "tiny",
    }
    with h5py.File(path, "r") as f:
        bn = model.get_layer("bn").params
        for i, key in enumerate(["gamma", "beta", "moving_mean", "moving_variance"]):
            assert np.array_equal(f[f"layers/batch_normalization/vars/{i}"][()], bn[key])
        assert np.array_equal(f["layers/conv2d_1/vars/0"][()],
                              model.get_layer("second").params["kernel"])


def test_sequential_weights_h5_has_no_input_layer_group(tmp_path, h5py):
    """A Sequential's layers leave out the input layer, so its file does too."""
    model = tiny_sequential()
    model.save_weights(tmp_path / "s.weights.h5")
    tree = h5_tree(h5py, tmp_path / "s.weights.h5")
    assert sorted(k for k in tree if k.count("/") == 3) == [
        "layers/batch_normalization/vars/0", "layers/batch_normalization/vars/1",
        "layers/batch_normalization/vars/2", "layers/batch_normalization/vars/3",
        "layers/conv2d/vars/0", "layers/conv2d/vars/1",
        "layers/conv2d_1/vars/0", "layers/conv2d_1/vars/1"]


def test_weights_h5_written_by_hand_in_kerass_layout_loads(tmp_path, h5py):
    """A file made with h5py alone, in the layout above (as a Keras Sequential
    writes it), so minicnn's reader is checked apart from its writer. Every
    weight is a distinct known number, so a weight read into the wrong slot
    shows."""
    rng = np.random.default_rng(3)
    arrays = {"conv2d": [rng.standard_normal((3, 3, 2, 3)), rng.standard_normal(3)],
              "batch_normalization": [np.array([1.5, 2.0, 0.5]), np.array([0.1, 0.2, 0.3]),
                                      np.array([-1.0, 0.0, 1.0]), np.array([2.0, 3.0, 4.0])],
              "conv2d_1": [rng.standard_normal((1, 1, 3, 2)), rng.standard_normal(2)]}
    path = tmp_path / "by_hand.weights.h5"
    with h5py.File(path, "w") as f:
        for key, weights in arrays.items():
            group = f.create_group(f"layers/{key}/vars")
            group.attrs["name"] = key
            for i, w in enumerate(weights):
                group.create_dataset(str(i), data=w)
        f.create_group("vars").attrs["name"] = "sequential"
    model = tiny_sequential()
    model.load_weights(path)
    expected = [w for key in ("conv2d", "batch_normalization", "conv2d_1") for w in arrays[key]]
    got = model.get_weights()
    assert len(got) == len(expected) == 8
    for a, b in zip(got, expected):
        assert np.array_equal(a, b)
    bn = model.layers[1].params
    assert bn["moving_mean"].tolist() == [-1.0, 0.0, 1.0]
    assert bn["moving_variance"].tolist() == [2.0, 3.0, 4.0]


@pytest.mark.parametrize("build", [small_unet, tiny_functional, tiny_sequential])
def test_weights_h5_round_trip_between_two_instances(tmp_path, build, h5py):
    """minicnn -> .weights.h5 -> minicnn, no Keras: bit-equal weights and
    predictions (BatchNormalization's moving statistics included)."""
    source, target = perturbed(build()), build()
    path = tmp_path / "w.weights.h5"
    source.save_weights(path)
    target.load_weights(path)
    for a, b in zip(source.get_weights(), target.get_weights(), strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)
    x = np.random.default_rng(1).standard_normal((2,) + source.inputs[0].shape[1:])
    assert np.array_equal(source.predict(x, verbose=0), target.predict(x, verbose=0))


@pytest.mark.usefixtures("keras", "h5py")
@pytest.mark.parametrize("upsampling", ["nearest", "transpose"])
def test_minicnn_to_keras_and_back_through_weights_h5(tmp_path, upsampling):
    model = perturbed(small_unet(upsampling=upsampling))
    path = str(tmp_path / "m.weights.h5")
    model.save_weights(path)

    kmodel = keras_unet((16, 16, 1), 2, filters=(4, 8), bottleneck=8, upsampling=upsampling)
    kmodel.load_weights(path)
    x = x_batch()
    expected = model.predict(x, verbose=0)
    assert rel_error(kmodel.predict(x, verbose=0), expected) < 1e-10

    kpath = str(tmp_path / "k.weights.h5")
    kmodel.save_weights(kpath)
    back = small_unet(upsampling=upsampling)
    back.load_weights(kpath)
    assert rel_error(back.predict(x, verbose=0), expected) < 1e-10
    for a, b in zip(back.get_weights(), model.get_weights()):
        assert np.array_equal(a, b)


def test_keras_sequential_weights_h5_loads_into_minicnn(tmp_path, keras, h5py):
    """Layers without weights have groups too, named from the class: the
    pooling layers' keys must be Keras's."""
    kmodel = keras.Sequential([keras.Input((6, 6, 2), dtype=F64),
                               keras.layers.Conv2D(3, 3, padding="same", dtype=F64),
                               keras.layers.BatchNormalization(dtype=F64),
                               keras.layers.AveragePooling2D(3, 1, padding="same", dtype=F64),
                               keras.layers.MaxPooling2D(dtype=F64),
                               keras.layers.Conv2D(2, 1, activation="softmax", dtype=F64)])
    kmodel.set_weights([w + 0.3 for w in kmodel.get_weights()])
    path = str(tmp_path / "s.weights.h5")
    kmodel.save_weights(path)
    model = models.Sequential([layers.Input((6, 6, 2), dtype=F64),
                               layers.Conv2D(3, 3, padding="same", dtype=F64),
                               layers.BatchNormalization(dtype=F64),
                               layers.AveragePooling2D(3, 1, padding="same", dtype=F64),
                               layers.MaxPooling2D(dtype=F64),
                               layers.Conv2D(2, 1, activation="softmax", dtype=F64)])
    model.load_weights(path)
    x = np.random.default_rng(0).standard_normal((3, 6, 6, 2))
    # kmodel(x), not kmodel.predict(x): Keras 3 casts float64 arrays given to
    # a Sequential's predict to float32.
    assert rel_error(model.predict(x, verbose=0), kmodel(x).numpy()) < 1e-10


@pytest.mark.usefixtures("h5py")
def test_weights_h5_into_a_different_architecture(tmp_path):
    small_unet().save_weights(tmp_path / "m.weights.h5")
    wider = models.unet((16, 16, 1), 2, filters=(4, 6), bottleneck=8, dtype=F64)
    with pytest.raises(ValueError, match=r"layer '.*' \(Conv2D\) has weights of shapes"):
        wider.load_weights(tmp_path / "m.weights.h5")
    deeper = models.unet((16, 16, 1), 2, filters=(4, 8, 8), bottleneck=8, dtype=F64)
    with pytest.raises(ValueError, match=r"no group layers/\w+/vars for layer"):
        deeper.load_weights(tmp_path / "m.weights.h5")
    shallower = models.unet((16, 16, 1), 2, filters=(4,), bottleneck=8, dtype=F64)
    with pytest.raises(ValueError, match="architectures differ"):
        shallower.load_weights(tmp_path / "m.weights.h5")
