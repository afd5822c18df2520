"""The classifier core (sknumpynet/_classifier.py): labels, classes and class weights.

partial_fit's classes, labels outside them or mixing types, and class_weight
against the classes (issue 14, items 3, 4 and 11), on MLPClassifier and
LinearSVM (with and without ``probability=True``); a failed call changes
nothing, bit for bit (see tests/estimator_cases.py).
"""

import numpy as np
import pytest
from estimator_cases import (
    CLASSIFIERS,
    N_SAMPLES,
    Y_CLASS,
    X,
    assert_outputs_equal,
    assert_same_weights,
    assert_unchanged,
    fingerprint,
    outputs,
    weights,
)
from sklearn.datasets import load_digits, load_iris
from sklearn.utils.class_weight import compute_sample_weight

from sknumpynet import LinearSVM, MLPClassifier
from sknumpynet._classifier import class_sample_weight, class_weight_vector, encode_class_labels

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def mlp(**params):
    return MLPClassifier(**{"hidden_layer_sizes": (5,), "max_iter": 3, "random_state": 0, **params})


def svm(**params):
    return LinearSVM(**{"max_iter": 3, "random_state": 0, **params})


def svm_proba(**params):
    return svm(probability=True, **params)


# quick fits on iris (a separate list from estimator_cases.CLASSIFIERS, whose
# factories are set up for bit-for-bit twins of minibatch fits)
SMALL_CLASSIFIERS = [
    pytest.param(mlp, id="MLPClassifier"),
    pytest.param(svm, id="LinearSVM"),
    pytest.param(svm_proba, id="LinearSVM-proba"),
]


# -- partial_fit's classes -------------------------------------------------------------


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_partial_fit_labels_outside_classes(factory):
    est = factory()
    y_new = np.where(Y_CLASS == 2, 7, Y_CLASS)
    params = dict(vars(est))
    with pytest.raises(ValueError, match=r"\[7\].*not in classes \[0, 1, 2\]"):
        est.partial_fit(X, y_new, classes=[0, 1, 2])
    assert vars(est) == params

    est.partial_fit(X, Y_CLASS, classes=[0, 1, 2])
    before, predictions = fingerprint(est), outputs(est, X)
    with pytest.raises(ValueError, match=r"\[7\].*not in classes \[0, 1, 2\]"):
        est.partial_fit(X, y_new)
    with pytest.raises(ValueError, match=r"classes"):
        est.partial_fit(X, Y_CLASS, classes=[0, 1, 2, 3])
    assert_unchanged(est, before)
    assert_outputs_equal(outputs(est, X), predictions)


@pytest.mark.parametrize("factory", CLASSIFIERS)
def test_partial_fit_needs_classes_and_two_of_them(factory):
    est = factory()
    with pytest.raises(ValueError, match=r"classes must be passed"):
        est.partial_fit(X, Y_CLASS)
    with pytest.raises(ValueError, match=r"at least 2 classes"):
        est.partial_fit(X, np.zeros(N_SAMPLES, int), classes=[0])
    assert not hasattr(est, "n_features_in_")


# -- class_weight against the classes (issue 14 item 3) ------------------------------------------


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
@pytest.mark.parametrize(
    "class_weight", [{0: 1.0, 1: 2.0, 2: 1.0, 7: 3.0}, {0: 1.0, 7: 3.0}, {7: 3.0, "a": 1.0}]
)
def test_class_weight_naming_an_absent_class_raises_and_names_it(factory, class_weight):
    est = factory(class_weight=class_weight)
    params = dict(vars(est))
    extra = [k for k in class_weight if k not in (0, 1, 2)]
    with pytest.raises(ValueError) as info:
        est.fit(X_IRIS, Y_IRIS)
    message = str(info.value)
    assert message.startswith(f"class_weight names classes {extra!r} that are not classes")
    assert "[0, 1, 2]" in message
    assert vars(est) == params


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
def test_class_weight_naming_a_class_missing_from_one_partial_fit_batch(factory):
    """Class 2 is declared in classes= but absent from this batch: its weight is valid."""
    keep = Y_IRIS < 2
    est = factory(class_weight={2: 3.0, 1: 2.0})
    est.partial_fit(X_IRIS[keep], Y_IRIS[keep], classes=[0, 1, 2])
    twin = factory().partial_fit(
        X_IRIS[keep],
        Y_IRIS[keep],
        classes=[0, 1, 2],
        sample_weight=np.where(Y_IRIS[keep] == 1, 2.0, 1.0),
    )
    assert_same_weights(est, twin)
    with pytest.raises(ValueError, match=r"class_weight names classes \[5\]"):
        factory(class_weight={5: 1.0}).partial_fit(X_IRIS, Y_IRIS, classes=[0, 1, 2])


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
@pytest.mark.parametrize("value", [-1.0, np.nan, np.inf, "heavy"])
def test_class_weight_values_must_be_finite_non_negative_numbers(factory, value):
    with pytest.raises(ValueError, match=r"class_weight\[1\] must be a finite non-negative"):
        factory(class_weight={1: value}).fit(X_IRIS, Y_IRIS)


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
def test_class_weight_with_string_labels(factory):
    y = np.array(["setosa", "versicolor", "virginica"])[Y_IRIS]
    est = factory(class_weight={"virginica": 2.0}).fit(X_IRIS, y)
    twin = factory().fit(X_IRIS, y, sample_weight=np.where(Y_IRIS == 2, 2.0, 1.0))
    assert_same_weights(est, twin)
    with pytest.raises(ValueError, match=r"names classes \['Virginica'\]"):
        factory(class_weight={"Virginica": 2.0}).fit(X_IRIS, y)


