"""The estimator core (sknumpynet/_base.py): fit, commit and rollback.

Bad input is a clear error before any state changes; a failed, interrupted or
diverged fit keeps exactly what it should; warm starts and partial_fit resume
only what they may; models pickle and load across format versions; fits and
predictions run concurrently; a fit takes a known amount of memory. The
estimator-level tests run on every estimator of tests/estimator_cases.py, which
says what "nothing lost" means, bit for bit.

Real Ctrl-C is simulated with ``os.kill(os.getpid(), SIGINT)`` sent from inside
a batch. While those tests run, SIGINT is routed to a handler that raises an
ordinary exception, so a signal the estimator fails to catch fails the test
instead of stopping the whole pytest session.
"""

import copy
import functools
import io
import os
import pickle
import re
import signal
import threading
import time
import tracemalloc
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from estimator_cases import (
    ESTIMATORS,
    N_FEATURES,
    N_SAMPLES,
    Y_CLASS,
    Y_REG,
    X,
    assert_outputs_equal,
    assert_outputs_finite,
    assert_same_state,
    assert_unchanged,
    batch_number,
    caught,
    fingerprint,
    fitted,
    make_data,
    mlp_classifier,
    mlp_regressor,
    outputs,
    patch_train_batch,
    target,
)
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_info, threadpool_limits

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor, TabularMLPClassifier
from sknumpynet._base import FORMAT_VERSION

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- bad input: a clear ValueError before any state changes ----------------------------


def _with(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


def _object_column(X):
    X = X.astype(object)
    X[5, 2] = "seven"
    return X


# name -> (X, y for classifiers, y for regressors, sample_weight, message); None: not applicable
BAD_FIT_INPUTS = {
    "nan_in_X": (_with(X, np.nan), Y_CLASS, Y_REG, None, r"Input X contains NaN"),
    "inf_in_X": (_with(X, np.inf), Y_CLASS, Y_REG, None, r"Input X contains infinity"),
    "neg_inf_in_X": (_with(X, -np.inf), Y_CLASS, Y_REG, None, r"Input X contains infinity"),
    "nan_in_y": (
        X,
        np.where(Y_CLASS == 1, np.nan, Y_CLASS),
        np.where(Y_CLASS == 1, np.nan, Y_REG),
        None,
        r"Input y contains NaN",
    ),
    "inf_in_y": (
        X,
        np.where(Y_CLASS == 1, np.inf, Y_CLASS),
        np.where(Y_CLASS == 1, np.inf, Y_REG),
        None,
        r"Input y contains infinity",
    ),
    "nan_in_sample_weight": (
        X,
        Y_CLASS,
        Y_REG,
        np.where(Y_CLASS == 1, np.nan, 1.0),
        r"sample_weight contains NaN",
    ),
    "empty_X": (
        X[:0],
        Y_CLASS[:0],
        Y_REG[:0],
        None,
        r"Found array with 0 sample\(s\) \(shape=\(0, 4\)\) while a minimum of 1",
    ),
    "3d_X": (X[:, :, None], Y_CLASS, Y_REG, None, r"Found array with dim 3"),
    "string_feature": (
        _object_column(X),
        Y_CLASS,
        Y_REG,
        None,
        r"could not convert string to float: 'seven'",
    ),
    "one_class": (X, np.full(N_SAMPLES, 2), None, None, r"at least 2 classes"),
    "one_sample": (X[:1], Y_CLASS[:1], None, None, r"at least 2 classes"),
    "continuous_y_to_classifier": (X, Y_REG, None, None, r"Unknown label type: continuous"),
    "2_rows_of_y_for_3_of_X": (
        X[:3],
        Y_CLASS[:2],
        Y_REG[:2],
        None,
        r"inconsistent numbers of samples",
    ),
}


def _bad_fit_case(name, est):
    X_bad, y_c, y_r, sw, message = BAD_FIT_INPUTS[name]
    y = y_c if is_classifier(est) else y_r
    if y is None:
        pytest.skip("not a bad input for a regressor")
    return X_bad, y, sw, message


@pytest.mark.parametrize("case", list(BAD_FIT_INPUTS))
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_bad_input_to_unfitted_fit_raises_and_sets_nothing(factory, case):
    est = factory()
    X_bad, y, sw, message = _bad_fit_case(case, est)
    params = dict(vars(est))
    with pytest.raises(ValueError, match=message):
        est.fit(X_bad, y, sample_weight=sw)
    assert vars(est) == params  # no fitted attribute, not even n_features_in_
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_output_methods_of_an_unfitted_estimator_raise_not_fitted(factory):
    est = factory()
    for name in outputs(fitted(factory), X):
        with pytest.raises(NotFittedError):
            getattr(est, name)(X)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "warm_start"])
