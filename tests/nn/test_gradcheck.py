"""Tests of the finite-difference checker itself: it passes correct modules and
fails broken ones, and property tests of the modules it checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from sknumpynet.nn import (
    GradientCheckError,
    LeakyReLU,
    Linear,
    Module,
    MSELoss,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    check_loss_gradients,
    check_module_gradients,
)
from sknumpynet.nn.gradcheck import relative_error


def linear64(n_in, n_out, seed=0):
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, rng=rng, dtype=np.float64)
    layer.bias.value[...] = rng.standard_normal(n_out)
    return layer


# ----------------------------------------------------- deliberately broken modules


class TransposedInputGradLinear(Linear):
    """Returns g @ W instead of g @ W.T (only shape-compatible for square layers)."""

    def backward(self, grad_output):
        super().backward(grad_output)
        return grad_output @ self.weight.value


class HalfWeightGradLinear(Linear):
    """Drops a factor 2 from dW."""

    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.weight.grad *= 0.5
        return dx


class MeanBiasGradLinear(Linear):
    """Averages the bias gradient over the batch instead of summing it."""

    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.bias.grad[...] = grad_output.mean(axis=0)
        return dx


class SlightlyOffLinear(Linear):
    """dW off by one part in 10 000: small, but far above finite-difference noise."""

    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.weight.grad *= 1 + 1e-4
        return dx


class NoSumSoftmax(Softmax):
    """Forgets the -sum(g * p) term of the softmax backward."""

    def backward(self, grad_output):
        return self._output() * grad_output


class ReversedRowsLinear(Linear):
    """Pairs the cached inputs with the upstream rows in reverse order in dW."""

    def backward(self, grad_output):
        dx = super().backward(grad_output)
        self.weight.grad[...] = self._x.T @ grad_output[::-1]
        return dx


class ZeroSoftmax(Softmax):
    """Returns a zero input gradient: right only when the upstream gradient is constant."""

    def backward(self, grad_output):
        return np.zeros_like(grad_output)


class UnaveragedSoftmaxCrossEntropy(SoftmaxCrossEntropy):
    """Returns the gradient of the summed loss instead of the mean."""

    def backward(self):
        grad = super().backward()
        return grad * grad.shape[0]


class HalfMSELoss(MSELoss):
    """Drops the factor 2 of the squared error's derivative."""

    def backward(self):
        return super().backward() / 2


@pytest.mark.parametrize(
    "module, match",
    [
        (TransposedInputGradLinear(4, 4, dtype=np.float64), "input"),
        (HalfWeightGradLinear(4, 3, dtype=np.float64), "parameter 0"),
        (MeanBiasGradLinear(4, 3, dtype=np.float64), "parameter 1"),
        (SlightlyOffLinear(4, 3, dtype=np.float64), "parameter 0"),
        (NoSumSoftmax(), "input"),
        (ZeroSoftmax(), "input"),
        (ReversedRowsLinear(4, 3, dtype=np.float64), "parameter 0"),
        (Sequential(Linear(4, 5), HalfWeightGradLinear(5, 4)), "parameter 2"),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Module) else v,
)
def test_gradcheck_raises_for_broken_modules(module, match):
    rng = np.random.default_rng(0)
    for p in module.parameters():
        p.value[...] = rng.standard_normal(p.shape)
    x = rng.standard_normal((5, 4))
    with pytest.raises(GradientCheckError, match=match):
        check_module_gradients(module, x)
    err = check_module_gradients(module, x, raise_error=False)
    assert err > 1e-6


def test_all_ones_upstream_gradient_hides_what_a_random_one_finds():
    # with G = ones every upstream row is the same, so pairing rows in the wrong
    # order goes unnoticed; the default random G exposes it
    layer = ReversedRowsLinear(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert check_module_gradients(layer, x, grad_output=np.ones((4, 2))) < 1e-6
    with pytest.raises(GradientCheckError, match="parameter 0"):
        check_module_gradients(layer, x)


@pytest.mark.parametrize(
    "loss, target",
    [(UnaveragedSoftmaxCrossEntropy(), np.array([0, 2, 1, 1])),
     (HalfMSELoss(), np.arange(12.0).reshape(4, 3) / 6)],
    ids=["unaveraged_softmax_ce", "half_mse"],
)
def test_gradcheck_raises_for_broken_losses(loss, target):
    scores = np.random.default_rng(0).standard_normal((4, 3))
    with pytest.raises(GradientCheckError, match="relative error"):
        check_loss_gradients(loss, scores, target)
    assert check_loss_gradients(loss, scores, target, raise_error=False) > 1e-3


def test_gradcheck_leaves_the_module_untouched():
    layer = Linear(3, 2, rng=np.random.default_rng(0))  # float32
    x = np.random.default_rng(1).standard_normal((4, 3)).astype(np.float32)
    layer(x)
    layer.backward(np.ones((4, 2), dtype=np.float32))
    weight, grad = layer.weight.value.copy(), layer.weight.grad.copy()
    check_module_gradients(layer, x)
    assert layer.weight.value.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, weight)
    np.testing.assert_array_equal(layer.weight.grad, grad)
    assert layer.dtype == np.float32
    # its cache still belongs to the last real forward
    layer.backward(np.ones((4, 2), dtype=np.float32))
    np.testing.assert_array_equal(layer.weight.grad, grad)


