"""What every classifier network shares: label encoding, class weights, partial_fit's classes.

:class:`~sknumpynet.MLPClassifier` and :class:`~sknumpynet.LinearSVM` both
import this module; neither imports the other.
"""

import numbers

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_sample_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from . import nn
from ._array_api import ArrayAPIScoreMixin

__all__ = [
    "NetworkClassifierMixin",
    "NetworkLabelsMixin",
    "check_label_types",
    "class_sample_weight",
    "class_weight_vector",
    "encode_class_labels",
]


class NetworkClassifierMixin(ArrayAPIScoreMixin, ClassifierMixin):
    """Class weights and the first ``partial_fit`` call, for classifier networks.

    Subclasses have a ``class_weight`` parameter and put ``classes_`` in the
    target attributes their ``_encode_targets`` returns.
    """

    def _class_sample_weight(self, y_encoded, target_attrs, partial):
        """Per-sample weights from ``class_weight``, or None."""
        return class_sample_weight(
            self.class_weight, y_encoded, target_attrs["classes_"], partial
        )

    def _encode_validation_targets(self, labels, target_attrs):
        """``y_val`` encoded over the classes of y; labels of another type are refused."""
        if np.ndim(labels) == 1:
            check_label_types(labels, "y_val")
            check_label_types_match(labels, target_attrs["classes_"])
        return super()._encode_validation_targets(labels, target_attrs)

    def _check_first_partial_fit(self, y, classes):
        """Refuse a first ``partial_fit`` on 1-D labels without ``classes``."""
        if "network_" not in self.__dict__ and classes is None and np.ndim(y) == 1:
            raise ValueError("classes must be passed on the first call to partial_fit.")



