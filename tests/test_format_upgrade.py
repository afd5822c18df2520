"""Models pickled by the format-2 release (sknumpynet 0.1.0) load, predict and resume.

``tests/data/format2_models.npz`` was written by ``tests/data/make_format2_models.py``
run against that release: three fitted models as pickles, their outputs, and
their outputs and parameters after one more ``partial_fit``. Format 2 packed the
optimizer's moments with the penalised parameters first; format 3 packs them in
network order, so a wrong repacking shows up as a different ``partial_fit``.
"""

import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris

from sknumpynet._base import FORMAT_VERSION

DATA = np.load(Path(__file__).parent / "data" / "format2_models.npz")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return (X - X.mean(0)) / X.std(0), y


def load(name):
    return pickle.loads(DATA[name + "_pickle"].tobytes())


def output(name, model, X):
    if name == "linear_svm":
        return model.decision_function(X)
    return model.predict_proba(X) if name == "mlp_classifier" else model.predict(X)


@pytest.mark.parametrize("name", ["mlp_classifier", "mlp_regressor", "linear_svm"])
def test_format_2_model_predicts_as_before(name, iris):
    X, _ = iris
    model = load(name)
    assert model._format_version == FORMAT_VERSION == 3
    np.testing.assert_array_equal(output(name, model, X), DATA[name + "_before"])


# Not the regressor: format 3's MLPRegressor minimises half the mean squared
# error (scikit-learn's definition), so its next step differs by design; the
# classifier and the SVM exercise the repacking of the moments exactly.
@pytest.mark.parametrize("name", ["mlp_classifier", "linear_svm"])
def test_format_2_model_resumes_with_its_optimizer_moments(name, iris):
    X, y = iris
    model = load(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y.astype(float) if name == "mlp_regressor" else y)
    params = np.concatenate([p.value.ravel() for p in model.network_.parameters()])
    np.testing.assert_array_equal(params, DATA[name + "_params_after"])
    np.testing.assert_array_equal(output(name, model, X), DATA[name + "_after"])
    assert len(model.loss_curve_) == 6 and model.n_iter_ == 1


def test_format_2_regressor_resumes(iris):
    X, y = iris
    model = load("mlp_regressor")
    t, moments = model._optimizer.t, [a.copy() for a in model._optimizer.state_arrays()]
    assert t > 0 and all(a.any() for a in moments)
    # a twin on the same weights whose optimizer forgot its moments and steps
    forgetful = load("mlp_regressor")
    forgetful._optimizer.t = 0
    for a in forgetful._optimizer.state_arrays():
        a[...] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.partial_fit(X, y.astype(float))
        forgetful.partial_fit(X, y.astype(float))
    assert len(model.loss_curve_) == 6 and np.isfinite(model.predict(X)).all()
    # training went on from the saved optimizer, not from a fresh one: its
    # steps continue the count and its moments move the weights differently
    assert model._optimizer.t == t + 1  # iris in one batch of 150
    assert not np.array_equal(model.predict(X), forgetful.predict(X))
