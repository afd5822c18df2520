"""MLPClassifier and MLPRegressor as scikit-learn estimators.

Every check compares against something computed independently of the code
under test: scikit-learn's own MLPs, a duplicated or removed row, a forward pass
written out with numpy from ``coefs_``, a refit with fewer epochs, or a formula.
The networks are small and ``n_threads=1`` keeps BLAS from oversubscribing the
machine, so the whole file runs in well under a minute.
"""

import os
import pickle
import re
import subprocess
import sys
import textwrap
import tracemalloc
import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from estimator_cases import Y_CLASS, X, assert_outputs_finite, caught, mlp_classifier, outputs
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import (
    load_digits,
    make_blobs,
    make_classification,
    make_friedman1,
    make_multilabel_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

import sknumpynet._runtime
from sknumpynet import MLPClassifier, MLPRegressor, nn

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SOLVERS = ["lbfgs", "sgd", "rmsprop", "adam", "nadam"]


# -- data ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    """Digits scaled to [0, 1], split 70/30 (stratified)."""
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def small_digits(digits):
    """The first 450 training digits: enough to learn, quick to fit many times."""
    X_train, X_test, y_train, y_test = digits
    return X_train[:450], X_test[:200], y_train[:450], y_test[:200]


@pytest.fixture(scope="module")
def blobs():
    """An easy, standardised 3-class problem, split 2/3 - 1/3."""
    X, y = make_blobs(n_samples=300, centers=3, n_features=5, cluster_std=2.0, random_state=0)
    X = StandardScaler().fit_transform(X)
    return train_test_split(X, y, test_size=0.33, random_state=0, stratify=y)


@pytest.fixture(scope="module")
def friedman():
    """make_friedman1 with standardised features, split 70/30."""
    X, y = make_friedman1(n_samples=1000, noise=0.5, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _small_clf(**params):
    base = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                random_state=0, n_threads=1)
    base.update(params)
    return MLPClassifier(**base)


def _small_reg(**params):
    base = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=30,
                random_state=0, n_threads=1)
    base.update(params)
    return MLPRegressor(**base)


def _manual_hidden(est, X):
    """Every hidden layer's ReLU activations, computed from coefs_ with numpy."""
    h, out = X, []
    for W, b in zip(est.coefs_[:-1], est.intercepts_[:-1]):
        h = np.maximum(h @ W + b, 0)
        out.append(h)
    return out


def _outputs(est, X):
    """Everything an estimator computes from X (predict, proba, embeddings)."""
    out = {"predict": est.predict(X), "transform": est.transform(X)}
    if hasattr(est, "predict_proba"):
        out["predict_proba"] = est.predict_proba(X)
    return out


def _assert_same_outputs(a, b, X):
    out_a, out_b = _outputs(a, X), _outputs(b, X)
    for name in out_a:
        assert_array_equal(out_a[name], out_b[name], err_msg=name)


# -- scikit-learn integration -----------------------------------------------------------


def test_pipeline_with_standard_scaler_equals_scaling_by_hand(digits):
    X_train, X_test, y_train, y_test = digits
    # columns on wildly different scales: the network needs the scaler
    scales = np.logspace(-3, 3, X_train.shape[1])
    X_train, X_test = X_train[:600] * scales, X_test * scales
    y_train = y_train[:600]

    pipe = make_pipeline(StandardScaler(), _small_clf(hidden_layer_sizes=(32,)))
    pipe.fit(X_train, y_train)

    scaler = StandardScaler().fit(X_train)
    clf = _small_clf(hidden_layer_sizes=(32,)).fit(scaler.transform(X_train), y_train)
    assert_array_equal(pipe.predict_proba(X_test), clf.predict_proba(scaler.transform(X_test)))
    assert pipe.score(X_test, y_test) > 0.9


def test_grid_search_over_hidden_sizes_alpha_and_dropout(small_digits):
    X_train, X_test, y_train, y_test = small_digits
    grid = {"hidden_layer_sizes": [(4,), (32,)], "alpha": [1e-4, 10.0], "dropout": [0.0, 0.3]}
    search = GridSearchCV(_small_clf(max_iter=20), grid, cv=3).fit(X_train, y_train)

    assert len(search.cv_results_["params"]) == 8
    scores = search.cv_results_["mean_test_score"]
    assert len(np.unique(np.round(scores, 10))) > 1, "the parameters had no effect"
    best = search.best_estimator_
    assert best.get_params()["hidden_layer_sizes"] == search.best_params_["hidden_layer_sizes"]
    assert best.coefs_[0].shape[1] == search.best_params_["hidden_layer_sizes"][0]
    has_dropout = any(isinstance(m, nn.Dropout) for block in best.network_[:-1] for m in block)
    assert has_dropout == (search.best_params_["dropout"] > 0)
    # 4 units and a heavy penalty are worse than 32 units and a light one
    assert search.best_params_["hidden_layer_sizes"] == (32,)
    assert search.best_score_ > 0.85
    assert search.score(X_test, y_test) > 0.85