class NetworkLabelsMixin:
    """``predict``, ``predict_proba`` and ``predict_log_proba`` from the network's scores.

    For classifiers whose fitted ``_label_kind`` is "multiclass" (one score per
    class, softmax), "binary" (one logistic score) or "multilabel" (one
    logistic score per label).
    """

    def predict_proba(self, X):
        """Probability estimates.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As ``fit`` takes it.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1, in the order of ``classes_``; for multilabel targets,
            the independent probability of each label.
        """
        X = self._check_input(X)
        scores = self._forward(X)
        if self._label_kind == "multiclass":
            return nn.softmax(scores)
        p = expit(scores)
        if self._label_kind == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, as scikit-learn defines it.

        ``log(predict_proba(X))``: where a probability rounds to 0 its log is
        ``-inf``, exactly as scikit-learn's MLP (and its estimator checks) expect.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As ``fit`` takes it.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            As ``fit`` takes it.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_labels)
            Labels from ``classes_``, or a 0/1 indicator matrix for multilabel.
        """
        X = self._check_input(X)
        scores = self._forward(X)
        if self._label_kind == "multilabel":
            return (scores > 0).astype(int)
        if self._label_kind == "binary":
            return self.classes_[(scores[:, 0] > 0).astype(int)]
        return self.classes_[scores.argmax(axis=1)]


def encode_class_labels(y, classes, fitted_classes, owner, same_classes=False):
    """Check 1-D class labels and map them to indices into the sorted classes.

    Parameters
    ----------
    y : array-like of shape (n_samples,) or (n_samples, 1)
        Class labels (a column vector is accepted with a DataConversionWarning).
    classes : array-like or None
        The ``classes=`` argument of ``partial_fit``, if any.
    fitted_classes : ndarray or None
        ``classes_`` of an already fitted model, or None on a first fit.
    owner : str
        The estimator's name, for error messages.
    same_classes : bool, default=False
        Require ``y`` to hold exactly ``fitted_classes`` (a warm-started
        ``fit``, as scikit-learn's MLP).

    Returns
    -------
    index : ndarray of shape (n_samples,)
        Position of each label in ``known``.
    known : ndarray of shape (n_classes,)
        The sorted classes.

    Raises
    ------
    ValueError
        For continuous targets, fewer than two classes, labels mixing types
        (numbers and strings, strings and None, ...) or of another type than
        the fitted classes, labels outside ``classes``, ``classes`` that
        differ from the fitted ones, or (``same_classes``) other classes than
        the fitted ones.
    """
    y = column_or_1d(y, warn=True)
    check_label_types(y, "y")
    if classes is not None:
        check_label_types(classes, "classes")
    check_classification_targets(y)
    if fitted_classes is not None:
        check_label_types_match(y, fitted_classes)
        if same_classes:
            _check_same_classes(y, fitted_classes)
    if fitted_classes is None:
        known = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        if len(known) < 2:
            raise ValueError(
                f"{owner} needs samples of at least 2 classes in the data, but the data "
                f"contains only one class: {known.tolist()[0]!r}."
            )
    else:
        known = fitted_classes
        if classes is not None and not np.array_equal(np.unique(classes), known):
            raise ValueError(
                f"classes={list(classes)} differs from the classes of the first "
                f"call to partial_fit, {list(known)}."
            )
    index = np.clip(np.searchsorted(known, y), 0, len(known) - 1)
    unseen = known[index] != y
    if unseen.any():
        raise ValueError(
            f"y contains labels {np.unique(y[unseen]).tolist()} that are not in "
            f"classes {known.tolist()}."
        )
    return index, known


def class_sample_weight(class_weight, y_encoded, classes, partial):
    """Per-sample weights for ``class_weight``, from encoded targets.

    Parameters
    ----------
    class_weight : dict, "balanced" or None
        Dict keys are the original class labels.
    y_encoded : ndarray of shape (n_samples,) or (n_samples, 1) or (n_samples, n_labels)
        Class indices, a binary 0/1 column, or a multilabel indicator matrix.
    classes : ndarray of shape (n_classes,)
    partial : bool
        True inside ``partial_fit``, where "balanced" is refused.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
    """
    if class_weight is None:
        return None
    if partial and class_weight == "balanced":
        raise ValueError(
            "class_weight='balanced' is not supported for partial_fit: pass a dict "
            "of class weights computed on the whole data instead."
        )
    y = np.asarray(y_encoded)
    if y.ndim == 2 and y.shape[1] > 1:
        return compute_sample_weight(class_weight, y)
    index = y.reshape(-1).astype(np.intp)
    if isinstance(class_weight, str):  # "balanced": over the classes present in y
        return compute_sample_weight(class_weight, classes[index])
    # a dict: each class's weight (1 when not named), over every known class,
    # so that a class absent from one partial_fit batch is no error
    return class_weight_vector(class_weight, classes)[index]


def class_weight_vector(class_weight, classes):
    """The weight of each class for a ``class_weight`` dict, checked against ``classes``.

    Parameters
    ----------
    class_weight : dict
        Class label -> weight; classes it does not name weigh 1.
    classes : ndarray of shape (n_classes,)
        The sorted classes of the model.

    Returns
    -------
    weights : ndarray of shape (n_classes,), dtype float64

    Raises
    ------
    ValueError
        If a key is not one of ``classes`` (the message names those keys and
        the classes), or a weight is not a finite non-negative number.
    """
    position = {c: i for i, c in enumerate(classes.tolist())}
    extra = [key for key in class_weight if _hashable(key) not in position]
    if extra:
        raise ValueError(
            f"class_weight names classes {extra!r} that are not classes of y; the "
            f"classes are {classes.tolist()!r}."
        )
    weights = np.ones(len(classes), dtype=np.float64)
    for key, value in class_weight.items():
        if (
            not isinstance(value, numbers.Real) or isinstance(value, bool)
            or not np.isfinite(value) or value < 0
        ):
            raise ValueError(
                f"class_weight[{key!r}] must be a finite non-negative number, got {value!r}."
            )
        weights[position[_hashable(key)]] = value
    return weights


def _hashable(key):
    """``key`` as ``ndarray.tolist`` gives it (numpy scalars become Python ones)."""
    return key.item() if isinstance(key, np.generic) else key


def _label_types(labels):
    """The sorted names of the Python types of ``labels``' values, by kind.

    Returns a dict: ``"str"``, ``"number"`` (bools included) or a type name ->
    the type names of that kind found; one key means the labels sort together.
    """
    labels = np.asarray(labels)
    if labels.dtype.kind in "US":
        return {"str": ["str"]}
    if labels.dtype != object:
        return {"number": [type(labels.ravel()[:1].tolist()[0]).__name__ if labels.size
                           else labels.dtype.name]}
    kinds = {}
    for kind_type in set(map(type, labels.ravel().tolist())):
        if issubclass(kind_type, str):
            kind = "str"
        elif issubclass(kind_type, numbers.Number):
            kind = "number"
        else:
            kind = kind_type.__name__
        kinds.setdefault(kind, []).append(kind_type.__name__)
    return {kind: sorted(names) for kind, names in kinds.items()}


def check_label_types(labels, what):
    """Raise a ValueError naming the types when ``labels`` mix kinds.

    Numbers and strings (or None, or tuples, ...) in one object array cannot
    be sorted into classes: NumPy would raise a bare TypeError.

    Parameters
    ----------
    labels : array-like of shape (n_samples,)
    what : str
        ``"y"`` or ``"classes"``, for the message.
    """
    kinds = _label_types(labels)
    if len(kinds) > 1:
        names = ", ".join(sorted(name for group in kinds.values() for name in group))
        raise ValueError(
            f"{what} mixes labels of types {names}: class labels must be all numbers "
            "or all strings."
        )


def check_label_types_match(y, fitted_classes):
    """Raise a ValueError when ``y``'s labels are of another kind than the classes."""
    y_kinds, known_kinds = _label_types(y), _label_types(fitted_classes)
    if len(y) and not set(y_kinds) <= set(known_kinds):
        names = ", ".join(name for group in y_kinds.values() for name in group)
        known = ", ".join(name for group in known_kinds.values() for name in group)
        raise ValueError(
            f"y holds labels of type {names} but the classes are {known}: "
            f"{fitted_classes.tolist()!r}."
        )


def _check_same_classes(y, fitted_classes):
    """Refuse labels that are not exactly the fitted classes (a warm-started ``fit``)."""
    classes = np.unique(y)
    if not np.array_equal(classes, fitted_classes):
        raise ValueError(
            "warm_start can only be used where `y` has the same classes as in the "
            f"previous call to fit. Previously got {fitted_classes}, `y` has {classes}."
        )
