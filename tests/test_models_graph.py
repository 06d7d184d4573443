"""Functional graphs and Sequential: order, forward, backward, errors.

The gradient checks (float64 central differences, every entry) cover a chain,
a tensor read by three layers (its gradients must be summed), two inputs and
two outputs, and an output that also feeds another layer.
"""
import numpy as np
import pytest

from minicnn import layers, models
from minicnn.gradcheck import rel_error
from model_gradcheck import model_gradient_errors

TOL = 1e-7
F64 = "float64"


def small_dag():
    """Two inputs, two outputs; `a` is read by three layers, `c2` by two."""
    a = layers.Input((5, 4, 2), dtype=F64)
    b = layers.Input((5, 4, 3), dtype=F64)
    c1 = layers.Conv2D(2, 3, padding="same", activation="tanh", dtype=F64)(a)
    c2 = layers.Conv2D(2, 1, dtype=F64)(b)
    s = layers.Add(dtype=F64)([c1, c2, a])
    c3 = layers.Conv2D(3, (2, 3), padding="same", dtype=F64)(s)
    cat = layers.Concatenate(dtype=F64)([c3, a, c2])
    out1 = layers.Conv2D(2, 1, activation="softmax", dtype=F64)(cat)
    out2 = layers.MaxPooling2D(2, dtype=F64)(c2)
    return models.Model([a, b], [out1, out2])


def random_inputs(model, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n,) + t.shape[1:]) for t in model.inputs]


def test_chain_gradcheck_and_manual_chain_rule():
    model = models.Sequential([
        layers.Input((6, 5, 2), dtype=F64),
        layers.Conv2D(3, 3, padding="same", activation="tanh", dtype=F64),
        layers.Conv2D(2, 3, dtype=F64),
    ])
    xs = random_inputs(model)
    errors = model_gradient_errors(model, xs)
    assert max(errors.values()) < TOL, errors

    # the model's backward is exactly the layers' backward, in reverse order
    first, second = model.layers
    dy = np.random.default_rng(1).standard_normal(model.forward(xs[0]).shape)
    dx = model.backward(dy)
    assert np.array_equal(dx, first.backward(second.backward(dy)))


def test_tensor_read_by_several_layers_gets_the_sum_of_their_gradients():
    model = small_dag()
    errors = model_gradient_errors(model, random_inputs(model))
    assert max(errors.values()) < TOL, errors


def test_output_that_also_feeds_another_layer():
    x = layers.Input((4, 6, 2), dtype=F64)
    h = layers.Conv2D(2, 3, padding="same", activation="tanh", dtype=F64)(x)
    y = layers.Conv2D(3, 1, dtype=F64)(h)
    model = models.Model(x, [h, y])
    errors = model_gradient_errors(model, random_inputs(model))
    assert max(errors.values()) < TOL, errors


def test_backward_reads_dy_without_modifying_it():
    model = small_dag()
    outs = model.forward(random_inputs(model))
    dys = [np.random.default_rng(2).standard_normal(o.shape) for o in outs]
    copies = [d.copy() for d in dys]
    model.backward(dys)
    assert all(np.array_equal(d, c) for d, c in zip(dys, copies))


def test_layer_order_puts_every_layer_after_its_inputs():
    model = small_dag()
    seen = set()
    for layer in model.layers:
        assert all(t.layer in seen for t in layer._inbound), layer.name
        seen.add(layer)
    assert isinstance(model.layers[0], layers.InputLayer)


def _skip_model(short_first):
    """a -> c1 -> c2 -> c3 and a 1x1 shortcut, concatenated, then a 1x1 head.
    The shortcut is created first, so creation order is a, short, c1, ..."""
    a = layers.Input((4, 4, 2), dtype=F64, name="a")
    short = layers.Conv2D(3, 1, dtype=F64, name="short")(a)
    c1 = layers.Conv2D(2, 3, padding="same", dtype=F64, name="c1")(a)
    c2 = layers.Conv2D(2, 3, padding="same", dtype=F64, name="c2")(c1)
    c3 = layers.Conv2D(2, 3, padding="same", dtype=F64, name="c3")(c2)
    cat = layers.Concatenate(dtype=F64, name="cat")([short, c3] if short_first else [c3, short])
    return models.Model(a, layers.Conv2D(2, 1, dtype=F64, name="out")(cat))


