"""The course's cross-entropy slides, recomputed (see course-notes.md, "Known slips").

The slides use base-2 logs and the formula CE = -(1/N) sum_i sum_c y_ic log2 p_ic,
with three pixels whose true classes are GM, WM, WM:

    predicted   GM   WM   CSF
    data_0      .5   .2   .3      true GM
    data_1      .2   .4   .4      true WM
    data_2      .1   .5   .4      true WM

The worked sum takes 0.4 for data_2's true class, although the table gives
0.5, and reports 3.64; the second example (0.8 for every true class) reports
0.97, which is a sum: the formula's 1/N was dropped, and the mean is 0.32.
"""
import math

import numpy as np
import pytest

from minicnn import losses
from minicnn.functional.losses import cross_entropy_bits

TRUE = np.array([[1.0, 0.0, 0.0],      # data_0: GM
                 [0.0, 1.0, 0.0],      # data_1: WM
                 [0.0, 1.0, 0.0]])     # data_2: WM
TABLE = np.array([[0.5, 0.2, 0.3],
                  [0.2, 0.4, 0.4],
                  [0.1, 0.5, 0.4]])
IMPROVED = np.array([[0.8, 0.1, 0.1],
                     [0.1, 0.8, 0.1],
                     [0.1, 0.8, 0.1]])


def test_improved_prediction_sum_is_0_97_and_mean_is_0_32():
    bits = cross_entropy_bits(TRUE, IMPROVED)
    np.testing.assert_allclose(bits, [-math.log2(0.8)] * 3)
    assert bits.sum() == pytest.approx(0.966, abs=5e-4)     # the slide's "0.97"
    assert round(bits.sum(), 2) == 0.97
    assert bits.mean() == pytest.approx(0.322, abs=5e-4)    # what the formula gives
    assert round(bits.mean(), 2) == 0.32


def test_table_numbers_give_3_32_not_3_64():
    bits = cross_entropy_bits(TRUE, TABLE)
    np.testing.assert_allclose(bits, [1.0, -math.log2(0.4), 1.0])
    assert round(bits.sum(), 2) == 3.32
    assert bits.mean() == pytest.approx(3.32 / 3, abs=5e-3)


def test_slide_3_64_only_if_0_4_is_used_twice():
    misread = TABLE.copy()
    misread[2] = [0.1, 0.4, 0.5]        # data_2's true class given 0.4
    assert round(cross_entropy_bits(TRUE, misread).sum(), 2) == 3.64
    assert round(cross_entropy_bits(TRUE, TABLE).sum(), 2) != 3.64


def test_better_prediction_lowers_the_cross_entropy():
    assert cross_entropy_bits(TRUE, IMPROVED).sum() < cross_entropy_bits(TRUE, TABLE).sum()


def test_the_minus_sign_makes_cross_entropy_non_negative():
    """Without the minus sign (as some versions of the slide write it) the sum
    of y log2 p would be negative: log2 of a probability is <= 0."""
    assert np.all(cross_entropy_bits(TRUE, TABLE) >= 0)
    assert np.sum(TRUE * np.log2(TABLE)) < 0


def test_keras_value_is_the_bits_mean_times_ln_2():
    """Keras (and minicnn) use natural logs and the mean: nats = bits * ln 2."""
    for predicted in (TABLE, IMPROVED):
        nats = losses.CategoricalCrossentropy()(TRUE, predicted)
        assert nats == pytest.approx(cross_entropy_bits(TRUE, predicted).mean()
                                     * math.log(2), rel=1e-12)
    labels = TRUE.argmax(axis=-1)
    assert losses.SparseCategoricalCrossentropy()(labels, IMPROVED) == pytest.approx(
        -math.log(0.8), rel=1e-12)


def test_a_zero_for_a_wrong_class_is_fine_but_for_the_true_class_is_infinite():
    certain = np.array([[1.0, 0.0, 0.0]])
    assert cross_entropy_bits(certain, certain)[0] == 0.0
    with np.errstate(divide="ignore"):
        assert cross_entropy_bits(certain, np.array([[0.0, 0.5, 0.5]]))[0] == np.inf
    # Keras clips to 1e-7 instead, so its loss stays finite: -ln(1e-7) = 16.1.
    assert losses.CategoricalCrossentropy()(certain, np.array([[0.0, 0.5, 0.5]])) \
        == pytest.approx(-math.log(1e-7), rel=1e-9)