def test_cross_val_score(small_digits, friedman):
    X, _, y, _ = small_digits
    scores = cross_val_score(_small_clf(), X, y, cv=3)
    assert scores.shape == (3,)
    assert scores.min() > 0.85

    X, _, y, _ = friedman
    scores = cross_val_score(_small_reg(max_iter=300), X, y, cv=3)
    assert scores.min() > 0.75


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_clone(make, small_digits):
    X, X_test, y, _ = small_digits
    est = make(dropout=0.1).fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "network_")
    assert not hasattr(copy, "n_iter_")
    copy.fit(X, y)
    assert copy.network_ is not est.network_
    _assert_same_outputs(est, copy, X_test)


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_pickle_and_joblib_round_trips(make, small_digits, tmp_path):
    X, X_test, y, _ = small_digits
    est = make(hidden_layer_sizes=(16, 8), dropout=0.2, batch_norm=True).fit(X, y)

    unpickled = pickle.loads(pickle.dumps(est))
    _assert_same_outputs(est, unpickled, X_test)

    path = tmp_path / "model.joblib"
    joblib.dump(est, path)
    loaded = joblib.load(path)
    _assert_same_outputs(est, loaded, X_test)

    # the optimizer and generator state travel too: training goes on identically
    est.partial_fit(X, y)
    loaded.partial_fit(X, y)
    _assert_same_outputs(est, loaded, X_test)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_random_state_gives_bit_identical_refits(make, dtype, small_digits):
    X, X_test, y, _ = small_digits
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    params = dict(hidden_layer_sizes=(16, 8), dropout=0.2, batch_norm=True, max_iter=10)
    first = make(**params).fit(X, y)
    second = make(**params).fit(X, y)
    assert first.loss_curve_ == second.loss_curve_
    for a, b in zip(first.coefs_ + first.intercepts_, second.coefs_ + second.intercepts_):
        assert a.dtype == dtype
        assert_array_equal(a, b)
    _assert_same_outputs(first, second, X_test)

    # refitting the same instance starts over from the same seed
    curve = list(first.loss_curve_)
    first.fit(X, y)
    assert first.loss_curve_ == curve
    for a, b in zip(first.coefs_, second.coefs_):
        assert_array_equal(a, b)

    # and the seed matters
    other = make(**params, random_state=1).fit(X, y)
    assert not np.array_equal(other.coefs_[0], first.coefs_[0])


# -- embeddings -----------------------------------------------------------------------


def test_embeddings_beat_raw_pixels_on_digit_parity(digits):
    X_train, X_test, y_train, y_test = digits
    parity_train, parity_test = y_train % 2, y_test % 2

    embed = make_pipeline(
        MLPClassifier(hidden_layer_sizes=(64,), max_iter=100, random_state=0, n_threads=1),
        LogisticRegression(max_iter=2000),
    ).fit(X_train, parity_train)
    raw = LogisticRegression(max_iter=2000).fit(X_train, parity_train)

    embed_score = embed.score(X_test, parity_test)
    raw_score = raw.score(X_test, parity_test)
    assert embed_score > raw_score + 0.02, (embed_score, raw_score)


def test_embedding_layer_widths_and_values(small_digits):
    X, X_test, y, _ = small_digits
    clf = _small_clf(hidden_layer_sizes=(16, 8)).fit(X, y)
    h1, h2 = _manual_hidden(clf, X_test)

    emb = clf.transform(X_test)  # default: the last hidden layer
    assert emb.shape == (len(X_test), 8)
    assert_allclose(emb, h2, rtol=1e-10, atol=1e-12)

    clf.set_params(embedding_layer=0)
    emb = clf.transform(X_test)
    assert emb.shape == (len(X_test), 16)
    assert_allclose(emb, h1, rtol=1e-10, atol=1e-12)
    assert len(clf.get_feature_names_out()) == 16

    clf.set_params(embedding_layer="all")
    emb = clf.transform(X_test)
    assert emb.shape == (len(X_test), 16 + 8)
    assert_allclose(emb, np.hstack([h1, h2]), rtol=1e-10, atol=1e-12)
    assert len(clf.get_feature_names_out()) == 24

    clf.set_params(embedding_layer=2)
    with pytest.raises(ValueError, match="embedding_layer"):
        clf.transform(X_test)


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_transform_is_in_eval_mode(make, small_digits):
    X, X_test, y, _ = small_digits
    est = make(hidden_layer_sizes=(16,), dropout=0.5).fit(X, y)
    first, second = est.transform(X_test), est.transform(X_test)
    assert_array_equal(first, second)
    # no mask and no 1 / (1 - p) scaling: exactly the plain forward pass
    assert_allclose(first, _manual_hidden(est, X_test)[0], rtol=1e-10, atol=1e-12)

    bn = make(hidden_layer_sizes=(16,), dropout=0.5, batch_norm=True).fit(X, y)
    assert_array_equal(bn.transform(X_test), bn.transform(X_test))
    # running statistics, not the batch's: one row gives the same as inside a batch
    assert_allclose(bn.transform(X_test[:1]), bn.transform(X_test)[:1], rtol=1e-10)