@pytest.mark.parametrize("short_first, expected", [
    # Depth = longest path to the output: out 0, cat 1, c3 2, short 2, c2 3, c1 4, a 5.
    # Depth-first walk from `out`, inputs in the order they were passed:
    #   Concatenate([c3, short]): out, cat, c3, c2, c1, a, short -> c3 before short
    (False, ["a", "c1", "c2", "c3", "short", "cat", "out"]),
    #   Concatenate([short, c3]): out, cat, short, a, c3, c2, c1 -> short before c3;
    #   a post-order walk would put short right after a instead.
    (True, ["a", "c1", "c2", "short", "c3", "cat", "out"]),
])
def test_layer_order_is_kerass_worked_by_hand(short_first, expected):
    """Keras's order: decreasing depth, ties in the order a depth-first walk
    from the outputs first reaches them (Keras gives these two lists). It is
    the order of get_weights() and of a .weights.h5 file's groups, so the
    weight shapes follow it too."""
    model = _skip_model(short_first)
    assert [layer.name for layer in model.layers] == expected
    shapes = {"c1": [(3, 3, 2, 2), (2,)], "c2": [(3, 3, 2, 2), (2,)],
              "c3": [(3, 3, 2, 2), (2,)], "short": [(1, 1, 2, 3), (3,)],
              "out": [(1, 1, 5, 2), (2,)], "a": [], "cat": []}
    assert [w.shape for w in model.get_weights()] == [s for name in expected
                                                      for s in shapes[name]]


def test_float32_by_default():
    x = layers.Input((4, 4, 1))
    model = models.Model(x, layers.Conv2D(2, 3, padding="same")(x))
    out = model(np.ones((1, 4, 4, 1)))
    assert out.dtype == np.float32 and out.shape == (1, 4, 4, 2)


# ----------------------------------------------------------------- Sequential
def test_sequential_built_lazily_matches_one_built_from_an_input():
    lazy = models.Sequential([layers.Conv2D(2, 3, dtype=F64), layers.ReLU(dtype=F64)])
    assert not lazy.built
    x = np.random.default_rng(0).standard_normal((2, 7, 6, 1))
    out = lazy.forward(x)
    assert lazy.built and out.shape == (2, 5, 4, 2)
    assert [type(layer).__name__ for layer in lazy.layers] == ["Conv2D", "ReLU"]

    eager = models.Sequential([layers.Input((7, 6, 1), dtype=F64),
                               layers.Conv2D(2, 3, dtype=F64), layers.ReLU(dtype=F64)])
    eager.set_weights(lazy.get_weights())
    assert np.array_equal(eager.forward(x), out)


def test_sequential_add_after_build_and_explicit_build():
    model = models.Sequential()
    model.add(layers.Input((8, 8, 1)))
    model.add(layers.Conv2D(4, 3, padding="same"))
    assert model.output_shape == (None, 8, 8, 4)
    model.add(layers.MaxPooling2D(2))
    assert model.output_shape == (None, 4, 4, 4)
    assert len(model.layers) == 2

    other = models.Sequential([layers.Conv2D(2, 3)])
    other.build((None, 9, 9, 3))
    assert other.output_shape == (None, 7, 7, 2)


def test_sequential_errors():
    with pytest.raises(TypeError, match="Layer"):
        models.Sequential(["conv"])
    with pytest.raises(TypeError, match="functional Model"):
        models.Sequential([layers.Concatenate()])
    with pytest.raises(ValueError, match="Input must come first"):
        models.Sequential([layers.Conv2D(2, 3), layers.Input((4, 4, 1))])
    with pytest.raises(ValueError, match="not built yet"):
        models.Sequential([layers.Conv2D(2, 3)]).summary()
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="axis 3 must be 1"):
        model.forward(np.ones((1, 6, 6, 3)))


