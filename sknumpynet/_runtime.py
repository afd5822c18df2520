"""What fitting and predicting need at run time: seeded Generators, BLAS limits, chunked forwards.

Nothing here knows what an estimator is; :mod:`sknumpynet._base` uses it.
"""

import contextlib
import numbers
import threading

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils import gen_batches
from threadpoolctl import threadpool_limits

from . import nn
from ._compat import get_chunk_n_rows

__all__ = ["CHUNK_ROWS", "check_is_fitted_network", "forward_in_chunks", "limit_blas", "make_rng"]

#: Most rows pushed through the network at once by predict/transform: bounds
#: inference memory whatever the number of rows, and is large enough for BLAS.
CHUNK_ROWS = 4096


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
_blas = {"users": 0, "limiter": None}


@contextlib.contextmanager
def limit_blas(n_threads):
    """threadpool_limits for fits that may overlap in several threads.

    The BLAS thread count is process-wide: the first fit in limits it, the last
    one out restores what it found. (Nested threadpool_limits blocks in several
    threads would restore in the wrong order and leave the BLAS limited.)
    """
    with _BLAS_LOCK:
        if _blas["users"] == 0:
            _blas["limiter"] = threadpool_limits(limits=n_threads, user_api="blas")
        _blas["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas["users"] -= 1
            if _blas["users"] == 0:
                _blas["limiter"].restore_original_limits()
                _blas["limiter"] = None


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
    if 0 < X.shape[0] <= min(64, CHUNK_ROWS):  # one small chunk: no chunk arithmetic
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
