"""LinearSVM: scikit-learn's estimator checks, agreement with LinearSVC, and the API."""

import pickle
import warnings

import joblib
import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import log_softmax
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_digits, make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknumpynet import LinearSVM
from sknumpynet._linear_svm import calibration as _svm
from sknumpynet._linear_svm import estimator as _svm_estimator

# Every setting passes every check, with no expected failure. (fit_intercept=False
# is tested below: check_class_weight_classifiers needs an intercept, and
# LinearSVC(fit_intercept=False) fails it too.)
INSTANCES = [
    LinearSVM(random_state=0),
    LinearSVM(loss="squared_hinge", multi_class="weston_watkins", random_state=0),
    LinearSVM(loss="hinge", solver="sgd", momentum=0.0, learning_rate_init=0.05,
              random_state=0),
    LinearSVM(loss="hinge", solver="sgd", C=10.0, random_state=0),
    LinearSVM(probability=True, random_state=0),
    LinearSVM(max_iter=20, learning_rate="cosine", learning_rate_init=0.05, random_state=0),
]


@parametrize_with_checks(INSTANCES)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


# -- data ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.3, random_state=0, stratify=y)


def binary_problem(n_samples=600, random_state=0):
    X, y = make_classification(
        n_samples=n_samples, n_features=20, n_informative=8, random_state=random_state
    )
    return StandardScaler().fit_transform(X), y


def primal_objective(X, y, w, C, squared):
    """0.5 ||w||^2 + C sum_i hinge_i of a binary SVM without intercept, by hand."""
    h = np.maximum(0.0, 1.0 - (2 * y - 1) * (X @ w))
    return 0.5 * w @ w + C * np.sum(h * h if squared else h)


