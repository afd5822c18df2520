"""Tests of Scale, Embedding, CategoricalEmbedding, Linear(parametrization="ntk")
and the "standard_normal" and "zeros" initialisers."""

import math
import pickle

import numpy as np
import pytest

from sknumpynet.nn import (
    CategoricalEmbedding,
    Embedding,
    Linear,
    Scale,
    check_module_gradients,
    init,
)


def test_scale_forward_backward_and_gradients():
    rng = np.random.default_rng(0)
    layer = Scale(4, dtype=np.float64)
    assert layer.scale.decay is False
    np.testing.assert_array_equal(layer.scale.value, np.ones(4))
    layer.scale.value[...] = rng.standard_normal(4)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(layer(x), x * layer.scale.value, rtol=1e-15)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.scale.grad, (g * x).sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dx, g * layer.scale.value, rtol=1e-15)
    assert check_module_gradients(layer, x, rng) < 1e-6
    assert layer(x.astype(np.float32)).dtype == np.float64
    assert Scale(3)(np.ones((2, 3))).dtype == np.float32


def test_embedding_lookup_and_accumulated_gradient():
    rng = np.random.default_rng(1)
    emb = Embedding(4, 3, rng=np.random.default_rng(0), dtype=np.float64)
    np.testing.assert_array_equal(
        emb.weight.value, np.random.default_rng(0).standard_normal((4, 3))
    )
    codes = np.array([2, 0, 2, 3, 2])
    out = emb(codes.astype(np.float64))  # floats holding integers
    np.testing.assert_array_equal(out, emb.weight.value[codes])
    g = rng.standard_normal((5, 3))
    emb.weight.grad[...] = 99.0  # written, not added to
    assert emb.backward(g) is None
    expected = np.zeros((4, 3))
    for i, k in enumerate(codes):
        expected[k] += g[i]
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-15)
    assert check_module_gradients(emb, codes, rng) < 1e-6


def test_embedding_missing_codes_give_zero_vectors_and_no_gradient():
    emb = Embedding(3, 2, rng=np.random.default_rng(0), dtype=np.float64)
    out = emb(np.array([1.0, np.nan, -1.0, 0.0]))
    np.testing.assert_array_equal(out[1:3], 0.0)
    np.testing.assert_array_equal(out[[0, 3]], emb.weight.value[[1, 0]])
    emb.backward(np.arange(8.0).reshape(4, 2))
    np.testing.assert_array_equal(emb.weight.grad, [[6.0, 7.0], [0.0, 1.0], [0.0, 0.0]])
    np.testing.assert_array_equal(emb(np.array([-1, 2]))[0], 0.0)


@pytest.mark.parametrize("codes", [[0, 3], [0.5, 1.0], [-2, 0], [[0, 1]], ["a"], [np.inf]])
def test_embedding_rejects_bad_codes(codes):
    with pytest.raises(ValueError, match="Embedding"):
        Embedding(3, 2)(np.array(codes))


def make_categorical(dtype=np.float64):
    return CategoricalEmbedding(
        5, columns=[3, 1], cardinalities=[4, 2], embedding_dims=[2, 3],
        rng=np.random.default_rng(0), dtype=dtype,
    )


def categorical_batch(rng, n=7):
    x = rng.standard_normal((n, 5))
    x[:, 3] = rng.integers(0, 4, n)
    x[:, 1] = rng.integers(0, 2, n)
    x[0, 3], x[1, 1] = np.nan, -1  # missing codes
    return x


