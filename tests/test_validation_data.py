"""Validation data passed to fit (``X_val``, ``y_val``, ``sample_weight_val``) and ``scoring``.

As HistGradientBoosting: ``X_val`` replaces the ``validation_fraction`` split,
drives early stopping and best weights with ``early_stopping=True``, and is
scored every epoch without it; full-batch solvers score it once, after the fit.
"""

import inspect
import pickle
import warnings

import numpy as np
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn_versions import needs_transform_input

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor, load, save
from sknumpynet._training import TrainingLog


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(
        500, 10, n_informative=6, n_classes=3, random_state=0, class_sep=1.5
    )
    return X[:400], y[:400], X[400:], y[400:]


def _clf(**params):
    defaults = dict(hidden_layer_sizes=(16,), max_iter=40, learning_rate_init=0.01,
                    random_state=0)
    return MLPClassifier(**{**defaults, **params})


# -- what X_val changes ---------------------------------------------------------------------


def test_x_val_replaces_the_split_and_all_of_x_trains(data):
    X, y, Xv, yv = data
    split = _clf(early_stopping=True).fit(X, y)
    given = _clf(early_stopping=True).fit(X, y, X_val=Xv, y_val=yv)
    # every epoch trains on all 400 rows, not on 90% of them
    assert given.t_ == given.n_iter_ * X.shape[0]
    assert split.t_ == split.n_iter_ * 360
    assert given.validation_scores_ != split.validation_scores_


def test_shuffled_y_val_changes_what_early_stopping_sees(data):
    X, y, Xv, yv = data
    params = dict(early_stopping=True, tol=0.0, n_iter_no_change=3, max_iter=100)
    real = _clf(**params).fit(X, y, X_val=Xv, y_val=yv)
    shuffled = np.random.default_rng(0).permutation(yv)
    noise = _clf(**params).fit(X, y, X_val=Xv, y_val=shuffled)
    assert noise.best_validation_score_ < 0.6 < real.best_validation_score_
    assert noise.n_iter_ != real.n_iter_
    # the recorded scores are the accuracy on X_val of each epoch
    assert real.validation_scores_[-1] <= real.best_validation_score_


def test_best_weights_come_from_the_best_x_val_epoch(data):
    X, y, Xv, yv = data
    params = dict(early_stopping=True, tol=0.0, n_iter_no_change=5, max_iter=200,
                  learning_rate_init=0.05)
    best = _clf(**params).fit(X, y, X_val=Xv, y_val=yv)
    scores = best.validation_scores_
    best_epoch = int(np.argmax(scores)) + 1
    assert best_epoch < best.n_iter_ < 200
    assert best.score(Xv, yv) == pytest.approx(max(scores), abs=1e-12)
    stopped = _clf(**{**params, "max_iter": best_epoch}, restore_best_weights=False).fit(
        X, y, X_val=Xv, y_val=yv
    )
    for a, b in zip(best.coefs_, stopped.coefs_):
        assert_array_equal(a, b)


def test_without_early_stopping_x_val_is_only_recorded(data):
    X, y, Xv, yv = data
    plain = _clf().fit(X, y)
    watched = _clf().fit(X, y, X_val=Xv, y_val=yv)
    assert plain.validation_scores_ is None and plain.validation_loss_curve_ is None
    # the same training (stopping on the training loss), with a score per epoch
    assert watched.loss_curve_ == plain.loss_curve_
    assert len(watched.validation_scores_) == len(watched.validation_loss_curve_)
    assert len(watched.validation_scores_) == watched.n_iter_
    assert watched.best_loss_ == plain.best_loss_
    assert watched.best_validation_score_ == max(watched.validation_scores_)
    assert watched.validation_scores_[-1] == pytest.approx(watched.score(Xv, yv))
    assert [r["validation_loss"] for r in watched.history_] == watched.validation_loss_curve_
    assert all(r["validation_loss"] is None for r in plain.history_)