def test_feature_names_out_and_pandas_output(small_digits):
    X, X_test, y, _ = small_digits
    clf = _small_clf(hidden_layer_sizes=(16, 8), embedding_layer="all").fit(X, y)
    names = clf.get_feature_names_out()
    assert len(names) == 24
    assert len(set(names)) == 24
    assert all(name.startswith("mlpclassifier") for name in names)

    expected = clf.transform(X_test)
    index = pd.RangeIndex(100, 100 + len(X_test))
    frame = pd.DataFrame(X_test, columns=[f"pixel{i}" for i in range(64)], index=index)
    clf_pd = _small_clf(hidden_layer_sizes=(16, 8), embedding_layer="all")
    clf_pd.set_output(transform="pandas")
    clf_pd.fit(pd.DataFrame(X, columns=frame.columns), y)
    out = clf_pd.transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(names)
    assert out.index.equals(index)
    assert_array_equal(out.to_numpy(), expected)


# -- sample and class weights ----------------------------------------------------------


def _weight_problem(kind):
    """A small problem (<= 200 rows with duplicates: 'auto' batches are full batches)."""
    if kind == "regression":
        X, y = make_friedman1(n_samples=120, noise=0.3, random_state=1)
        X = StandardScaler().fit_transform(X)
        est = _small_reg(hidden_layer_sizes=(8,), max_iter=40, n_iter_no_change=40, alpha=0.1)
        return X, y, est
    n_classes = 2 if kind == "binary" else 3
    X, y = make_classification(n_samples=120, n_features=6, n_informative=4,
                               n_classes=n_classes, random_state=1)
    # alpha large enough that the penalty's scaling by the total weight matters
    est = _small_clf(hidden_layer_sizes=(8,), max_iter=40, n_iter_no_change=40, alpha=0.1)
    return X, y, est


def _fitted_output(est, X):
    return est.predict_proba(X) if hasattr(est, "predict_proba") else est.predict(X)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_sample_weight_two_equals_duplicating_the_row(kind):
    X, y, est = _weight_problem(kind)
    rows = np.arange(0, 120, 7)
    weight = np.ones(len(y))
    weight[rows] = 2.0
    weighted = clone(est).fit(X, y, sample_weight=weight)
    duplicated = clone(est).fit(np.vstack([X, X[rows]]), np.concatenate([y, y[rows]]))
    unweighted = clone(est).fit(X, y)

    assert weighted.n_iter_ == duplicated.n_iter_
    assert_allclose(_fitted_output(weighted, X), _fitted_output(duplicated, X), rtol=1e-6)
    assert_allclose(weighted.loss_curve_, duplicated.loss_curve_, rtol=1e-6)
    assert not np.allclose(_fitted_output(weighted, X), _fitted_output(unweighted, X),
                           rtol=1e-4)


@pytest.mark.parametrize("kind", ["binary", "multiclass", "regression"])
def test_zero_sample_weight_equals_removing_the_row(kind):
    X, y, est = _weight_problem(kind)
    rows = np.arange(0, 120, 5)
    weight = np.ones(len(y))
    weight[rows] = 0.0
    keep = np.setdiff1d(np.arange(len(y)), rows)
    weighted = clone(est).fit(X, y, sample_weight=weight)
    removed = clone(est).fit(X[keep], y[keep])
    assert_allclose(_fitted_output(weighted, X), _fitted_output(removed, X), rtol=1e-6)
    assert_allclose(weighted.loss_curve_, removed.loss_curve_, rtol=1e-6)


@pytest.mark.parametrize("kind", ["binary", "multiclass"])
def test_class_weight_dict_equals_sample_weight(kind):
    X, y, est = _weight_problem(kind)
    by_class = clone(est).set_params(class_weight={1: 2.0}).fit(X, y)
    by_sample = clone(est).fit(X, y, sample_weight=np.where(y == 1, 2.0, 1.0))
    assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-6)

    # the two multiply
    sw = np.linspace(0.5, 1.5, len(y))
    both = clone(est).set_params(class_weight={1: 2.0}).fit(X, y, sample_weight=sw)
    product = clone(est).fit(X, y, sample_weight=sw * np.where(y == 1, 2.0, 1.0))
    assert_allclose(both.predict_proba(X), product.predict_proba(X), rtol=1e-6)


def test_class_weight_balanced():
    X, y = make_classification(n_samples=200, n_features=6, n_informative=3, weights=[0.85],
                               flip_y=0.05, class_sep=0.5, random_state=0)
    y = np.where(y == 1, "rare", "common")
    est = _small_clf(hidden_layer_sizes=(8,), max_iter=40, n_iter_no_change=40)
    balanced = clone(est).set_params(class_weight="balanced").fit(X, y)

    # n_samples / (n_classes * count of the class), written out
    labels, counts = np.unique(y, return_counts=True)
    per_class = dict(zip(labels, len(y) / (len(labels) * counts)))
    by_hand = clone(est).fit(X, y, sample_weight=np.array([per_class[c] for c in y]))
    assert_allclose(balanced.predict_proba(X), by_hand.predict_proba(X), rtol=1e-6)

    plain = clone(est).fit(X, y)
    rare = y == "rare"
    recall_plain = np.mean(plain.predict(X[rare]) == "rare")
    recall_balanced = np.mean(balanced.predict(X[rare]) == "rare")
    assert recall_balanced > recall_plain