def test_categorical_embedding_layout():
    layer = make_categorical()
    x = categorical_batch(np.random.default_rng(2))
    out = layer(x)
    assert out.shape == (7, 5 - 2 + 5) == (7, layer.n_features_out)
    np.testing.assert_array_equal(out[:, :3], x[:, [0, 2, 4]])
    w3, w1 = (e.weight.value for e in layer.embeddings)
    np.testing.assert_array_equal(out[0, 3:5], 0.0)  # NaN code
    np.testing.assert_array_equal(out[1:, 3:5], w3[x[1:, 3].astype(int)])
    np.testing.assert_array_equal(out[1, 5:], 0.0)  # -1 code
    np.testing.assert_array_equal(out[2:, 5:], w1[x[2:, 1].astype(int)])
    assert len(layer.parameters()) == 2
    g = np.random.default_rng(3).standard_normal(out.shape)
    dx = layer.backward(g)
    np.testing.assert_array_equal(dx[:, [0, 2, 4]], g[:, :3])
    np.testing.assert_array_equal(dx[:, [1, 3]], 0.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_categorical_embedding_gradients(seed):
    rng = np.random.default_rng(seed)
    x = np.nan_to_num(categorical_batch(rng), nan=-1.0)  # the check wants finite inputs
    assert check_module_gradients(make_categorical(), x, rng) < 1e-6


def test_categorical_embedding_dtype_pickle_and_validation():
    layer = make_categorical(np.float32)
    x = categorical_batch(np.random.default_rng(4))
    out = layer(x)
    assert out.dtype == np.float32
    clone = pickle.loads(pickle.dumps(layer))
    np.testing.assert_array_equal(clone(x), out)
    with pytest.raises(ValueError, match="columns"):
        CategoricalEmbedding(3, [0, 0], [2, 2], [1, 1])
    with pytest.raises(ValueError, match="columns"):
        CategoricalEmbedding(3, [3], [2], [1])
    with pytest.raises(ValueError, match="one entry"):
        CategoricalEmbedding(3, [0, 1], [2], [1, 1])
    bad = x.copy()
    bad[2, 3] = 4
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        layer(bad)


# ----------------------------------------------------------------- NTK Linear


def test_ntk_linear_forward_backward_and_init():
    rng = np.random.default_rng(5)
    layer = Linear(4, 3, rng=np.random.default_rng(0), dtype=np.float64, parametrization="ntk")
    draws = np.random.default_rng(0)
    np.testing.assert_array_equal(layer.weight.value, draws.standard_normal((4, 3)))
    np.testing.assert_array_equal(layer.bias.value, draws.standard_normal(3))
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
    c = 1 / math.sqrt(4)
    np.testing.assert_allclose(layer(x), c * x @ layer.weight.value + layer.bias.value,
                               rtol=1e-14)
    dx = layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, c * x.T @ g, rtol=1e-14)
    np.testing.assert_allclose(layer.bias.grad, g.sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(dx, c * g @ layer.weight.value.T, rtol=1e-14)
    assert "parametrization='ntk'" in repr(layer) and "ntk" not in repr(Linear(2, 2))


@pytest.mark.parametrize("out_features", [1, 3])
@pytest.mark.parametrize("bias", [True, False])
def test_ntk_linear_gradients(out_features, bias):
    rng = np.random.default_rng(6)
    layer = Linear(5, out_features, bias, rng=rng, parametrization="ntk")
    assert check_module_gradients(layer, rng.standard_normal((4, 5)), rng) < 1e-6


def test_ntk_zero_init_sets_weight_and_bias_to_zero():
    layer = Linear(3, 2, rng=np.random.default_rng(0), parametrization="ntk", init="zeros")
    assert not layer.weight.value.any() and not layer.bias.value.any()
    # the standard parametrisation's default is unchanged: He uniform, zero bias
    a = Linear(3, 2, rng=np.random.default_rng(0))
    b = Linear(3, 2, rng=np.random.default_rng(0), init="he_uniform")
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert not a.bias.value.any()
    with pytest.raises(ValueError, match="parametrization"):
        Linear(3, 2, parametrization="mup")


def test_ntk_single_output_rows_do_not_depend_on_the_batch():
    rng = np.random.default_rng(7)
    layer = Linear(9, 1, rng=rng, parametrization="ntk")
    x = rng.standard_normal((300, 9)).astype(np.float32)
    whole = layer(x)
    np.testing.assert_array_equal(layer(x[5:6]), whole[5:6])


def test_a_pickled_standard_linear_without_the_new_attributes_still_works():
    layer = Linear(3, 2, rng=np.random.default_rng(0))
    state = layer.__getstate__()
    state.pop("parametrization")
    state.pop("_ntk_factor")
    old = Linear.__new__(Linear)
    old.__dict__.update(state)
    x = np.ones((2, 3), dtype=np.float32)
    np.testing.assert_array_equal(old(x), layer(x))
    assert old.backward(np.ones((2, 2), dtype=np.float32)).shape == (2, 3)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_new_initialisers(dtype):
    w = init.standard_normal((3, 4), np.random.default_rng(0), dtype)
    np.testing.assert_array_equal(
        w, np.random.default_rng(0).standard_normal((3, 4)).astype(dtype)
    )
    assert w.dtype == dtype
    z = init.get_initializer("zeros")((3, 4), np.random.default_rng(0), dtype)
    assert z.dtype == dtype and not z.any()


# ------------------------------------------------------------- against PyTorch


def test_scale_embedding_and_ntk_linear_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    x = rng.standard_normal((6, 4))
    scale = Scale(4, dtype=np.float64)
    scale.scale.value[...] = rng.standard_normal(4)
    ntk = Linear(4, 3, rng=rng, dtype=np.float64, parametrization="ntk")
    g = rng.standard_normal((6, 3))
    out = ntk(scale(x))
    dx = scale.backward(ntk.backward(g))

    xt = torch.tensor(x, requires_grad=True)
    st = torch.tensor(scale.scale.value, requires_grad=True)
    wt = torch.tensor(ntk.weight.value, requires_grad=True)
    bt = torch.tensor(ntk.bias.value, requires_grad=True)
    yt = (xt * st) @ wt / math.sqrt(4) + bt
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(out, yt.detach().numpy(), rtol=1e-12)
    for ours, theirs in [(dx, xt), (scale.scale.grad, st), (ntk.weight.grad, wt),
                         (ntk.bias.grad, bt)]:
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-14)

    emb = Embedding(5, 3, rng=rng, dtype=np.float64)
    codes = np.array([4, 0, 4, 2, 1, 4])
    ge = rng.standard_normal((6, 3))
    out = emb(codes)
    emb.backward(ge)
    et = torch.nn.Embedding(5, 3, dtype=torch.float64)
    with torch.no_grad():
        et.weight.copy_(torch.tensor(emb.weight.value))
    yt = et(torch.tensor(codes))
    yt.backward(torch.tensor(ge))
    np.testing.assert_array_equal(out, yt.detach().numpy())
    np.testing.assert_allclose(emb.weight.grad, et.weight.grad.numpy(), rtol=1e-14)
