"""The Layer protocol shared by every layer: names, building, input checks."""
import numpy as np
import pytest

from minicnn import layers


def test_keras_style_automatic_names():
    a, b = layers.Conv2DTranspose(1, 2), layers.Conv2DTranspose(1, 2)
    assert a.name.startswith("conv2d_transpose") and a.name != b.name
    assert layers.MaxPooling2D().name.startswith("max_pooling2d")
    assert layers.AveragePooling2D().name.startswith("average_pooling2d")
    assert layers.BatchNormalization().name.startswith("batch_normalization")


def test_built_layer_runs_on_other_image_sizes_but_not_other_channels():
    conv = layers.Conv2D(2, 3, padding="same")
    conv(np.zeros((1, 5, 5, 3)))
    assert conv(np.zeros((2, 8, 6, 3))).shape == (2, 8, 6, 2)
    with pytest.raises(ValueError, match=r"axis 3 must be 3"):
        conv(np.zeros((1, 5, 5, 4)))


def test_multi_input_layer_refuses_a_different_number_of_inputs():
    add = layers.Add()
    add([np.zeros((1, 2, 2, 1))] * 2)
    with pytest.raises(ValueError, match="built for 2 inputs, got 3"):
        add([np.zeros((1, 2, 2, 1))] * 3)


def test_set_weights_before_build_is_refused():
    with pytest.raises(ValueError, match="needs a built layer"):
        layers.Conv2D(2, 3).set_weights([])


def test_weights_are_copies():
    conv = layers.Conv2D(2, 3)
    conv.build((None, 5, 5, 1))
    weights = conv.get_weights()
    weights[0][...] = 7.0
    assert not np.any(conv.params["kernel"] == 7.0)
