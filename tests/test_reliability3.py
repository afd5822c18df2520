"""Reliability, round three (issue 21): items 12-15 and 19-21, and the tests
that could not fail.

Item 12: uint64 class labels beyond int64 in an ONNX export. Item 13:
exporting an unfitted model. Items 14, 15: LinearSVM's calibration rows
chosen by the rows' values, and probabilities finite at the dtype's limits.
Item 19: an IDX header whose shape numpy cannot make. Item 20: the memory a
fit takes, in copies of the parameters. Item 21: early stopping with more
classes than validation rows. The rest are the planted bugs that no test
caught: each test below names the bug it catches.
"""

import copy
import os
import signal
import time
import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_digits

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

X_DIGITS, Y_DIGITS = load_digits(return_X_y=True)
X_DIGITS = X_DIGITS / 16.0


# -- item 20: the memory of a fit ----------------------------------------------------


def _peak_growth(call):
    """The peak of traced memory during ``call()``, above what was traced before it."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _wide_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((5, 20_000)), np.array([0, 1, 0, 1, 2])


@pytest.mark.parametrize(
    "params, copies",
    [
        # parameters, gradient, Adam's two moments; rollback snapshots of the
        # parameters at the starts of the last two epochs, of the moments at
        # the last one's
        ({}, 8),
        # SGD with momentum: parameters, gradient, velocity; two snapshots of
        # the parameters, one of the velocity
        ({"solver": "sgd"}, 6),
        # Nadam's second scratch array is one block, not a copy of the parameters
        ({"solver": "nadam"}, 8),
        # one epoch: one snapshot, and a fresh optimizer's zero moments are not copied
        ({"max_iter": 1}, 5),
    ],
)
def test_peak_memory_of_a_fit_in_copies_of_the_parameters(params, copies):
    X, y = _wide_data()
    est = MLPClassifier(**{"hidden_layer_sizes": (100,), "max_iter": 5, "random_state": 0,
                           **params})
    peak = _peak_growth(lambda: est.fit(X, y))
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    assert peak < (copies + 0.5) * n_bytes, peak / n_bytes


def test_peak_memory_of_partial_fit_and_early_stopping():
    X, y = _wide_data()
    est = MLPClassifier((100,), max_iter=2, random_state=0).fit(X, y)
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    # beside the old model (kept until the new one is committed): a copy of the
    # parameters, gradient and moments, and one snapshot of the three
    peak = _peak_growth(lambda: est.partial_fit(X, y))
    assert peak < 7.5 * n_bytes, peak / n_bytes
    X10, y10 = np.vstack([X, X + 0.1]), np.tile(y, 2)
    est = MLPClassifier((100,), max_iter=5, random_state=0, early_stopping=True,
                        validation_fraction=0.5, n_iter_no_change=100)
    peak = _peak_growth(lambda: est.fit(X10, y10))
    # one more copy: the best epoch's weights, overwritten in place
    assert peak < 9.5 * n_bytes, peak / n_bytes


def test_a_fitted_optimizer_keeps_no_scratch_copy_of_the_parameters():
    X, y = _wide_data()
    for solver in ("adam", "nadam", "sgd", "rmsprop"):
        est = MLPClassifier((100,), max_iter=2, random_state=0, solver=solver).fit(X, y)
        optimizer = est._optimizer
        for block in optimizer._blocks:
            for name in optimizer._scratch_names:
                assert getattr(block, name).base.size <= optimizer.block_size, (solver, name)


# -- items 14, 15: LinearSVM's calibration ---------------------------------------------


def _sparse_table():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 12))
    X[np.abs(X) < 0.7] = 0.0
    y = (X[:, 0] + X[:, 1] - X[:, 2] > 0).astype(int) + (X[:, 3] > 0.5)
    return X, y


def _with_explicit_zeros(X):
    """X as CSR with an explicit zero in every row and its indices unsorted."""
    coo = sp.coo_matrix(X)
    n = X.shape[0]
    zero_cols = np.argmin(np.abs(X) > 0, axis=1)  # a column that is zero in the row
    rows = np.r_[coo.row, np.arange(n)]
    cols = np.r_[coo.col, zero_cols]
    data = np.r_[coo.data, np.zeros(n)]
    order = np.argsort(-cols, kind="stable")  # columns in decreasing order
    rows, cols, data = rows[order], cols[order], data[order]
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    M = sp.csr_matrix((data[order], cols[order], indptr), shape=X.shape)
    assert M.nnz == sp.csr_matrix(X).nnz + n and not M.has_sorted_indices
    return M


@pytest.mark.parametrize("solver", ["auto", "adam"])
def test_calibration_rows_follow_the_values_not_the_storage(solver):
    """Item 14: dense, CSR and CSR with explicit zeros fitted different models."""
    X, y = _sparse_table()
    fits = [
        LinearSVM(probability=True, random_state=0, solver=solver, max_iter=20).fit(data, y)
        for data in (X, sp.csr_matrix(X), _with_explicit_zeros(X), X * -1.0 * -1.0 + 0.0 * X)
    ]
    dense = fits[0]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
        assert other.calibration_temperature_ == pytest.approx(
            dense.calibration_temperature_, rel=1e-6)
    from sknumpynet import _svm

    key = b"0123456789abcdef"
    index = np.searchsorted(np.unique(y), y)
    weights = np.ones(len(y))
    held = _svm._calibration_split(X, index, weights, 0.2, key)
    for data in (sp.csr_matrix(X), _with_explicit_zeros(X), np.where(X == 0, -0.0, X),
                 np.asfortranarray(X)):
        np.testing.assert_array_equal(
            _svm._calibration_split(data, index, weights, 0.2, key), held)


@pytest.mark.parametrize("multi_class", ["ovr", "crammer_singer", "binary"])
def test_probabilities_stay_finite_at_the_float32_limit(multi_class):
    """Item 15: an input at float32 max gave all-NaN predict_proba rows."""
    X, y = _sparse_table()
    if multi_class == "binary":
        y, multi_class = y > 0, "ovr"
    X = X.astype(np.float32)
    est = LinearSVM(probability=True, random_state=0, multi_class=multi_class).fit(X, y)
    big = np.finfo(np.float32).max
    Z = np.zeros((4, X.shape[1]), dtype=np.float32)
    Z[0, 0], Z[1, :], Z[2, 0], Z[3, 1] = big, big, -big, big / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the scores overflow in the matmul
        proba, log_proba = est.predict_proba(Z), est.predict_log_proba(Z)
        predicted = est.predict(Z)
    assert np.isfinite(proba).all() and np.isfinite(log_proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], predicted)
    assert proba.dtype == np.float32


def test_softmax_of_infinite_scores_is_their_limit():
    from sknumpynet import nn

    z = np.array([[np.inf, 1.0, np.inf], [-np.inf] * 3, [1.0, 2.0, 3.0], [np.inf, -np.inf, 0.0]],
                 dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p, log_p = nn.softmax(z), nn.log_softmax(z)
    np.testing.assert_allclose(p[0], [0.5, 0, 0.5])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    np.testing.assert_allclose(p[3], [1, 0, 0])
    np.testing.assert_allclose(p[2], nn.softmax(z[2:3])[0])
    assert np.isfinite(log_p).all() and p.dtype == log_p.dtype == np.float32
    np.testing.assert_allclose(log_p[0, [0, 2]], np.log(0.5), rtol=1e-6)


# -- item 21: early stopping with more classes than validation rows ---------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, LinearSVM])
def test_too_many_classes_for_the_validation_split_names_validation_fraction(estimator):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2000, 3)), np.arange(2000) % 300
    est = estimator(early_stopping=True, max_iter=2, random_state=0)
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert message.startswith("early_stopping=True holds out validation_fraction=0.1 of the "
                              "2000 samples, 200 rows, stratified by class")
    assert "validation_fraction between 0.15 and 0.85" in message
    assert "X_val=" in message and "early_stopping=False" in message
    assert not hasattr(est, "n_features_in_")
    for fraction in (0.15, 0.85):  # the advice holds at both ends
        est.set_params(validation_fraction=fraction).fit(X, y)
    # X_val replaces the split: no class constraint
    est.set_params(validation_fraction=0.1).fit(X[:1500], y[:1500], X_val=X[1500:],
                                                 y_val=y[1500:])
    # a class of one sample keeps scikit-learn's message, with the way out appended
    with pytest.raises(ValueError, match=r"only 1 member.*\(early_stopping=True .*X_val="):
        estimator(early_stopping=True).fit(X[:4], [0, 0, 0, 1])


# -- tests that could not fail: parameters that reach the optimizer and the hooks -------


@pytest.mark.parametrize("estimator", [MLPClassifier, LinearSVM])
@pytest.mark.parametrize(
    "params, expected",
    [
        ({"solver": "sgd", "momentum": 0.7, "nesterovs_momentum": False,
          "learning_rate_init": 0.03},
         {"type": "SGD", "momentum": 0.7, "nesterov": False, "lr": 0.03}),
        ({"solver": "sgd", "momentum": 0.7, "nesterovs_momentum": True},
         {"type": "SGD", "momentum": 0.7, "nesterov": True}),
        ({"solver": "sgd", "momentum": 0.0}, {"type": "SGD", "momentum": 0.0, "nesterov": False}),
        ({"solver": "adam", "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6,
          "learning_rate_init": 0.02},
         {"type": "Adam", "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "lr": 0.02}),
        ({"solver": "nadam", "beta_1": 0.85, "beta_2": 0.98, "epsilon": 1e-7},
         {"type": "Nadam", "beta_1": 0.85, "beta_2": 0.98, "epsilon": 1e-7}),
        ({"solver": "rmsprop", "beta_2": 0.95, "epsilon": 1e-7, "learning_rate_init": 0.004},
         {"type": "RMSProp", "rho": 0.95, "eps": 1e-7, "lr": 0.004}),
    ],
)
def test_estimator_parameters_reach_its_optimizer(estimator, params, expected):
    """Planted bug: nesterovs_momentum=False silently ignored in _make_optimizer."""
    X, y = X_DIGITS[:200], Y_DIGITS[:200]
    if any(k not in estimator().get_params() for k in params):
        pytest.skip(f"{estimator.__name__} does not take all of {sorted(params)}")
    est = estimator(max_iter=1, random_state=0, **params).fit(X, y)
    optimizer = est._optimizer
    assert type(optimizer).__name__ == expected["type"]
    for name, value in expected.items():
        if name != "type":
            assert getattr(optimizer, name) == value, name


def test_nesterov_changes_the_fit():
    """The same planted bug seen from the outside: the two settings train differently."""
    X, y = X_DIGITS[:200], Y_DIGITS[:200]
    fits = [MLPClassifier((8,), solver="sgd", momentum=0.9, nesterovs_momentum=nesterov,
                          max_iter=3, random_state=0).fit(X, y).loss_curve_
            for nesterov in (True, False)]
    assert fits[0] != fits[1]


@pytest.mark.parametrize("patience", [1, 3])
def test_n_iter_no_change_and_tol_reach_the_stopping_rule(patience):
    # every epoch after the first is "no improvement" when tol is huge
    est = MLPClassifier((8,), max_iter=50, tol=1e9, n_iter_no_change=patience,
                        random_state=0).fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert est.n_iter_ == patience + 2  # the first epoch sets the best, as scikit-learn's


# -- the hooks after a stopping hook see the last epoch ---------------------------------


def test_hooks_after_the_stopping_rule_see_the_epoch_it_stops_at(capsys):
    """Planted bug: end_epoch returning at the first stop, so progress, best
    weights and callbacks never saw the last epoch."""
    X, y = X_DIGITS, Y_DIGITS
    X_val, y_val = X[1000:], y[1000:]
    params = dict(hidden_layer_sizes=(16,), early_stopping=True, learning_rate_init=1e-3,
                  random_state=0)
    # tol=1: no epoch after the first counts as an improvement, so the rule
    # stops after the third; validation scores still rise: that last is the best
    est = MLPRegressor(tol=1.0, n_iter_no_change=1, max_iter=50, verbose=1, **params)
    est.fit(X[:1000], y[:1000], X_val=X_val, y_val=y_val)
    scores = est.validation_scores_
    assert est.n_iter_ == 3 and scores[0] < scores[1] < scores[2]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Iteration")]
    assert len(lines) == 3  # progress saw every epoch
    # best weights saw the last epoch: the model is the twin's that ran three
    # epochs without a stopping rule (its best epoch is the same)
    twin = MLPRegressor(tol=0.0, n_iter_no_change=100, max_iter=3, **params)
    twin.fit(X[:1000], y[:1000], X_val=X_val, y_val=y_val)
    assert twin.validation_scores_ == scores
    np.testing.assert_array_equal(est.predict(X_val), twin.predict(X_val))
    assert est.best_validation_score_ == scores[2]
    assert est.score(X_val, y_val) == pytest.approx(scores[2], rel=1e-12)


# -- LinearSVM's loss_curve_ is the objective over C times the sum of the weights --------


@pytest.mark.parametrize("loss, penalty, rel", [
    ("squared_hinge", "l2", 1e-6),  # truncated Newton
    ("squared_hinge", "l1", 1e-6),  # L-BFGS-B with bounds
    # L-BFGS-B on smoothed hinges: its last iterate's objective is the smoothed
    # one, within 2% of the exact one (the weights' sum is 2.25 n)
    ("hinge", "l2", 0.02),
])
def test_linear_svm_loss_curve_is_divided_by_the_sum_of_the_sample_weights(loss, penalty, rel):
    """Planted bug: loss_curve_ scaled by n instead of the sum of sample weights."""
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    weights = np.random.default_rng(0).uniform(0.5, 4.0, len(y))  # sum far from n
    est = LinearSVM(C=0.3, loss=loss, penalty=penalty, solver="lbfgs", max_iter=200,
                    random_state=0)
    est.fit(X, y, sample_weight=weights)
    assert est.loss_curve_[-1] == pytest.approx(est.objective_ / (0.3 * weights.sum()),
                                                rel=rel)
    if (loss, penalty) != ("squared_hinge", "l2"):
        return
    # minibatch: weights of 3 with C are the unweighted problem with 3 C, and
    # divided by C times the weights' sum, the same mean objective
    fits = [LinearSVM(C=C, solver="adam", max_iter=3, random_state=0).fit(X, y, sample_weight=w)
            for C, w in ((0.9, None), (0.3, np.full(len(y), 3.0)))]
    np.testing.assert_allclose(fits[1].loss_curve_, fits[0].loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-9, atol=1e-12)


# -- warm starts: a fresh optimizer, the earlier fits' best score --------------------------


def test_a_warm_start_begins_a_fresh_optimizer():
    """Planted bug: a warm start reusing the old optimizer's moments and step count."""
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    est = MLPClassifier((16,), warm_start=True, max_iter=3, random_state=0).fit(X, y)
    other = copy.deepcopy(est)
    other._optimizer.t = 1000  # the old optimizer's state must not matter
    for state in other._optimizer.state_arrays():
        state[...] = 5.0
    est.fit(X, y)
    other.fit(X, y)
    assert est._optimizer.t == est.n_iter_ * 2  # this fit's steps only (2 batches an epoch)
    for a, b in zip(est.network_.state_arrays(), other.network_.state_arrays()):
        np.testing.assert_array_equal(a, b)
    assert len(est.loss_curve_) == 6 and est.loss_curve_ == other.loss_curve_