@pytest.mark.parametrize("case", list(BAD_FIT_INPUTS))
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_failed_fit_keeps_the_fitted_model(factory, case, method):
    est = fitted(factory, warm_start=method == "warm_start")
    X_bad, y, sw, message = _bad_fit_case(case, est)
    if method != "fit" and case in ("one_class", "one_sample"):
        pytest.skip("a batch of one known class is valid when training goes on")
    before, predictions = fingerprint(est), outputs(est, X)
    fit = est.partial_fit if method == "partial_fit" else est.fit
    with pytest.raises(ValueError, match=message):
        fit(X_bad, y, sample_weight=sw)
    assert_unchanged(est, before)
    assert_outputs_equal(outputs(est, X), predictions)


def test_one_sample_regression():
    # scikit-learn's MLPRegressor trains on one sample, and so does this one;
    # where one sample cannot work (batch statistics), the error says so
    est = mlp_regressor().fit(X[:1], Y_REG[:1])
    assert np.isfinite(est.predict(X)).all()
    bn = mlp_regressor(batch_norm=True)
    with pytest.raises(ValueError, match=r"at least 2 samples"):
        bn.fit(X[:1], Y_REG[:1])
    assert not hasattr(bn, "n_features_in_")


@pytest.mark.parametrize(
    "bad_X, message",
    [
        (X[:, :3], r"X has 3 features, but \w+ is expecting 4 features as input"),
        (np.hstack([X, X]), r"X has 8 features, but \w+ is expecting 4 features as input"),
        (_with(X, np.nan), r"Input X contains NaN"),
        (_with(X, np.inf), r"Input X contains infinity"),
        (X[:0], r"Found array with 0 sample\(s\)"),
        (X[:, :, None], r"Found array with dim 3"),
        (_object_column(X), r"could not convert string to float"),
    ],
    ids=["3_features", "8_features", "nan", "inf", "empty", "3d", "string"],
)
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_bad_input_to_every_output_method(factory, bad_X, message):
    est = fitted(factory)
    before, predictions = fingerprint(est), outputs(est, X)
    for name in predictions:
        with pytest.raises(ValueError, match=message):
            getattr(est, name)(bad_X)
    assert_unchanged(est, before)
    assert_outputs_equal(outputs(est, X), predictions)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_other_feature_names_at_predict(factory):
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = factory().fit(frame, target(factory()))
    renamed = frame.rename(columns={"d": "e"})
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(renamed)


@pytest.mark.parametrize("method", ["fit", "partial_fit", "warm_start"])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_exception_during_training_keeps_the_fitted_model(factory, method, monkeypatch):
    est = fitted(factory, warm_start=method == "warm_start")
    before, predictions = fingerprint(est), outputs(est, X)

    def hook(trainer, call, run):
        value = run()  # the weights move, then training fails
        if call == 2:
            raise RuntimeError("disk full")
        return value

    patch_train_batch(monkeypatch, hook)
    fit = est.partial_fit if method == "partial_fit" else est.fit
    with pytest.raises(RuntimeError, match="disk full"):
        fit(X, target(est))
    assert_unchanged(est, before)
    assert_outputs_equal(outputs(est, X), predictions)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_fit_on_read_only_data_equals_the_fit_on_a_writeable_copy(
    factory, binary_problem, regression_problem
):
    """conftest's data sets are read-only: a fit must neither write into X, y
    or sample_weight nor fit any differently because it may not."""
    est = factory()
    X, y = binary_problem if is_classifier(est) else regression_problem
    sample_weight = np.linspace(0.5, 2.0, len(y))
    sample_weight.flags.writeable = False
    read_only = factory().fit(X, y, sample_weight=sample_weight)
    writeable = factory().fit(X.copy(), y.copy(), sample_weight=sample_weight.copy())
    assert_same_state(read_only, writeable)
    assert read_only.loss_curve_ == writeable.loss_curve_
    assert_outputs_equal(outputs(read_only, X), outputs(writeable, X.copy()))


