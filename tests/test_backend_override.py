"""backend.override: one operation's kernels replaced for the length of a block.

The exercises put a learner's function in place this way for a training
run (minicnn.exercises); here the replacement counts its calls and hands
them to the library's kernel, so the numbers must not change while the
calls reach it, on both backends, and nothing is replaced after the block.
"""
import numpy as np
import pytest

from minicnn import layers
from minicnn.backend import choose, override
from minicnn.functional import activations, conv


class Counted:
    """A function that counts its calls and calls `function`."""

    def __init__(self, function):
        self.function, self.calls = function, 0

    def __call__(self, *args, **kwargs):
        self.calls += 1
        return self.function(*args, **kwargs)


def _x(shape=(2, 6, 5, 3), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_a_conv2d_layer_runs_the_replacement_inside_the_block_only(backend):
    layer = layers.Conv2D(4, 3, padding="same", dtype="float64")
    x = _x()
    y_library = layer.forward(x)
    dx_library = layer.backward(np.ones_like(y_library))
    forward, backward_ = Counted(conv.conv2d_forward), Counted(conv.conv2d_backward)
    with override("conv2d", forward=forward, backward=backward_):
        y = layer.forward(x)
        assert layer._cache.conv.pair.name == "override:conv2d"
        dx = layer.backward(np.ones_like(y))
    assert (forward.calls, backward_.calls) == (1, 1)
    np.testing.assert_allclose(y, y_library, atol=1e-12)
    np.testing.assert_allclose(dx, dx_library, atol=1e-12)
    layer.forward(x)
    assert layer._cache.conv.pair.name != "override:conv2d"
    assert forward.calls == 1


def test_a_half_left_out_is_the_one_the_table_chooses(backend):
    x, kernel = _x(), _x((3, 3, 3, 4), seed=1)
    geom = conv.conv_geometry(x.shape[1:3], (3, 3), (1, 1), (1, 1), "same")
    chosen = choose("conv2d_relu", x, kernel, None, geom)
    replacement = Counted(conv.conv2d_relu_backward)
    with override("conv2d_relu", backward=replacement):
        pair = choose("conv2d_relu", x, kernel, None, geom)
    assert pair.forward is chosen.forward and pair.backward is replacement


def test_an_activation_outside_the_table_is_replaced_through_activation_pair(backend):
    layer = layers.Activation("sigmoid", dtype="float64")
    x = _x()
    replacement = Counted(activations.sigmoid_backward)
    with override("sigmoid", backward=replacement):
        y = layer.forward(x)
        layer.backward(np.ones_like(y))
    assert replacement.calls == 1


def test_override_refuses_what_it_cannot_do():
    with pytest.raises(ValueError, match="no operation 'conv3d'"):
        with override("conv3d", forward=print):
            pass
    with pytest.raises(ValueError, match="give a forward, a backward or both"):
        with override("relu"):
            pass
    with pytest.raises(TypeError, match="backward must be a function"):
        with override("relu", backward=3):
            pass
    with override("relu", backward=activations.relu_backward):
        with pytest.raises(ValueError, match="already overridden"):
            with override("relu", forward=activations.relu_forward):
                pass
    assert choose("relu", _x()).name != "override:relu"


def test_the_block_ends_even_when_its_body_raises():
    with pytest.raises(RuntimeError):
        with override("softmax", backward=activations.softmax_backward):
            raise RuntimeError("a learner's kernel failed")
    assert choose("softmax", _x()).name != "override:softmax"
