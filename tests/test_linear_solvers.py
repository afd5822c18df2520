"""The full-batch linear SVM solvers and LinearSVM's use of them."""

import os
import signal
import time
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_iris, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_selection import SelectFromModel
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC

from sknumpynet import LinearSVM
from sknumpynet._linear_svm import newton as svm_newton
from sknumpynet._linear_svm import solver as solver_module
from sknumpynet._linear_svm.base import AUTO_FULL_BATCH_MAX_SIZE
from sknumpynet._linear_svm.full_batch import solve_full_batch
from sknumpynet._linear_svm.losses import MulticlassHinge
from sknumpynet._linear_svm.newton import NewtonSolver
from sknumpynet._linear_svm.objective import LinearObjective

KINDS = ["ovr", "crammer_singer", "weston_watkins"]


def problem(n=60, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = rng.integers(k, size=n)
    y[:k] = np.arange(k)
    return X, y, rng.uniform(0.5, 2.0, size=n)


def columns(kind, k):
    return 1 if kind == "ovr" and k == 2 else k


def SvmProblem(X, y, s, *, C, kind, squared, fit_intercept, n_columns):
    """The objective over ``[W.ravel(), b]`` that Newton minimises."""
    loss = MulticlassHinge(np.asarray(y, dtype=np.intp), n_columns, kind, squared)
    return LinearObjective(X, loss, s, C=C, fit_intercept=fit_intercept)


def objective(W, b, X, y, s, *, C, kind, squared, penalty="l2", mu=0.0):
    """``F(W, b)`` (not the mean form) and, for l2, its gradient in ``W`` and ``b``."""
    loss = MulticlassHinge(np.asarray(y, dtype=np.intp), W.shape[1], kind, squared)
    p = LinearObjective(X, loss, s, C=C, penalty=penalty)
    x = p.packing.pack(W, b)
    value, grad = p.loss_gradient(x, mu)
    if penalty == "l1":
        return value / p.scale, None, None
    gW, gb = p.packing.unpack(grad / p.scale)
    return value / p.scale, gW, gb


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("mu", [0.0, 0.3])
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_objective_gradient_matches_finite_differences(kind, squared, mu, k):
    X, y, s = problem(k=k)
    rng = np.random.default_rng(1)
    W = rng.normal(size=(5, columns(kind, k))) * 0.5
    b = rng.normal(size=W.shape[1]) * 0.5
    kwargs = dict(C=0.7, kind=kind, squared=squared, mu=mu)
    _, gW, gb = objective(W, b, X, y, s, **kwargs)
    # a random direction (never all ones): compare the directional derivative
    V, v = rng.normal(size=W.shape), rng.normal(size=b.shape)
    eps = 1e-6
    plus = objective(W + eps * V, b + eps * v, X, y, s, **kwargs)[0]
    minus = objective(W - eps * V, b - eps * v, X, y, s, **kwargs)[0]
    np.testing.assert_allclose((plus - minus) / (2 * eps), np.vdot(gW, V) + gb @ v, rtol=1e-5)


@pytest.mark.parametrize("mu", [0.0, 0.3])
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_hessian_vector_product_matches_finite_differences(kind, squared, mu):
    if not squared and mu == 0:
        pytest.skip("the plain hinge has no Hessian")
    X, y, s = problem()
    p = SvmProblem(X, y, s, C=0.7, kind=kind, squared=squared, fit_intercept=True, n_columns=3)
    rng = np.random.default_rng(2)
    x, v = rng.normal(size=18) * 0.5, rng.normal(size=18)
    hessp, diagonal = p.hessian(p.scores(x), mu)
    eps = 1e-7
    fd = (p.gradient(x + eps * v, p.scores(x + eps * v), mu)
          - p.gradient(x - eps * v, p.scores(x - eps * v), mu)) / (2 * eps)
    # away from a kink the generalised Hessian is the derivative of the gradient
    np.testing.assert_allclose(hessp(v)[:15], fd[:15], rtol=1e-4, atol=1e-7)
    unit = np.zeros(18)
    unit[4] = 1.0
    np.testing.assert_allclose(diagonal[4], hessp(unit)[4], rtol=1e-10)


def iris_scaled():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("kind, loss, penalty", [
    ("ovr", "squared_hinge", "l2"), ("ovr", "hinge", "l2"),
    ("crammer_singer", "hinge", "l2"), ("ovr", "squared_hinge", "l1"),
])
def test_optimum_matches_liblinear_without_intercept(kind, loss, penalty):
    # without an intercept liblinear minimises exactly this objective
    X, y = iris_scaled()
    ref = LinearSVC(C=0.5, loss=loss, penalty=penalty, multi_class=kind, fit_intercept=False,
                    dual=penalty == "l2", tol=1e-10, max_iter=1_000_000).fit(X, y)
    squared = loss == "squared_hinge"
    ours = solve_full_batch(X, y, None, C=0.5, kind=kind, squared=squared, fit_intercept=False,
                            penalty=penalty, tol=1e-6, max_iter=5000)
    theirs = objective(ref.coef_.T, np.zeros(3), X, y, None, C=0.5, kind=kind,
                       squared=squared, penalty=penalty)[0]
    assert ours.converged
    assert ours.objective <= theirs * (1 + 1e-4)
    assert ours.objective >= theirs * (1 - 1e-3)  # liblinear is not far off either


def test_l1_gives_exact_zeros_and_selects_features():
    X, y = make_classification(n_samples=200, n_features=30, n_informative=4,
                               n_redundant=0, random_state=0)
    clf = LinearSVM(penalty="l1", loss="squared_hinge", multi_class="ovr", C=0.05).fit(X, y)
    assert 0 < np.count_nonzero(clf.coef_) < 20  # exact zeros
    ref = LinearSVC(penalty="l1", loss="squared_hinge", dual=False, C=0.05, fit_intercept=False,
                    tol=1e-10, max_iter=100_000)
    selector = SelectFromModel(clf, prefit=True)
    assert selector.transform(X).shape[1] == np.count_nonzero(clf.coef_)
    assert SelectFromModel(LinearSVM(penalty="l1", loss="squared_hinge", C=0.05)).fit(
        X, y).transform(X).shape[1] == np.count_nonzero(clf.coef_)
    # the l1 solution without intercept is liblinear's
    ours = LinearSVM(penalty="l1", loss="squared_hinge", multi_class="ovr", C=0.05,
                     fit_intercept=False, tol=1e-8).fit(X, y)
    ref.fit(X, y)
    np.testing.assert_array_equal(ours.coef_ != 0, ref.coef_ != 0)


def test_l1_with_a_minibatch_solver_is_refused():
    X, y = iris_scaled()
    with pytest.raises(ValueError, match="penalty='l1' needs the full-batch"):
        LinearSVM(penalty="l1", solver="adam").fit(X, y)


@pytest.mark.parametrize("kind, squared", [("ovr", True), ("crammer_singer", False),
                                           ("weston_watkins", True)])
def test_sparse_input_gives_the_dense_solution(kind, squared):
    X, y, s = problem(n=80, d=12)
    X[np.abs(X) < 1.0] = 0.0
    dense = solve_full_batch(X, y, s, C=1.0, kind=kind, squared=squared, tol=1e-8,
                             max_iter=2000)
    sparse = solve_full_batch(sp.csr_matrix(X), y, s, C=1.0, kind=kind, squared=squared,
                              tol=1e-8, max_iter=2000)
    # the same products in another order: equal to the solver's tolerance
    np.testing.assert_allclose(sparse.objective, dense.objective, rtol=1e-7)
    np.testing.assert_allclose(sparse.W, dense.W, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["ovr", "weston_watkins"])
@pytest.mark.parametrize("direct", [True, False])
def test_newton_and_lbfgs_reach_the_same_optimum(kind, direct, monkeypatch):
    # Newton's steps solved directly (one-vs-rest on few features) or by CG
    monkeypatch.setattr(svm_newton, "DIRECT_MAX_WEIGHTS", 10**6 if direct else 0)
    X, y, s = problem(n=100, d=6)
    a = solve_full_batch(X, y, s, C=2.0, kind=kind, squared=True, tol=1e-9, method="newton")
    b = solve_full_batch(X, y, s, C=2.0, kind=kind, squared=True, tol=1e-9, max_iter=5000,
                         method="lbfgs")
    np.testing.assert_allclose(a.objective, b.objective, rtol=1e-9)
    np.testing.assert_allclose(a.W, b.W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(a.b, b.b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("k, fit_intercept", [(3, True), (3, False), (2, True)])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("batched", [True, False])
def test_direct_newton_steps_are_exact_newton_steps(k, fit_intercept, sparse, batched,
                                                    monkeypatch):
    # the one-vs-rest Hessian blocks, solved directly: H d = -g with H the
    # operator conjugate gradients use (two classes: the one-column binary SVM)
    monkeypatch.setattr(svm_newton, "SMALL_GRAM_SIZE", 10**9 if batched else 0)
    X, y, s = problem(n=60, d=5, k=k)
    X = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X)) if sparse else X
    n_columns = columns("ovr", k)
    p = SvmProblem(X, y, s, C=1.5, kind="ovr", squared=True, fit_intercept=fit_intercept,
                 n_columns=n_columns)
    x = np.random.default_rng(1).normal(size=p.packing.size + n_columns * fit_intercept)
    S = p.scores(x)
    g = p.gradient(x, S, 0.0)
    assert np.count_nonzero(p.loss.curvature(S, 0.0, p.weight)[1]) > 0  # some rows are curved
    d = NewtonSolver(p)._direct_direction(S, 0.0, g)
    hessp, _ = p.hessian(S, 0.0)
    np.testing.assert_allclose(hessp(d), -g, rtol=1e-9, atol=1e-12)


class _Flat:
    """A stand-in problem for the line search: ``value`` and ``gradient`` given."""

    def __init__(self, value, gradient):
        self._value, self._gradient = value, gradient

    def value(self, x, S, mu):
        return self._value(x)

    def gradient(self, x, S, mu):
        return self._gradient(x)


def test_line_search_takes_a_rounding_level_step_that_shrinks_the_gradient():
    f, x, d = 1.0, np.zeros(2), np.array([1e-9, 0.0])
    slope = -1e-20  # predicted decrease far below f's rounding
    up = svm_newton.ROUNDING * 0.5  # f "rises" by half of rounding
    smaller = _Flat(lambda v: f + up, lambda v: np.array([1e-12, 0.0]))
    step, value, grad = svm_newton._line_search(smaller, x, x, d, x, 0.0, f, slope, 1e-9)
    assert step == 1.0 and value == f + up and grad is not None
    # the gradient did not shrink: no step (converged as far as rounding allows)
    larger = _Flat(lambda v: f + up, lambda v: np.array([1e-6, 0.0]))
    assert svm_newton._line_search(larger, x, x, d, x, 0.0, f, slope, 1e-9)[0] is None
    # a real predicted decrease that fails Armijo backtracks instead
    armijo = _Flat(lambda v: f + up if v[0] > 0.6 else f - 1.0, lambda v: np.zeros(2))
    step, _, grad = svm_newton._line_search(armijo, x, x, np.ones(2), x, 0.0, f, -1.0, 1.0)
    assert step == 0.5 and grad is None


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_every_solver_reaches_the_full_batch_optimum(solver):
    X, y = iris_scaled()
    kwargs = dict(multi_class="ovr", loss="squared_hinge", random_state=0)
    exact = LinearSVM(solver="newton", tol=1e-8, **kwargs).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mini = LinearSVM(solver=solver, batch_size=150, max_iter=3000, tol=0.0,
                         learning_rate_init=0.05, **kwargs).fit(X, y)
    W, b = mini.coef_.T, mini.intercept_
    theirs = objective(W, b, X, y, None, C=1.0, kind="ovr", squared=True)[0]
    # the minibatch solver may land on the optimum too: equal to rounding
    assert exact.objective_ * (1 - 1e-12) <= theirs <= exact.objective_ * 1.01


def _full_batch(model):
    """Whether ``model`` was fitted by the full-batch solver (it alone reports the optimum)."""
    return hasattr(model, "objective_")


def test_auto_solver_choice_is_deterministic_and_by_shape():
    X, y = iris_scaled()
    a, b = LinearSVM().fit(X, y), LinearSVM().fit(X, y)
    assert _full_batch(a)  # small dense data: the full-batch solver
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    # by shape, not sparsity: the same small data sparse gets the same model
    sparse = LinearSVM().fit(sp.csr_matrix(X), y)
    np.testing.assert_allclose(sparse.coef_, a.coef_, rtol=1e-4, atol=1e-5)  # tol=1e-4
    assert not _full_batch(LinearSVM(early_stopping=True, random_state=0).fit(X, y))


def _large(X, **params):
    """A short fit on more than AUTO_FULL_BATCH_MAX_SIZE entries (3 classes)."""
    model = LinearSVM(max_iter=2, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, np.arange(X.shape[0]) % 3)


@pytest.mark.parametrize("params, full_batch", [
    ({}, True),  # the defaults: squared hinge, one-vs-rest -> Newton
    ({"multi_class": "weston_watkins"}, True),
    ({"loss": "hinge"}, False),  # L-BFGS on the smoothed hinge creeps: Adam
    ({"multi_class": "crammer_singer"}, False),
    ({"penalty": "l1"}, True),  # only the full-batch solver has it
    ({"early_stopping": True}, False),
])
def test_auto_solver_on_large_sparse_data(params, full_batch):
    # the rule documented under LinearSVM's ``solver``
    big = sp.random(1001, 1000, density=0.002, format="csr", random_state=0)
    assert big.shape[0] * big.shape[1] > AUTO_FULL_BATCH_MAX_SIZE
    assert _full_batch(_large(big, **params)) is full_batch
    again = _large(big, **params)
    np.testing.assert_array_equal(again.coef_, _large(big, **params).coef_)


@pytest.mark.parametrize("params, full_batch", [({}, False), ({"penalty": "l1"}, True)])
def test_auto_solver_on_large_dense_data(params, full_batch):
    X = np.random.default_rng(0).normal(size=(1001, 1000))
    assert _full_batch(_large(X, **params)) is full_batch


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("loss", ["hinge", "squared_hinge"])
@pytest.mark.parametrize("sparse", [False, True])
def test_full_batch_defaults_pass_sample_weight_equivalence(kind, loss, sparse):
    # scikit-learn's check wants weighted and repeated rows to give the same
    # model to 1e-7 at the default tol: exact Newton steps on small problems
    # (directly, or CG to 1e-10; after L-BFGS on the smoothed hinge) get there
    from sklearn.utils.estimator_checks import (
        check_sample_weight_equivalence_on_dense_data,
        check_sample_weight_equivalence_on_sparse_data,
    )

    check = (check_sample_weight_equivalence_on_sparse_data if sparse
             else check_sample_weight_equivalence_on_dense_data)
    check("LinearSVM", LinearSVM(loss=loss, multi_class=kind))


@pytest.mark.parametrize("kind, squared", [
    ("ovr", True),  # the defaults, as LinearSVC's
    ("crammer_singer", False),
    ("crammer_singer", True),  # three classes: the max over them is smoothed first
])
def test_small_data_defaults_converge_to_the_optimum(kind, squared):
    X, y = iris_scaled()
    loss = "squared_hinge" if squared else "hinge"
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = LinearSVM(multi_class=kind, loss=loss).fit(X, y)
    tight = solve_full_batch(X, np.searchsorted(clf.classes_, y), None, C=1.0,
                             kind=kind, squared=squared, tol=1e-9, max_iter=20000)
    assert clf.objective_ <= tight.objective * 1.01
    ref = LinearSVC(multi_class=kind).fit(X, y)
    assert clf.score(X, y) >= ref.score(X, y) - 0.01


def test_squared_crammer_singer_on_unscaled_data_leaves_the_starting_tie():
    # at W = 0 every wrong class ties for the max: the unsmoothed objective
    # stopped L-BFGS at its first line search (iris: objective 150, accuracy 1/3)
    X, y = load_iris(return_X_y=True)
    clf = LinearSVM(multi_class="crammer_singer", loss="squared_hinge").fit(X, y)
    assert clf.score(X, y) > 0.95 and clf.objective_ < 20


def test_coef_and_intercept_are_assignable_and_shape_checked():
    X, y = iris_scaled()
    clf = LinearSVM().fit(X, y)
    clf.coef_ = np.ones((3, 4))
    clf.intercept_ = np.array([0.0, 1.0, 2.0])
    np.testing.assert_allclose(clf.decision_function(X), X @ np.ones((4, 3)) + [0, 1, 2])
    with pytest.raises(ValueError, match=r"coef_ must have shape \(3, 4\)"):
        clf.coef_ = np.ones((4, 3))
    with pytest.raises(ValueError, match="intercept_ must have shape"):
        clf.intercept_ = np.ones(2)
    binary = LinearSVM().fit(X[:100], y[:100])  # two classes on two columns
    binary.coef_ = np.arange(4.0).reshape(1, 4)
    np.testing.assert_allclose(binary.coef_, np.arange(4.0).reshape(1, 4))


def test_lean_single_row_path_matches_the_full_path():
    X, y = iris_scaled()
    clf = LinearSVM().fit(X, y)
    full = clf.decision_function(X)  # 150 rows: the full path
    for i in (0, 57, 149):
        np.testing.assert_allclose(clf.decision_function(X[i:i + 1]), full[i:i + 1],
                                   rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="NaN"):
        clf.predict(np.full((1, 4), np.nan))
    with pytest.raises(ValueError, match="features"):
        clf.predict(np.ones((1, 3)))
    # one score column (two classes): the layer's row-by-row product, so one row
    # scores exactly as it does inside a batch
    binary = LinearSVM().fit(X, y == 2)
    full = binary.decision_function(X)
    for i in (0, 57, 149):
        np.testing.assert_array_equal(binary.decision_function(X[i:i + 1]), full[i:i + 1])


# -- Ctrl-C during a full-batch fit: the last completed iteration stays ------------------


def _interrupt_at(monkeypatch, iteration, action):
    """Run ``action()`` just before the full-batch solver reports ``iteration``."""
    original, calls = solver_module.minimize_objective, []

    def solve(*args, callback, **kwargs):
        def reporting(W, b, value):
            calls.append(None)
            if len(calls) == iteration:
                action()
            return callback(W, b, value)

        return original(*args, callback=reporting, **kwargs)

    monkeypatch.setattr(solver_module, "minimize_objective", solve)
    return calls


def _sigint():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.001)  # the Python-level handler runs before this returns


