"""Tests of ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, softmax and log_softmax."""

import math
import warnings

import numpy as np
import pytest
from scipy.special import expit

from sknumpynet import nn
from sknumpynet.nn import (
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    check_module_gradients,
    log_softmax,
    softmax,
)

ACTIVATIONS = {
    "relu": lambda inplace: ReLU(inplace=inplace),
    "leaky_relu": lambda inplace: LeakyReLU(0.01, inplace=inplace),
    "leaky_relu_0.3": lambda inplace: LeakyReLU(0.3, inplace=inplace),
    "sigmoid": lambda inplace: Sigmoid(inplace=inplace),
    "tanh": lambda inplace: Tanh(inplace=inplace),
    "softmax": lambda inplace: Softmax(inplace=inplace),
}


def reference(name, x):
    """Each activation written out element by element in plain Python floats."""
    flat = x.tolist()
    if name == "softmax":
        rows = []
        for row in flat:
            e = [math.exp(v) for v in row]
            rows.append([v / sum(e) for v in e])
        return np.array(rows)
    f = {
        "relu": lambda v: v if v > 0 else 0.0,
        "leaky_relu": lambda v: v if v > 0 else 0.01 * v,
        "leaky_relu_0.3": lambda v: v if v > 0 else 0.3 * v,
        "sigmoid": lambda v: 1.0 / (1.0 + math.exp(-v)),
        "tanh": math.tanh,
    }[name]
    return np.array([[f(v) for v in row] for row in flat])