def test_a_warm_start_remembers_the_best_validation_score_of_earlier_fits():
    """Planted bug: a warm start forgetting the earlier fits' best validation score."""
    X, y, X_val, y_val = X_DIGITS[:1000], Y_DIGITS[:1000], X_DIGITS[1000:], Y_DIGITS[1000:]
    est = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, warm_start=True,
                       learning_rate_init=0.01, max_iter=300, n_iter_no_change=3,
                       random_state=0).fit(X, y, X_val=X_val, y_val=y_val)
    first, best = len(est.validation_scores_), est.best_validation_score_
    # a rate that makes every epoch of the next fit worse than that best, the
    # last of them not the best of them
    est.set_params(learning_rate_init=0.03).fit(X, y, X_val=X_val, y_val=y_val)
    assert est.best_validation_score_ == best  # the log kept it
    assert est.n_iter_ == 3 + 1  # the stopping rule counted from it: no epoch improved
    scores = est.validation_scores_[first:]
    assert max(scores) < best and np.argmax(scores) != len(scores) - 1
    # best weights started from it: no epoch beat it, so none was restored
    assert est.score(X_val, y_val) == pytest.approx(scores[-1], rel=1e-12)


# -- L-BFGS: a Ctrl-C in a line search keeps the last accepted weights --------------------