# -- divergence ----------------------------------------------------------------------


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_divergence_restores_the_last_finite_epoch(factory, monkeypatch):
    """A loss that turns NaN in epoch 3 leaves the weights after epoch 2."""
    diverging = batch_number(3, 2)

    def hook(trainer, call, run):
        value = run()
        if call == diverging:  # the weights blew up in this step
            for p in trainer.problem.network.parameters():
                p.value[...] = np.nan
            return float("nan")
        return value

    calls = patch_train_batch(monkeypatch, hook)
    est = factory(max_iter=10)
    with pytest.warns(ConvergenceWarning, match=r"(?s)diverged.*learning_rate_init"):
        est.fit(X, target(est))
    assert len(calls) == diverging, "training went on after the loss became NaN"
    monkeypatch.undo()

    twin = fitted(factory, max_iter=2)
    assert_same_state(est, twin)
    assert est.loss_curve_ == twin.loss_curve_
    assert est.n_iter_ == 2
    assert_outputs_finite(outputs(est, X))
    assert_outputs_equal(outputs(est, X), outputs(twin, X))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("lr", [1e4, 1e30])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_huge_learning_rate(factory, lr, dtype, monkeypatch):
    """Training stops at the first non-finite batch; what is left predicts finitely."""
    values = []

    def hook(trainer, call, run):
        values.append(run())
        return values[-1]

    patch_train_batch(monkeypatch, hook)
    est = factory(solver="sgd", learning_rate_init=lr, max_iter=30)
    Xd = X.astype(dtype)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(Xd, target(est))
    monkeypatch.undo()
    messages = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    diverged = [m for m in messages if "diverged" in m]
    if lr == 1e30:
        assert diverged, f"no divergence warning; got {messages}"
    finite = np.isfinite(values)
    if diverged:
        assert "learning_rate_init" in diverged[0] and "StandardScaler" in diverged[0]
        # a non-finite batch stops at once; a finite runaway loss at the epoch's end
        assert finite[:-1].all() or not finite[-1], "training went on after divergence"
        assert est.n_iter_ < 30
    else:
        assert finite.all()
    assert len(est.loss_curve_) == est.n_iter_
    assert np.isfinite(est.loss_curve_).all()
    assert_outputs_finite(outputs(est, Xd))
    if diverged and est.n_iter_ > 0:
        twin = factory(solver="sgd", learning_rate_init=lr, max_iter=est.n_iter_)
        twin.fit(Xd, target(twin))
        assert_same_state(est, twin)
        assert est.loss_curve_ == twin.loss_curve_


def test_regression_whose_loss_runs_away_finitely_is_rolled_back_and_says_so(iris):
    """Issue 14 item 1: a divergence that stays finite."""
    # reported: loss 3.8e208, predictions all NaN, only "maximum iterations" shown
    X, y = iris
    reg, messages = caught(
        lambda: MLPRegressor(
            solver="sgd",
            learning_rate_init=1,
            activation="identity",
            max_iter=5,
            random_state=0,
        ).fit(X, y)
    )
    assert any("diverged" in m for m in messages), messages
    assert not any("Maximum iterations" in m for m in messages)
    assert np.isfinite(reg.predict(X)).all()
    assert np.isfinite(reg.loss_curve_).all() and max(reg.loss_curve_) < 1e6 * 10


def test_classifier_whose_loss_runs_away_keeps_its_last_good_epoch():
    """Issue 14 item 1: a divergence that stays finite."""
    # reported: loss 7e52 and accuracy 0.10 with the maximum-iterations message
    X, y = load_digits(return_X_y=True)
    X = X * 1e4
    clf, messages = caught(
        lambda: MLPClassifier(
            learning_rate_init=1e3,
            solver="sgd",
            max_iter=5,
            random_state=0,
        ).fit(X, y)
    )
    assert any("diverged" in m for m in messages), messages
    assert np.isfinite(clf.predict_proba(X)).all()
    assert clf.n_iter_ < 5 and np.isfinite(clf.loss_curve_).all()


def scores(model, X):
    return model.decision_function(X) if isinstance(model, LinearSVM) else model.predict_proba(X)


@pytest.mark.parametrize(
    "make, scale_free",
    [
        # alpha=0: a uniform weight cancels out of the weighted mean loss
        (lambda w: MLPClassifier((16,), alpha=0.0, max_iter=5, random_state=0), True),
        # LinearSVM: 0.5 ||W||^2 + C sum(s_i l_i); C / 1e37 with weights 1e37 is C with 1
        (lambda w: LinearSVM(C=1.0 / w, max_iter=5, random_state=0), True),
        # batch norm counts weights as frequencies (unbiased variance): not scale-free
        (lambda w: MLPClassifier((16,), batch_norm=True, max_iter=5, random_state=0), False),
    ],
)
def test_huge_float32_sample_weights_do_not_overflow(make, scale_free, iris_standardized):
    """Issue 14 item 2: float32 overflow in the bookkeeping."""
    # reported: uniform sample_weight=1e37 on float32 X overflowed the batch sums
    # (float(wb.sum()) in float32) and was reported as divergence
    X, y = iris_standardized
    X = X.astype(np.float32)
    big, messages = caught(lambda: make(1e37).fit(X, y, sample_weight=np.full(len(y), 1e37)))
    assert not any("diverged" in m for m in messages), messages
    assert np.isfinite(big.loss_curve_).all() and np.isfinite(scores(big, X)).all()
    if scale_free:
        ones, _ = caught(lambda: make(1.0).fit(X, y, sample_weight=np.ones(len(y))))
        np.testing.assert_allclose(scores(big, X), scores(ones, X), rtol=1e-4, atol=1e-5)