def test_validation_loss_is_the_unpenalised_weighted_training_loss(data):
    X, y, Xv, yv = data
    w = np.random.default_rng(1).uniform(0.1, 2.0, len(yv))
    clf = _clf(alpha=1.0).fit(X, y, X_val=Xv, y_val=yv, sample_weight_val=w)
    expected = log_loss(yv, clf.predict_proba(Xv), sample_weight=w)
    assert clf.validation_loss_curve_[-1] == pytest.approx(expected, rel=1e-10)

    Xr, yr = make_regression(300, 5, noise=5.0, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=20, random_state=0).fit(
        Xr[:250], yr[:250], X_val=Xr[250:], y_val=yr[250:]
    )
    half_mse = 0.5 * mean_squared_error(yr[250:], reg.predict(Xr[250:]))
    assert reg.validation_loss_curve_[-1] == pytest.approx(half_mse, rel=1e-10)
    assert reg.validation_scores_[-1] == pytest.approx(reg.score(Xr[250:], yr[250:]))


def test_sample_weight_val_weighs_the_validation_rows(data):
    X, y, Xv, yv = data
    keep = np.arange(len(yv)) % 2 == 0
    weighted = _clf().fit(X, y, X_val=Xv, y_val=yv, sample_weight_val=keep.astype(float))
    subset = _clf().fit(X, y, X_val=Xv[keep], y_val=yv[keep])
    unweighted = _clf().fit(X, y, X_val=Xv, y_val=yv)
    assert weighted.validation_scores_ == subset.validation_scores_
    assert_allclose(weighted.validation_loss_curve_, subset.validation_loss_curve_, rtol=1e-12)
    assert weighted.validation_loss_curve_ != unweighted.validation_loss_curve_


def test_class_weight_applies_to_the_validation_rows(data):
    X, y, Xv, yv = data
    clf = _clf(class_weight={0: 3.0}).fit(X, y, X_val=Xv, y_val=yv)
    w = np.where(yv == 0, 3.0, 1.0)
    assert clf.validation_scores_[-1] == pytest.approx(
        accuracy_score(yv, clf.predict(Xv), sample_weight=w)
    )


# -- scoring ------------------------------------------------------------------------------


def test_scoring_loss_watches_the_validation_loss(data):
    X, y, Xv, yv = data
    params = dict(early_stopping=True, tol=0.0, n_iter_no_change=3, max_iter=150,
                  learning_rate_init=0.05)
    by_loss = _clf(**params, scoring="loss").fit(X, y, X_val=Xv, y_val=yv)
    by_accuracy = _clf(**params).fit(X, y, X_val=Xv, y_val=yv)
    assert by_loss.validation_scores_ == [-v for v in by_loss.validation_loss_curve_]
    assert by_loss.best_validation_score_ == -min(by_loss.validation_loss_curve_)
    assert by_loss.n_iter_ != by_accuracy.n_iter_
    # the restored weights are those of the lowest validation loss
    assert log_loss(yv, by_loss.predict_proba(Xv)) == pytest.approx(
        min(by_loss.validation_loss_curve_), rel=1e-10
    )


def test_scorer_names_and_callables(data):
    X, y, Xv, yv = data
    # the log loss is the classifier's own loss: the scorer agrees with "loss"
    named = _clf(scoring="neg_log_loss").fit(X, y, X_val=Xv, y_val=yv)
    assert_allclose(named.validation_scores_, [-v for v in named.validation_loss_curve_],
                    rtol=1e-10)
    calls = []

    def first_class_share(estimator, X_, y_):
        calls.append((type(estimator), X_.shape))
        return float(np.mean(estimator.predict(X_) == y_[0]))

    custom = _clf(scoring=first_class_share).fit(X, y, X_val=Xv, y_val=yv)
    assert len(calls) == custom.n_iter_
    assert calls[0] == (MLPClassifier, Xv.shape)
    assert custom.validation_scores_[-1] == first_class_share(custom, Xv, yv)
    assert custom.validation_scores_ != named.validation_scores_


def test_scorer_sees_the_labels_and_sample_weight_of_the_split(data):
    X, y, _, _ = data
    labels = np.array(["a", "b", "c"])[y]
    clf = _clf(early_stopping=True, scoring="accuracy", max_iter=10).fit(X, labels)
    assert 0.3 < clf.best_validation_score_ <= 1.0


