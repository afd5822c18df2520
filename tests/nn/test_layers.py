"""Tests of Linear, Dropout, BatchNorm1d and Identity."""

import numpy as np
import pytest
import scipy.sparse as sp

from sknumpynet.nn import (
    BatchNorm1d,
    Dropout,
    Identity,
    Linear,
    Module,
    Sequential,
    check_module_gradients,
)

from .reference import central_difference

SHAPES = [(1, 1, 1), (2, 3, 4), (5, 4, 3), (7, 6, 2), (6, 5, 1)]  # (n_samples, in, out)


def linear64(n_in, n_out, bias=True, seed=0):
    rng = np.random.default_rng(seed)
    layer = Linear(n_in, n_out, bias=bias, rng=rng, dtype=np.float64)
    if bias:
        layer.bias.value[...] = rng.standard_normal(n_out)  # zeros would hide bias errors
    return layer


# ------------------------------------------------------------------------ Linear


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradients(shape, bias, seed):
    n, n_in, n_out = shape
    rng = np.random.default_rng(seed)
    layer = linear64(n_in, n_out, bias, seed)
    x = rng.standard_normal((n, n_in))
    err = check_module_gradients(layer, x, np.random.default_rng(seed + 10))
    assert err < 1e-6
    assert len(layer.parameters()) == (2 if bias else 1)


def test_linear_gradients_of_float32_layer():
    # the checker casts a copy to float64; the original stays float32
    layer = Linear(4, 3, rng=np.random.default_rng(0))
    layer.bias.value[...] = [0.5, -1.0, 2.0]
    x = np.random.default_rng(1).standard_normal((5, 4))
    check_module_gradients(layer, x)
    assert layer.weight.value.dtype == np.float32


def test_linear_gradients_against_independent_central_differences():
    rng = np.random.default_rng(42)
    layer = linear64(4, 3, seed=42)
    x = rng.standard_normal((5, 4))
    upstream = rng.standard_normal((5, 3))  # random, not ones: catches transpositions

    def objective():
        return float(np.sum(layer.forward(x) * upstream))

    layer.forward(x)
    dx = layer.backward(upstream)
    dw, db = layer.weight.grad.copy(), layer.bias.grad.copy()

    num_dx = central_difference(objective, x)
    num_dw = central_difference(objective, layer.weight.value)
    num_db = central_difference(objective, layer.bias.value)
    np.testing.assert_allclose(dx, num_dx, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(dw, num_dw, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(db, num_db, rtol=1e-7, atol=1e-9)
    assert dw.shape == (4, 3) and db.shape == (3,) and dx.shape == (5, 4)


def test_linear_fixed_values():
    layer = Linear(3, 4, dtype=np.float64)
    layer.weight.value = np.linspace(-1, 1, 12).reshape(3, 4)
    layer.bias.value = np.linspace(-1, 1, 4)
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    expected = [
        [0.07272727, 0.41212121, 0.75151515, 1.09090909],
        [-0.90909091, 0.08484848, 1.07878788, 2.07272727],
    ]
    out = layer(x)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-8)


def test_linear_fixed_values_float32():
    layer = Linear(3, 4)  # float32 by default
    layer.weight.value = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    layer.bias.value = np.linspace(-1, 1, 4, dtype=np.float32)
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    expected = [
        [0.07272727, 0.41212121, 0.75151515, 1.09090909],
        [-0.90909091, 0.08484848, 1.07878788, 2.07272727],
    ]
    out = layer(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-6)


def test_linear_shapes_dtype_and_seeded_init():
    layer = Linear(5, 3, rng=np.random.default_rng(7))
    assert layer.weight.shape == (5, 3) and layer.bias.shape == (3,)
    assert layer.weight.value.dtype == np.float32
    assert not layer.bias.value.any()
    twin = Linear(5, 3, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(layer.weight.value, twin.weight.value)
    other = Linear(5, 3, rng=np.random.default_rng(8))
    assert not np.array_equal(layer.weight.value, other.weight.value)
    assert Linear(5, 3, bias=False).bias is None


def test_linear_backward_writes_not_adds():
    layer = linear64(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3))
    g = np.random.default_rng(1).standard_normal((4, 2))
    layer(x)
    layer.backward(g)
    first = [p.grad.copy() for p in layer.parameters()]
    layer(x)
    layer.backward(g)
    for p, f in zip(layer.parameters(), first):
        np.testing.assert_array_equal(p.grad, f)


def test_linear_needs_input_grad_false_skips_input_gradient():
    layer = linear64(3, 2)
    x = np.random.default_rng(0).standard_normal((4, 3))
    g = np.random.default_rng(1).standard_normal((4, 2))
    layer(x)
    assert layer.backward(g).shape == (4, 3)
    dw = layer.weight.grad.copy()
    layer.needs_input_grad = False
    layer(x)
    assert layer.backward(g) is None
    np.testing.assert_allclose(layer.weight.grad, dw)


def test_linear_sparse_input_matches_dense():
    rng = np.random.default_rng(0)
    dense = rng.standard_normal((6, 5)) * (rng.random((6, 5)) < 0.4)
    layer = linear64(5, 3)
    g = rng.standard_normal((6, 3))
    out_dense = layer(dense)
    layer.backward(g)
    dw_dense, db_dense = layer.weight.grad.copy(), layer.bias.grad.copy()
    out_sparse = layer(sp.csr_matrix(dense))
    assert isinstance(out_sparse, np.ndarray)
    np.testing.assert_allclose(out_sparse, out_dense, rtol=1e-12)
    assert layer.backward(g) is None  # no input gradient for sparse input
    np.testing.assert_allclose(layer.weight.grad, dw_dense, rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, db_dense, rtol=1e-12)


@pytest.mark.parametrize("n_out", [1, 3])
def test_linear_rows_do_not_depend_on_the_batch_they_come_in(n_out):
    # for a single output every row is computed the same way whatever the batch
    rng = np.random.default_rng(0)
    layer = Linear(37, n_out, rng=rng).eval()
    x = rng.standard_normal((1000, 37)).astype(np.float32)
    full = layer(x)
    chunks = np.vstack([layer(x[i : i + 64]) for i in range(0, 1000, 64)])
    if n_out == 1:
        np.testing.assert_array_equal(chunks, full)
    else:
        np.testing.assert_allclose(chunks, full, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(full, x.astype(np.float64) @ layer.weight.value, rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize(
    "x, match",
    [
        (np.ones(3), r"2-D array of shape \(n_samples, 3\)"),
        (np.ones((2, 3, 1)), r"2-D array of shape \(n_samples, 3\)"),
        (np.ones((2, 4)), "expects 3 features per sample, got 4"),
        (np.ones((2, 2)), "expects 3 features per sample, got 2"),
        ([[1.0, 2.0, 3.0]], "2-D array"),
    ],
)
def test_linear_rejects_bad_input_shape(x, match):
    with pytest.raises(ValueError, match=match):
        Linear(3, 2)(x)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, None])
def test_linear_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="in_features"):
        Linear(bad, 2)
    with pytest.raises(ValueError, match="out_features"):
        Linear(2, bad)


