"""The classifier core (sknumpynet/_classifier.py): labels, classes and class weights.

partial_fit's classes, labels outside them or mixing types, and class_weight
against the classes, on MLPClassifier and LinearSVM (with and without
``probability=True``); a failed call changes nothing, bit for bit (see
tests/estimator_cases.py).
"""

import numpy as np
import pytest
from estimator_cases import (
    CLASSIFIERS,
    N_SAMPLES,
    Y_CLASS,
    X,
    assert_outputs_equal,
    assert_unchanged,
    fingerprint,
    outputs,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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