def away_from_kinks(x):
    """Move entries within 1e-2 of 0 (the ReLU kink) to 0.5."""
    return np.where(np.abs(x) < 1e-2, 0.5, x)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [(1, 1), (1, 5), (4, 3), (6, 7)])
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gradients(name, inplace, shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_kinks(rng.standard_normal(shape) * 2)
    assert check_module_gradients(ACTIVATIONS[name](inplace), x, rng) < 1e-6


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_forward_matches_reference(name):
    x = np.random.default_rng(0).standard_normal((5, 4)) * 3
    out = ACTIVATIONS[name](False)(x.copy())
    np.testing.assert_allclose(out, reference(name, x), rtol=1e-12, atol=1e-15)
    assert out.shape == x.shape and out.dtype == x.dtype


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_inplace_gives_the_same_results(name):
    rng = np.random.default_rng(1)
    x = away_from_kinks(rng.standard_normal((6, 4)))
    g = rng.standard_normal((6, 4))
    plain, inplace = ACTIVATIONS[name](False), ACTIVATIONS[name](True)
    x_plain = x.copy()
    out = plain(x_plain)
    dx = plain.backward(g.copy())
    np.testing.assert_array_equal(x_plain, x)  # the plain version leaves its input alone
    x_inplace = x.copy()
    out_inplace = inplace(x_inplace)
    np.testing.assert_allclose(out_inplace, out, rtol=1e-15)
    np.testing.assert_allclose(inplace.backward(g.copy()), dx, rtol=1e-15)
    if name != "softmax":  # element-wise activations reuse the input's memory
        assert np.shares_memory(out_inplace, x_inplace)


def test_relu_and_leaky_relu_backward_hand_computed():
    x = np.array([[-2.0, 3.0], [0.5, -0.25]])
    g = np.array([[1.5, -2.0], [4.0, 8.0]])
    relu = ReLU()
    relu(x)
    np.testing.assert_array_equal(relu.backward(g), [[0.0, -2.0], [4.0, 0.0]])
    leaky = LeakyReLU(0.1)
    np.testing.assert_allclose(leaky(x), [[-0.2, 3.0], [0.5, -0.025]])
    np.testing.assert_allclose(leaky.backward(g), [[0.15, -2.0], [4.0, 0.8]])


def test_softmax_backward_matches_its_jacobian():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5))
    g = rng.standard_normal((4, 5))
    layer = Softmax()
    p = layer(x)
    dx = layer.backward(g)
    for i in range(4):
        jac = np.diag(p[i]) - np.outer(p[i], p[i])  # d p_j / d x_k
        np.testing.assert_allclose(dx[i], jac.T @ g[i], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("negative_slope", [-0.1, 1.0, 2, float("nan"), "0.1"])
def test_leaky_relu_rejects_bad_slope(negative_slope):
    with pytest.raises(ValueError, match="negative_slope"):
        LeakyReLU(negative_slope)


# ------------------------------------------------------------- extreme inputs

BIG = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, 1e4], [1e4, 1e4, -1e4], [-1e4, 0.0, -3e3]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_is_finite_and_normalised_for_huge_logits(dtype):
    z = BIG.astype(dtype)
    p = softmax(z)
    assert p.dtype == dtype
    assert np.isfinite(p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(p, [[1, 0, 0], [0, 0, 1], [0.5, 0.5, 0], [0, 1, 0]], atol=1e-6)
    layer = Softmax()
    out = layer(z)
    np.testing.assert_array_equal(out, p)
    dx = layer.backward(np.random.default_rng(0).standard_normal(z.shape).astype(dtype))
    assert np.isfinite(dx).all()


def test_log_softmax_is_finite_for_huge_logits():
    log_p = log_softmax(BIG)
    assert np.isfinite(log_p).all()
    # exact values: the shift is the row max, and the other terms underflow
    np.testing.assert_allclose(log_p[0], [0.0, -2e4, -1e4])
    np.testing.assert_allclose(log_p[2], [-math.log(2), -math.log(2), -2e4 - math.log(2)])
    np.testing.assert_allclose(np.exp(log_p), softmax(BIG), atol=1e-15)


@pytest.mark.parametrize("n_classes", [1, 4, 16, 17, 40])  # both sides of the short-row path
@pytest.mark.parametrize("axis", [-1, 1])
def test_log_softmax_matches_reference_for_moderate_logits(n_classes, axis):
    z = np.random.default_rng(0).standard_normal((5, n_classes)) * 5
    expected = [[v - math.log(sum(math.exp(u) for u in row)) for v in row] for row in z.tolist()]
    np.testing.assert_allclose(log_softmax(z, axis=axis), expected, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(softmax(z, axis=axis), np.exp(expected), rtol=1e-12)


def test_softmax_over_the_first_axis_normalises_columns():
    z = np.random.default_rng(1).standard_normal((6, 3))
    np.testing.assert_allclose(softmax(z, axis=0), softmax(z.T, axis=1).T, rtol=1e-14)
    np.testing.assert_allclose(log_softmax(z, axis=0), log_softmax(z.T).T, rtol=1e-14)


@pytest.mark.parametrize("n_classes", [3, 10, 16, 17, 40])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_of_a_row_does_not_depend_on_the_other_rows(n_classes, dtype):
    # chunked prediction must equal one big batch bit for bit
    z = (np.random.default_rng(2).standard_normal((300, n_classes)) * 4).astype(dtype)
    whole, log_whole = softmax(z), log_softmax(z)
    for lo, hi in [(0, 1), (7, 8), (5, 133), (250, 300)]:
        np.testing.assert_array_equal(softmax(z[lo:hi]), whole[lo:hi])
        np.testing.assert_array_equal(log_softmax(z[lo:hi]), log_whole[lo:hi])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_are_finite_for_huge_inputs(dtype):
    x = np.array([[1e4, -1e4, 0.0, 800.0, -800.0]], dtype=dtype)
    with np.errstate(all="raise"):  # no overflow warnings either
        y = Sigmoid()(x.copy())
    assert y.dtype == dtype and np.isfinite(y).all()
    np.testing.assert_allclose(y, [[1.0, 0.0, 0.5, 1.0, 0.0]], atol=1e-7)
    layer = Sigmoid()
    layer(x.copy())
    assert np.isfinite(layer.backward(np.ones_like(x))).all()
    t = Tanh()(x.copy())
    np.testing.assert_allclose(t, [[1.0, -1.0, 0.0, 1.0, -1.0]], atol=1e-7)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_keep_the_dtype(name):
    for dtype in (np.float32, np.float64):
        x = np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
        layer = ACTIVATIONS[name](False)
        out = layer(x)
        dx = layer.backward(np.ones_like(out) * 0.5 + x)
        assert out.dtype == dtype and dx.dtype == dtype


# -- finite for extreme inputs (moved from test_reliability.py) ----------------------


F32_MAX = float(np.finfo(np.float32).max)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_log_softmax_sigmoid_finite_for_extreme_inputs(dtype):
    big = float(np.finfo(dtype).max)
    z = np.array(
        [
            [-1e30, 1e30, 0.0],
            [1e30, 1e30, 1e30],
            [-1e30, -1e30, -1e30],
            [-F32_MAX, F32_MAX, 1.0],
            [F32_MAX, F32_MAX, -F32_MAX],
            [-big, big, 0.0],
            [-big, -big, -big],
            [0.0, 1e-30, -1e-30],
        ],
        dtype=dtype,
    )
    with np.errstate(all="ignore"):  # finiteness is the point, not warnings
        p = nn.softmax(z)
        log_p = nn.log_softmax(z)
        sig = nn.Sigmoid().forward(z.copy())
        sig_inplace = nn.Sigmoid(inplace=True).forward(z.copy())
        soft = nn.Softmax().forward(z.copy())
    assert p.dtype == dtype and log_p.dtype == dtype
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(soft, p)
    assert np.isfinite(log_p).all(), f"log_softmax not finite:\n{log_p}"
    assert (log_p <= 0).all()
    np.testing.assert_allclose(np.exp(log_p), p, atol=1e-7)
    assert np.isfinite(sig).all() and ((sig >= 0) & (sig <= 1)).all()
    np.testing.assert_array_equal(sig, sig_inplace)
    np.testing.assert_array_equal(sig, expit(z))


def test_softmax_of_infinite_scores_is_their_limit():
    from sknumpynet import nn

    z = np.array(
        [[np.inf, 1.0, np.inf], [-np.inf] * 3, [1.0, 2.0, 3.0], [np.inf, -np.inf, 0.0]],
        dtype=np.float32,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p, log_p = nn.softmax(z), nn.log_softmax(z)
    np.testing.assert_allclose(p[0], [0.5, 0, 0.5])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    np.testing.assert_allclose(p[3], [1, 0, 0])
    np.testing.assert_allclose(p[2], nn.softmax(z[2:3])[0])
    assert np.isfinite(log_p).all() and p.dtype == log_p.dtype == np.float32
    np.testing.assert_allclose(log_p[0, [0, 2]], np.log(0.5), rtol=1e-6)