def _lbfgs(**params):
    return MLPClassifier(**{"hidden_layer_sizes": (5,), "solver": "lbfgs", "max_iter": 30,
                            "random_state": 0, **params})


def test_lbfgs_ctrl_c_inside_a_line_search_keeps_the_last_accepted_iterate(monkeypatch):
    """Planted bugs: the L-BFGS solver not putting back the last accepted weights,
    or keeping scipy's work array without copying it (a Ctrl-C during a line
    search kept an untried step)."""
    from sknumpynet import _training

    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    call, end = _training._FullBatchObjective.__call__, _training.end_iteration
    events = []
    monkeypatch.setattr(_training._FullBatchObjective, "__call__",
                        lambda self, x: (events.append("f"), call(self, x))[1])
    monkeypatch.setattr(_training, "end_iteration",
                        lambda *a, **k: (events.append("|"), end(*a, **k))[1])
    _lbfgs().fit(X, y)
    # an evaluation that follows a rejected trial (one no iteration ended after)
    trace = "".join(events)
    evaluations = [i for i, e in enumerate(trace) if e == "f"]
    target = next(n for n, (a, b) in enumerate(zip(evaluations, evaluations[1:]), 1)
                  if b == a + 1 and n > 1)
    count = {"n": 0}

    def interrupted_call(self, x):
        count["n"] += 1
        if count["n"] == target + 1:  # a real Ctrl-C, at the start of this evaluation
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.001)
        return call(self, x)

    monkeypatch.setattr(_training._FullBatchObjective, "__call__", interrupted_call)

    def stray(signum, frame):
        raise RuntimeError("SIGINT reached the test's handler: the fit did not catch it")

    previous = signal.signal(signal.SIGINT, stray)
    try:
        with pytest.warns(UserWarning, match="interrupted"):
            est = _lbfgs().fit(X, y)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert est.interrupted_ and 0 < est.n_iter_ < 30
    monkeypatch.setattr(_training._FullBatchObjective, "__call__", call)
    twin = _lbfgs(max_iter=est.n_iter_).fit(X, y)
    for a, b in zip(est.network_.state_arrays(), twin.network_.state_arrays()):
        np.testing.assert_array_equal(a, b)
    assert est.loss_ == twin.loss_
    # the kept weights are those whose objective loss_ reports
    objective = _training._FullBatchObjective(_problem_of(est, X, y))
    value, _ = objective(objective.best_x)
    assert value == pytest.approx(est.loss_, rel=1e-12)