def test_scoring_is_validated(data):
    X, y, Xv, yv = data
    with pytest.raises(InvalidParameterError, match="scoring"):
        _clf(scoring=3).fit(X, y)
    with pytest.raises(ValueError, match="not_a_scorer"):
        _clf(scoring="not_a_scorer").fit(X, y, X_val=Xv, y_val=yv)


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda Xv, yv: dict(X_val=Xv), "X_val was passed without y_val"),
        (lambda Xv, yv: dict(y_val=yv), "y_val was passed without X_val"),
        (lambda Xv, yv: dict(sample_weight_val=np.ones(len(yv))),
         "sample_weight_val was passed without X_val"),
        (lambda Xv, yv: dict(X_val=Xv[:, :4], y_val=yv), "4 features.*expecting 10"),
        (lambda Xv, yv: dict(X_val=Xv, y_val=yv[:5]), "inconsistent numbers of samples"),
        (lambda Xv, yv: dict(X_val=Xv, y_val=yv + 7), r"labels \[7, 8, 9\].*not in classes"),
        (lambda Xv, yv: dict(X_val=Xv, y_val=yv.astype(str)), "labels of type str"),
        (lambda Xv, yv: dict(X_val=Xv, y_val=np.eye(3)[yv]), "y_val of shape"),
        (lambda Xv, yv: dict(X_val=Xv, y_val=yv, sample_weight_val=np.ones(3)),
         "sample_weight"),
        (lambda Xv, yv: dict(X_val=np.full_like(Xv, np.nan), y_val=yv), "NaN"),
    ],
)
def test_bad_validation_data_is_a_clear_error(data, make, match):
    X, y, Xv, yv = data
    with pytest.raises(ValueError, match=match):
        _clf(max_iter=2).fit(X, y, **make(Xv, yv))


def test_regressor_refuses_y_val_of_another_width():
    X, y = make_regression(100, 4, n_targets=2, random_state=0)
    with pytest.raises(ValueError, match=r"y_val of shape \(20,\) does not match"):
        MLPRegressor(max_iter=2).fit(X, y, X_val=X[:20], y_val=y[:20, 0])


def test_failed_fit_with_bad_x_val_leaves_the_model_unchanged(data):
    X, y, Xv, yv = data
    clf = _clf(max_iter=5).fit(X, y, X_val=Xv, y_val=yv)
    before = pickle.dumps(clf)
    proba = clf.predict_proba(Xv)
    with pytest.raises(ValueError, match="not in classes"):
        clf.fit(X, y, X_val=Xv, y_val=yv + 5)
    with pytest.raises(ValueError, match="features"):
        clf.set_params(warm_start=True).fit(X, y, X_val=Xv[:, 1:], y_val=yv)
    clf.set_params(warm_start=False)
    assert pickle.dumps(clf) == before
    assert_array_equal(clf.predict_proba(Xv), proba)


def test_x_val_in_the_network_dtype(data):
    X, y, Xv, yv = data
    clf = _clf(max_iter=3).fit(X.astype(np.float32), y, X_val=Xv, y_val=yv)
    assert clf.network_dtype_ == np.float32
    assert clf.validation_scores_[-1] == pytest.approx(clf.score(Xv.astype(np.float32), yv))


def test_partial_fit_takes_no_validation_data():
    for cls in (MLPClassifier, MLPRegressor, LinearSVM):
        assert "X_val" in inspect.signature(cls.fit).parameters
        assert "X_val" not in inspect.signature(cls.partial_fit).parameters


# -- full-batch solvers ----------------------------------------------------------------------


def test_lbfgs_scores_x_val_once_after_the_fit(data):
    X, y, Xv, yv = data
    clf = _clf(solver="lbfgs", early_stopping=True, max_iter=30).fit(
        X, y, X_val=Xv, y_val=yv
    )
    assert clf.validation_scores_ == [pytest.approx(clf.score(Xv, yv))]
    assert clf.validation_loss_curve_ == [pytest.approx(log_loss(yv, clf.predict_proba(Xv)))]
    assert clf.best_validation_score_ == clf.validation_scores_[0]
    assert clf.best_loss_ is not None  # lbfgs ignores early stopping
    # the one score is the final model's: the last record's, and no other's
    assert clf.history_[-1]["validation_score"] == clf.validation_scores_[0]
    assert all(r["validation_score"] is None for r in clf.history_[:-1])