def fit_quietly(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(*args, **kwargs)


# -- what it learns -------------------------------------------------------------------


@pytest.mark.parametrize("multi_class", ["crammer_singer", "weston_watkins", "ovr"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_separates_a_linearly_separable_problem(multi_class, n_classes):
    centers = [[-4, -4], [4, 4], [-4, 4]][:n_classes]
    X, y = make_blobs(n_samples=150, centers=centers, cluster_std=1.0, random_state=0)
    clf = LinearSVM(multi_class=multi_class, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_squared_hinge_learns_a_different_model():
    X, y = binary_problem()
    hinge = fit_quietly(LinearSVM(C=1.0, loss="hinge", random_state=0), X, y)
    squared = fit_quietly(LinearSVM(C=1.0, loss="squared_hinge", random_state=0), X, y)
    assert not np.allclose(hinge.coef_, squared.coef_, rtol=0.05, atol=1e-3)


@pytest.mark.parametrize(
    "n_classes, multi_class, scale",
    [(2, "ovr", 1.0), (2, "crammer_singer", 0.5), (3, "ovr", 1.0), (3, "weston_watkins", None)],
)
def test_full_batch_squared_hinge_finds_the_linearsvc_solution(n_classes, multi_class, scale):
    # Without an intercept and with one batch, the problem is smooth and convex:
    # gradient descent must land on liblinear's solution (tol 1e-10). Binary
    # Crammer-Singer trains two columns, whose difference is the binary SVM with
    # 2C (so C/2 here); "ovr" is one binary SVM per class, as LinearSVC.
    X, y = make_classification(n_samples=300, n_features=10, n_informative=6,
                               n_classes=n_classes, random_state=0)
    X = StandardScaler().fit_transform(X)
    C = 0.01
    clf = LinearSVM(
        C=C if scale is None else C * scale, loss="squared_hinge", multi_class=multi_class,
        fit_intercept=False, batch_size=300, learning_rate="cosine", max_iter=2000, tol=0.0,
        n_iter_no_change=2000, random_state=0,
    ).fit(X, y)
    if scale is None:  # no reference in liblinear: the gradient of the objective is 0
        scores = X @ clf.network_[0].weight.value
        rows = np.arange(len(y))
        h = np.maximum(0.0, scores - scores[rows, y][:, None] + 1.0)
        h[rows, y] = 0.0
        g = 2 * h
        g[rows, y] = -g.sum(axis=1)
        grad = clf.network_[0].weight.value + C * X.T @ g
        assert np.abs(grad).max() < 1e-6
        return
    ref = LinearSVC(C=C, loss="squared_hinge", fit_intercept=False, tol=1e-10,
                    max_iter=100_000).fit(X, y)
    assert clf.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(clf.intercept_, np.zeros(len(ref.coef_)))
    assert clf.network_[0].bias is None


@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("C", [0.1, 1.0])
def test_default_solver_reaches_the_objective_of_linearsvc(loss, C):
    # With minibatches and the default schedule: within a few percent of the
    # optimal primal 0.5 ||w||^2 + C sum(hinge), never below it.
    X, y = binary_problem()
    squared = loss == "squared_hinge"
    ref = LinearSVC(C=C, loss=loss, fit_intercept=False, tol=1e-8, max_iter=100_000).fit(X, y)
    clf = LinearSVM(C=C, loss=loss, multi_class="ovr", fit_intercept=False, random_state=0)
    clf = fit_quietly(clf, X, y)
    optimum = primal_objective(X, y, ref.coef_.ravel(), C, squared)
    ours = primal_objective(X, y, clf.coef_.ravel(), C, squared)
    assert optimum * (1 - 1e-6) <= ours <= 1.05 * optimum


def test_c_means_what_it_means_in_linearsvc():
    # Strongly regularised, the weights scale with C: ours must be far closer to
    # LinearSVC(C)'s than LinearSVC(2C)'s or LinearSVC(C/2)'s are.
    X, y = binary_problem()
    C = 0.003

    def reference(c):
        svc = LinearSVC(C=c, loss="hinge", fit_intercept=False, tol=1e-8, max_iter=100_000)
        return svc.fit(X, y).coef_.ravel()

    w = reference(C)
    clf = LinearSVM(C=C, loss="hinge", multi_class="ovr", fit_intercept=False,
                    random_state=0).fit(X, y)
    error = np.linalg.norm(clf.coef_.ravel() - w)
    assert error < 0.05 * np.linalg.norm(w)
    assert error < 0.25 * min(np.linalg.norm(reference(2 * C) - w),
                              np.linalg.norm(reference(C / 2) - w))


def test_binary_crammer_singer_is_the_difference_of_two_columns():
    X, y = binary_problem()
    cs = LinearSVM(C=0.05, multi_class="crammer_singer", random_state=0)
    cs = fit_quietly(cs, X, y)
    assert cs.n_outputs_ == 2 and cs.coef_.shape == (1, X.shape[1])
    assert cs.intercept_.shape == (1,)
    ref = LinearSVC(C=0.05, multi_class="crammer_singer", max_iter=100_000).fit(X, y)
    assert np.corrcoef(ref.coef_.ravel(), cs.coef_.ravel())[0, 1] > 0.95
    weight = cs.network_[0].weight.value
    np.testing.assert_allclose(cs.coef_[0], weight[:, 1] - weight[:, 0])


def test_coef_correlates_with_linearsvc():
    X, y = binary_problem(random_state=1)
    ref = LinearSVC(C=0.1, loss="hinge", max_iter=100_000).fit(X, y)
    clf = fit_quietly(LinearSVM(C=0.1, loss="hinge", multi_class="ovr", random_state=0), X, y)
    assert clf.coef_.shape == ref.coef_.shape == (1, 20)
    assert clf.intercept_.shape == ref.intercept_.shape == (1,)
    assert np.corrcoef(ref.coef_.ravel(), clf.coef_.ravel())[0, 1] > 0.95
    assert np.mean(clf.predict(X) == ref.predict(X)) > 0.97


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (dict(multi_class="ovr", loss="squared_hinge"), dict()),
        (dict(multi_class="ovr", loss="hinge"), dict(loss="hinge")),
        (dict(multi_class="crammer_singer"), dict(multi_class="crammer_singer")),
    ],
)
def test_digits_accuracy_matches_linearsvc(digits, ours, theirs):
    X_train, X_test, y_train, y_test = digits
    ref = LinearSVC(C=1.0, max_iter=20_000, **theirs).fit(X_train, y_train)
    clf = fit_quietly(LinearSVM(C=1.0, random_state=0, n_threads=1, **ours), X_train, y_train)
    assert clf.coef_.shape == ref.coef_.shape == (10, 64)
    assert clf.score(X_test, y_test) >= ref.score(X_test, y_test) - 0.02


def test_weston_watkins_trains_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    clf = fit_quietly(LinearSVM(multi_class="weston_watkins", random_state=0), X_train, y_train)
    assert clf.score(X_test, y_test) > 0.94


def test_objective_scaling_follows_c():
    # Larger C: less regularisation, so a larger weight norm and fewer margin errors.
    X, y = binary_problem()
    norms = [np.linalg.norm(fit_quietly(LinearSVM(C=C, random_state=0), X, y).coef_)
             for C in (0.001, 0.01, 0.1)]
    assert norms[0] < norms[1] < norms[2]


def test_fit_is_repeatable_with_a_seed():
    X, y = binary_problem()
    a = LinearSVM(random_state=3).fit(X, y)
    b = LinearSVM(random_state=3).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.loss_curve_ == b.loss_curve_


# -- shapes, dtypes, formats ------------------------------------------------------------


@pytest.mark.parametrize("multi_class", ["crammer_singer", "weston_watkins", "ovr"])
def test_binary_decision_function_is_one_signed_score(multi_class):
    X, y = binary_problem()
    labels = np.array(["no", "yes"])[y]
    clf = fit_quietly(LinearSVM(multi_class=multi_class, random_state=0), X, labels)
    scores = clf.decision_function(X)
    assert scores.shape == (X.shape[0],)
    np.testing.assert_array_equal(clf.predict(X), np.where(scores > 0, "yes", "no"))
    np.testing.assert_allclose(scores, X @ clf.coef_[0] + clf.intercept_[0], rtol=1e-6,
                               atol=1e-6)
    assert clf.transform(X).shape == (X.shape[0], 1)
    assert clf.get_feature_names_out().tolist() == ["linearsvm0"]


def test_multiclass_shapes_and_transform(digits):
    X_train, X_test, y_train, _ = digits
    clf = fit_quietly(LinearSVM(random_state=0), X_train, y_train)
    scores = clf.decision_function(X_test)
    assert scores.shape == (len(X_test), 10)
    np.testing.assert_allclose(scores, X_test @ clf.coef_.T + clf.intercept_, atol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[scores.argmax(axis=1)])
    np.testing.assert_array_equal(clf.transform(X_test), scores)
    assert clf.get_feature_names_out().tolist() == [f"linearsvm{i}" for i in range(10)]
    pd = pytest.importorskip("pandas")
    frame = clf.set_output(transform="pandas").transform(X_test)
    assert isinstance(frame, pd.DataFrame) and frame.shape == (len(X_test), 10)


def test_float32_is_preserved(digits):
    X_train, X_test, y_train, _ = digits
    clf = fit_quietly(LinearSVM(probability=True, random_state=0),
                      X_train.astype(np.float32), y_train)
    X32 = X_test.astype(np.float32)
    assert clf.network_[0].weight.value.dtype == np.float32
    for out in (clf.decision_function(X32), clf.transform(X32), clf.coef_, clf.intercept_,
                clf.predict_proba(X32)):
        assert out.dtype == np.float32


def test_sparse_input_gives_the_dense_model(digits):
    X_train, X_test, y_train, _ = digits
    # the minibatch path (the full-batch one: tests/test_linear_solvers.py)
    dense = fit_quietly(LinearSVM(solver="adam", random_state=0), X_train, y_train)
    sparse = fit_quietly(LinearSVM(solver="adam", random_state=0), sp.csr_matrix(X_train),
                         y_train)
    np.testing.assert_allclose(sparse.coef_, dense.coef_, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        sparse.decision_function(sp.csr_matrix(X_test)), dense.decision_function(X_test),
        rtol=1e-4, atol=1e-4,
    )
    assert np.mean(sparse.predict(sp.csr_matrix(X_test)) == dense.predict(X_test)) > 0.99


def test_multilabel_targets_are_refused():
    X, y = binary_problem(n_samples=50)
    with pytest.raises(ValueError, match="multilabel"):
        LinearSVM().fit(X, np.column_stack([y, 1 - y]))


# -- probabilities ------------------------------------------------------------------------


def test_predict_proba_exists_only_with_probability():
    assert not hasattr(LinearSVM(), "predict_proba")
    assert not hasattr(LinearSVM(), "predict_log_proba")
    assert hasattr(LinearSVM(probability=True), "predict_proba")
    X, y = binary_problem(n_samples=100)
    clf = LinearSVM(random_state=0).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert "calibration_temperature_" not in vars(clf)
    clf.set_params(probability=True)  # fitted without: no calibration to use
    with pytest.raises(NotFittedError, match="probability=False"):
        clf.predict_proba(X)


@pytest.mark.parametrize("multi_class", ["crammer_singer", "ovr"])
def test_probabilities_are_calibrated(digits, multi_class):
    X_train, X_test, y_train, y_test = digits
    clf = LinearSVM(multi_class=multi_class, probability=True, random_state=0)
    clf = fit_quietly(clf, X_train, y_train)
    proba = clf.predict_proba(X_test)
    assert proba.shape == (len(X_test), 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.log(proba), clf.predict_log_proba(X_test), atol=1e-8)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X_test))
    assert 0 < clf.calibration_temperature_ < np.inf
    # far better than uniform, and better than the raw scores read as logits
    loss = log_loss(y_test, proba)
    assert loss < 0.25 * np.log(10)
    raw = log_loss(y_test, np.exp(log_softmax(clf.decision_function(X_test), axis=1)))
    assert loss < raw