def _problem_of(est, X, y):
    """The L-BFGS objective of ``est``'s fitted network on (X, y)."""
    data = est._validate_fit_data(X, y, None, False, None)
    model = est._build_or_resume(data)
    model.network = est.network_
    return est._problem(model, data)


# -- the command line: a missing dependency and Ctrl-C ---------------------------------


@pytest.mark.parametrize(
    "error, status, line",
    [
        (ImportError("No module named 'matplotlib'"), 1,
         "sknumpynet demo: error: No module named 'matplotlib'"),
        (KeyboardInterrupt(), 130, "sknumpynet demo: interrupted"),
    ],
)
def test_cli_status_when_a_dependency_is_missing_or_on_ctrl_c(monkeypatch, capsys, tmp_path,
                                                              error, status, line):
    """Planted bug: the CLI exiting 0 when a dependency fails to import (and 130
    on Ctrl-C was untested)."""
    from sknumpynet import _demo
    from sknumpynet.__main__ import main

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(_demo, "run_demo", fail)
    assert main(["demo", "--out", str(tmp_path)]) == status
    captured = capsys.readouterr()
    assert captured.err.strip() == line and "Traceback" not in captured.err


def test_cli_without_matplotlib_exits_1_in_a_subprocess(tmp_path):
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import sys
        sys.modules["matplotlib"] = None  # import matplotlib now raises ImportError
        from sknumpynet.__main__ import main
        sys.exit(main(["demo", "--out", {str(tmp_path)!r}, "--epochs", "1"]))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1, (done.returncode, done.stderr)
    assert "matplotlib" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