# -- labels mixing types (issue 14 item 4) --------------------------------------------------------


def _mixed(values):
    y = np.empty(len(Y_IRIS), dtype=object)
    y[:] = [values[i] for i in Y_IRIS]
    return y


MIXED_LABELS = {
    "int_and_str": (_mixed([1, "a", "b"]), "int, str"),
    "str_and_None": (_mixed(["a", None, "b"]), "NoneType, str"),
    "float_and_str": (_mixed([1.5, "a", 2.5]), "float, str"),
    "bool_and_str": (_mixed([True, "a", "b"]), "bool, str"),
    "tuple_and_int": (_mixed([(1, 2), 3, 4]), "int, tuple"),
}


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
@pytest.mark.parametrize("case", list(MIXED_LABELS))
def test_labels_mixing_types_are_a_clear_value_error(factory, case):
    y, types = MIXED_LABELS[case]
    est = factory()
    params = dict(vars(est))
    with pytest.raises(ValueError) as info:
        est.fit(X_IRIS, y)
    assert str(info.value).startswith(f"y mixes labels of types {types}: ")
    assert vars(est) == params


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
def test_labels_of_another_type_than_the_fitted_classes(factory):
    est = factory().fit(X_IRIS, Y_IRIS)
    before = [w.copy() for w in weights(est)]
    y = np.array(["a", "b", "c"], dtype=object)[Y_IRIS]
    with pytest.raises(ValueError, match=r"y holds labels of type str but the classes are int"):
        est.partial_fit(X_IRIS, y)
    for a, b in zip(before, weights(est)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
def test_partial_fit_classes_mixing_types(factory):
    with pytest.raises(ValueError, match=r"classes mixes labels of types int, str: "):
        factory().partial_fit(X_IRIS, Y_IRIS, classes=np.array([0, 1, "2"], dtype=object))


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS)
def test_string_labels_of_one_type_in_an_object_array_still_work(factory):
    y = np.array(["a", "b", "c"], dtype=object)[Y_IRIS]
    est = factory().fit(X_IRIS, y)
    assert list(est.classes_) == ["a", "b", "c"]
    assert set(est.predict(X_IRIS)) <= {"a", "b", "c"}


# -- class_weight="balanced" ------------------------------------------------------------


@pytest.mark.parametrize("factory", SMALL_CLASSIFIERS[:2])
def test_balanced_class_weight_equals_the_balanced_sample_weights(factory):
    """Issue 14 item 11: class_weight="balanced" is applied.

    Not with probability=True: the class weights are then those of the rows
    left after the calibration split, while the explicit weights are the whole set's."""
    X, y = load_digits(return_X_y=True)
    keep = (y < 3) & ((y != 0) | (np.arange(len(y)) % 6 == 0))  # class 0 is rare
    X, y = X[keep] / 16, y[keep]
    balanced = factory(class_weight="balanced", max_iter=5).fit(X, y)
    explicit = factory(max_iter=5).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    plain = factory(max_iter=5).fit(X, y)
    for a, b in zip(weights(balanced), weights(explicit), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    assert max(np.abs(a - b).max() for a, b in zip(weights(balanced), weights(plain))) > 1e-3


# -- the label functions, on their own ----------------------------------------------------


def test_encode_class_labels_indexes_the_sorted_classes(binary_problem):
    X, y = binary_problem
    labels = np.array(["yes", "no"], dtype=object)[y]
    index, known = encode_class_labels(labels, None, None, "Model")
    assert known.tolist() == ["no", "yes"]
    np.testing.assert_array_equal(known[index], labels)
    again, same = encode_class_labels(labels[::-1], None, known, "Model")  # a later call
    np.testing.assert_array_equal(again, index[::-1])
    assert same is known
    with pytest.raises(ValueError, match=r"y contains labels \['maybe'\] that are not in"):
        encode_class_labels(np.append(labels, "maybe"), None, known, "Model")
    with pytest.raises(ValueError, match=r"Model needs samples of at least 2 classes.*'yes'"):
        encode_class_labels(labels[y == 0], None, None, "Model")


def test_class_weights_by_hand():
    classes = np.array([0, 1, 2])
    np.testing.assert_array_equal(class_weight_vector({2: 3.0, 0: 0.5}, classes), [0.5, 1, 3])
    y_encoded = np.array([0, 2, 1, 2])
    np.testing.assert_array_equal(
        class_sample_weight({2: 3.0, 0: 0.5}, y_encoded, classes, False), [0.5, 3, 1, 3]
    )
    # balanced: n / (n_classes present * count), over the classes in y: 4 / (2 * 3), 4 / (2 * 1)
    np.testing.assert_allclose(
        class_sample_weight("balanced", np.array([0, 0, 0, 1]), classes, False),
        [2 / 3, 2 / 3, 2 / 3, 2],
        rtol=1e-15,
    )
    assert class_sample_weight(None, y_encoded, classes, False) is None
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        class_sample_weight("balanced", y_encoded, classes, True)
