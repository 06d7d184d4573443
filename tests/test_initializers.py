"""Initializers: Keras's fan computation and the distributions they draw from.

Keras (keras.initializers, VarianceScaling) documents, for a weight of shape
(..., a, b) with receptive field r = product of the leading axes:

    fan_in = a * r,   fan_out = b * r         (2D: fan_in, fan_out = shape)
    he_normal       truncated normal, stddev = sqrt(2 / fan_in) / 0.8796...,
                    redrawn beyond 2 of those stddevs, so that the samples'
                    own standard deviation is sqrt(2 / fan_in)
    glorot_uniform  U(-L, L),  L = sqrt(6 / (fan_in + fan_out))

The fans come from the positions in the shape, not from what the axes mean:
a Conv2D kernel (kh, kw, C_in, F) has fan_in = kh kw C_in, and a
Conv2DTranspose kernel (kh, kw, F, C_in) has fan_in = kh kw F.

The distributions are checked on one kernel of 73,728 or 147,456 samples
drawn with a fixed seed, against stated tolerances. For a unit normal
truncated at +-2 the variance is 0.77374 (std 0.87963), the kurtosis 2.3655
and P(|u| <= 1) = 0.71523, so with n samples
    standard error of the sample std / std  ~ sqrt((2.3655 - 1) / (4 n)) = 0.22 % (n = 73,728)
    standard error of a fraction p          ~ sqrt(p (1 - p) / n)        = 0.17 %
The tolerances, 1.5 % and 0.01, are about 7 and 6 standard errors (the
mean's, 2 % of the std, about 5): a
correct initializer does not miss them, and the mistakes they guard against
miss by far more (no 0.8796 correction: std 12 % low; no truncation: samples
beyond the bound, and P(|u| <= 1) = 0.744; fan_out for fan_in: std off by
sqrt(2) or more).
"""
import math

import numpy as np
import pytest

from minicnn import initializers, layers

TRUNCATED_STD = 0.87962566103423978      # std of a unit normal truncated at +-2
P_WITHIN_ONE = math.erf(1 / math.sqrt(2)) / math.erf(2 / math.sqrt(2))   # 0.71523


@pytest.mark.parametrize("shape, fans", [
    ((3, 3, 64, 128), (576, 1152)),      # Conv2D kernel: 9 * 64 in, 9 * 128 out
    ((3, 3, 64, 256), (576, 2304)),      # Conv2DTranspose(64) on 256 channels
    ((2, 5, 3, 4), (30, 40)),            # kh != kw: receptive field 10
    ((4, 6), (4, 6)),
    ((5,), (5, 5)),
    ((), (1, 1)),
])
def test_compute_fans_worked_by_hand(shape, fans):
    assert initializers.compute_fans(shape) == fans


def _kernel(layer, c_in, initializer):
    """The kernel of `layer` built on c_in channels, float64."""
    layer.kernel_initializer = initializer
    layer.build((None, 8, 8, c_in))
    return layer.params["kernel"].ravel()


# (layer, input channels, fan_in, fan_out)
KERNELS = [
    (lambda: layers.Conv2D(128, 3, dtype="float64"), 64, 576, 1152),
    # Conv2DTranspose kernel (3, 3, 64, 256): fan_in is 9 * 64 (its filters),
    # not 9 * 256 (its input channels), as in Keras.
    (lambda: layers.Conv2DTranspose(64, 3, dtype="float64"), 256, 576, 2304),
]
IDS = ["conv2d", "conv2d_transpose"]


@pytest.mark.parametrize("make, c_in, fan_in, fan_out", KERNELS, ids=IDS)
def test_he_normal_is_truncated_with_stddev_sqrt_2_over_fan_in(make, c_in, fan_in, fan_out):
    w = _kernel(make(), c_in, initializers.HeNormal(seed=7))
    target = math.sqrt(2 / fan_in)               # Conv2D: sqrt(2 / 576) = 0.0589
    bound = 2 * target / TRUNCATED_STD           # the truncation, 2 drawing stddevs
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound        # and the tails reach it
    assert abs(w.std() / target - 1) < 0.015
    assert abs(w.mean()) < 0.02 * target         # standard error std / sqrt(n) = 0.37 %
    within = np.mean(np.abs(w) <= target / TRUNCATED_STD)
    assert abs(within - P_WITHIN_ONE) < 0.01


@pytest.mark.parametrize("make, c_in, fan_in, fan_out", KERNELS, ids=IDS)
def test_glorot_uniform_limit_from_both_fans(make, c_in, fan_in, fan_out):
    w = _kernel(make(), c_in, initializers.GlorotUniform(seed=7))
    limit = math.sqrt(6 / (fan_in + fan_out))    # Conv2D: sqrt(6 / 1728) = 0.0589
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.999 * limit
    assert abs(w.std() / (limit / math.sqrt(3)) - 1) < 0.015   # U(-L, L): std L / sqrt(3)
    assert abs(np.mean(np.abs(w) <= limit / 2) - 0.5) < 0.01   # flat: half within L / 2


def test_default_kernel_initializer_is_glorot_uniform():
    """Keras's Conv2D and Conv2DTranspose default to glorot_uniform kernels
    and zero biases."""
    for cls in (layers.Conv2D, layers.Conv2DTranspose):
        layer = cls(4, 3)
        assert layer.kernel_initializer == "glorot_uniform"
        assert layer.bias_initializer == "zeros"


def test_same_seed_same_weights_other_seed_other_weights():
    a = initializers.HeNormal(seed=3)((3, 3, 2, 4))
    assert np.array_equal(a, initializers.HeNormal(seed=3)((3, 3, 2, 4)))
    assert not np.array_equal(a, initializers.HeNormal(seed=4)((3, 3, 2, 4)))