def test_linear_svm_with_x_val(data):
    X, y, Xv, yv = data
    full = LinearSVM(random_state=0).fit(X, y, X_val=Xv, y_val=yv)  # "auto": full batch
    assert full.validation_scores_ == [pytest.approx(full.score(Xv, yv))]
    assert len(full.validation_loss_curve_) == 1
    stopped = LinearSVM(random_state=0, early_stopping=True, tol=0.0).fit(
        X, y, X_val=Xv, y_val=yv
    )
    assert stopped.t_ == stopped.n_iter_ * X.shape[0]
    assert len(stopped.validation_scores_) == stopped.n_iter_
    assert stopped.score(Xv, yv) == pytest.approx(stopped.best_validation_score_)
    by_loss = LinearSVM(random_state=0, early_stopping=True, scoring="loss").fit(
        X, y, X_val=Xv, y_val=yv
    )
    assert by_loss.validation_scores_ == [-v for v in by_loss.validation_loss_curve_]
    with pytest.raises(ValueError, match="not in classes"):
        LinearSVM(probability=True).fit(X, y, X_val=Xv, y_val=yv + 3)


# -- routing, saving ----------------------------------------------------------------------------


@needs_transform_input
def test_pipeline_routes_and_transforms_x_val(data):
    X, y, Xv, yv = data
    shift = 100.0  # unscaled, X_val would score as chance
    sklearn.set_config(enable_metadata_routing=True)
    try:
        mlp = _clf(early_stopping=True).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline([("scale", StandardScaler()), ("mlp", mlp)], transform_input=["X_val"])
        pipe.fit(X + shift, y, X_val=Xv + shift, y_val=yv)
    finally:
        sklearn.set_config(enable_metadata_routing=False)
    fitted = pipe.named_steps["mlp"]
    assert fitted.t_ == fitted.n_iter_ * X.shape[0]  # X_val was used, not the split
    assert fitted.best_validation_score_ > 0.7
    assert pipe.score(Xv + shift, yv) == pytest.approx(fitted.best_validation_score_)


def test_save_and_load_keep_the_validation_record(data, tmp_path):
    X, y, Xv, yv = data
    clf = _clf(max_iter=5, scoring="loss").fit(X, y, X_val=Xv, y_val=yv)
    save(clf, tmp_path / "clf.skn")
    loaded = load(tmp_path / "clf.skn")
    assert loaded.validation_loss_curve_ == clf.validation_loss_curve_
    assert loaded.scoring == "loss"
    assert loaded._log.validation_losses == clf._log.validation_losses
    loaded.set_params(warm_start=True).fit(X, y, X_val=Xv, y_val=yv)
    assert loaded.validation_loss_curve_[:5] == clf.validation_loss_curve_
    with pytest.raises(ValueError, match="scoring"):
        save(_clf(max_iter=1, scoring=lambda e, X_, y_: 0.0).fit(X, y), tmp_path / "f.skn")


def test_models_pickled_before_the_validation_loss_load(data):
    X, y, _, _ = data
    clf = _clf(max_iter=2).fit(X, y)
    state = clf.__getstate__()
    del state["validation_loss_curve_"]
    # the log as it was pickled then: separate lists, records without the loss
    log_state = dict(vars(state["_log"]))
    log_state["history"] = [{k: v for k, v in r.items() if k != "validation_loss"}
                            for r in log_state["history"]]
    log_state["loss_curve"] = [r["loss"] for r in log_state["history"]]
    log_state["validation_scores"] = []
    old_log = TrainingLog.__new__(TrainingLog)
    old_log.__setstate__(log_state)
    state["_log"] = old_log
    old = MLPClassifier.__new__(MLPClassifier)
    old.__setstate__(state)
    assert old.validation_loss_curve_ is None
    assert old._log.validation_losses == []
    old.set_params(warm_start=True).fit(X, y)  # the log resumes
    assert len(old.loss_curve_) == 4


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_full_batch_linear_svm_ignores_early_stopping_as_lbfgs_does(data, solver):
    """No 10% is held out for a solver that cannot stop early (newton held it out
    and trained on the rest)."""
    X, y, _, _ = data
    plain = LinearSVM(solver=solver, random_state=0).fit(X, y)
    stopped = LinearSVM(solver=solver, early_stopping=True, random_state=0).fit(X, y)
    np.testing.assert_array_equal(stopped.coef_, plain.coef_)
    assert stopped.validation_scores_ is None