@pytest.fixture
def no_stray_sigint():
    """A SIGINT the fit does not catch fails the test instead of stopping pytest;
    the fit must put this handler back."""

    def handler(signum, frame):
        raise RuntimeError("SIGINT reached the test's handler: the fit did not catch it")

    previous = signal.signal(signal.SIGINT, handler)
    yield
    restored = signal.getsignal(signal.SIGINT)
    signal.signal(signal.SIGINT, previous)
    assert restored is handler, "the fit left its own SIGINT handler installed"


def _raise_keyboard_interrupt():
    raise KeyboardInterrupt


@pytest.mark.parametrize("action, kept, message", [
    (_sigint, 3, "stopped after iteration 3"),
    (_raise_keyboard_interrupt, 2, "interrupted during iteration 3"),
], ids=["first-ctrl-c", "keyboard-interrupt"])
@pytest.mark.parametrize("params", [{}, {"penalty": "l1"}, {"fit_intercept": False}])
def test_interrupted_full_batch_fit_keeps_the_last_iteration(
    monkeypatch, no_stray_sigint, action, kept, message, params
):
    # a first Ctrl-C (the guard's flag) stops after the iteration it came in; a
    # KeyboardInterrupt from inside the solver keeps the one before it
    X, y = iris_scaled()
    calls = _interrupt_at(monkeypatch, 3, action)
    with pytest.warns(UserWarning, match=message):
        est = LinearSVM(max_iter=50, **params).fit(X, y)
    assert len(calls) == 3 and est.interrupted_ and est.n_iter_ == kept
    monkeypatch.undo()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        twin = LinearSVM(max_iter=kept, **params).fit(X, y)
    np.testing.assert_array_equal(est.coef_, twin.coef_)
    np.testing.assert_array_equal(est.intercept_, twin.intercept_)
    assert est.loss_curve_ == twin.loss_curve_
    np.testing.assert_allclose(est.objective_, twin.objective_, rtol=1e-6)