# ----------------------------------------------------------------------- Dropout


def test_dropout_mask_is_reproducible_from_a_seeded_generator():
    x = np.random.default_rng(0).standard_normal((50, 40))
    a = Dropout(0.4, rng=np.random.default_rng(3))
    b = Dropout(0.4, rng=np.random.default_rng(3))
    out_a, out_b = a(x), b(x)
    np.testing.assert_array_equal(out_a, out_b)
    # the next batch draws a new mask
    assert not np.array_equal(a(x), out_a)
    c = Dropout(0.4, rng=np.random.default_rng(4))
    assert not np.array_equal(c(x), out_a)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_scales_kept_units_and_backward_uses_the_same_mask(p):
    x = np.random.default_rng(1).uniform(1.0, 2.0, (30, 20))  # no zeros in x
    layer = Dropout(p, rng=np.random.default_rng(2))
    out = layer(x)
    kept = out != 0
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-14)
    g = np.random.default_rng(3).standard_normal(x.shape)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx[kept], g[kept] / (1 - p), rtol=1e-14)
    assert not dx[~kept].any()


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_drops_a_fraction_near_p(p):
    x = np.ones((1000, 1000), dtype=np.float32)
    out = Dropout(p, rng=np.random.default_rng(0))(x)
    assert out.dtype == np.float32
    dropped = np.mean(out == 0)
    assert abs(dropped - p) < 0.005  # std of the fraction is < 5e-4
    assert abs(out.mean() - 1.0) < 0.02  # inverted dropout keeps the expectation


def test_dropout_is_the_identity_in_eval_mode_and_for_p_zero():
    x = np.random.default_rng(0).standard_normal((8, 5))
    layer = Dropout(0.5, rng=np.random.default_rng(0)).eval()
    out = layer(x)
    assert out is x or np.array_equal(out, x)
    g = np.random.default_rng(1).standard_normal((8, 5))
    np.testing.assert_array_equal(layer.backward(g), g)
    out = Dropout(0.0)(x)
    assert out is x or np.array_equal(out, x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), "0.5", None])
def test_dropout_rejects_p_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        Dropout(p)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("training", [True, False])
def test_dropout_gradients(training, seed):
    layer = Dropout(0.3, rng=np.random.default_rng(seed))
    layer.train(training)
    x = np.random.default_rng(seed + 5).standard_normal((6, 4))
    assert check_module_gradients(layer, x, np.random.default_rng(seed)) < 1e-6


