"""What fitting and predicting need at run time: seeded Generators, BLAS limits, chunked forwards.

Nothing here knows what an estimator is; :mod:`sknumpynet._base` uses it.
"""

import contextlib
import numbers
import threading

import numpy as np
import threadpoolctl
from joblib import cpu_count
from sklearn.exceptions import NotFittedError
from sklearn.utils import gen_batches
from threadpoolctl import ThreadpoolController

from . import nn
from ._compat import get_chunk_n_rows

__all__ = [
    "CHUNK_ROWS",
    "SMALL_ROWS",
    "SMALL_WORK",
    "blas_threads",
    "check_is_fitted_network",
    "forward_in_chunks",
    "limit_blas",
    "make_rng",
    "matmul_work",
]

#: Most rows pushed through the network at once by predict/transform: bounds
#: inference memory whatever the number of rows, and is large enough for BLAS.
CHUNK_ROWS = 4096

#: Inputs up to this many rows are "small": one chunk, and the lean validation
#: of ``_base._is_small_ready_array`` for predictions.
SMALL_ROWS = 64

#: Multiply-adds per step (see :func:`matmul_work`) below which a fit or
#: prediction with the default ``n_threads=None`` runs on one BLAS thread: on a
#: quiet 2-core machine a second core sped steps of this size and above up
#: about 1.5x and nothing measurable below half of it, while on a busy machine
#: it slowed small fits several times over (``benchmarks/bench_threads.py
#: --sweep``, ``benchmarks/results/threads.json``).
SMALL_WORK = 40_000_000

#: Multiply-adds per step from which a default fit or prediction in the main
#: thread computes its large products in row blocks on a thread pool
#: (:mod:`sknumpynet.nn.products`) instead of on BLAS's own threads. Handing a
#: block to another thread costs tens of microseconds, and one-thread blocks
#: are less efficient than BLAS's threads on a quiet machine: on a 2-core
#: machine products of about 50 M multiply-adds (the MLP benchmark's first
#: layer, a 60 M step) ran slower in blocks and products of 160 M (the large
#: network of ``bench_threads.py``, a 372 M step) faster. BLAS's threads stall
#: each other on a busy machine, the blocks do not.
SPLIT_WORK = 150_000_000

#: The request of a fit whose products are small (see :func:`blas_threads`).
_SMALL = "small"