def test_interrupt_before_the_first_iteration_keeps_the_start(monkeypatch):
    X, y = iris_scaled()
    _interrupt_at(monkeypatch, 1, _raise_keyboard_interrupt)
    with pytest.warns(UserWarning, match="interrupted during iteration 1"):
        est = LinearSVM().fit(X, y)
    assert est.n_iter_ == 0 and est.loss_curve_ == [] and est.interrupted_
    assert not est.coef_.any() and not est.intercept_.any()  # the zero start
    assert est.objective_ == pytest.approx(y.size * 3)  # every squared hinge term is 1
    assert est.predict(X).shape == y.shape


def test_second_ctrl_c_in_a_full_batch_fit_keeps_the_previous_model(
    monkeypatch, no_stray_sigint
):
    X, y = iris_scaled()
    est = LinearSVM().fit(X, y)
    before = (est.coef_.copy(), est.intercept_.copy(), est.n_iter_)
    _interrupt_at(monkeypatch, 2, lambda: (_sigint(), _sigint()))
    with pytest.raises(KeyboardInterrupt):
        est.set_params(C=0.5).fit(X, y)
    np.testing.assert_array_equal(est.coef_, before[0])
    np.testing.assert_array_equal(est.intercept_, before[1])
    assert est.n_iter_ == before[2]