# -- interruption ------------------------------------------------------------------------


class StraySigint(Exception):
    """A SIGINT that reached the test's own handler: the estimator did not catch it."""


@pytest.fixture
def sigint_guarded():
    """Route SIGINT to a handler raising StraySigint for the test's duration."""

    def handler(signum, frame):
        raise StraySigint("SIGINT reached the test's handler")

    previous = signal.signal(signal.SIGINT, handler)
    yield handler
    signal.signal(signal.SIGINT, previous)


def send_sigint():
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.001)  # the Python-level handler runs before this returns


def fit_no_escape(est, *args):
    try:
        return est.fit(*args)
    except KeyboardInterrupt:  # would otherwise stop the whole pytest session
        pytest.fail("KeyboardInterrupt escaped fit after a single interrupt")


def _check_kept_epoch_2(est, factory):
    assert est.n_iter_ == 2
    assert len(est.loss_curve_) == 2
    twin = fitted(factory, max_iter=2)
    assert_same_state(est, twin)
    assert est.loss_curve_ == twin.loss_curve_
    assert_outputs_equal(outputs(est, X), outputs(twin, X))
    # usable: it keeps training as the uninterrupted twin does once its
    # optimizer restarts (the row order is that of the end of epoch 2; the
    # moments are not kept, which saves two copies of the parameters in an
    # Adam fit), or exactly as the twin for the full-batch solvers
    if est._optimizer is not None:
        assert est._optimizer.t == 0 and twin._optimizer.t > 0
        twin._optimizer.restart()
    est.partial_fit(X, target(est))
    twin.partial_fit(X, target(twin))
    assert est.n_iter_ == 1 and len(est.loss_curve_) == 3
    assert_same_state(est, twin)
    assert est.loss_curve_ == twin.loss_curve_


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_sigint_stops_after_the_batch_and_keeps_the_last_epoch(
    factory, monkeypatch, sigint_guarded
):
    interrupted_at = batch_number(3, 2)

    def hook(trainer, call, run):
        if call == interrupted_at:
            send_sigint()
        return run()

    calls = patch_train_batch(monkeypatch, hook)
    est = factory(max_iter=10)
    with pytest.warns(UserWarning, match=r"(?i)interrupted"):
        fit_no_escape(est, X, target(est))
    assert len(calls) == interrupted_at, "training did not stop after the current batch"
    assert signal.getsignal(signal.SIGINT) is sigint_guarded
    monkeypatch.undo()
    _check_kept_epoch_2(est, factory)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_keyboard_interrupt_inside_a_batch_keeps_the_last_epoch(factory, monkeypatch):
    interrupted_at = batch_number(3, 2)

    def hook(trainer, call, run):
        if call == interrupted_at:
            run()  # half way: this batch's step is taken, the epoch is not complete
            raise KeyboardInterrupt
        return run()

    patch_train_batch(monkeypatch, hook)
    est = factory(max_iter=10)
    with pytest.warns(UserWarning, match=r"(?i)interrupted"):
        fit_no_escape(est, X, target(est))
    monkeypatch.undo()
    _check_kept_epoch_2(est, factory)


@pytest.mark.parametrize("previously_fitted", [False, True], ids=["unfitted", "refit"])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_second_sigint_propagates_and_keeps_the_previous_state(
    factory, previously_fitted, monkeypatch, sigint_guarded
):
    est = fitted(factory, max_iter=3) if previously_fitted else factory(max_iter=3)
    if previously_fitted:
        est.set_params(max_iter=10)
    before = fingerprint(est)
    predictions = outputs(est, X) if previously_fitted else None

    def hook(trainer, call, run):
        if call == batch_number(2, 2):
            send_sigint()
            send_sigint()
        return run()

    calls = patch_train_batch(monkeypatch, hook)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, target(est))
    assert len(calls) == batch_number(2, 2), "the second Ctrl-C did not stop at once"
    assert signal.getsignal(signal.SIGINT) is sigint_guarded
    monkeypatch.undo()
    assert_unchanged(est, before)
    if previously_fitted:
        assert_outputs_equal(outputs(est, X), predictions)
    else:
        with pytest.raises(NotFittedError):
            check_is_fitted(est)


def _lbfgs(**params):
    return MLPClassifier(
        **{
            "hidden_layer_sizes": (5,),
            "solver": "lbfgs",
            "max_iter": 30,
            "random_state": 0,
            **params,
        }
    )


