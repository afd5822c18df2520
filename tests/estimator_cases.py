"""Estimators, data and bit-for-bit comparisons shared by the estimator-level tests.

test_base.py, test_classifier.py and test_mlp.py run their reliability tests on
these: MLPClassifier, MLPRegressor (where a regressor makes sense) and
LinearSVM (with and without ``probability=True``, which validates and trains
through its own path). What "nothing lost" means is checked bit for bit: a
failed call must leave every attribute pickling to the same bytes and every
prediction equal; an interrupted or diverged fit must hold exactly the weights
of a twin fitted for fewer epochs with the same seed.
"""

import functools
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning

import sknumpynet
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor
from sknumpynet._training import Trainer

HAS_SVM = hasattr(sknumpynet, "LinearSVM")
needs_svm = pytest.mark.skipif(not HAS_SVM, reason="sknumpynet.LinearSVM is not available yet")

N_SAMPLES, N_FEATURES, BATCH_SIZE = 60, 4, 20
BATCHES_PER_EPOCH = N_SAMPLES // BATCH_SIZE


# -- estimators ----------------------------------------------------------------------

COMMON = dict(batch_size=BATCH_SIZE, random_state=0, n_threads=1, max_iter=6)


def mlp_classifier(**params):
    return MLPClassifier(
        **{"hidden_layer_sizes": (6,), "learning_rate_init": 0.01, **COMMON, **params}
    )


def mlp_regressor(**params):
    return MLPRegressor(
        **{"hidden_layer_sizes": (6,), "learning_rate_init": 0.01, **COMMON, **params}
    )


def linear_svm(**params):
    # a constant rate: the default cosine schedule depends on max_iter, and the
    # twins below compare a long fit with a shorter one epoch by epoch. Adam:
    # these tests are of the minibatch epochs (solver="auto" would train this
    # small data with the full-batch solver, which has no batches to interrupt)
    return sknumpynet.LinearSVM(
        **{
            "solver": "adam",
            "learning_rate": "constant",
            "learning_rate_init": 0.01,
            **COMMON,
            **params,
        }
    )


linear_svm_proba = functools.partial(linear_svm, probability=True)

CLASSIFIERS = [
    pytest.param(mlp_classifier, id="MLPClassifier"),
    pytest.param(linear_svm, id="LinearSVM", marks=needs_svm),
    pytest.param(linear_svm_proba, id="LinearSVM-proba", marks=needs_svm),
]
ESTIMATORS = [*CLASSIFIERS[:1], pytest.param(mlp_regressor, id="MLPRegressor"), *CLASSIFIERS[1:]]
OUTPUT_METHODS = ("predict", "predict_proba", "predict_log_proba", "decision_function", "transform")

# -- data and helpers ------------------------------------------------------------------


def make_data(seed=0, n_samples=N_SAMPLES):
    """Standardised X, three balanced-ish classes from it, and a linear target."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, N_FEATURES))
    y_class = np.argmax(X[:, :3], axis=1)
    y_reg = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(n_samples)
    return X, y_class, y_reg


X, Y_CLASS, Y_REG = make_data()


def target(est, y_class=Y_CLASS, y_reg=Y_REG):
    return y_class if is_classifier(est) else y_reg


def fitted(factory, X=X, **params):
    est = factory(**params)
    return est.fit(X, target(est))


def outputs(est, X):
    """Every output method the estimator offers, by name."""
    return {name: getattr(est, name)(X) for name in OUTPUT_METHODS if hasattr(est, name)}


def assert_outputs_equal(a, b):
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].dtype == b[name].dtype, name
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def assert_outputs_finite(out):
    for name, value in out.items():
        if name == "predict_log_proba":  # log of a probability that rounds to 0 is -inf
            assert not np.isnan(value).any() and (value <= 0).all(), f"{name} is not a log"
        elif value.dtype.kind == "f":
            assert np.isfinite(value).all(), f"{name} is not finite"


def fingerprint(est):
    """Each attribute of the estimator as pickled bytes (caches are not pickled)."""
    return {name: pickle.dumps(value) for name, value in vars(est).items()}


def assert_unchanged(est, before):
    after = fingerprint(est)
    assert after.keys() == before.keys(), (
        f"attributes added {sorted(after.keys() - before.keys())}, "
        f"removed {sorted(before.keys() - after.keys())}"
    )
    changed = sorted(k for k in before if before[k] != after[k])
    assert not changed, f"attributes changed: {changed}"


def state(est):
    """Copies of every array of the fitted network: weights, biases, BatchNorm buffers."""
    return [a.copy() for a in est.network_.state_arrays()]


def assert_same_state(a, b):
    sa, sb = state(a), state(b)
    assert len(sa) == len(sb)
    for i, (x, y) in enumerate(zip(sa, sb)):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y, err_msg=f"state array {i}")


def patch_train_batch(monkeypatch, hook):
    """Wrap Trainer.train_batch; ``hook(trainer, call_number, run)`` does the batch."""
    original = Trainer.train_batch
    calls = []

    def train_batch(self, *args, **kwargs):
        calls.append(len(calls) + 1)
        return hook(self, len(calls), lambda: original(self, *args, **kwargs))

    monkeypatch.setattr(Trainer, "train_batch", train_batch)
    return calls


def batch_number(epoch, batch):
    """1-based number of a batch counted over the whole fit."""
    return (epoch - 1) * BATCHES_PER_EPOCH + batch


def caught(fit):
    """The model ``fit()`` returns, and the messages of the ConvergenceWarnings it gave."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = fit()
    return model, [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)]


def weights(est):
    """The fitted weights and biases of an MLPClassifier or a LinearSVM, as a list."""
    if isinstance(est, LinearSVM):
        return [est.coef_, est.intercept_]
    return [*est.coefs_, *est.intercepts_]


def assert_same_weights(a, b):
    for wa, wb in zip(weights(a), weights(b), strict=True):
        np.testing.assert_array_equal(wa, wb)