# -- early stopping -----------------------------------------------------------------


def _validation_split(est, X, y):
    """The validation split of an early-stopping fit, drawn as ``_split_validation`` does.

    The Generator seeded by ``random_state`` first initialises the network,
    then draws the split's seed.
    """
    rng = np.random.default_rng(est.random_state)
    n_outputs = 1 if isinstance(est, MLPRegressor) else len(np.unique(y))
    clone(est)._build_network(X.shape[1], n_outputs, X.dtype, rng)
    seed = int(rng.integers(np.iinfo(np.int32).max))
    stratify = y if isinstance(est, MLPClassifier) else None
    _, X_val, _, y_val = train_test_split(
        X, y, test_size=est.validation_fraction, random_state=seed, stratify=stratify
    )
    return X_val, y_val


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
def test_early_stopping_restores_the_best_epoch(kind, small_digits, friedman):
    if kind == "classifier":
        X, _, y, _ = small_digits
        make = _small_clf
    else:
        X, _, y, _ = friedman
        X, y = X[:400], y[:400]
        make = _small_reg
    params = dict(early_stopping=True, validation_fraction=0.25, tol=0.0, n_iter_no_change=5,
                  max_iter=300, learning_rate_init=0.02)
    best = make(**params).fit(X, y)
    scores = best.validation_scores_
    assert len(scores) == best.n_iter_ < 300  # stopped early
    best_epoch = int(np.argmax(scores)) + 1
    assert best.best_validation_score_ == max(scores)
    assert best_epoch < best.n_iter_  # the last epoch is not the best one

    # the final model scores exactly the best validation score on the held-out part
    X_val, y_val = _validation_split(best, X, y)
    assert best.score(X_val, y_val) == pytest.approx(max(scores), rel=1e-9, abs=1e-12)

    # and its weights are those of a run stopped at the best epoch
    stopped = make(**{**params, "max_iter": best_epoch}, restore_best_weights=False).fit(X, y)
    assert stopped.n_iter_ == best_epoch
    for a, b in zip(best.coefs_ + best.intercepts_, stopped.coefs_ + stopped.intercepts_):
        assert_array_equal(a, b)

    # without restoring, the weights are the last epoch's
    last = make(**params, restore_best_weights=False).fit(X, y)
    assert last.validation_scores_ == scores
    assert last.n_iter_ == best.n_iter_
    assert last.score(X_val, y_val) == pytest.approx(scores[-1], rel=1e-9, abs=1e-12)
    assert not np.array_equal(last.coefs_[0], best.coefs_[0])


# -- accuracy against scikit-learn -----------------------------------------------------


def test_classifier_accuracy_at_least_sklearn_on_digits(digits):
    # Default settings (100 hidden units, adam, 200 epochs) on both sides. One
    # seed is a coin toss at the level of a few test digits, so the mean over
    # three seeds is compared.
    X_train, X_test, y_train, y_test = digits
    ours, theirs = [], []
    for seed in range(3):
        ours.append(MLPClassifier(random_state=seed, n_threads=1)
                    .fit(X_train, y_train).score(X_test, y_test))
        with threadpool_limits(1):
            theirs.append(SkMLPClassifier(random_state=seed)
                          .fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs), (ours, theirs)
    assert min(ours) > 0.95


def test_regressor_r2_matches_sklearn_on_friedman1(friedman):
    X_train, X_test, y_train, y_test = friedman
    params = dict(hidden_layer_sizes=(50,), learning_rate_init=0.01, max_iter=1000)
    for seed in range(2):
        ours = MLPRegressor(**params, random_state=seed, n_threads=1).fit(X_train, y_train)
        with threadpool_limits(1):
            theirs = SkMLPRegressor(**params, random_state=seed).fit(X_train, y_train)
        assert ours.n_iter_ < 1000 and theirs.n_iter_ < 1000  # both converged
        r2_ours, r2_theirs = ours.score(X_test, y_test), theirs.score(X_test, y_test)
        assert abs(r2_ours - r2_theirs) <= 0.02, (seed, r2_ours, r2_theirs)
        assert r2_ours > 0.9


# -- targets ---------------------------------------------------------------------------


def test_binary_target(small_digits):
    X, X_test, y, y_test = small_digits
    y, y_test = (y >= 5).astype(int), (y_test >= 5).astype(int)
    clf = _small_clf().fit(X, y)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 2)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    assert_allclose(clf.predict_log_proba(X_test), np.log(proba), rtol=1e-7, atol=1e-12)
    assert clf.score(X_test, y_test) > 0.85


def test_multiclass_target(small_digits):
    X, X_test, y, y_test = small_digits
    clf = _small_clf().fit(X, y)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all()
    assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X_test, y_test) > 0.85