def test_binary_probabilities_are_a_sigmoid_of_the_decision():
    X, y = binary_problem(n_samples=1000)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    clf = fit_quietly(LinearSVM(probability=True, random_state=0), X_train, y_train)
    proba = clf.predict_proba(X_test)
    expected = 1 / (1 + np.exp(-clf.decision_function(X_test) / clf.calibration_temperature_))
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-10)
    assert log_loss(y_test, proba) < 0.8 * np.log(2)


def test_temperature_minimises_the_smoothed_nll():
    # Independent reference: minimise the same NLL over T with scipy.
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(200, 4)) * 3
    index = rng.integers(0, 4, size=200)
    scores[np.arange(200), index] += 2.0
    weights = rng.uniform(0.5, 2.0, size=200)
    counts = np.bincount(index, weights=weights, minlength=4)[index]
    targets = np.repeat((1 / (3 * (counts + 2)))[:, None], 4, axis=1)
    targets[np.arange(200), index] = (counts + 1) / (counts + 2)

    def nll(temperature):
        return -np.sum(weights * (targets * log_softmax(scores / temperature, axis=1)).sum(1))

    expected = minimize_scalar(nll, bounds=(0.01, 100), method="bounded",
                               options={"xatol": 1e-10}).x
    assert _svm.fit_temperature(scores, index, weights) == pytest.approx(expected, rel=1e-5)
    # uninformative scores: uniform probabilities
    assert _svm.fit_temperature(np.zeros((10, 3)), np.arange(10) % 3, np.ones(10)) == np.inf