def test_lbfgs_ctrl_c_inside_a_line_search_keeps_the_last_accepted_iterate(monkeypatch, digits):
    """Planted bugs: the L-BFGS solver not putting back the last accepted weights,
    or keeping scipy's work array without copying it (a Ctrl-C during a line
    search kept an untried step)."""
    X_DIGITS, Y_DIGITS = digits
    from sknumpynet import _training

    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    call, end = _training._FullBatchObjective.__call__, _training.end_iteration
    events = []
    monkeypatch.setattr(
        _training._FullBatchObjective,
        "__call__",
        lambda self, x: (events.append("f"), call(self, x))[1],
    )
    monkeypatch.setattr(
        _training, "end_iteration", lambda *a, **k: (events.append("|"), end(*a, **k))[1]
    )
    _lbfgs().fit(X, y)
    # an evaluation that follows a rejected trial (one no iteration ended after)
    trace = "".join(events)
    evaluations = [i for i, e in enumerate(trace) if e == "f"]
    target = next(
        n for n, (a, b) in enumerate(zip(evaluations, evaluations[1:]), 1) if b == a + 1 and n > 1
    )
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


# -- persistence ------------------------------------------------------------------------


def _roundtrip(est, how):
    if how == "pickle":
        return pickle.loads(pickle.dumps(est))
    buffer = io.BytesIO()
    joblib.dump(est, buffer)
    buffer.seek(0)
    return joblib.load(buffer)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("data", ["float64", "float32", "pandas"])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_persistence_round_trip(factory, data, how):
    Xd = X.astype(np.float32) if data != "float64" else X
    if data == "pandas":
        Xd = pd.DataFrame(Xd, columns=["age", "height", "weight", "income"])
    est = factory()
    est.fit(Xd, target(est))
    loaded = _roundtrip(est, how)
    assert type(loaded) is type(est)
    assert loaded.get_params() == est.get_params()
    assert loaded.n_features_in_ == N_FEATURES
    if data == "pandas":
        np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    else:
        assert not hasattr(loaded, "feature_names_in_")
    assert loaded.loss_curve_ == est.loss_curve_
    assert_same_state(loaded, est)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. no "X does not have valid feature names"
        out_loaded = outputs(loaded, Xd)
    out = outputs(est, Xd)
    assert_outputs_equal(out_loaded, out)
    if data != "float64":
        assert all(v.dtype == np.float32 for v in out.values() if v.dtype.kind == "f")
    # nothing lost: training goes on exactly as it would have without the round trip
    est.partial_fit(Xd, target(est))
    loaded.partial_fit(Xd, target(est))
    assert_same_state(loaded, est)


@pytest.mark.parametrize("how", ["pickle", "joblib"])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_model_from_a_newer_format_refuses_to_load(factory, how):
    est = fitted(factory)
    assert est._format_version == FORMAT_VERSION
    est._format_version = FORMAT_VERSION + 1
    with pytest.raises(ValueError, match=rf"(?i)(format|version)\D*\b{FORMAT_VERSION + 1}\b"):
        _roundtrip(est, how)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_model_from_format_1_predicts_as_before_and_resumes(factory):
    # Format 1 pickled parameters without a decay flag (they load as True) and
    # an optimizer whose state was packed in another order.
    est = fitted(factory)
    old = copy.deepcopy(est)
    for p in old.network_.parameters():
        p.decay = True
    old._format_version = 1
    old._optimizer = "an optimizer in the format-1 layout"
    loaded = _roundtrip(old, "pickle")
    assert loaded._format_version == FORMAT_VERSION
    assert [p.decay for p in loaded.network_.parameters()] == [
        p.decay for p in est.network_.parameters()
    ]
    assert not all(p.decay for p in loaded.network_.parameters())  # the biases are exempt
    assert_outputs_equal(outputs(loaded, X), outputs(est, X))
    loaded.partial_fit(X, target(est))  # with fresh optimizer moments
    assert np.isfinite(loaded.loss_).all()


# -- concurrency ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "factory",
    [
        *ESTIMATORS,
        pytest.param(
            functools.partial(mlp_classifier, batch_norm=True, dropout=0.2),
            id="MLPClassifier-bn-dropout",
        ),
    ],
)
def test_concurrent_inference_equals_serial(factory):
    Xbig, y_class, y_reg = make_data(seed=1, n_samples=400)
    est = factory()
    est.fit(Xbig, target(est, y_class, y_reg))
    # different inputs, so that a buffer or cache shared between calls shows
    inputs = [Xbig * (1.0 + 0.1 * k) for k in range(4)]
    serial = {
        (name, k): value.copy()
        for k, Xk in enumerate(inputs)
        for name, value in outputs(est, Xk).items()
    }
    tasks = list(serial) * 20
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda task: getattr(est, task[0])(inputs[task[1]]), tasks))
    assert len(results) == len(tasks) >= 8 * 20
    for task, value in zip(tasks, results):
        np.testing.assert_array_equal(value, serial[task], err_msg=str(task))


