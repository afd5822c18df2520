"""LinearSVM's probabilities: the held-out rows and the temperature fitted to them.

With ``probability=True``, ``fit`` holds out about :data:`CALIBRATION_FRACTION`
of each class's weight (rows chosen by a keyed hash of their contents, so
equal rows fall on the same side), trains on the rest, and fits the
temperature ``T`` of ``softmax(scores / T)`` to the held-out scores.
"""

import hashlib
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import brentq
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_X_y, column_or_1d

from .. import nn
from .._classifier import check_label_types
from .._compat import check_sample_weight
from .._runtime import make_rng

__all__ = [
    "CALIBRATION_FRACTION",
    "checked_calibration_input",
    "fit_temperature",
    "train_and_held_rows",
]

#: Share of the (weighted) rows of each class held out to calibrate
#: probabilities when ``probability=True``.
CALIBRATION_FRACTION = 0.2


def checked_calibration_input(estimator, X, y, sample_weight):
    """The checks of validate_data, without touching the fitted attributes."""
    X_num, y_num = check_X_y(
        X,
        y,
        accept_sparse="csr",
        dtype=[np.float64, np.float32],
        multi_output=True,
        estimator=estimator,
    )
    check_label_types(np.ravel(y_num), "y")  # before sorting them, as fit does
    check_classification_targets(y_num)
    labels = column_or_1d(y_num)
    weights = check_sample_weight(sample_weight, X_num, dtype=np.float64)
    return X_num, y_num, labels, weights


def train_and_held_rows(estimator, X, label_index, weights):
    """Row indices to train on and to calibrate on (all rows for both if too few).

    ``label_index`` is each row's class as an index into the sorted labels.
    """
    held = _calibration_split(
        X,
        label_index,
        weights,
        CALIBRATION_FRACTION,
        make_rng(estimator.random_state).bytes(16),
    )
    if weights[held].any():
        return np.flatnonzero(~held), np.flatnonzero(held)
    warnings.warn(
        f"Too few samples to hold out a calibration set ({X.shape[0]} rows); "
        "probabilities are calibrated on the training rows.",
        UserWarning,
    )
    rows = np.arange(X.shape[0])
    return rows, rows


def _row_hashes(X, key):
    """A keyed 64-bit hash of each row's values (equal rows, equal hashes).

    A row is hashed in one form whatever its storage: the columns of its
    non-zero values (int64) and those values (float64). Dense or CSR, with
    explicit or duplicate zeros, unsorted indices, -0.0, float32 or float64:
    the same values give the same hash, so the same calibration rows.
    """
    if sp.issparse(X):
        if not X.has_canonical_format:  # duplicates summed, indices sorted
            X = X.copy()
            X.sum_duplicates()
        rows = (
            _canonical_row(X.indices[a:b], X.data[a:b]) for a, b in zip(X.indptr[:-1], X.indptr[1:])
        )
    else:
        columns = np.arange(X.shape[1])
        rows = (_canonical_row(columns, row) for row in np.asarray(X))
    digests = (hashlib.blake2b(row, digest_size=8, key=key).digest() for row in rows)
    return np.fromiter((int.from_bytes(d, "little") for d in digests), np.uint64, X.shape[0])


def _canonical_row(columns, values):
    """The bytes hashed for a row: its non-zero values' columns, then the values."""
    nonzero = values != 0  # explicit zeros and -0.0 are no entries
    return (
        columns[nonzero].astype(np.int64).tobytes() + values[nonzero].astype(np.float64).tobytes()
    )


def _calibration_split(X, y_index, weights, fraction, key):
    """Boolean mask of the rows held out for calibration.

    In each class the rows are ordered by a keyed hash of their contents and
    the first ones are held out until they carry about ``fraction`` of the
    class's weight. Equal rows share a hash, so they fall on the same side and
    a row of weight 2 is split exactly like two copies of the row. Each class
    keeps at least one distinct row for training while ``fraction < 0.5``.
    """
    hashes = _row_hashes(X, key)
    held = np.zeros(X.shape[0], dtype=bool)
    for c in np.unique(y_index):
        rows = np.flatnonzero(y_index == c)
        rows = rows[np.argsort(hashes[rows], kind="stable")]
        w = weights[rows]
        _, first, group = np.unique(hashes[rows], return_index=True, return_inverse=True)
        before = (np.cumsum(w) - w)[first][group]  # weight of the smaller hashes
        group_weight = np.bincount(group, weights=w)[group]
        held[rows] = before + 0.5 * group_weight < fraction * w.sum()
    return held


def fit_temperature(scores, index, weights):
    """Temperature ``T`` minimising the weighted NLL of ``softmax(scores / T)``.

    The NLL is convex in ``beta = 1 / T``; its derivative, ``E_p[s] - t . s``
    averaged over the rows, increases with ``beta`` and is solved to machine
    precision with Brent's method. ``t`` are Platt's smoothed targets.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
    index : ndarray of shape (n_samples,)
        Class index of each row.
    weights : ndarray of shape (n_samples,)

    Returns
    -------
    temperature : float
        Positive, or inf when the scores carry no information (beta = 0).
    """
    scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise ValueError(
            "The decision scores of the calibration rows are not finite, so no "
            "probabilities can be calibrated; standardise the features (e.g. "
            "StandardScaler) or lower learning_rate_init."
        )
    n, k = scores.shape
    counts = np.bincount(index, weights=weights, minlength=k)[index]
    targets = np.repeat((1.0 / ((counts + 2.0) * (k - 1)))[:, None], k, axis=1)
    targets[np.arange(n), index] = (counts + 1.0) / (counts + 2.0)
    target_score = (targets * scores).sum(axis=1)
    w = weights / weights.sum()

    def slope(beta):
        return w @ ((nn.softmax(beta * scores) * scores).sum(axis=1) - target_score)

    if not slope(0.0) < 0:
        return np.inf
    # bracket the root within a factor of 4, whatever the scale of the scores
    low = high = 1.0
    while slope(high) < 0:
        if high > 1e300:  # the NLL keeps falling: scores are (nearly) perfect
            return 1.0 / high
        low, high = high, 4.0 * high
    while slope(low) >= 0:
        if low < 1e-300:
            return np.inf
        low, high = low / 4.0, low
    beta = brentq(slope, low, high, xtol=1e-12 * low, rtol=4 * np.finfo(float).eps)
    return 1.0 / beta