def test_calibration_split_treats_weights_as_repetitions():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, 2, size=40)
    weights = rng.integers(0, 4, size=40).astype(float)
    key = b"0123456789abcdef"
    held = _svm._calibration_split(X, y, weights, 0.2, key)
    repeat = np.repeat(np.arange(40), weights.astype(int))
    held_repeated = _svm._calibration_split(X[repeat], y[repeat], np.ones(len(repeat)), 0.2, key)
    np.testing.assert_array_equal(held_repeated, held[repeat])
    for c in (0, 1):  # about 20% of each class's weight, never all of it
        share = weights[held & (y == c)].sum() / weights[y == c].sum()
        assert 0.05 < share < 0.35
    sparse = _svm._calibration_split(sp.csr_matrix(X), y, weights, 0.2, key)
    assert 0 < sparse.sum() < 40


def test_partial_fit_with_probability_calibrates_each_batch(digits):
    from sknumpynet._runtime import make_rng

    X_train, X_test, y_train, _ = digits
    clf = LinearSVM(probability=True, random_state=0)
    temperatures = []
    for chunk in np.array_split(np.arange(len(X_train)), 3):
        X, y = X_train[chunk], y_train[chunk]
        clf.partial_fit(X, y, classes=np.arange(10))
        # the temperature of this batch's held-out rows under the weights just trained
        index, ones = np.searchsorted(clf.classes_, y), np.ones(len(y))
        held = _svm._calibration_split(X, index, ones, _svm.CALIBRATION_FRACTION,
                                       make_rng(0).bytes(16))
        expected = _svm.fit_temperature(clf.decision_function(X[held]), index[held],
                                         ones[held])
        assert clf.calibration_temperature_ == pytest.approx(expected, rel=1e-9)
        temperatures.append(clf.calibration_temperature_)
    assert len(set(temperatures)) == 3  # recalibrated on every batch
    # probabilities are softmax(scores / T), not any softmax
    scores = clf.decision_function(X_test) / clf.calibration_temperature_
    np.testing.assert_allclose(clf.predict_proba(X_test), np.exp(log_softmax(scores, axis=1)),
                               rtol=1e-9, atol=1e-12)