@pytest.mark.parametrize("params", [{}, {"loss": "hinge"}, {"penalty": "l1"}])
@pytest.mark.parametrize("sparse", [False, True])
def test_overflowing_data_is_a_clear_error_and_changes_nothing(params, sparse):
    # features near float64's limit overflow the objective (Newton's Hessian,
    # L-BFGS's trial points): a ValueError naming the scale, not a zero model
    X, y = iris_scaled()
    est = LinearSVM(**params).fit(X, y)
    before = (est.coef_.copy(), est.intercept_.copy())
    huge = X * 1e300
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own overflow notices
        with pytest.raises(ValueError, match="overflows .* largest feature magnitude is"):
            est.fit(sp.csr_matrix(huge) if sparse else huge, y)
    np.testing.assert_array_equal(est.coef_, before[0])
    np.testing.assert_array_equal(est.intercept_, before[1])


# -- one objective for every solver -----------------------------------------------------


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("squared", [False, True])
@pytest.mark.parametrize("kind", KINDS)
def test_objective_equals_the_engines_hinge_and_penalty_in_mean_form(kind, squared, k):
    # what Newton and L-BFGS minimise is what the minibatch solvers step on:
    # MultiClassHinge (margin 1) + L2Penalty(alpha = 1 / (C sum s)), value and gradient
    from sknumpynet import nn

    X, y, s = problem(k=k)
    C, rng = 0.7, np.random.default_rng(3)
    linear = nn.Linear(5, columns(kind, k), rng=rng, dtype=np.float64)
    linear.weight.value[...] = rng.normal(size=linear.weight.value.shape)
    linear.bias.value[...] = rng.normal(size=linear.bias.value.shape)
    loss = nn.MultiClassHinge(margin=1.0, kind=kind, squared=squared)
    penalty = nn.L2Penalty(linear.parameters(), alpha=1.0 / (C * s.sum()))
    value = loss(linear.forward(X), y, s) + penalty.value()
    linear.zero_grad()
    linear.backward(loss.backward())
    penalty.backward()
    p = SvmProblem(X, y, s, C=C, kind=kind, squared=squared, fit_intercept=True,
                   n_columns=columns(kind, k))
    ours, grad = p.loss_gradient(p.packing.pack(linear.weight.value, linear.bias.value))
    assert ours == pytest.approx(value, rel=1e-12)
    expected = p.packing.pack(linear.weight.grad, linear.bias.grad)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)