def test_multilabel_target():
    X, Y = make_multilabel_classification(n_samples=300, n_features=10, n_classes=4,
                                          random_state=0)
    X = StandardScaler().fit_transform(X)
    clf = _small_clf(hidden_layer_sizes=(32,), max_iter=100).fit(X, Y)
    pred = clf.predict(X)
    proba = clf.predict_proba(X)
    assert pred.shape == Y.shape == proba.shape
    assert set(np.unique(pred)) <= {0, 1}
    assert ((proba >= 0) & (proba <= 1)).all()
    assert_array_equal(pred, (proba > 0.5).astype(int))
    assert_array_equal(clf.classes_, np.arange(4))
    # better than always predicting each label's majority value
    majority = np.mean(Y == (Y.mean(axis=0) > 0.5), axis=0)
    assert (np.mean(pred == Y, axis=0) > majority).all()


def test_string_labels(small_digits):
    X, X_test, y, y_test = small_digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = _small_clf().fit(X, names[y])
    assert_array_equal(clf.classes_, np.sort(names))
    pred = clf.predict(X_test)
    assert pred.dtype.kind == "U"
    assert_array_equal(pred, clf.classes_[clf.predict_proba(X_test).argmax(axis=1)])
    assert np.mean(pred == names[y_test]) > 0.85


# -- partial_fit ------------------------------------------------------------------------


def test_partial_fit_over_chunks(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), learning_rate_init=0.01, random_state=0,
                        n_threads=1)
    chunks = np.array_split(np.arange(len(y_train)), 5)
    calls, seen = 0, 0
    for _ in range(4):
        for idx in chunks:
            classes = np.arange(10) if calls == 0 else None
            clf.partial_fit(X_train[idx], y_train[idx], classes=classes)
            calls += 1
            seen += len(idx)
            assert clf.n_iter_ == 1  # epochs of this call, as scikit-learn counts
            assert clf.t_ == seen
            assert len(clf.loss_curve_) == calls
    assert clf.score(X_test, y_test) > 0.9


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_partial_fit_keeps_the_optimizer_state(make, small_digits):
    # With unshuffled one-batch chunks, partial_fit on each chunk in turn makes
    # the same optimizer steps as one epoch of fit over the chunks as batches:
    # only if the moments and step count of the optimizer carry over.
    X, _, y, _ = small_digits
    size = 150
    for solver in ["adam", "sgd"]:
        one_epoch = make(solver=solver, batch_size=size, shuffle=False, max_iter=1).fit(X, y)
        chunked = make(solver=solver, shuffle=False)
        for start in range(0, len(y), size):
            chunk = slice(start, start + size)
            if isinstance(chunked, MLPClassifier):
                chunked.partial_fit(X[chunk], y[chunk], classes=np.arange(10))
            else:
                chunked.partial_fit(X[chunk], y[chunk])
        assert chunked.n_iter_ == 1  # the epochs of the last call, as scikit-learn
        assert len(chunked.loss_curve_) == len(y) // size
        assert chunked.t_ == one_epoch.t_ == len(y)
        for a, b in zip(one_epoch.coefs_ + one_epoch.intercepts_,
                        chunked.coefs_ + chunked.intercepts_):
            assert_allclose(a, b, rtol=1e-12, atol=1e-14, err_msg=solver)


def test_alpha_changed_between_partial_fits_is_the_one_applied(small_digits):
    # the penalty is built from the parameters of each call, not carried over:
    # after alpha=0.5 then alpha=0, the second call is that of a model that
    # never had a penalty from the same weights and optimizer state
    X, _, y, _ = small_digits
    clf = _small_clf(alpha=0.5).partial_fit(X, y, classes=np.arange(10))
    twin = pickle.loads(pickle.dumps(clf))
    clf.set_params(alpha=0.0).partial_fit(X, y)
    twin.set_params(alpha=0.5).partial_fit(X, y)
    assert clf.loss_ < twin.loss_  # no penalty term in the reported loss
    assert not np.array_equal(clf.coefs_[0], twin.coefs_[0])
    # and alpha=0 adds no gradient: the same step as a penalty-free reference
    ref = pickle.loads(pickle.dumps(clf))
    ref.set_params(alpha=0.0).partial_fit(X, y)
    again = pickle.loads(pickle.dumps(clf))
    again.set_params(alpha=1e-12).partial_fit(X, y)
    assert_allclose(ref.coefs_[0], again.coefs_[0], rtol=1e-6, atol=1e-9)


def test_partial_fit_label_errors(small_digits):
    X, _, y, _ = small_digits
    with pytest.raises(ValueError, match="classes"):
        _small_clf().partial_fit(X, y)
    with pytest.raises(ValueError, match="not in"):
        _small_clf().partial_fit(X, y, classes=np.arange(5))

    clf = _small_clf().partial_fit(X[y < 5], y[y < 5], classes=np.arange(5))
    coefs = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match="not in"):
        clf.partial_fit(X, y)
    for a, b in zip(coefs, clf.coefs_):  # a failed call changes nothing
        assert_array_equal(a, b)
    assert clf.n_iter_ == 1