# Runs before the threaded fits below: overlapping fits that leak a BLAS limit
# would otherwise leave the thread count at 1 and this test with nothing to see.
def _blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_overlapping_fits_leave_the_blas_thread_count_as_found(monkeypatch):
    """n_threads limits BLAS only while fitting: fits that overlap in time must not
    leave the process's BLAS limited when they are done (A starts, B starts, A ends,
    B ends)."""
    found = _blas_threads()
    if not found or max(found) < 2:
        pytest.skip("no BLAS running more than one thread: nothing to observe")
    a_training, b_training, a_done = threading.Event(), threading.Event(), threading.Event()

    def hook(trainer, call, run):
        if threading.current_thread().name == "fit-a":
            a_training.set()
            b_training.wait(10)
        else:
            b_training.set()
            a_done.wait(10)
        return run()

    patch_train_batch(monkeypatch, hook)

    def fit(name):
        mlp_classifier(max_iter=1, batch_size=N_SAMPLES).fit(X, Y_CLASS)
        if name == "fit-a":
            a_done.set()

    a = threading.Thread(target=fit, args=("fit-a",), name="fit-a")
    b = threading.Thread(target=fit, args=("fit-b",), name="fit-b")
    a.start()
    assert a_training.wait(10)
    b.start()
    a.join(20)
    b.join(20)
    left = _blas_threads()
    if left != found:  # put the process back for the tests that follow
        threadpool_limits(limits=max(found), user_api="blas")
    assert left == found, f"BLAS left at {left} threads, found at {found}"


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_concurrent_fits_equal_serial_fits(factory):
    data = [make_data(seed=2), make_data(seed=3)]
    template = factory(max_iter=15)
    serial = []
    for Xd, y_class, y_reg in data:
        serial.append(clone(template).fit(Xd, target(template, y_class, y_reg)))

    barrier = threading.Barrier(2)

    def fit(i):
        Xd, y_class, y_reg = data[i]
        est = clone(template)
        barrier.wait()
        return est.fit(Xd, target(est, y_class, y_reg))

    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = list(pool.map(fit, range(2)))
    for est, ref, (Xd, _, _) in zip(threaded, serial, data):
        assert_same_state(est, ref)
        assert est.loss_curve_ == ref.loss_curve_
        assert_outputs_equal(outputs(est, Xd), outputs(ref, Xd))


# -- numerics: large inputs train or fail clearly ------------------------------------


# The only refusal a fit on large but finite data may give: divergence from the
# very first epoch, with advice (any other ValueError is a bug: issue 14, item 11).
DIVERGED_BEYOND_RESCUE = (
    r"Training diverged \(loss is \S+\) and no earlier weights give finite outputs\. "
    r"Lower learning_rate_init"
)


@pytest.mark.parametrize("solver, lr", [("adam", 0.01), ("sgd", 0.1)])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_float32_inputs_scaled_by_1e4_train_or_fail_clearly(factory, solver, lr):
    Xs = (X * 1e4).astype(np.float32)
    est = factory(solver=solver, learning_rate_init=lr, max_iter=20)
    y = target(est, Y_CLASS, Y_REG * 1e4)
    try:
        est.fit(Xs, y)
    except ValueError as error:  # the one clear refusal is acceptable ...
        assert re.match(DIVERGED_BEYOND_RESCUE, str(error)), error
        return
    assert np.isfinite(est.loss_curve_).all()  # ... silent NaN is not
    assert_outputs_finite(outputs(est, Xs))


@pytest.mark.parametrize("scale", [1e8, 1e16])
@pytest.mark.parametrize("factory", ESTIMATORS)
def test_huge_feature_scale_trains_or_fails_clearly(factory, scale):
    """Unscaled features of magnitude 1e16 and labels with noise (so that some
    held-out rows are misclassified by huge margins): a clear ValueError or a
    model with finite outputs, never a crash or NaN."""
    y_noisy = np.random.default_rng(5).integers(0, 3, N_SAMPLES)
    Xs = X * scale
    est = factory(max_iter=20)
    try:
        est.fit(Xs, target(est, y_noisy, Y_REG * scale))
    except ValueError as error:
        assert re.match(DIVERGED_BEYOND_RESCUE, str(error)), error
        return
    assert np.isfinite(est.loss_curve_).all()
    assert_outputs_finite(outputs(est, Xs))