def test_l1_packing_round_trip_and_gradient():
    X, y, s = problem()
    loss = MulticlassHinge(y, 3, "ovr", True)
    p = LinearObjective(X, loss, s, C=0.7, penalty="l1")
    rng = np.random.default_rng(4)
    W, b = rng.normal(size=(5, 3)), rng.normal(size=3)
    x = p.packing.pack(W, b)
    assert x.size == 2 * 15 + 3 and (x[:30] >= 0).all()
    np.testing.assert_allclose(p.packing.unpack(x)[0], W)
    v = rng.normal(size=x.size)  # a random direction, P and N moved apart
    eps = 1e-6
    fd = (p.loss_gradient(x + eps * v)[0] - p.loss_gradient(x - eps * v)[0]) / (2 * eps)
    np.testing.assert_allclose(fd, p.loss_gradient(x)[1] @ v, rtol=1e-6)
    assert p.exact(x) == pytest.approx(np.abs(W).sum() + objective(W, b, X, y, s, C=0.7,
                                       kind="ovr", squared=True)[0] - 0.5 * np.vdot(W, W))


# -- Newton: named results, the decrement, the fallback ---------------------------------


def test_newton_convergence_also_checks_the_decrement():
    X, y, s = problem(n=200, d=6)
    p = SvmProblem(X, y, s, C=2.0, kind="weston_watkins", squared=True, fit_intercept=True,
                   n_columns=3)
    x0 = np.zeros(p.packing.size + 3)
    g0 = np.abs(p.gradient(x0, p.scores(x0))).max()
    loose = svm_newton.newton_stage(p, x0, 0.0, 0.5 * g0, np.inf, 100, [])
    tight = svm_newton.newton_stage(p, x0, 0.0, 0.5 * g0, 1e-12, 100, [])
    assert loose.status == tight.status == "converged"
    assert tight.n_iter > loose.n_iter  # the gradient alone had been small enough
    S = p.scores(tight.x)
    assert p.value(tight.x, S) < p.value(loose.x, p.scores(loose.x))