# ------------------------------------------------------------------- BatchNorm1d


def random_batchnorm(n_features, seed):
    rng = np.random.default_rng(seed)
    bn = BatchNorm1d(n_features, dtype=np.float64)
    bn.gamma.value[...] = rng.uniform(0.5, 2.0, n_features) * rng.choice([-1, 1], n_features)
    bn.beta.value[...] = rng.standard_normal(n_features)
    bn.running_mean[...] = rng.standard_normal(n_features)
    bn.running_var[...] = rng.uniform(0.5, 3.0, n_features)
    return bn


@pytest.mark.parametrize("seed", [0, 1, 2])
# with 2 rows the normalised output is nearly constant (its gradient ~ eps), so start at 3
@pytest.mark.parametrize("shape", [(3, 1), (4, 3), (8, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(shape, training, seed):
    bn = random_batchnorm(shape[1], seed).train(training)
    x = np.random.default_rng(seed + 1).standard_normal(shape) * 3 + 1
    assert check_module_gradients(bn, x, np.random.default_rng(seed + 2)) < 1e-6


def test_batchnorm_training_output_is_standardised_per_column():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 5)) * [1, 10, 0.5, 3, 100] + [0, -5, 50, 2, 1e3]
    bn = BatchNorm1d(5, dtype=np.float64)
    out = bn(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    # biased variance + eps: unit variance up to the eps correction
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5),
                               rtol=1e-10)
    np.testing.assert_allclose(out.var(axis=0), 1, rtol=1e-3)
    # gamma and beta scale and shift the standardised output
    bn.gamma.value[...] = 2.0
    bn.beta.value[...] = -1.0
    np.testing.assert_allclose(bn(x), 2 * out - 1, rtol=1e-12)


def test_batchnorm_running_statistics_one_step_hand_computed():
    x = np.array([[1.0, 2.0], [3.0, 6.0], [8.0, 4.0]])
    bn = BatchNorm1d(2, momentum=0.25, dtype=np.float64)
    bn(x)
    # column means 4 and 4; unbiased variances ((9+1+16)/2, (4+4+0)/2) = (13, 4)
    np.testing.assert_allclose(bn.running_mean, [0.75 * 0 + 0.25 * 4, 0.75 * 0 + 0.25 * 4])
    np.testing.assert_allclose(bn.running_var, [0.75 * 1 + 0.25 * 13, 0.75 * 1 + 0.25 * 4])
    bn(x)
    np.testing.assert_allclose(bn.running_mean, [0.75 * 1 + 0.25 * 4] * 2)
    np.testing.assert_allclose(bn.running_var, [0.75 * 4 + 0.25 * 13, 0.75 * 1.75 + 0.25 * 4])