# -- dtypes, verbosity, chunked prediction --------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(dtype, small_digits):
    X, X_test, y, _ = small_digits
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    for y_fit in [y, y % 2]:  # softmax and logistic outputs
        clf = _small_clf(max_iter=5).fit(X, y_fit)
        assert clf.predict_proba(X_test).dtype == dtype
        assert clf.predict_log_proba(X_test).dtype == dtype
        assert clf.transform(X_test).dtype == dtype
        assert all(c.dtype == dtype for c in clf.coefs_ + clf.intercepts_)
    reg = _small_reg(max_iter=5).fit(X, y.astype(float))
    assert reg.predict(X_test).dtype == dtype
    assert reg.transform(X_test).dtype == dtype
    assert all(c.dtype == dtype for c in reg.coefs_ + reg.intercepts_)


def test_verbose_prints_one_line_per_epoch(small_digits, capsys):
    X, _, y, _ = small_digits
    clf = _small_clf(max_iter=7, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == clf.n_iter_ == 7
    for epoch, line in enumerate(lines, start=1):
        match = re.match(rf"Iteration {epoch}, loss = ([0-9.]+)", line)
        assert match, line
        assert float(match.group(1)) == pytest.approx(clf.loss_curve_[epoch - 1], rel=1e-6)

    reg = _small_reg(max_iter=3, verbose=1, early_stopping=True).fit(X, y.astype(float))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == reg.n_iter_
    assert all("validation score" in line for line in lines)


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_verbose_2_progress_bar_runs(make, small_digits, capsys):
    X, X_test, y, _ = small_digits
    quiet = make(max_iter=4).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # tqdm is installed: no fallback
        warnings.simplefilter("ignore", ConvergenceWarning)
        loud = make(max_iter=4, verbose=2).fit(X, y)
    out = capsys.readouterr()
    # pytest's streams are not terminals: plain per-epoch lines, no bar, no \r
    lines = out.out.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"Iteration {i}" for i in range(1, 5)]
    assert "\r" not in out.out + out.err
    assert loud.n_iter_ == 4
    assert loud.loss_curve_ == quiet.loss_curve_
    assert_array_equal(loud.predict(X_test), quiet.predict(X_test))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_chunked_prediction_equals_one_batch(dtype, small_digits, monkeypatch):
    X, X_test, y, _ = small_digits
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    params = dict(hidden_layer_sizes=(16, 8), batch_norm=True, dropout=0.1,
                  embedding_layer="all")
    clf = _small_clf(**params).fit(X, y)
    binary = _small_clf(**params).fit(X, y % 2)
    reg = _small_reg(**params).fit(X, y.astype(float))
    ests = [clf, binary, reg]
    whole = [_outputs(est, X_test) for est in ests]

    monkeypatch.setattr(sknumpynet._runtime, "CHUNK_ROWS", 7)
    differ = []
    for est, expected in zip(ests, whole):
        chunked = _outputs(est, X_test)
        for name in expected:
            if not np.array_equal(chunked[name], expected[name]):
                gap = np.max(np.abs(chunked[name].astype(float) - expected[name]))
                differ.append(f"{type(est).__name__}(n_outputs_={est.n_outputs_}).{name}: "
                              f"max |diff| {gap:.3g}")
    assert not differ, differ


# -- convergence, schedules, solvers, warm start ------------------------------------


def test_convergence_warning(blobs):
    X, _, y, _ = blobs
    with pytest.warns(ConvergenceWarning, match="(?i)maximum iterations"):
        clf = _small_clf(max_iter=3).fit(X, y)
    assert clf.n_iter_ == 3

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # only the first epoch improves on the initial (infinite) best loss by
        # tol; as scikit-learn, stop once n_iter_no_change + 1 more epochs did not
        clf = _small_clf(max_iter=50, tol=1e3, n_iter_no_change=2).fit(X, y)
        assert clf.n_iter_ == 1 + 3
        # a genuine convergence: the loss stops improving by tol
        reg = _small_reg(max_iter=2000, tol=1e-3).fit(X, y.astype(float))
        assert reg.n_iter_ < 2000


@pytest.mark.parametrize("solver", SOLVERS)
def test_every_solver_learns(solver, blobs):
    X_train, X_test, y_train, y_test = blobs
    lr = {"sgd": 0.02}.get(solver, 0.01)
    clf = _small_clf(solver=solver, learning_rate_init=lr, max_iter=50).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.85
    assert clf.loss_curve_[-1] < 0.6 * clf.loss_curve_[0]