# -- resuming: warm_start and partial_fit refuse a changed architecture ----------------


@pytest.mark.parametrize(
    "change, name",
    [
        ({"hidden_layer_sizes": (7,)}, "hidden_layer_sizes"),
        ({"activation": "tanh"}, "activation"),
        ({"batch_norm": True}, "batch_norm"),
        ({"dropout": 0.3}, "dropout"),
    ],
)
@pytest.mark.parametrize("method", ["warm_start", "partial_fit"])
def test_resuming_after_changing_the_architecture_is_refused(change, name, method, iris):
    """Issue 14 item 5: warm starts after changing the architecture."""
    X, y = iris
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


def test_linear_svm_refuses_resuming_with_another_intercept_setting(iris):
    """Issue 14 item 5: warm starts after changing the architecture."""
    X, y = iris
    svm = LinearSVM(max_iter=2, random_state=0, warm_start=True)
    caught(lambda: svm.fit(X, y))
    svm.set_params(fit_intercept=False)
    with pytest.raises(ValueError, match="fit_intercept changed"):
        svm.fit(X, y)


def test_a_warm_start_begins_a_fresh_optimizer(digits):
    """Planted bug: a warm start reusing the old optimizer's moments and step count."""
    X_DIGITS, Y_DIGITS = digits
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


def test_a_warm_start_remembers_the_best_validation_score_of_earlier_fits(digits):
    """Planted bug: a warm start forgetting the earlier fits' best validation score."""
    X_DIGITS, Y_DIGITS = digits
    X, y, X_val, y_val = X_DIGITS[:1000], Y_DIGITS[:1000], X_DIGITS[1000:], Y_DIGITS[1000:]
    est = MLPRegressor(
        hidden_layer_sizes=(16,),
        early_stopping=True,
        warm_start=True,
        learning_rate_init=0.01,
        max_iter=300,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X, y, X_val=X_val, y_val=y_val)
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


