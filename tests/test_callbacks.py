"""scikit-learn's callback API (``sklearn.callback``) reaching every epoch of our fits.

The fit is the root task and every epoch a subtask. The scores a callback logs
are checked against a model refitted independently for that many epochs, so a
``fitted_estimator`` that does not predict "as of that epoch" fails.
"""

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor

ScoringMonitor = pytest.importorskip(
    "sklearn.callback", reason="sklearn.callback needs scikit-learn >= 1.9"
).ScoringMonitor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


class Recorder:
    """Records every hook call; stops the fit after epoch ``stop_after`` if given."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.events, self.fitted = [], []

    def setup(self, estimator, context):
        self.events.append(("setup", type(estimator).__name__))

    def on_fit_task_begin(self, estimator, context):
        self.events.append(("begin", context.task_name, context.task_id))

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.events.append(("end", context.task_name, context.task_id))
        if context.task_name == "epoch":
            self.fitted.append(fitted_estimator)
            return self.stop_after is not None and context.task_id + 1 >= self.stop_after
        return False

    def teardown(self, estimator, context):
        self.events.append(("teardown", type(estimator).__name__))

    def epochs(self):
        return [e for e in self.events if e[0] == "end" and e[1] == "epoch"]


class AutoRecorder(Recorder):
    """The same, propagated from a meta-estimator to every sub-estimator."""

    max_propagation_depth = None


FACTORIES = [
    lambda **kw: MLPClassifier((8,), learning_rate_init=0.02, random_state=0, **kw),
    lambda **kw: MLPRegressor(hidden_layer_sizes=(8,), learning_rate_init=0.02, random_state=0,
                              **kw),
    lambda **kw: LinearSVM(random_state=0, **kw),
]


def target(est, y):
    return y.astype(float) if isinstance(est, MLPRegressor) else y


@pytest.mark.parametrize("factory", FACTORIES)
def test_every_epoch_is_a_subtask_and_the_fit_the_root(factory, iris):
    X, y = iris
    recorder = Recorder()
    est = factory(max_iter=6).set_callbacks(recorder)
    est.fit(X, target(est, y))
    assert recorder.events[0][0] == "setup" and recorder.events[-1][0] == "teardown"
    assert recorder.events[1] == ("begin", "fit", 0)
    assert recorder.events[-2] == ("end", "fit", 0)
    epochs = recorder.epochs()
    assert [e[2] for e in epochs] == list(range(est.n_iter_))
    begins = [e for e in recorder.events if e[0] == "begin" and e[1] == "epoch"]
    assert len(begins) == len(epochs)  # every begun epoch ends


@pytest.mark.parametrize("factory", FACTORIES)
def test_a_callback_returning_true_ends_training_after_that_epoch(factory, iris):
    X, y = iris
    est = factory(max_iter=50).set_callbacks(Recorder(stop_after=3))
    est.fit(X, target(est, y))
    assert est.n_iter_ == 3 and len(est.loss_curve_) == 3


@pytest.mark.parametrize("factory", FACTORIES)
def test_fitted_estimator_predicts_as_of_that_epoch(factory, iris):
    X, y = iris
    recorder = Recorder()
    est = factory(max_iter=4, tol=0.0).set_callbacks(recorder)
    est.fit(X, target(est, y))
    assert len(recorder.fitted) == 4
    for epoch, fitted in enumerate(recorder.fitted, start=1):
        refit = factory(max_iter=epoch, tol=0.0).fit(X, target(est, y))
        assert_array_equal(fitted.predict(X), refit.predict(X))
    assert fitted.network_ is not est.network_  # a copy: later epochs do not move it


def test_scoring_monitor_logs_one_row_per_epoch_with_the_right_scores(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="accuracy")
    clf = FACTORIES[0](max_iter=5, tol=0.0).set_callbacks(monitor)
    clf.fit(X, y)
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert [r["task_id"] for r in rows] == list(range(5))
    for epoch, row in enumerate(rows, start=1):
        refit = FACTORIES[0](max_iter=epoch, tol=0.0).fit(X, y)
        assert row["accuracy"] == pytest.approx(accuracy_score(y, refit.predict(X)))
    root = [r for r in monitor.get_logs().data if r["task_name"] == "fit"]
    assert root and root[0]["accuracy"] == pytest.approx(clf.score(X, y))


def test_scoring_monitor_on_a_regressor(iris):
    X, y = iris
    monitor = ScoringMonitor(scoring="r2")
    reg = FACTORIES[1](max_iter=3, tol=0.0).set_callbacks(monitor).fit(X, y.astype(float))
    rows = [r for r in monitor.get_logs().data if r["task_name"] == "epoch"]
    assert len(rows) == 3
    assert rows[-1]["r2"] == pytest.approx(r2_score(y, reg.predict(X)))


def test_auto_propagated_callback_in_a_grid_search_sees_every_epoch_of_every_fit(iris):
    X, y = iris
    recorder = AutoRecorder()
    pipe = make_pipeline(StandardScaler(), MLPClassifier((8,), random_state=0))
    search = GridSearchCV(pipe, {"mlpclassifier__max_iter": [2, 3]}, cv=2)
    search.set_callbacks(recorder)
    search.fit(X, y)
    # 2 settings x 2 folds, then the refit with the best setting
    expected = 2 * (2 + 3) + search.best_params_["mlpclassifier__max_iter"]
    assert len(recorder.epochs()) == expected


def test_partial_fit_reports_its_one_epoch(iris):
    X, y = iris
    recorder = Recorder()
    clf = FACTORIES[0]().set_callbacks(recorder)
    clf.partial_fit(X, y, classes=np.unique(y))
    clf.partial_fit(X, y)
    assert len(recorder.epochs()) == 2


def test_callbacks_survive_clone_and_a_failed_fit_tears_them_down(iris):
    X, y = iris
    recorder = Recorder()
    clf = FACTORIES[0](max_iter=2).set_callbacks(recorder)
    assert clone(clf)._skl_callbacks == [recorder]  # as scikit-learn's clone keeps them
    with pytest.raises(ValueError):
        clf.fit(X, np.zeros(len(y)))  # one class
    clf.fit(X, y)
    assert recorder.events[-1] == ("teardown", "MLPClassifier")
    assert "_callback_fit_ctx" not in clf.__dict__


def test_the_monitoring_page_stop_at_accuracy_callback(iris):
    # docs/monitoring.rst's example: stop once held-out accuracy reaches a target
    X, y = iris
    rng = np.random.default_rng(0)
    held = rng.permutation(len(y))[:40]
    train = np.setdiff1d(np.arange(len(y)), held)

    class StopAtAccuracy:
        def __init__(self, X, y, target):
            self.X, self.y, self.target = X, y, target

        def setup(self, estimator, context):
            pass

        def on_fit_task_begin(self, estimator, context):
            pass

        def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
            if context.task_name != "epoch":
                return False
            return fitted_estimator.score(self.X, self.y) >= self.target

        def teardown(self, estimator, context):
            pass

    clf = FACTORIES[0](max_iter=500).set_callbacks(StopAtAccuracy(X[held], y[held], 0.9))
    clf.fit(X[train], y[train])
    assert clf.score(X[held], y[held]) >= 0.9
    fewer = FACTORIES[0](max_iter=clf.n_iter_ - 1).fit(X[train], y[train])
    assert fewer.score(X[held], y[held]) < 0.9  # it stopped at the first epoch that did


class _FailsAtTheEnd(Recorder):
    """Raises when the root fit task ends (after the model would be committed)."""

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if context.task_name != "epoch":
            raise RuntimeError("callback failed at the end of the fit")
        return super().on_fit_task_end(estimator, context, fitted_estimator=fitted_estimator)


def test_lbfgs_reaching_max_iter_begins_no_iteration_past_it(iris):
    X, y = iris
    recorder = Recorder()
    clf = MLPClassifier(solver="lbfgs", max_iter=5, random_state=0).set_callbacks(recorder)
    clf.fit(X, y)  # raised "maximum number of children" before
    assert clf.n_iter_ == 5 and len(recorder.epochs()) == 5
    begun = [e for e in recorder.events if e[0] == "begin" and e[1] == "epoch"]
    assert len(begun) == 5


def test_a_callback_failing_at_the_end_of_the_fit_undoes_it(iris):
    X, y = iris
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(X, y)
    before = clf.predict_proba(X)
    clf.set_params(max_iter=6, random_state=1).set_callbacks(_FailsAtTheEnd())
    with pytest.raises(RuntimeError, match="at the end of the fit"):
        clf.fit(X, y)
    assert_array_equal(clf.predict_proba(X), before)
    assert clf.n_iter_ == 3


def test_batch_norm_last_epoch_copy_predicts_as_the_returned_model(iris):
    X, y = iris
    recorder = Recorder()
    reg = MLPRegressor(hidden_layer_sizes=(16,), batch_norm=True, max_iter=4, batch_size=32,
                       random_state=0).set_callbacks(recorder)
    reg.fit(X, y * 100.0)
    assert len(recorder.fitted) == 4
    assert_array_equal(recorder.fitted[-1].predict(X), reg.predict(X))
