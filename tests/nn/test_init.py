"""Tests of the weight initialisers."""

import math

import numpy as np
import pytest

from sknumpynet.nn import Linear, init

# name -> (uniform?, bound or std as a function of fan_in, fan_out)
SPECS = {
    "glorot_uniform": (True, lambda fi, fo: math.sqrt(6 / (fi + fo))),
    "glorot_normal": (False, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    "he_uniform": (True, lambda fi, fo: math.sqrt(6 / fi)),
    "he_normal": (False, lambda fi, fo: math.sqrt(2 / fi)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", SPECS)
def test_initialiser_distribution(name, dtype):
    fan_in, fan_out = 300, 500
    w = getattr(init, name)((fan_in, fan_out), np.random.default_rng(0), dtype)
    assert w.shape == (fan_in, fan_out) and w.dtype == dtype
    uniform, spread = SPECS[name]
    scale = spread(fan_in, fan_out)
    # 150 000 draws: the sample std is within ~0.5 % of its expectation
    if uniform:
        assert np.abs(w).max() <= scale
        assert np.abs(w).max() > 0.99 * scale
        expected_std = scale / math.sqrt(3)
    else:
        expected_std = scale
    assert abs(w.std() / expected_std - 1) < 0.01
    assert abs(w.mean()) < 0.01 * expected_std * 3


@pytest.mark.parametrize("name", SPECS)
def test_initialiser_is_reproducible_from_the_generator(name):
    f = init.get_initializer(name)
    a = f((4, 3), np.random.default_rng(5))
    b = f((4, 3), np.random.default_rng(5))
    c = f((4, 3), np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.dtype == np.float32  # the default


def test_linear_uses_the_named_initialiser():
    layer = Linear(6, 4, rng=np.random.default_rng(1), init="glorot_normal", dtype=np.float64)
    expected = init.glorot_normal((6, 4), np.random.default_rng(1), np.float64)
    np.testing.assert_array_equal(layer.weight.value, expected)
    default = Linear(6, 4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(default.weight.value,
                                  init.he_uniform((6, 4), np.random.default_rng(1)))


def test_get_initializer_accepts_callables_and_rejects_unknown_names():
    def zeros(shape, rng, dtype):
        return np.zeros(shape, dtype=dtype)

    assert init.get_initializer(zeros) is zeros
    assert not Linear(3, 2, init=zeros).weight.value.any()
    for name in SPECS:
        assert init.get_initializer(name) is getattr(init, name)
    with pytest.raises(ValueError, match="Unknown initialiser 'xavier'"):
        init.get_initializer("xavier")


@pytest.mark.parametrize("name", SPECS)
def test_initialiser_rejects_bad_arguments(name):
    f = getattr(init, name)
    with pytest.raises(ValueError, match="2-D shape"):
        f((3,), np.random.default_rng(0))
    with pytest.raises(ValueError, match="2-D shape"):
        f((0, 3), np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        f((3, 3), 0)
    with pytest.raises(TypeError, match="Generator"):
        f((3, 3), np.random.RandomState(0))