def test_failed_newton_line_search_warns_and_falls_back_on_lbfgs(monkeypatch):
    X, y, s = problem(n=100, d=6)
    reference = solve_full_batch(X, y, s, C=2.0, kind="ovr", squared=True, tol=1e-9)
    original, calls = svm_newton._line_search, []

    def fail_once(*args):
        calls.append(None)
        if len(calls) == 2:
            return svm_newton.LineSearchResult(None, args[6])
        return original(*args)

    monkeypatch.setattr(svm_newton, "_line_search", fail_once)
    with pytest.warns(ConvergenceWarning, match="line search found no decrease .* L-BFGS"):
        result = solve_full_batch(X, y, s, C=2.0, kind="ovr", squared=True, tol=1e-9,
                                  max_iter=2000)
    assert result.method == "lbfgs" and result.converged
    np.testing.assert_allclose(result.objective, reference.objective, rtol=1e-7)
    assert reference.method == "newton"


def test_solver_names_say_the_algorithm():
    X, y = iris_scaled()
    newton = LinearSVM(solver="newton", tol=1e-8).fit(X, y)
    lbfgs = LinearSVM(solver="lbfgs", tol=1e-8, max_iter=5000).fit(X, y)
    auto = LinearSVM(tol=1e-8).fit(X, y)  # small data, squared hinge, ovr: Newton
    np.testing.assert_allclose(lbfgs.objective_, newton.objective_, rtol=1e-6)
    np.testing.assert_array_equal(auto.coef_, newton.coef_)
    assert newton.n_iter_ < lbfgs.n_iter_  # they are different algorithms
    with pytest.raises(ValueError, match="solver='newton' needs a smooth loss"):
        LinearSVM(solver="newton", loss="hinge").fit(X, y)
    with pytest.raises(ValueError, match="solver='newton' needs a smooth loss"):
        LinearSVM(solver="newton", multi_class="crammer_singer").fit(X, y)
    with pytest.raises(ValueError, match="partial_fit is not available with solver='newton'"):
        LinearSVM(solver="newton").partial_fit(X, y, classes=[0, 1, 2])


def test_full_batch_fit_holds_no_optimizer():
    # the solver is chosen before the build: no Adam that never stepped
    skops_io = pytest.importorskip("skops.io")
    X, y = iris_scaled()
    clf = LinearSVM().fit(X, y)
    assert clf._optimizer is None
    untrusted = skops_io.get_untrusted_types(data=skops_io.dumps(clf))
    assert not any("optimizers" in name for name in untrusted)
    # a later partial_fit starts the minibatch optimizer then
    clf.partial_fit(X, y)
    assert clf._optimizer is not None
    # a warm start on the full batch keeps holding none
    clf = LinearSVM(warm_start=True).fit(X, y)
    assert clf.fit(X, y)._optimizer is None
