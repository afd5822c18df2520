"""Matrix products in row blocks on a thread pool: threads a busy machine cannot stall.

BLAS's own threads split one product finely and wait for each other many
times inside it, spinning while they wait; when other programs keep the cores
busy, a descheduled BLAS thread stalls the rest. A fit of a 784-1024-1024-10
network ran 1.7x slower on two BLAS threads than on one on a busy 2-core
machine (``benchmarks/bench_threads.py``). :func:`matmul` instead cuts a
product's rows into a fixed number of blocks and has each block computed by
one single-threaded BLAS call, one block per thread: the threads meet once per
product, so a busy core delays one block and not every panel of it.

The blocks depend only on the product's shape and on the ``n_blocks`` of
:func:`split_products`, never on how many threads are free, so the results
are the same bit for bit whatever the machine's load.

Outside a :func:`split_products` block (or for products too small to split),
:func:`matmul` is ``np.matmul``.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

__all__ = ["MIN_BLOCK_ROWS", "MIN_SPLIT_WORK", "matmul", "split_products"]

#: Fewest rows in a block: thinner blocks lose more to BLAS's own blocking
#: than a second core gains.
MIN_BLOCK_ROWS = 64

#: Products of fewer multiply-adds run whole: a block handed to another thread
#: costs tens of microseconds, and products of 8 M multiply-adds ran no faster
#: in two blocks than whole on one thread.
MIN_SPLIT_WORK = 20_000_000

_local = threading.local()  # this thread's n_blocks (a search's worker threads split nothing)
_pool = {"executor": None, "size": 0}
_pool_lock = threading.Lock()


@contextlib.contextmanager
def split_products(n_blocks):
    """Within the block, this thread's :func:`matmul` calls split into row blocks.

    Parameters
    ----------
    n_blocks : int
        Most blocks per product (the cores to use); 1 splits nothing. Keep the
        BLAS on one thread inside the block (``threadpoolctl``): the blocks
        are the parallelism.

    Returns
    -------
    context : context manager
    """
    n_blocks = int(n_blocks)
    if n_blocks < 1:
        raise ValueError(f"n_blocks must be at least 1, got {n_blocks}.")
    previous = getattr(_local, "n_blocks", 1)
    _local.n_blocks = n_blocks
    try:
        yield
    finally:
        _local.n_blocks = previous


def matmul(a, b, out=None):
    """``a @ b``, in row blocks of ``a`` on a thread pool inside :func:`split_products`.

    Parameters
    ----------
    a : ndarray or scipy sparse matrix of shape (m, k)
        A sparse ``a`` is multiplied whole.
    b : ndarray of shape (k, n)
    out : ndarray of shape (m, n), optional
        Written in place, as ``np.matmul``'s ``out``; one that shares memory
        with ``a`` or ``b`` is multiplied whole.

    Returns
    -------
    product : ndarray of shape (m, n)
        ``out`` when given. Each block is ``np.matmul`` of its rows of ``a``
        with ``b``: the same blocks, and so the same bits, with any number
        of free cores.
    """
    edges = _row_blocks(a, b, out)
    if edges is None:
        return a @ b if out is None else np.matmul(a, b, out=out)  # a may be sparse
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), np.result_type(a, b))

    def block(i):
        lo, hi = edges[i], edges[i + 1]
        np.matmul(a[lo:hi], b, out=out[lo:hi])

    pool, pending = _executor(len(edges) - 2), []
    try:
        for i in range(1, len(edges) - 1):
            pending.append(pool.submit(block, i))
        block(0)  # this thread takes the first block instead of waiting idle
        for future in pending:
            future.result()
    except BaseException:
        wait(pending)  # no block may still write into out once this returns
        raise
    return out


def _row_blocks(a, b, out):
    """The row edges of ``a``'s blocks, or None to multiply whole.

    Whole: outside :func:`split_products`, for other types than plain
    ndarrays (sparse matrices, subclasses), other shapes, small products, and
    an ``out`` sharing memory with ``a`` or ``b`` (which np.matmul copies).
    """
    n_blocks = getattr(_local, "n_blocks", 1)
    if n_blocks < 2 or not (type(a) is np.ndarray and type(b) is np.ndarray):
        return None
    if a.ndim != 2 or b.ndim != 2:
        return None
    if out is not None and (np.may_share_memory(out, a) or np.may_share_memory(out, b)):
        return None
    m = a.shape[0]
    n_blocks = min(n_blocks, m // MIN_BLOCK_ROWS)
    if n_blocks < 2 or m * a.shape[1] * b.shape[1] < MIN_SPLIT_WORK:
        return None
    return [m * i // n_blocks for i in range(n_blocks + 1)]


def _executor(n_workers):
    """A pool of at least ``n_workers`` threads.

    Grown by replacing it with a larger one; the smaller one is never shut
    down, since another thread may be submitting to it (its idle threads end
    with the process).
    """
    with _pool_lock:
        if _pool["size"] < n_workers:
            _pool["executor"] = ThreadPoolExecutor(n_workers, thread_name_prefix="sknumpynet")
            _pool["size"] = n_workers
        return _pool["executor"]


def _forget_pool():
    """A forked child has the parent's pool object (and lock) but none of its threads."""
    global _pool_lock
    _pool["executor"], _pool["size"] = None, 0
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)