class ScaleByParameter(Module):
    """y = x * s, with ``s`` listed only in ``_params`` (not as an attribute)."""

    def __init__(self, n, dtype=np.float32):
        super().__init__()
        rng = np.random.default_rng(0)
        self._params = [Parameter(rng.uniform(0.5, 2.0, n).astype(dtype))]

    def forward(self, x):
        self._x = x
        return x * self._params[0].value

    def backward(self, grad_output):
        (s,) = self._params
        s.grad[...] = np.sum(grad_output * self._x, axis=0)
        return grad_output * s.value


def test_gradcheck_casts_parameters_listed_only_in_params_to_float64():
    # a float32 parameter left uncast makes central differences useless
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert check_module_gradients(ScaleByParameter(3), x) < 1e-6


def test_correct_gradients_with_tiny_upstream_entries_pass():
    # the rounding error of a central difference is absolute, so a correct
    # gradient entry that is tiny (here 0.01 * 1e-4) must not fail the check
    x = np.where(np.random.default_rng(0).random((5, 4)) < 0.5, -4.0, 4.0)
    g = np.random.default_rng(1).standard_normal((5, 4))
    g[0, 0] = 1e-4
    x[0, 0] = -4.0
    assert check_module_gradients(LeakyReLU(), x, grad_output=g) < 1e-6
    # a batch of 32 with confident logits has many tiny softmax entries
    rng = np.random.default_rng(2)
    scores = rng.standard_normal((32, 5)) * 3
    assert check_loss_gradients(SoftmaxCrossEntropy(), scores, rng.integers(0, 5, 32)) < 1e-6


def test_gradcheck_argument_validation():
    with pytest.raises(TypeError, match="Module"):
        check_module_gradients(lambda x: x, np.ones((2, 2)))
    with pytest.raises(ValueError, match="NaN"):
        check_module_gradients(ReLU(), np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="grad_output shape"):
        check_module_gradients(ReLU(), np.ones((2, 2)), grad_output=np.ones((2, 3)))


def test_gradcheck_is_deterministic_and_uses_the_given_rng():
    layer = linear64(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3))
    assert check_module_gradients(layer, x) == check_module_gradients(layer, x)
    a = check_module_gradients(layer, x, np.random.default_rng(5))
    assert a == check_module_gradients(layer, x, np.random.default_rng(5))


def test_relative_error():
    assert relative_error(np.array([1.0, -2.0]), np.array([1.0, -2.0])) == 0.0
    # max |a - n| over (max |a| + max |n|)
    assert relative_error(np.array([1.0, 3.0]), np.array([1.5, 3.0])) == pytest.approx(0.5 / 6)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(0), np.zeros(0)) == 0.0
    assert relative_error(np.array([2.0]), np.array([-2.0])) == pytest.approx(1.0)


# ---------------------------------------------------------------- property tests

ACTIVATIONS = [ReLU, LeakyReLU, Sigmoid, Tanh, Softmax]
small_shapes = array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)


def away_from_zero(x):
    """Push entries out of (-1e-2, 1e-2): the ReLU kink."""
    return np.where(np.abs(x) < 1e-2, np.where(x < 0, -1e-2, 1e-2), x)


@settings(max_examples=25, deadline=None)
@given(
    x=arrays(np.float64, small_shapes,
             elements=st.floats(allow_nan=False, allow_infinity=False)),
    activation=st.sampled_from(ACTIVATIONS),
    inplace=st.booleans(),
)
def test_activation_forward_is_finite_for_any_finite_input(x, activation, inplace):
    layer = activation(inplace=inplace)
    out = layer(x.copy())
    assert out.shape == x.shape
    assert np.isfinite(out).all()
    g = np.random.default_rng(0).standard_normal(x.shape)
    assert np.isfinite(layer.backward(g)).all()


@settings(max_examples=25, deadline=None)
@given(
    x=arrays(np.float64, small_shapes, elements=st.floats(-3, 3)),
    activation=st.sampled_from(ACTIVATIONS),
    inplace=st.booleans(),
)
def test_activation_gradients_property(x, activation, inplace):
    # inputs within +-3: central differences in float64 cannot resolve the
    # ~1e-13 derivatives of a saturated sigmoid or tanh to a relative 1e-6
    x = away_from_zero(x)
    assert check_module_gradients(activation(inplace=inplace), x) < 1e-6


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
    bias=st.booleans(), seed=st.integers(0, 2**32 - 1),
    x_scale=st.floats(1e-6, 1e6),
)
def test_linear_forward_is_finite_property(n, n_in, n_out, bias, seed, x_scale):
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, bias=bias, rng=rng, dtype=np.float64)
    x = rng.standard_normal((n, n_in)) * x_scale
    out = layer(x)
    assert out.shape == (n, n_out) and out.dtype == np.float64
    assert np.isfinite(out).all()
    layer32 = Linear(n_in, n_out, bias=bias, rng=rng)
    out32 = layer32(x)
    assert out32.dtype == np.float32 and np.isfinite(out32).all()


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5), n_in=st.integers(1, 5), n_out=st.integers(1, 5),
    bias=st.booleans(), seed=st.integers(0, 2**32 - 1),
    x_scale=st.floats(0.1, 10),
)
def test_linear_gradients_property(n, n_in, n_out, bias, seed, x_scale):
    # inputs within a factor 10 of the weights' scale: when x @ W is tiny next to
    # the bias, rounding of the output swamps the difference quotient for W
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, bias=bias, rng=rng, dtype=np.float64)
    if bias:
        layer.bias.value[...] = rng.standard_normal(n_out)
    x = rng.standard_normal((n, n_in)) * x_scale
    assert check_module_gradients(layer, x, rng) < 1e-6
