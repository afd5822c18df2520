"""The one module that imports private scikit-learn names.

Everything here is used elsewhere through these names only, so a scikit-learn
release that moves one of them breaks this file alone.
"""

from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "Interval",
    "Options",
    "StrOptions",
    "check_sample_weight",
    "get_chunk_n_rows",
    "validate_params",
]


def validate_params(estimator):
    """Check the estimator's parameters against its ``_parameter_constraints``.

    Parameters
    ----------
    estimator : BaseEstimator

    Raises
    ------
    sklearn.utils._param_validation.InvalidParameterError
        A ValueError (and TypeError) naming the parameter and what it accepts.
    """
    estimator._validate_params()


def check_sample_weight(sample_weight, X, dtype):
    """``sample_weight`` as a validated, non-negative 1-D array (a copy).

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,), scalar or None
    X : {ndarray, sparse matrix} of shape (n_samples, n_features)
    dtype : dtype

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,)
    """
    return _check_sample_weight(
        sample_weight, X, dtype=dtype, copy=True, ensure_non_negative=True
    )