def test_batchnorm_eval_uses_running_statistics():
    bn = BatchNorm1d(3, eps=1e-3, dtype=np.float64)
    bn.running_mean[...] = [1.0, -2.0, 0.5]
    bn.running_var[...] = [4.0, 0.25, 1.0]
    bn.gamma.value[...] = [1.0, 2.0, -1.0]
    bn.beta.value[...] = [0.0, 1.0, 3.0]
    bn.eval()
    x = np.array([[3.0, -1.0, 0.5], [1.0, -2.0, 2.5]])
    expected = (x - [1.0, -2.0, 0.5]) / np.sqrt(np.array([4.0, 0.25, 1.0]) + 1e-3)
    expected = expected * [1.0, 2.0, -1.0] + [0.0, 1.0, 3.0]
    np.testing.assert_allclose(bn(x), expected, rtol=1e-12)
    # eval mode does not touch the running statistics, and accepts one sample
    np.testing.assert_array_equal(bn.running_mean, [1.0, -2.0, 0.5])
    np.testing.assert_allclose(bn(x[:1]), expected[:1], rtol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batchnorm_weighted_batch_gradients(seed):
    rng = np.random.default_rng(seed)
    bn = random_batchnorm(4, seed)
    weight = rng.uniform(0.2, 3.0, 6)
    weight[2] = 0.0
    x = rng.standard_normal((6, 4)) * 2
    assert check_module_gradients(WithSampleWeight(bn, weight), x, rng) < 1e-6


def test_batchnorm_batch_weight_of_two_equals_a_repeated_row():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3))
    weighted = random_batchnorm(3, 1)
    repeated = random_batchnorm(3, 1)
    weight = np.array([2.0, 1.0, 1.0, 3.0, 1.0])
    out_w = weighted.forward(x, sample_weight=weight)
    out_r = repeated(x[[0, 0, 1, 2, 3, 3, 3, 4]])
    np.testing.assert_allclose(out_w, out_r[[0, 2, 3, 4, 7]], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(weighted.running_mean, repeated.running_mean, rtol=1e-12)
    np.testing.assert_allclose(weighted.running_var, repeated.running_var, rtol=1e-12)
    # and the backward of a loss that weights its rows the same way
    g = rng.standard_normal((5, 3))
    g_rep = np.zeros((8, 3))
    for row, (start, count) in enumerate([(0, 2), (2, 1), (3, 1), (4, 3), (7, 1)]):
        g_rep[start : start + count] = g[row]  # each copy carries the row's gradient
    dx_w = weighted.backward(g * weight[:, None])
    dx_r = repeated.backward(g_rep)
    summed = np.array([dx_r[0:2].sum(0), dx_r[2], dx_r[3], dx_r[4:7].sum(0), dx_r[7]])
    np.testing.assert_allclose(dx_w, summed, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(weighted.gamma.grad, repeated.gamma.grad, rtol=1e-10)


def test_batchnorm_sample_weight_shape_is_checked():
    bn = BatchNorm1d(2)
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(4,\)"):
        bn.forward(np.ones((4, 2), dtype=np.float32), sample_weight=np.ones(3))


def test_sequential_hands_sample_weight_only_to_modules_that_accept_it():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 3))
    weight = rng.uniform(0.5, 2.0, 6)
    lin = Linear(3, 3, rng=rng, dtype=np.float64)
    bn = BatchNorm1d(3, dtype=np.float64)
    net = Sequential(lin, Sequential(bn))  # nested: passed on through both levels
    out = net.forward(x, sample_weight=weight)
    alone = BatchNorm1d(3, dtype=np.float64)
    expected = alone.forward(lin.forward(x), sample_weight=weight)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    unweighted = BatchNorm1d(3, dtype=np.float64).forward(lin.forward(x))
    assert not np.allclose(out, unweighted)  # the weights made a difference


def test_batchnorm_float32_weights_near_overflow_are_fine():
    # the sum of float32 weights of 1e37 overflows float32; statistics are scale-free
    rng = np.random.default_rng(4)
    x = rng.standard_normal((8, 2)).astype(np.float32)
    bn_big, bn_one = BatchNorm1d(2), BatchNorm1d(2)
    out_big = bn_big.forward(x, sample_weight=np.full(8, 1e37, dtype=np.float32))
    out_one = bn_one.forward(x, sample_weight=np.ones(8, dtype=np.float32))
    assert np.isfinite(out_big).all()
    np.testing.assert_allclose(out_big, out_one, rtol=1e-5)


def test_batchnorm_batch_of_one_in_training_raises():
    with pytest.raises(ValueError, match="at least 2 samples"):
        BatchNorm1d(3)(np.ones((1, 3), dtype=np.float32))


def test_batchnorm_constant_feature_is_finite():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((10, 3))
    x[:, 1] = 4.2
    bn = BatchNorm1d(3, dtype=np.float64)
    out = bn(x)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[:, 1], 0.0, atol=1e-6)
    dx = bn.backward(rng.standard_normal((10, 3)))
    assert np.isfinite(dx).all()
    assert all(np.isfinite(p.grad).all() for p in bn.parameters())
    check_module_gradients(bn, x, rng)


@pytest.mark.parametrize(
    "kwargs, match",
    [({"num_features": 0}, "num_features"), ({"num_features": 2, "eps": 0}, "eps"),
     ({"num_features": 2, "momentum": 0}, "momentum"),
     ({"num_features": 2, "momentum": 1.5}, "momentum")],
)
def test_batchnorm_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm1d(**kwargs)


def test_batchnorm_rejects_wrong_feature_count():
    with pytest.raises(ValueError, match="expects 3 features per sample, got 2"):
        BatchNorm1d(3)(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"shape \(n_samples, 3\)"):
        BatchNorm1d(3)(np.ones(3))


# ---------------------------------------------------------------------- Identity


@pytest.mark.parametrize("seed", [0, 1])
def test_identity(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((4, 3))
    g = rng.standard_normal((4, 3))
    layer = Identity()
    np.testing.assert_array_equal(layer(x), x)
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.parameters() == []
    assert check_module_gradients(layer, x, rng) < 1e-6


class WithSampleWeight(Module):
    """A module run with fixed sample weights, so the gradient checker can call it."""

    def __init__(self, module, sample_weight):
        super().__init__()
        self._children = [module]
        self.sample_weight = sample_weight

    def forward(self, x):
        return self._children[0].forward(x, sample_weight=self.sample_weight)

    def backward(self, grad_output):
        return self._children[0].backward(grad_output)
