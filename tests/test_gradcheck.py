"""The gradient checker itself: it must pass correct gradients and catch wrong ones."""
import inspect
import subprocess
import sys

import numpy as np
import pytest

from minicnn import gradcheck, layers, losses
from minicnn.gradcheck import check_layer, numerical_gradient, rel_error


def test_rel_error_is_relative_to_the_gradient_scale():
    a = np.array([1.0, 2.0, 0.0])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, a + 1e-6) == pytest.approx(1e-6 / 4.000001)
    assert rel_error(1e-3 * a, 1e-3 * (a + 1e-6)) == pytest.approx(1e-6 / 4.000001)
    with pytest.raises(ValueError, match="shapes differ"):
        rel_error(a, a[:2])


def test_numerical_gradient_of_a_known_function():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    upstream = np.array([[0.3, -1.0], [2.0, 0.1]])
    grad = numerical_gradient(lambda: x ** 3, x, upstream)
    assert rel_error(grad, 3 * x ** 2 * upstream) < 1e-9
    assert np.array_equal(x, [[1.0, -2.0], [0.5, 3.0]])   # restored


def test_numerical_gradient_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(3, dtype=np.float32))


class _WrongBackward(layers.Conv2D):
    """A Conv2D whose input gradient is off by 1% — the checker must notice."""

    def _backward(self, dy, cache):
        dx, grads = super()._backward(dy, cache)
        return dx * 1.01, grads


def test_check_layer_catches_a_wrong_gradient():
    x = np.random.default_rng(0).standard_normal((2, 5, 6, 2))
    errors = check_layer(_WrongBackward(3, 3, dtype="float64"), x)
    assert errors["input"] > 1e-3
    assert errors["kernel"] < 1e-7


def test_check_layer_refuses_float32_layers():
    with pytest.raises(TypeError, match="float64"):
        check_layer(layers.Conv2D(2, 3), np.zeros((1, 4, 4, 1)))


TABLE = gradcheck.rows()


@pytest.mark.parametrize("description, check", TABLE,
                         ids=[gradcheck.normalise_name(d) for d, _ in TABLE])
def test_every_row_of_the_table_passes(description, check):
    """The table of ``minicnn gradcheck``, once, a test per row: ``pytest -k
    conv2dtranspose`` runs one class's rows."""
    errors = check()
    assert max(errors.values()) < 1e-7, errors


def _exported_classes(module, base):
    return {name for name, value in vars(module).items()
            if inspect.isclass(value) and issubclass(value, base) and value is not base}


def test_the_table_covers_every_layer_and_loss():
    """Every layer and loss class that minicnn.layers and minicnn.losses
    export has a row (InputLayer, the identity a model starts from, has no
    gradient to check): a new class fails here until it has one."""
    classes = {gradcheck.row_class(d) for d, _ in TABLE}
    exported = (_exported_classes(layers, layers.Layer) - {"InputLayer"}
                | _exported_classes(losses, losses.Loss))
    assert exported - classes == set()
    assert {"Conv2D", "AveragePooling2D", "Dice"} <= exported   # the search finds them


@pytest.mark.parametrize("name, expected", [
    ("conv2d", {"Conv2D"}),                         # not Conv2DTranspose
    ("Conv2D_Transpose", {"Conv2DTranspose"}),
    ("conv2d-transpose", {"Conv2DTranspose"}),
    ("max pooling 2d", {"MaxPooling2D"}),
    ("DICE", {"Dice"}),
])
def test_a_name_selects_the_rows_of_its_class_only(name, expected):
    selected = gradcheck.select(TABLE, [name])
    assert selected and {gradcheck.row_class(d) for d, _ in selected} == expected


def test_a_name_that_matches_nothing_lists_the_names():
    with pytest.raises(gradcheck.UnknownName, match="no row checks 'conv3d'; the names "
                       "are Activation, Add, AveragePooling2D, BatchNormalization"):
        gradcheck.select(TABLE, ["conv3d", "conv2d"])


def test_select_computes_nothing():
    """Filtering happens before any row is checked."""
    called = []
    table = [("Conv2D a", lambda: called.append("a")), ("Dice b", lambda: called.append("b"))]
    assert [d for d, _ in gradcheck.select(table, ["dice"])] == ["Dice b"]
    assert called == []


def test_python_dash_m_checks_one_class(tmp_path):
    result = subprocess.run([sys.executable, "-m", "minicnn.gradcheck", "add"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 0 failed (1 cases" in result.stdout and "Add" in result.stdout
    unknown = subprocess.run([sys.executable, "-m", "minicnn.gradcheck", "nothing"],
                             capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and "no row checks 'nothing'" in unknown.stderr


def test_numerical_gradient_refuses_a_strided_view():
    """A non-contiguous array would be perturbed through a copy: all zeros."""
    x = np.zeros((3, 4)).T
    with pytest.raises(ValueError, match="C-contiguous"):
        numerical_gradient(lambda: x * 2, x, np.ones((4, 3)))


def test_check_layer_accepts_transposed_inputs():
    x = np.moveaxis(np.random.default_rng(1).standard_normal((2, 3, 5, 4)), 1, -1)
    errors = check_layer(layers.Conv2D(2, 3, dtype="float64"), x)
    assert max(errors.values()) < 1e-7
