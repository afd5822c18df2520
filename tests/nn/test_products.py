"""nn.products: row-block products on a thread pool equal their blocks and np.matmul's shape."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

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
    seen = []
    with products.split_products(3):
        assert products._local.n_blocks == 3
        other = threading.Thread(target=lambda: seen.append(getattr(products._local,
                                                                    "n_blocks", 1)))
        other.start()
        other.join()
        with products.split_products(1):
            assert products._local.n_blocks == 1
        assert products._local.n_blocks == 3
    assert products._local.n_blocks == 1
    assert seen == [1]  # another thread splits nothing


def test_n_blocks_below_one_is_refused():
    with pytest.raises(ValueError, match="n_blocks must be at least 1, got 0"):
        with products.split_products(0):
            pass


def test_a_failing_block_raises_after_every_block_is_done(monkeypatch):
    """A block failing in a pool thread is raised here, once no block still runs."""
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    pool, finished = ThreadPoolExecutor(2), []

    class Failing:
        def submit(self, fn, i):
            def run():
                time.sleep(0.05 * i)
                try:
                    if i == 1:
                        raise ArithmeticError("block 1")
                    return fn(i)
                finally:
                    finished.append(i)
            return pool.submit(run)

    monkeypatch.setattr(products, "_executor", lambda n: Failing())
    with products.split_products(4), pytest.raises(ArithmeticError, match="block 1"):
        products.matmul(A, B)
    assert sorted(finished) == [1, 2, 3]
    pool.shutdown()


def test_an_out_sharing_memory_with_an_input_is_multiplied_whole(monkeypatch):
    monkeypatch.setattr(products, "MIN_SPLIT_WORK", 0)
    square = RNG.standard_normal((300, 300)).astype(np.float32)
    want = square @ square
    with products.split_products(3):
        got = products.matmul(square, square, out=square)
    np.testing.assert_array_equal(got, want)


def test_a_sparse_left_factor_is_multiplied_whole():
    import scipy.sparse as sp

    a = sp.random(300, 70, density=0.1, format="csr", random_state=0, dtype=np.float32)
    with products.split_products(2):
        got = products.matmul(a, B)
    np.testing.assert_allclose(got, a.toarray() @ B, rtol=1e-5, atol=1e-5)