@pytest.mark.parametrize("schedule", ["constant", "invscaling", "adaptive", "cosine"])
def test_learning_rate_schedules(schedule, blobs):
    X_train, X_test, y_train, y_test = blobs
    # invscaling decays with the samples seen (scikit-learn's t_): it needs a
    # larger start to get anywhere in 60 epochs
    lr0, max_iter = (3.0 if schedule == "invscaling" else 0.1), 60
    clf = _small_clf(solver="sgd", learning_rate=schedule, learning_rate_init=lr0,
                     max_iter=max_iter).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.85
    rates = np.array([record["learning_rate"] for record in clf.history_])
    epochs = np.arange(len(rates))
    if schedule == "constant":
        assert_allclose(rates, lr0)
    elif schedule == "invscaling":
        seen = epochs * len(y_train)  # scikit-learn: lr0 / (t_ + 1) ** power_t
        assert_allclose(rates, lr0 / (seen + 1) ** clf.power_t)
    elif schedule == "cosine":
        assert_allclose(rates, lr0 * (1 + np.cos(np.pi * epochs / max_iter)) / 2)


def test_adaptive_divides_the_rate_by_five_on_plateaus(blobs):
    X, _, y, _ = blobs
    # tol so large that only the first epoch counts as progress (on an infinite
    # best loss): then the rate falls after every n_iter_no_change + 1 = 3 epochs
    clf = _small_clf(learning_rate="adaptive", learning_rate_init=0.01, tol=1e3,
                     n_iter_no_change=2, max_iter=100).fit(X, y)
    rates = np.array([record["learning_rate"] for record in clf.history_])
    expected = 0.01 / 5.0 ** (np.maximum(np.arange(len(rates)) - 1, 0) // 3)
    assert_allclose(rates, expected)
    assert rates[-1] <= 1e-6 < rates[-4]  # stopped at the plateau after reaching 1e-6
    assert clf.n_iter_ < 100


@pytest.mark.parametrize("make", [_small_clf, _small_reg])
def test_warm_start_continues(make, blobs):
    X, _, y, _ = blobs
    est = make(warm_start=True, max_iter=5, learning_rate_init=0.003).fit(X, y)
    first_curve = list(est.loss_curve_)
    first_coefs = [c.copy() for c in est.coefs_]
    est.fit(X, y)
    assert est.n_iter_ == 5  # the epochs of the last fit (scikit-learn issue 24764)
    assert est.t_ == 10 * len(y)
    assert len(est.loss_curve_) == 10
    assert est.loss_curve_[:5] == first_curve
    assert est.loss_curve_[5] < first_curve[0]  # went on from the trained weights
    assert est.loss_curve_[-1] < first_curve[-1]
    assert not np.array_equal(est.coefs_[0], first_coefs[0])

    cold = make(warm_start=False, max_iter=5, learning_rate_init=0.003).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 5
    assert cold.loss_curve_ == first_curve


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize(
    "params, name",
    [
        ({"alpha": -1.0}, "alpha"),
        ({"solver": "newton"}, "solver"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": [0.1, 1.0], "hidden_layer_sizes": (4, 4)}, "dropout"),
        ({"activation": ["relu"], "hidden_layer_sizes": (4, 4)}, "activation"),
        ({"activation": "softplus"}, "activation"),
        ({"learning_rate": "step"}, "learning_rate"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes"),
    ],
)
def test_invalid_parameters_raise_naming_the_parameter(Estimator, params, name, blobs):
    X, _, y, _ = blobs
    est = Estimator(max_iter=2, **params)
    with pytest.raises(ValueError, match=name):
        est.fit(X, y)
    assert not hasattr(est, "network_")


# -- fitted attributes ----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["binary", "multiclass", "multilabel", "regression",
                                    "multioutput"])
def test_fitted_attributes_like_sklearn(target):
    X, Y = make_multilabel_classification(n_samples=60, n_features=7, n_classes=3,
                                          random_state=0)
    y = {"binary": Y[:, 0], "multiclass": Y.sum(axis=1), "multilabel": Y,
         "regression": Y @ [1.0, 2.0, 3.0], "multioutput": Y * 1.5}[target]
    hidden = (5, 4)
    if target in ("regression", "multioutput"):
        ours = MLPRegressor(hidden_layer_sizes=hidden, max_iter=2, n_threads=1).fit(X, y)
        theirs = SkMLPRegressor(hidden_layer_sizes=hidden, max_iter=2).fit(X, y)
    else:
        ours = MLPClassifier(hidden_layer_sizes=hidden, max_iter=2, n_threads=1).fit(X, y)
        theirs = SkMLPClassifier(hidden_layer_sizes=hidden, max_iter=2).fit(X, y)
        assert_array_equal(ours.classes_, theirs.classes_)
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert ours.n_layers_ == theirs.n_layers_ == 4
    assert ours.n_outputs_ == theirs.n_outputs_
    assert ours.out_activation_ == theirs.out_activation_
    assert ours.n_features_in_ == 7
    assert isinstance(ours.network_, nn.Sequential)
    assert not ours.network_.training
    expected = {"binary": "logistic", "multiclass": "softmax", "multilabel": "logistic",
                "regression": "identity", "multioutput": "identity"}[target]
    assert ours.out_activation_ == expected


def test_coefs_and_intercepts_are_assignable_and_shape_checked(small_digits):
    X, X_test, y, _ = small_digits
    clf = _small_clf(max_iter=3).fit(X, y)
    other = _small_clf(max_iter=3, random_state=1).fit(X, y)
    assert not np.allclose(clf.predict_proba(X_test), other.predict_proba(X_test))
    clf.coefs_ = [c.copy() for c in other.coefs_]
    clf.intercepts_ = [b.copy() for b in other.intercepts_]
    assert_allclose(clf.predict_proba(X_test), other.predict_proba(X_test), rtol=1e-12)
    clf.coefs_[0][:] = 0.0  # in place, as scikit-learn users do
    assert (clf.network_[0][0].weight.value == 0).all()
    before = [c.copy() for c in clf.coefs_]
    with pytest.raises(ValueError, match=r"coefs_\[1\] has shape \(3, 10\)"):
        clf.coefs_ = [before[0], np.zeros((3, 10))]
    with pytest.raises(ValueError, match="needs 2 arrays"):
        clf.intercepts_ = [np.zeros(16)]
    for a, b in zip(before, clf.coefs_):  # a refused assignment changes nothing
        assert_array_equal(a, b)
    clf.partial_fit(X, y)  # the optimizer still steps the same arrays
    assert not np.array_equal(before[0], clf.coefs_[0])


@pytest.mark.parametrize("params", [{"hidden_layer_sizes": ()}, {"embedding_layer": 5}])
def test_introspection_of_a_model_without_that_embedding_layer(params):
    import inspect

    X, y = np.random.default_rng(0).normal(size=(30, 3)), np.arange(30) % 2
    for clf in (MLPClassifier(**params), MLPClassifier(max_iter=2, **params).fit(X, y)):
        assert not hasattr(clf, "_n_features_out")  # AttributeError, not ValueError
        assert "predict" in dir(clf)
        inspect.getmembers(clf)
        with pytest.raises(ValueError, match="hidden layer"):
            clf.transform(X) if hasattr(clf, "network_") else clf._embedding_widths()


# -- batch norm on constant features (moved from test_reliability.py) -----------------


@pytest.mark.parametrize("data", ["constant_column", "all_constant"])
def test_batchnorm_classifier_on_constant_features(data):
    Xc = X.copy()
    if data == "constant_column":
        Xc[:, 2] = 5.0
    else:
        Xc[:] = 5.0  # every hidden unit then has zero batch variance
    est = mlp_classifier(batch_norm=True, max_iter=20)
    est.fit(Xc, Y_CLASS)
    assert np.isfinite(est.loss_curve_).all()
    out = outputs(est, Xc)
    assert_outputs_finite(out)
    if data == "constant_column":
        assert est.score(Xc, Y_CLASS) > 0.6


def test_batch_norm_with_a_huge_constant_column_predicts_as_it_trained():
    """Issue 14 item 6: batch-norm statistics that lag the final weights."""
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


# -- memory needs checked before allocating (issue 14 item 9) ----------------------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("sizes", [(10**9,), (10**5, 10**5), 10**10])
def test_huge_hidden_layers_are_a_value_error_before_allocating(estimator, sizes, iris):
    X_IRIS, Y_IRIS = iris
    est = estimator(hidden_layer_sizes=sizes, max_iter=1)
    y = Y_IRIS if estimator is MLPClassifier else X_IRIS[:, 0]
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            est.fit(X_IRIS, y)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    sizes = sizes if isinstance(sizes, tuple) else (sizes,)
    message = str(info.value)
    assert message.startswith(f"hidden_layer_sizes={sizes} with 4 features and ")
    assert "GiB" in message and "parameters" in message
    assert peak < 20 << 20, peak
    assert not hasattr(est, "network_")


def test_memory_check_follows_the_dtype_and_the_optimizer():
    from sknumpynet._mlp import check_network_memory

    available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    # (n + 1) * h + (h + 1) parameters, 6 arrays (adam: weights, gradients, two
    # snapshots, two moments) of 8 bytes: just above the memory
    h = available // (6 * 8 * 4) + 1
    with pytest.raises(ValueError, match=r"\(6 arrays of float64"):
        check_network_memory(2, [h], 1, np.float64, "adam", False)
    check_network_memory(2, [h], 1, np.float32, "adam", False)  # half: fits
    check_network_memory(2, [h], 1, np.float64, "sgd", False)  # 5 arrays: fits


@pytest.mark.skipif(sys.platform == "win32", reason="resource.setrlimit is POSIX")
def test_huge_hidden_layer_under_an_address_space_limit():
    """Under RLIMIT_AS of 3 GiB, a 6 GB network is refused with the limit, not MemoryError."""
    code = textwrap.dedent("""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
        from sklearn.datasets import load_digits
        from sknumpynet import MLPClassifier
        X, y = load_digits(return_X_y=True)
        try:
            MLPClassifier(hidden_layer_sizes=(2_000_000,), max_iter=1).fit(X, y)
        except ValueError as exc:
            print("ValueError:", exc)
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("ValueError: hidden_layer_sizes=(2000000,) with 64 features")
    assert "more than the 3.0 GiB of memory available" in result.stdout