# -- the parameters reach the optimizer --------------------------------------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, LinearSVM])
@pytest.mark.parametrize(
    "params, expected",
    [
        (
            {
                "solver": "sgd",
                "momentum": 0.7,
                "nesterovs_momentum": False,
                "learning_rate_init": 0.03,
            },
            {"type": "SGD", "momentum": 0.7, "nesterov": False, "lr": 0.03},
        ),
        (
            {"solver": "sgd", "momentum": 0.7, "nesterovs_momentum": True},
            {"type": "SGD", "momentum": 0.7, "nesterov": True},
        ),
        ({"solver": "sgd", "momentum": 0.0}, {"type": "SGD", "momentum": 0.0, "nesterov": False}),
        (
            {
                "solver": "adam",
                "beta_1": 0.8,
                "beta_2": 0.99,
                "epsilon": 1e-6,
                "learning_rate_init": 0.02,
            },
            {"type": "Adam", "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-6, "lr": 0.02},
        ),
        (
            {"solver": "nadam", "beta_1": 0.85, "beta_2": 0.98, "epsilon": 1e-7},
            {"type": "Nadam", "beta_1": 0.85, "beta_2": 0.98, "epsilon": 1e-7},
        ),
        (
            {"solver": "rmsprop", "beta_2": 0.95, "epsilon": 1e-7, "learning_rate_init": 0.004},
            {"type": "RMSProp", "rho": 0.95, "eps": 1e-7, "lr": 0.004},
        ),
    ],
)
def test_estimator_parameters_reach_its_optimizer(estimator, params, expected, digits):
    """Planted bug: nesterovs_momentum=False silently ignored in _make_optimizer."""
    X_DIGITS, Y_DIGITS = digits
    X, y = X_DIGITS[:200], Y_DIGITS[:200]
    if any(k not in estimator().get_params() for k in params):
        pytest.skip(f"{estimator.__name__} does not take all of {sorted(params)}")
    est = estimator(max_iter=1, random_state=0, **params).fit(X, y)
    optimizer = est._optimizer
    assert type(optimizer).__name__ == expected["type"]
    for name, value in expected.items():
        if name != "type":
            assert getattr(optimizer, name) == value, name


def test_nesterov_changes_the_fit(digits):
    """The same planted bug seen from the outside: the two settings train differently."""
    X_DIGITS, Y_DIGITS = digits
    X, y = X_DIGITS[:200], Y_DIGITS[:200]
    fits = [
        MLPClassifier(
            (8,),
            solver="sgd",
            momentum=0.9,
            nesterovs_momentum=nesterov,
            max_iter=3,
            random_state=0,
        )
        .fit(X, y)
        .loss_curve_
        for nesterov in (True, False)
    ]
    assert fits[0] != fits[1]


# -- the early-stopping split ---------------------------------------------------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, LinearSVM])
def test_too_many_classes_for_the_validation_split_names_validation_fraction(estimator):
    """Issue 21 item 21: early stopping with more classes than validation rows."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2000, 3)), np.arange(2000) % 300
    est = estimator(early_stopping=True, max_iter=2, random_state=0)
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert message.startswith(
        "early_stopping=True holds out validation_fraction=0.1 of the "
        "2000 samples, 200 rows, stratified by class"
    )
    assert "validation_fraction between 0.15 and 0.85" in message
    assert "X_val=" in message and "early_stopping=False" in message
    assert not hasattr(est, "n_features_in_")
    for fraction in (0.15, 0.85):  # the advice holds at both ends
        est.set_params(validation_fraction=fraction).fit(X, y)
    # X_val replaces the split: no class constraint
    est.set_params(validation_fraction=0.1).fit(X[:1500], y[:1500], X_val=X[1500:], y_val=y[1500:])
    # a class of one sample keeps scikit-learn's message, with the way out appended
    with pytest.raises(ValueError, match=r"only 1 member.*\(early_stopping=True .*X_val="):
        estimator(early_stopping=True).fit(X[:4], [0, 0, 0, 1])


# -- the memory of a fit ----------------------------------------------------------------------


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
        # parameters at the starts of the last two epochs (the moments restart
        # after a rollback, so no snapshot copies them)
        ({}, 6),
        # SGD with momentum: parameters, gradient, velocity; two snapshots of
        # the parameters
        ({"solver": "sgd"}, 5),
        # Nadam's second scratch array is one block, not a copy of the parameters
        ({"solver": "nadam"}, 6),
        # one epoch: one snapshot
        ({"max_iter": 1}, 5),
    ],
)
def test_peak_memory_of_a_fit_in_copies_of_the_parameters(params, copies):
    """Issue 21 item 20: the memory a fit takes, in copies of the parameters."""
    X, y = _wide_data()
    est = MLPClassifier(
        **{"hidden_layer_sizes": (100,), "max_iter": 5, "random_state": 0, **params}
    )
    peak = _peak_growth(lambda: est.fit(X, y))
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    assert peak < (copies + 0.5) * n_bytes, peak / n_bytes


def test_peak_memory_of_partial_fit_and_early_stopping():
    """Issue 21 item 20: the memory a fit takes, in copies of the parameters."""
    X, y = _wide_data()
    est = MLPClassifier((100,), max_iter=2, random_state=0).fit(X, y)
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    # beside the old model (kept until the new one is committed): a copy of the
    # parameters and moments, the gradient, and one snapshot of the parameters
    peak = _peak_growth(lambda: est.partial_fit(X, y))
    assert peak < 5.5 * n_bytes, peak / n_bytes
    X10, y10 = np.vstack([X, X + 0.1]), np.tile(y, 2)
    est = MLPClassifier(
        (100,),
        max_iter=5,
        random_state=0,
        early_stopping=True,
        validation_fraction=0.5,
        n_iter_no_change=100,
    )
    peak = _peak_growth(lambda: est.fit(X10, y10))
    # one more copy: the best epoch's weights, overwritten in place
    assert peak < 7.5 * n_bytes, peak / n_bytes


def test_a_fitted_optimizer_keeps_no_scratch_copy_of_the_parameters():
    """Issue 21 item 20: the memory a fit takes, in copies of the parameters."""
    X, y = _wide_data()
    for solver in ("adam", "nadam", "sgd", "rmsprop"):
        est = MLPClassifier((100,), max_iter=2, random_state=0, solver=solver).fit(X, y)
        optimizer = est._optimizer
        for block in optimizer._blocks:
            for name in optimizer._scratch_names:
                assert getattr(block, name).base.size <= optimizer.block_size, (solver, name)


# -- the HTML repr links to the documentation -------------------------------------------


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, LinearSVM, TabularMLPClassifier])
def test_html_repr_links_to_sknumpynet_docs(cls):
    """Issue 23 item 4 (a newcomer's friction)."""
    from sklearn.utils import estimator_html_repr

    from sknumpynet._base import DOCS_URL

    link = f"{DOCS_URL}api/estimators.html#sknumpynet.{cls.__name__}"
    assert cls()._get_doc_link() == link
    assert re.search(rf'href="{re.escape(link)}"', estimator_html_repr(cls()))
    # the anchor is the one Sphinx gives the class in docs/api/estimators.rst
    api = Path(__file__).resolve().parents[1] / "docs" / "api" / "estimators.rst"
    assert f".. autoclass:: {cls.__name__}\n" in api.read_text()