def test_failed_calibration_keeps_the_fitted_model(monkeypatch, digits):
    X_train, X_test, y_train, _ = digits
    clf = fit_quietly(LinearSVM(probability=True, max_iter=5, random_state=0), X_train, y_train)
    before = clf.predict_proba(X_test), clf.coef_, clf.n_iter_

    def fail(*args):
        raise RuntimeError("calibration failed")

    monkeypatch.setattr(_svm_estimator, "fit_temperature", fail)
    with pytest.raises(RuntimeError, match="calibration failed"):
        clf.set_params(max_iter=3).fit(X_train[::2], y_train[::2])
    np.testing.assert_array_equal(clf.predict_proba(X_test), before[0])
    np.testing.assert_array_equal(clf.coef_, before[1])
    assert clf.n_iter_ == before[2]


# -- in scikit-learn's machinery ------------------------------------------------------------


def test_pipeline_and_grid_search(digits):
    X_train, X_test, y_train, y_test = digits
    pipe = make_pipeline(StandardScaler(), LinearSVM(random_state=0, n_threads=1, max_iter=30))
    grid = GridSearchCV(
        pipe, {"linearsvm__C": [0.01, 1.0], "linearsvm__loss": ["hinge", "squared_hinge"]},
        cv=3,
    )
    grid = fit_quietly(grid, X_train, y_train)
    assert set(grid.best_params_) == {"linearsvm__C", "linearsvm__loss"}
    assert grid.score(X_test, y_test) > 0.93


def test_calibrated_classifier_cv(digits):
    X_train, X_test, y_train, y_test = digits
    calibrated = CalibratedClassifierCV(LinearSVM(random_state=0, max_iter=30), cv=3)
    calibrated = fit_quietly(calibrated, X_train, y_train)
    proba = calibrated.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert calibrated.score(X_test, y_test) > 0.93


def test_clone_pickle_and_joblib_round_trip(tmp_path, digits):
    X_train, X_test, y_train, _ = digits
    clf = LinearSVM(C=0.5, multi_class="ovr", probability=True, random_state=0)
    assert clone(clf).get_params() == clf.get_params()
    clf = fit_quietly(clf, X_train, y_train)
    assert not hasattr(clone(clf), "network_")
    restored = pickle.loads(pickle.dumps(clf))
    joblib.dump(clf, tmp_path / "svm.joblib")
    loaded = joblib.load(tmp_path / "svm.joblib")
    for other in (restored, loaded):
        np.testing.assert_array_equal(other.predict(X_test), clf.predict(X_test))
        np.testing.assert_array_equal(other.decision_function(X_test),
                                      clf.decision_function(X_test))
        np.testing.assert_array_equal(other.predict_proba(X_test), clf.predict_proba(X_test))


def test_partial_fit_over_batches(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LinearSVM(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X_train[:10], y_train[:10])
    batches = np.array_split(np.arange(len(X_train)), 5)
    for _ in range(10):
        for rows in batches:
            clf.partial_fit(X_train[rows], y_train[rows], classes=np.arange(10))
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 50  # n_iter_: this call's epochs
    assert clf.score(X_test, y_test) > 0.93


def test_warm_start_continues(digits):
    X_train, _, y_train, _ = digits
    clf = LinearSVM(solver="adam", warm_start=True, max_iter=3, random_state=0)
    clf = fit_quietly(clf, X_train, y_train)
    first = clf.loss_curve_[-1]
    fit_quietly(clf, X_train, y_train)
    assert clf.n_iter_ == 3 and len(clf.loss_curve_) == 6 and clf.loss_curve_[-1] < first


def test_early_stopping_and_class_weight(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LinearSVM(early_stopping=True, class_weight="balanced", random_state=0)
    clf = fit_quietly(clf, X_train, y_train)
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X_test, y_test) > 0.9


def test_coef_is_a_view_of_the_network_weights():
    # issue 13: in-place edits of coef_/intercept_ change the model
    X, y = binary_problem(n_samples=100)
    clf = LinearSVM(multi_class="ovr", random_state=0, max_iter=5)
    clf = fit_quietly(clf, X, y)
    assert clf.decision_function(X).any()
    clf.coef_[:] = 0.0
    clf.intercept_[:] = 0.0
    np.testing.assert_array_equal(clf.decision_function(X), np.zeros(len(X)))


def test_probability_keeps_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    X, y = binary_problem(n_samples=200)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    clf = fit_quietly(LinearSVM(probability=True, random_state=0), frame, y)
    assert clf.feature_names_in_.tolist() == frame.columns.tolist()
    np.testing.assert_allclose(clf.predict_proba(frame).sum(axis=1), 1.0)
    with pytest.raises(ValueError, match="Negative values"):
        LinearSVM(probability=True).fit(X, y, sample_weight=np.r_[-1.0, np.ones(199)])
