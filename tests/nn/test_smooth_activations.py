"""Tests of SELU, SiLU, Mish and GELU (the RealMLP recipe's activations)."""

import math

import numpy as np
import pytest

from sknumpynet.nn import GELU, SELU, Mish, SiLU, check_module_gradients

ACTIVATIONS = {"selu": SELU, "silu": SiLU, "mish": Mish, "gelu": GELU}
ALPHA, SCALE = 1.6732632423543772, 1.0507009873554805


def softplus(v):
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


REFERENCE = {  # element by element in plain Python floats
    "selu": lambda v: SCALE * v if v > 0 else SCALE * ALPHA * math.expm1(v),
    "silu": lambda v: v / (1.0 + math.exp(-v)),
    "mish": lambda v: v * math.tanh(softplus(v)),
    "gelu": lambda v: 0.5 * v * math.erfc(-v / math.sqrt(2.0)),
}


def away_from_zero(x):
    return np.where(np.abs(x) < 1e-2, 0.5, x)  # SELU's kink


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("shape", [(1, 1), (4, 3), (6, 7)])
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_gradients(name, inplace, shape, seed):
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng.standard_normal(shape) * 3)
    assert check_module_gradients(ACTIVATIONS[name](inplace=inplace), x, rng) < 1e-6


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_forward_matches_reference(name):
    x = np.random.default_rng(0).standard_normal((5, 4)) * 4
    out = ACTIVATIONS[name]()(x.copy())
    expected = [[REFERENCE[name](v) for v in row] for row in x.tolist()]
    np.testing.assert_allclose(out, expected, rtol=1e-13, atol=1e-15)
    assert out.shape == x.shape and out.dtype == x.dtype


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_inplace_gives_the_same_results(name):
    rng = np.random.default_rng(1)
    x = away_from_zero(rng.standard_normal((6, 4)) * 2)
    g = rng.standard_normal((6, 4))
    plain, inplace = ACTIVATIONS[name](), ACTIVATIONS[name](inplace=True)
    x_plain = x.copy()
    out = plain(x_plain)
    dx = plain.backward(g.copy())
    np.testing.assert_array_equal(x_plain, x)  # the plain version leaves its input alone
    x_inplace, g_inplace = x.copy(), g.copy()
    out_inplace = inplace(x_inplace)
    dx_inplace = inplace.backward(g_inplace)
    np.testing.assert_array_equal(out_inplace, out)
    np.testing.assert_array_equal(dx_inplace, dx)
    assert np.shares_memory(dx_inplace, g_inplace)  # backward reuses the upstream gradient
    if name == "selu":  # backward from the output: the input's memory is reused
        assert np.shares_memory(out_inplace, x_inplace)
    else:  # the input is kept for backward and left alone
        np.testing.assert_array_equal(x_inplace, x)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_finite_for_huge_inputs_and_keep_the_dtype(name, dtype):
    x = np.array([[1e4, -1e4, 0.0, 80.0, -80.0, 700.0, -700.0]]).astype(dtype)
    layer = ACTIVATIONS[name]()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        y = layer(x.copy())
        dx = layer.backward(np.full_like(x, 0.5))
    assert y.dtype == dx.dtype == dtype
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    big = [SCALE * 1e4] if name == "selu" else [1e4]
    np.testing.assert_allclose(y[0, :1], big, rtol=1e-6)
    limit = -SCALE * ALPHA if name == "selu" else 0.0
    np.testing.assert_allclose(y[0, 1], limit, atol=1e-6)
    slope = SCALE if name == "selu" else 1.0
    np.testing.assert_allclose(dx[0, 0], 0.5 * slope, rtol=1e-6)


def test_backward_before_forward_raises():
    for cls in ACTIVATIONS.values():
        with pytest.raises(RuntimeError, match="before forward"):
            cls().backward(np.ones((1, 1)))


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    functional = {
        "selu": torch.nn.functional.selu,
        "silu": torch.nn.functional.silu,
        "mish": torch.nn.functional.mish,
        "gelu": torch.nn.functional.gelu,
    }[name]
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal((8, 5)) * 3, np.linspace(-30, 30, 40).reshape(8, 5)])
    g = rng.standard_normal(x.shape)
    layer = ACTIVATIONS[name]()
    out = layer(x.copy())
    dx = layer.backward(g.copy())
    xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    yt = functional(xt)
    yt.backward(torch.tensor(g))
    # PyTorch's GELU computes 1 + erf(x / sqrt 2), which cancels for x << 0: absolute tolerance
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-14)
