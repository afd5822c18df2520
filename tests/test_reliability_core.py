"""Issue 14's faults that live in the estimator core, each reproduced as reported.

1. divergence that stays finite; 2. float32 overflow in the bookkeeping;
5. warm starts after changing the architecture; 6. batch-norm statistics that
lag the final weights; 10. the optimizer state after Ctrl-C (in
test_reliability.py's interruption tests: the next partial_fit equals an
uninterrupted twin's).
"""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris
from sklearn.exceptions import ConvergenceWarning

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor


def caught(fit):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model = fit()
    return model, [str(w.message) for w in record if issubclass(w.category, ConvergenceWarning)]


def test_regression_whose_loss_runs_away_finitely_is_rolled_back_and_says_so():
    # reported: loss 3.8e208, predictions all NaN, only "maximum iterations" shown
    X, y = load_iris(return_X_y=True)
    reg, messages = caught(lambda: MLPRegressor(
        solver="sgd", learning_rate_init=1, activation="identity", max_iter=5, random_state=0,
    ).fit(X, y))
    assert any("diverged" in m for m in messages), messages
    assert not any("Maximum iterations" in m for m in messages)
    assert np.isfinite(reg.predict(X)).all()
    assert np.isfinite(reg.loss_curve_).all() and max(reg.loss_curve_) < 1e6 * 10


def test_classifier_whose_loss_runs_away_keeps_its_last_good_epoch():
    # reported: loss 7e52 and accuracy 0.10 with the maximum-iterations message
    X, y = load_digits(return_X_y=True)
    X = X * 1e4
    clf, messages = caught(lambda: MLPClassifier(
        learning_rate_init=1e3, solver="sgd", max_iter=5, random_state=0,
    ).fit(X, y))
    assert any("diverged" in m for m in messages), messages
    assert np.isfinite(clf.predict_proba(X)).all()
    assert clf.n_iter_ < 5 and np.isfinite(clf.loss_curve_).all()


def scores(model, X):
    return model.decision_function(X) if isinstance(model, LinearSVM) else model.predict_proba(X)


@pytest.mark.parametrize("make, scale_free", [
    # alpha=0: a uniform weight cancels out of the weighted mean loss
    (lambda w: MLPClassifier((16,), alpha=0.0, max_iter=5, random_state=0), True),
    # LinearSVM: 0.5 ||W||^2 + C sum(s_i l_i); C / 1e37 with weights 1e37 is C with 1
    (lambda w: LinearSVM(C=1.0 / w, max_iter=5, random_state=0), True),
    # batch norm counts weights as frequencies (unbiased variance): not scale-free
    (lambda w: MLPClassifier((16,), batch_norm=True, max_iter=5, random_state=0), False),
])
def test_huge_float32_sample_weights_do_not_overflow(make, scale_free):
    # reported: uniform sample_weight=1e37 on float32 X overflowed the batch sums
    # (float(wb.sum()) in float32) and was reported as divergence
    X, y = load_iris(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    big, messages = caught(lambda: make(1e37).fit(X, y, sample_weight=np.full(len(y), 1e37)))
    assert not any("diverged" in m for m in messages), messages
    assert np.isfinite(big.loss_curve_).all() and np.isfinite(scores(big, X)).all()
    if scale_free:
        ones, _ = caught(lambda: make(1.0).fit(X, y, sample_weight=np.ones(len(y))))
        np.testing.assert_allclose(scores(big, X), scores(ones, X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("change, name", [
    ({"hidden_layer_sizes": (7,)}, "hidden_layer_sizes"),
    ({"activation": "tanh"}, "activation"),
    ({"batch_norm": True}, "batch_norm"),
    ({"dropout": 0.3}, "dropout"),
])
@pytest.mark.parametrize("method", ["warm_start", "partial_fit"])
def test_resuming_after_changing_the_architecture_is_refused(change, name, method):
    X, y = load_iris(return_X_y=True)
    clf = MLPClassifier((5,), max_iter=3, random_state=0, warm_start=True)
    caught(lambda: clf.fit(X, y))
    coefs = [c.copy() for c in clf.coefs_]
    clf.set_params(**change)
    with pytest.raises(ValueError, match=rf"{name} changed since the network was built"):
        if method == "warm_start":
            clf.fit(X, y)
        else:
            clf.partial_fit(X, y)
    for a, b in zip(coefs, clf.coefs_):
        np.testing.assert_array_equal(a, b)
    clf.set_params(warm_start=False)
    caught(lambda: clf.fit(X, y))  # a cold fit builds the new network
    assert clf.get_feature_names_out().shape[0] == clf.transform(X).shape[1]


def test_linear_svm_refuses_resuming_with_another_intercept_setting():
    X, y = load_iris(return_X_y=True)
    svm = LinearSVM(max_iter=2, random_state=0, warm_start=True)
    caught(lambda: svm.fit(X, y))
    svm.set_params(fit_intercept=False)
    with pytest.raises(ValueError, match="fit_intercept changed"):
        svm.fit(X, y)


def test_batch_norm_with_a_huge_constant_column_predicts_as_it_trained():
    # reported: training loss 0.94 but eval-mode accuracy 0.10: the running
    # statistics lagged the batch statistics
    X, y = load_digits(return_X_y=True)
    X = np.hstack([X / 16, np.full((len(y), 1), 1e15)])
    clf, _ = caught(lambda: MLPClassifier((32,), batch_norm=True, max_iter=30,
                                          random_state=0).fit(X, y))
    assert clf.score(X, y) > 0.9
    bn = clf.network_[0][1]
    hidden = X @ clf.coefs_[0] + clf.intercepts_[0]
    np.testing.assert_allclose(bn.running_mean, hidden.mean(0), rtol=1e-6)