def make_rng(random_state):
    """A ``numpy.random.Generator`` from a scikit-learn style ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        None draws fresh entropy; an int seeds the Generator (bit-for-bit
        repeatable); a RandomState seeds it from its next draw.

    Returns
    -------
    rng : numpy.random.Generator
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state.integers(np.iinfo(np.int64).max))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}.")


_BLAS_LOCK = threading.Lock()
#: The fits (and predicts) in the process that hold a BLAS limit: the thread and
#: the limit each asked for (an int, None to share the cores, or "small"); the
#: worker threads that have asked for a share and are still alive; the BLAS
#: libraries' thread counts found when the first request came in, and the
#: counts set since.
_blas = {
    "requests": [],
    "workers": set(),
    "controller": None,
    "found": None,
    "current": None,
    "cpus": None,
}


def matmul_work(network, rows):
    """Multiply-adds of one forward pass of ``rows`` rows through the Linear layers.

    ``rows`` times the sum of ``in_features * out_features`` over the layers:
    what decides whether BLAS threads can pay for themselves.

    Parameters
    ----------
    network : sknumpynet.nn.Module
    rows : int
        Rows per product: the batch size of a minibatch fit, the data's rows
        for a full-batch one, a chunk's rows for a prediction.

    Returns
    -------
    work : int
    """
    return int(rows) * sum(m.in_features * m.out_features for m in _linears([network]))


def blas_threads(n_threads, work=None, split=True):
    """The BLAS thread limit of one fit or predict, as a context manager.

    The rule the estimators' ``n_threads`` documents:

    - an int caps the BLAS at that many threads;
    - None with ``work`` below :data:`SMALL_WORK` is one thread (or, in a
      worker thread beside fits of large products, the share below);
    - None in the main thread, with ``work`` at least :data:`SPLIT_WORK`
      and ``split`` true, is the threads the BLAS had (every core, unless
      limited around the fit), through
      :func:`sknumpynet.nn.products.split_products`: the BLAS on one thread
      and each large product cut into row blocks, one per thread, on a thread
      pool. BLAS's own threads stalled each other on a busy machine (a
      default fit of such a network took 1.7x the time of a one-thread fit);
      the blocks also give the same bits whatever the load. (Not with an
      OpenMP BLAS, whose thread limit is per thread: there, as below.)
    - None in the main thread otherwise leaves the BLAS as it is;
    - None outside the main thread (joblib's threading backend, a Dask worker's
      task threads, any thread pool) shares the cores among the worker threads:
      ``max(1, cpu_count() // n_workers)`` BLAS threads, never more than the BLAS
      had, where ``n_workers`` counts the live threads that have fitted or
      predicted with ``n_threads=None`` and products large enough for threads
      (a small fit's thread counts only while it runs; a search's pool threads
      live as long as the search, so a worker between two fits still counts).
      Worker processes
      need nothing here: joblib's loky workers start with ``cpu_count() //
      n_jobs`` BLAS threads and Dask's nanny-spawned workers with one (both
      through environment variables), and being never raised, those limits stay.

    Parameters
    ----------
    n_threads : int or None
    work : int or None, default=None
        Multiply-adds per step (:func:`matmul_work`); None for unknown (as large).
    split : bool, default=True
        Whether the products of this fit go through :mod:`sknumpynet.nn.products`
        (the layers' do; a solver with products of its own passes False).

    Returns
    -------
    context : context manager
    """
    if n_threads is None and work is not None and work < SMALL_WORK:
        return _whole(limit_blas(_SMALL))
    if n_threads is None and threading.current_thread() is threading.main_thread():
        if split and work is not None and work >= SPLIT_WORK and not _openmp_blas():
            return _split_on_cores()
        # BLAS as it is; a known medium step also keeps its products whole
        return contextlib.nullcontext() if work is None else nn.products.split_products(1)
    return _whole(limit_blas(n_threads))


@contextlib.contextmanager
def _whole(context):
    """``context``, with this thread's products whole (a small predict inside a large fit)."""
    with context, nn.products.split_products(1):
        yield


def _openmp_blas():
    """Whether a BLAS runs on OpenMP, whose thread limit holds only in the thread that set it."""
    with _BLAS_LOCK:
        libraries = _controller().lib_controllers
    return any(lib.info().get("threading_layer") == "openmp" for lib in libraries)


@contextlib.contextmanager
def _split_on_cores():
    """One BLAS thread, and large products in row blocks over the threads the BLAS had.

    The blocks take the place of BLAS's threads: as many as the BLAS was
    allowed (by default one per core; a ``threadpool_limits(1)`` around the
    fit keeps it on one core), never more than the cores.
    """
    with limit_blas(_SMALL):
        allowed = max(_blas["found"], default=_blas["cpus"])
        with nn.products.split_products(max(1, min(allowed, _blas["cpus"]))):
            yield


@contextlib.contextmanager
def limit_blas(n_threads):
    """threadpool_limits for fits that may overlap in several threads.

    The BLAS thread count is process-wide, so the fits running at once agree on
    one: the first explicit ``n_threads`` among them, else the cores shared among
    the worker threads (see :func:`blas_threads`). The last one out restores what
    the first one found. (Nested threadpool_limits blocks in several threads would
    restore in the wrong order and leave the BLAS limited.)

    Parameters
    ----------
    n_threads : int, None or "small"
        None asks for a share of the cores; "small" for one thread, or a share
        where other fits asked for one.
    """
    with _BLAS_LOCK:
        if not _blas["requests"]:
            _blas_found()
        _blas["requests"].append((threading.get_ident(), n_threads))
        if n_threads is None:  # a worker thread sharing the cores (not a small fit's:
            # it counts while it runs, as a request, and the main thread never does)
            _blas["workers"] = {t for t in _blas["workers"] if t.is_alive()}
            _blas["workers"].add(threading.current_thread())
        _blas_apply()
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas["requests"].remove((threading.get_ident(), n_threads))
            _blas_apply()


def _controller():
    """threadpoolctl's controller of the BLAS libraries (under the lock)."""
    if _blas["controller"] is None:  # finding the libraries takes ~0.4 ms: once
        _blas["controller"] = ThreadpoolController().select(user_api="blas")
    return _blas["controller"]


def _blas_found():
    _controller()
    if _blas["cpus"] is None:  # ~0.1 ms (it reads the cgroup files): once
        _blas["cpus"] = cpu_count()
    counts = [lib.num_threads for lib in _blas["controller"].lib_controllers]
    _blas["found"], _blas["current"] = counts, list(counts)


def _blas_apply():
    """Set the BLAS to what the requests now running agree on (under the lock)."""
    # a thread's innermost request is its own (a fit's solve inside its fit)
    requests = list({ident: n for ident, n in _blas["requests"]}.values())
    n_workers = max(
        len(requests) - sum(isinstance(n, numbers.Integral) for n in requests),
        sum(t.is_alive() for t in _blas["workers"]),
    )
    wanted = agreed_blas_threads(requests, n_workers, _blas["found"], _blas["cpus"])
    if wanted == _blas["current"]:
        return
    for lib, now, new in zip(_blas["controller"].lib_controllers, _blas["current"], wanted):
        if now != new:
            lib.set_num_threads(new)
    _blas["current"] = list(wanted)
    # threadpoolctl >= 3.7 lets only one thread set an OpenBLAS pool's size, the
    # first to try, for as long as it lives; our sets are already serialised by the
    # lock, so give that right back (a search's pool threads outlive their fits).
    release = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", None)
    if release is not None:
        release()


def agreed_blas_threads(requests, n_workers, found, n_cpus):
    """The BLAS thread counts that overlapping fits agree on.

    Parameters
    ----------
    requests : list of (int, None or "small")
        The ``n_threads`` of each fit running, in the order they came in; None
        asks for a share of the cores, "small" for one thread.
    n_workers : int
        The worker threads sharing the cores.
    found : list of int
        Each BLAS library's thread count when the first request came in.
    n_cpus : int

    Returns
    -------
    counts : list of int
        For each library: ``found`` when nothing runs; the first explicit request
        if any; else 1 if every request is "small"; else ``max(1, n_cpus //
        n_workers)``, never above ``found``.
    """
    explicit = [n for n in requests if isinstance(n, numbers.Integral)]
    if not requests:
        return list(found)
    if explicit:
        return [explicit[0]] * len(found)
    if all(n == _SMALL for n in requests):
        return [1] * len(found)
    share = max(1, n_cpus // max(1, n_workers))
    return [min(n, share) for n in found]


def forward_in_chunks(network, X, stop=None):
    """Outputs of an eval-mode network for ``X``, in chunks of bounded memory.

    Parameters
    ----------
    network : sknumpynet.nn.Sequential
        In evaluation mode.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    stop : int, default=None
        Run only the first ``stop`` modules.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
    """
    modules = list(network)[:stop]
    if 0 < X.shape[0] <= min(SMALL_ROWS, CHUNK_ROWS):  # one small chunk: no chunk arithmetic
        return _forward(modules, X)
    widths = [m.out_features for m in _linears(modules)] + [X.shape[1]]
    row_bytes = 4 * X.dtype.itemsize * max(widths)
    chunk = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=CHUNK_ROWS)
    out = None
    for rows in gen_batches(X.shape[0], chunk):
        h = _forward(modules, X[rows])
        if out is None:
            out = np.empty((X.shape[0],) + h.shape[1:], dtype=h.dtype)
        out[rows] = h
    if out is None:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return out


def _linears(modules):
    return [m for top in modules for m in top.modules() if isinstance(m, nn.Linear)]


def _forward(modules, h):
    for m in modules:  # the fitted network is in eval mode
        h = m.forward(h)
    return h


def check_is_fitted_network(estimator):
    """Raise NotFittedError (an AttributeError, so hasattr stays truthful) if unfitted.

    Parameters
    ----------
    estimator : BaseNetwork
    """
    if "network_" not in estimator.__dict__:
        raise NotFittedError(
            f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' "
            "with appropriate arguments before using this estimator."
        )
