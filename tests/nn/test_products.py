"""nn.products: row-block products on a thread pool equal their blocks and np.matmul's shape."""

import numpy as np
import pytest

from sknumpynet.nn import products

RNG = np.random.default_rng(0)
A = RNG.standard_normal((300, 70)).astype(np.float32)
B = RNG.standard_normal((70, 50)).astype(np.float32)


def test_outside_split_products_it_is_np_matmul():
    np.testing.assert_array_equal(products.matmul(A, B), np.matmul(A, B))


@pytest.mark.parametrize("n_blocks", [2, 3, 4])
def test_each_block_is_np_matmul_of_its_rows(monkeypatch, n_blocks):
    monkeypatch.setattr(products, "MIN_BLOCK_ROWS", 64)
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    with products.split_products(n_blocks):
        got = products.matmul(A, B)
    edges = [300 * i // n_blocks for i in range(n_blocks + 1)]
    want = np.vstack([np.matmul(A[lo:hi], B) for lo, hi in zip(edges, edges[1:])])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(got, A @ B, rtol=1e-5, atol=1e-5)


def test_out_is_written_in_place_and_returned(monkeypatch):
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    out = np.full((300, 50), np.nan, np.float32)
    with products.split_products(2):
        got = products.matmul(A, B, out=out)
    assert got is out
    np.testing.assert_allclose(out, A @ B, rtol=1e-5, atol=1e-5)


def test_transposed_views_split_too(monkeypatch):
    """The weight gradient's x.T @ g: blocks of a transposed (F-ordered) view."""
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    x, g = RNG.standard_normal((50, 200)), RNG.standard_normal((50, 7))
    with products.split_products(2):
        got = products.matmul(x.T, g)
    np.testing.assert_allclose(got, x.T @ g, rtol=1e-12)


def test_small_products_are_not_split(monkeypatch):
    calls = []
    monkeypatch.setattr(products, "_executor", lambda n: calls.append(n))
    with products.split_products(4):
        products.matmul(A[:100], B)  # 100 rows: one block of 64 at most
        products.matmul(A, B)  # 300 * 70 * 50 multiply-adds: under MIN_SPLIT_WORK
    assert calls == []


def test_the_setting_is_restored_and_per_thread():
    with products.split_products(3):
        assert products._local.n_blocks == 3
        with products.split_products(1):
            assert products._local.n_blocks == 1
        assert products._local.n_blocks == 3
    assert products._local.n_blocks == 1


def test_n_blocks_below_one_is_refused():
    with pytest.raises(ValueError, match="n_blocks must be at least 1, got 0"):
        with products.split_products(0):
            pass


def test_a_failing_block_raises_after_every_block_is_done(monkeypatch):
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    bad = np.ones((300, 70), np.float32)
    with products.split_products(3), pytest.raises(ValueError):
        products.matmul(bad, B, out=np.empty((300, 49), np.float32))  # wrong out shape


def test_a_sparse_left_factor_is_multiplied_whole():
    import scipy.sparse as sp

    a = sp.random(300, 70, density=0.1, format="csr", random_state=0, dtype=np.float32)
    with products.split_products(2):
        got = products.matmul(a, B)
    np.testing.assert_allclose(got, a.toarray() @ B, rtol=1e-5, atol=1e-5)
