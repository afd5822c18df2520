"""Non-numpy arrays under scikit-learn's ``array_api_dispatch``: converted to numpy, with a warning.

sknumpynet's engine computes with numpy on the CPU. With
``sklearn.set_config(array_api_dispatch=True)``, scikit-learn passes arrays of
other libraries (torch, CuPy, array_api_strict, ...) through its checks
unchanged; the estimators convert them to numpy on entry (through DLPack: no
copy for CPU arrays), warn once per call in one line, and return numpy arrays.
An array that cannot be converted (a GPU tensor, a tensor that requires grad)
is refused with a ValueError that names the option, before anything is fitted.
Without ``array_api_dispatch`` nothing changes: scikit-learn's own checks
convert the input as they always do.
"""

import warnings

import numpy as np
from sklearn import get_config

__all__ = ["ArrayAPIScoreMixin", "numpy_inputs"]


def _is_foreign_array(value):
    """Whether ``value`` is an array of another array library (not numpy, not a table)."""
    if value is None or isinstance(value, np.ndarray):
        return False
    if hasattr(value, "iloc") or hasattr(value, "__dataframe__"):
        return False  # pandas, polars: scikit-learn's checks read their columns
    return hasattr(value, "__array_namespace__") or hasattr(value, "__dlpack__")


def _library(value):
    return type(value).__module__.split(".")[0]


def _to_numpy(name, value, estimator_name):
    try:
        return np.from_dlpack(value)
    except Exception:  # DLPack refused (any library, any reason): try __array__
        pass
    try:
        return np.asarray(value)
    except Exception as exc:  # re-raised, saying what to do
        device = getattr(value, "device", "unknown")
        raise ValueError(
            f"{estimator_name} computes with numpy on the CPU and could not convert {name}, "
            f"a {_library(value)} array on device {device} ({type(exc).__name__}: {exc}). "
            "array_api_dispatch=True does not move sknumpynet's estimators off numpy: pass "
            "arrays that numpy can read (e.g. tensor.detach().cpu())."
        ) from exc


def numpy_inputs(estimator, **arrays):
    """The ``arrays`` passed to a method of ``estimator``, as numpy where they were not.

    Only under ``array_api_dispatch=True``; otherwise they are returned as
    they are. DataFrames, sparse matrices, lists and numpy arrays are never
    changed.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator whose method got them, for the messages.
    **arrays : array-like or None
        By the name the method gives them (``X``, ``y``, ``sample_weight``, ...).

    Returns
    -------
    list
        The arrays, in the order given.

    Warns
    -----
    UserWarning
        One line, once per call, naming the converted arrays and their library.

    Raises
    ------
    ValueError
        For an array numpy cannot read (e.g. on a GPU), naming the option.
    """
    if not any(_is_foreign_array(v) for v in arrays.values()):
        return list(arrays.values())
    if not get_config().get("array_api_dispatch", False):
        return list(arrays.values())
    name = type(estimator).__name__
    foreign = [k for k, v in arrays.items() if _is_foreign_array(v)]
    converted = [_to_numpy(k, v, name) if k in foreign else v for k, v in arrays.items()]
    library = _library(arrays[foreign[0]])
    warnings.warn(
        f"{name} computes with numpy: {', '.join(foreign)} ({library}) converted to numpy "
        "arrays; array_api_dispatch=True does not apply to sknumpynet's estimators.",
        UserWarning,
        stacklevel=3,
    )
    return converted


class ArrayAPIScoreMixin:
    """``score`` that converts ``X``, ``y`` and ``sample_weight`` as :func:`numpy_inputs` does.

    Put before scikit-learn's ClassifierMixin or RegressorMixin, whose
    ``score`` it calls with numpy arrays: their metrics refuse a mix of
    numpy predictions and another library's ``y`` under ``array_api_dispatch``
    (scikit-learn 1.7 and 1.8).
    """

    def score(self, X, y, sample_weight=None):
        """The estimator's default score (accuracy or R^2) of :meth:`predict` on ``X``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        X, y, sample_weight = numpy_inputs(self, X=X, y=y, sample_weight=sample_weight)
        return super().score(X, y, sample_weight=sample_weight)
