"""The one module that knows scikit-learn's and skl2onnx's private names and versions.

Every private scikit-learn or skl2onnx name the package uses is imported or
spelled here, and every switch on the installed scikit-learn version is made
here, so a release that moves or renames one of them breaks this file alone.
The supported window is scikit-learn 1.6 to 1.9:

- ``sklearn.callback`` (``set_callbacks``) exists from 1.9. Below, the
  estimators have no callback support: :class:`CallbackSupportMixin` is a
  stand-in whose ``set_callbacks`` raises an ImportError naming the version,
  and a fit runs with a context that reports to no one.
- ``Pipeline(transform_input=...)`` (metadata routing of ``X_val``) exists
  from 1.7 (:data:`HAS_PIPELINE_TRANSFORM_INPUT`).

Protocol hooks that scikit-learn reads from the estimators and that they
define themselves (``_parameter_constraints``, ``_n_features_out``,
``__sklearn_tags__``) keep their names where they are defined.
"""

import re
from types import SimpleNamespace

import sklearn
from sklearn.utils import _safe_indexing
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = [
    "CALLBACKS_MIN_VERSION",
    "HAS_CALLBACKS",
    "HAS_PIPELINE_TRANSFORM_INPUT",
    "SKLEARN_VERSION",
    "CallbackSupportMixin",
    "Interval",
    "Options",
    "StrOptions",
    "callback_state",
    "check_sample_weight",
    "get_chunk_n_rows",
    "has_callbacks",
    "init_callback_context",
    "link_html_repr_to",
    "safe_indexing",
    "skl2onnx_private",
    "validate_params",
    "with_callbacks",
]


def _version_tuple(version):
    """``"1.9.1"`` -> ``(1, 9)``; ``"1.10.dev0"`` -> ``(1, 10)``."""
    major, minor = re.match(r"(\d+)\.(\d+)", version).groups()
    return int(major), int(minor)


#: ``(major, minor)`` of the installed scikit-learn.
SKLEARN_VERSION = _version_tuple(sklearn.__version__)

#: The first scikit-learn release with ``sklearn.callback``.
CALLBACKS_MIN_VERSION = "1.9"

#: Whether ``Pipeline`` takes ``transform_input`` (scikit-learn 1.7 and later).
HAS_PIPELINE_TRANSFORM_INPUT = SKLEARN_VERSION >= (1, 7)

# the attributes scikit-learn's callback machinery keeps on an estimator
_CALLBACKS_SET = "_skl_callbacks"  # set_callbacks(...)
_PARENT_CONTEXT = "_parent_callback_ctx"  # propagated by a meta-estimator
_FIT_STATE = ("_callback_fit_ctx", "_skl_callbacks_to_teardown")  # one fit's bookkeeping


class _NoCallbackContext:
    """The fit context below scikit-learn 1.9: it reports to no callback, and never stops."""

    def subcontext(self, **kwargs):
        return self

    def call_on_fit_task_begin(self, **kwargs):
        return None

    def call_on_fit_task_end(self, **kwargs):
        return False


class _NoCallbackSupportMixin:
    """``set_callbacks`` for a scikit-learn without ``sklearn.callback``: a clear error."""

    def set_callbacks(self, *callbacks):
        """Not available: scikit-learn's callbacks need scikit-learn 1.9 or later.

        Parameters
        ----------
        *callbacks : callback instances
            Ignored.

        Raises
        ------
        ImportError
            Always, naming the installed and the required scikit-learn versions.
        """
        raise ImportError(
            f"set_callbacks needs scikit-learn >= {CALLBACKS_MIN_VERSION} (sklearn.callback); "
            f"scikit-learn {sklearn.__version__} is installed. Upgrade it with "
            f"pip install 'scikit-learn>={CALLBACKS_MIN_VERSION}', or monitor the fit with "
            "verbose=1 and the fitted loss_curve_ / validation_scores_ instead."
        )

    def _init_callback_context(self, **kwargs):
        return _NoCallbackContext()


try:
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    HAS_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9
    HAS_CALLBACKS = False
    CallbackSupportMixin = _NoCallbackSupportMixin

    def with_callbacks(method):
        """No callbacks to set up or tear down: ``method`` unchanged."""
        return method


def has_callbacks(estimator):
    """Whether ``estimator`` has callbacks to report to (its own, or a meta-estimator's).

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    bool
    """
    return bool(getattr(estimator, _CALLBACKS_SET, None)) or hasattr(estimator, _PARENT_CONTEXT)


def init_callback_context(estimator, max_subtasks):
    """Set up the estimator's callbacks for a fit and return the fit's root context.

    Parameters
    ----------
    estimator : BaseEstimator
        With :class:`CallbackSupportMixin`.
    max_subtasks : int
        The number of epochs the fit may run (1 for ``partial_fit``).

    Returns
    -------
    context : sklearn.callback.CallbackContext
        Below scikit-learn 1.9, a context that reports to no one.
    """
    return estimator._init_callback_context(max_subtasks=max_subtasks)


def callback_state(estimator):
    """The callback bookkeeping of the fit in progress, to keep when a failed fit is undone.

    Parameters
    ----------
    estimator : BaseEstimator

    Returns
    -------
    dict
        The attributes scikit-learn's ``with_callbacks`` reads after the fit
        (empty below scikit-learn 1.9).
    """
    return {k: v for k, v in estimator.__dict__.items() if k in _FIT_STATE}


def link_html_repr_to(module, template):
    """Class decorator: the "?" of scikit-learn's HTML repr opens sknumpynet's docs.

    Parameters
    ----------
    module : str
        The top-level package the estimator belongs to.
    template : str
        The URL, with ``{estimator_name}`` for the class name.

    Returns
    -------
    callable
        The decorator; subclasses inherit the link.
    """

    def decorate(cls):
        cls._doc_link_module = module
        cls._doc_link_template = template
        return cls

    return decorate


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
    return _check_sample_weight(sample_weight, X, dtype=dtype, copy=True, ensure_non_negative=True)


def safe_indexing(X, indices):
    """Rows ``indices`` of ``X`` (an array, a sparse matrix or a DataFrame).

    Parameters
    ----------
    X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
    indices : array-like of int or bool

    Returns
    -------
    subset : the same type as ``X``
    """
    return _safe_indexing(X, indices)


def skl2onnx_private():
    """skl2onnx's private helpers that the ONNX converters use (imports skl2onnx).

    Returns
    -------
    types.SimpleNamespace
        ``apply_zipmap``, ``get_sklearn_operator_name``, ``apply_cast``,
        ``apply_concat``, ``apply_reshape`` and ``apply_sub``.

    Raises
    ------
    ImportError
        Without skl2onnx.
    """
    from skl2onnx._parse import _apply_zipmap, _get_sklearn_operator_name
    from skl2onnx.common._apply_operation import (
        apply_cast,
        apply_concat,
        apply_reshape,
        apply_sub,
    )

    return SimpleNamespace(
        apply_zipmap=_apply_zipmap,
        get_sklearn_operator_name=_get_sklearn_operator_name,
        apply_cast=apply_cast,
        apply_concat=apply_concat,
        apply_reshape=apply_reshape,
        apply_sub=apply_sub,
    )