# --------------------------------------------------------------------- errors
def test_a_layer_cannot_be_called_twice_on_symbolic_tensors():
    conv = layers.Conv2D(2, 1)
    conv(layers.Input((4, 4, 2)))
    with pytest.raises(ValueError, match="only once in a model"):
        conv(layers.Input((4, 4, 2)))


def test_graph_disconnected_and_unused_inputs():
    a, b = layers.Input((4, 4, 1)), layers.Input((4, 4, 1))
    out = layers.Conv2D(2, 1)(b)
    with pytest.raises(ValueError, match="graph disconnected.*input_layer"):
        models.Model(a, out)
    c = layers.Input((4, 4, 1))
    with pytest.raises(ValueError, match="not connected to any output"):
        models.Model([b, c], out)
    with pytest.raises(ValueError, match="not from layers.Input"):
        models.Model(out, layers.Conv2D(1, 1)(out))
    with pytest.raises(TypeError, match="symbolic tensor"):
        models.Model(np.ones((1, 4, 4, 1)), out)


def test_call_errors():
    a = layers.Input((4, 4, 1))
    with pytest.raises(TypeError, match="cannot mix"):
        layers.Concatenate()([a, np.ones((1, 4, 4, 1))])
    with pytest.raises(ValueError, match="rank 4"):
        layers.Conv2D(1, 1)(layers.Input((4, 4)))
    with pytest.raises(ValueError, match="must be >= 1 or None|integers >= 1"):
        layers.Input((0, 4, 1))
    with pytest.raises(ValueError, match="used 2 times"):
        x = layers.Input((4, 4, 1))
        models.Model(x, layers.Conv2D(1, 1, name="twin")(layers.Conv2D(1, 1, name="twin")(x)))


def test_forward_errors_name_the_problem():
    model = small_dag()
    x0, x1 = random_inputs(model)
    with pytest.raises(ValueError, match="list of 2 arrays"):
        model.forward(x0)
    with pytest.raises(ValueError, match="axis 3 must be 3"):
        model.forward([x0, x0])
    single = models.Model(model.inputs[0], model.layers[2].output)
    with pytest.raises(TypeError, match="one array"):
        single.forward([x0])
    fresh = small_dag()
    with pytest.raises(ValueError, match="before forward"):
        fresh.backward([np.ones((2, 5, 4, 2)), np.ones((2, 2, 2, 2))])
    with pytest.raises(TypeError, match="nesting models"):
        model(layers.Input((5, 4, 2)))


def test_set_weights_checks_everything_before_changing_anything():
    model = small_dag()
    original = model.get_weights()
    wrong = [w.copy() for w in original]
    wrong[-1] = np.zeros((7,))
    wrong[0] = wrong[0] + 1.0
    with pytest.raises(ValueError, match=r"array \d+ is for .*/bias"):
        model.set_weights(wrong)
    assert all(np.array_equal(a, b) for a, b in zip(original, model.get_weights()))
    with pytest.raises(ValueError, match=f"expected {len(original)} arrays"):
        model.set_weights(original[:-1])

    shifted = [w + 0.5 for w in original]
    model.set_weights(shifted)
    assert all(np.array_equal(a, b) for a, b in zip(shifted, model.get_weights()))


def test_get_layer():
    model = small_dag()
    assert model.get_layer(index=0) is model.layers[0]
    name = model.layers[3].name
    assert model.get_layer(name) is model.layers[3]
    with pytest.raises(ValueError, match="no layer named"):
        model.get_layer("nope")
    with pytest.raises(ValueError, match="out of range"):
        model.get_layer(index=99)


def test_gradcheck_can_fail():
    """The checker sees a wrong backward: corrupt one layer's weight gradient."""
    model = small_dag()
    layer = model.layers[-1] if model.layers[-1].params else model.layers[-2]
    original = type(layer)._backward

    def broken(self, dy, cache):
        dx, grads = original(self, dy, cache)
        return dx, {k: g * 1.01 for k, g in grads.items()}

    layer._backward = broken.__get__(layer)
    errors = model_gradient_errors(model, random_inputs(model))
    assert max(errors.values()) > 1e-3
    assert rel_error(np.ones(3), np.ones(3)) == 0.0
