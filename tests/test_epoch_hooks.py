"""The per-epoch behaviours and the minibatch solver, each tested on its own.

The hooks are driven by hand with made-up epoch records, and the solver on a
tiny network whose loss is scripted, so each test says exactly which rule it
checks, independently of what an estimator's fit does around it.
"""

import math
import warnings

import numpy as np
import pytest
from estimator_cases import assert_same_weights, weights
from sklearn.datasets import load_digits

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor, nn
from sknumpynet._epoch_hooks import BestWeights, LearningRate, Progress, Stopping
from sknumpynet._training import (
    RUNAWAY_FACTOR,
    Interrupted,
    MinibatchSolver,
    Problem,
    Run,
    Trainer,
    TrainingLog,
)


def make_problem(seed=0, n=40):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]))[:, None] + 0.1 * rng.standard_normal((n, 1))
    network = nn.Sequential(nn.Linear(3, 1, rng=rng, dtype=np.float64))
    loss = nn.MSELoss()
    loss.check_finite = False
    return Problem(network, loss, nn.L2Penalty(network.parameters(), 0.0), X, y)


def make_run(problem=None, max_epochs=10):
    problem = problem or make_problem()
    optimizer = nn.SGD(problem.network.parameters(), lr=0.05)
    return Run(problem, optimizer, TrainingLog(), max_epochs)


def record(epoch, loss, val=None, lr=0.1):
    return {"epoch": epoch, "loss": loss, "validation_score": val, "learning_rate": lr,
            "seconds": 0.0}


# -- Stopping --------------------------------------------------------------------------


def test_stopping_on_the_training_loss_counts_like_scikit_learn():
    run = make_run()
    hook = Stopping(2, 0.1, "loss", nn.ConstantLR(0.1), best=math.inf)
    # improves, improves by < tol (bad 1), bad 2, bad 3 > patience 2: converged
    reasons = [hook.on_epoch_end(run, record(i, v)) for i, v in enumerate([1.0, 0.95, 0.99, 0.9])]
    assert reasons == [None, None, None, "converged"]


def test_stopping_on_the_validation_score_wants_it_higher():
    run = make_run()
    hook = Stopping(1, 0.0, "validation_score", nn.ConstantLR(0.1), best=-math.inf)
    # up, up, down (bad 1), equal to the last (bad 2 > 1); with tol=0 an epoch
    # equal to the best is not bad, as scikit-learn's `score < best + tol`
    scores = [0.5, 0.6, 0.55, 0.55]
    reasons = [hook.on_epoch_end(run, record(i, 1.0, s)) for i, s in enumerate(scores)]
    assert reasons == [None, None, None, "converged"]


def test_stopping_starts_from_the_best_of_earlier_fits():
    run = make_run()
    hook = Stopping(0, 0.0, "loss", nn.ConstantLR(0.1), best=0.5)
    assert hook.on_epoch_end(run, record(1, 0.6)) == "converged"  # worse than the old best


def test_stopping_asks_an_adaptive_schedule_to_reduce_first():
    run = make_run()
    schedule = nn.ReduceLROnPlateau(0.01, patience=math.inf, min_lr=1e-3)
    hook = Stopping(0, 0.1, "loss", schedule, best=math.inf)
    reasons = [hook.on_epoch_end(run, record(i, 1.0)) for i in range(5)]
    # first epoch improves on inf; then each plateau divides by 5 while above 1e-3
    assert reasons == [None, None, None, "converged", "converged"]
    assert schedule.lr == pytest.approx(0.01 / 25)


def test_infinite_patience_never_stops():
    run = make_run()
    hook = Stopping(math.inf, 0.0, "loss", nn.ConstantLR(0.1), best=math.inf)
    assert not any(hook.on_epoch_end(run, record(i, 1.0)) for i in range(50))


# -- LearningRate -------------------------------------------------------------------------


def test_learning_rate_hands_the_schedule_to_the_optimizer_each_epoch():
    run = make_run()
    hook = LearningRate(nn.InverseScalingLR(1.0, power_t=1.0), n_steps=3)
    rates = []
    for i in range(3):
        hook.on_epoch_begin(run)
        rates.append(run.optimizer.lr)
        hook.on_epoch_end(run, record(i, 1.0))
    assert rates == pytest.approx([1.0, 1 / 4, 1 / 7])  # t = 0, 3, 6 samples seen


# -- BestWeights ----------------------------------------------------------------------------


def test_best_weights_restores_the_best_epoch_and_a_tie_keeps_the_earlier():
    run = make_run()
    weight = run.problem.network[0].weight.value
    hook = BestWeights()
    snapshots = {}
    for epoch, score in enumerate([0.5, 0.8, 0.8, 0.7], start=1):
        weight[...] = epoch  # a different weight each epoch
        snapshots[epoch] = weight.copy()
        run.log.record(1.0, score, 0.1, 0.0, 1)
        hook.on_epoch_end(run, run.log.history[-1])
    hook.on_fit_end(run, None)
    np.testing.assert_array_equal(weight, snapshots[2])  # 0.8 first reached in epoch 2


def test_best_weights_ignores_an_epoch_rolled_back_by_divergence():
    run = make_run()
    weight = run.problem.network[0].weight.value
    hook = BestWeights()
    run.log.record(1.0, 0.5, 0.1, 0.0, 1)
    hook.on_epoch_end(run, run.log.history[-1])
    weight[...] = 7.0
    run.log.record(1.0, 0.9, 0.1, 0.0, 1)
    hook.on_epoch_end(run, run.log.history[-1])
    run.log.drop_last(1)  # the solver dropped epoch 2
    weight[...] = 3.0
    hook.on_fit_end(run, None)
    assert (weight == 3.0).all()


def test_best_weights_only_beats_earlier_fits():
    run = make_run()
    hook = BestWeights(best_score=0.9)
    run.log.record(1.0, 0.8, 0.1, 0.0, 1)
    hook.on_epoch_end(run, run.log.history[-1])
    assert hook.arrays is None


# -- Progress -------------------------------------------------------------------------------


def test_progress_prints_plain_lines_when_not_a_terminal(capsys):
    run = make_run()
    hook = Progress(2, "Net")  # verbose=2 but pytest's stderr is not a terminal
    for i in range(1, 4):
        hook.on_epoch_begin(run)
        hook.on_epoch_end(run, record(i, 1.0 / i, 0.5))
    hook.on_fit_end(run, None)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert "\r" not in "".join(lines) and "validation score = 0.500000" in lines[0]


def test_progress_is_silent_at_verbose_0(capsys):
    run = make_run()
    hook = Progress(0, "Net")
    hook.on_epoch_begin(run)
    hook.on_epoch_end(run, record(1, 1.0))
    assert capsys.readouterr().out == ""


# -- the solver: divergence and interruption ---------------------------------------------------


def scripted(monkeypatch, losses):
    """Trainer.run_epoch returns the scripted losses after really training."""
    original = Trainer.run_epoch
    calls = iter(losses)

    def run_epoch(self):
        value = original(self)
        scripted_value = next(calls)
        if scripted_value == "interrupt":
            raise Interrupted
        if scripted_value == "poison":  # the weights blow up during this epoch
            for p in self.problem.network.parameters():
                p.value[...] = np.inf
            return math.nan
        return value if scripted_value is None else scripted_value

    monkeypatch.setattr(Trainer, "run_epoch", run_epoch)


def solve(problem, max_epochs=5, seed=0):
    rng = np.random.default_rng(seed)
    optimizer = nn.Adam(problem.network.parameters(), lr=0.01)
    solver = MinibatchSolver(optimizer, batch_size=8, max_epochs=max_epochs, rng=rng)
    log = TrainingLog()
    return solver.solve(problem, log), log, optimizer, rng


def state(problem, optimizer, rng):
    return ([a.copy() for a in problem.network.state_arrays()], optimizer.t,
            {k: v.copy() for k, v in optimizer._state.items()}, rng.bit_generator.state)


def assert_same(a, b):
    for x, y in zip(a[0], b[0]):
        np.testing.assert_array_equal(x, y)
    assert a[1] == b[1]
    for k in a[2]:
        np.testing.assert_array_equal(a[2][k], b[2][k])
    assert a[3] == b[3]


@pytest.mark.parametrize("bad", ["poison", "runaway"])
def test_solver_rolls_back_a_diverging_epoch_to_the_one_before(monkeypatch, bad):
    twin = make_problem()
    _, twin_log, twin_opt, twin_rng = solve(twin, max_epochs=2)
    scripted(monkeypatch, [None, None, "poison" if bad == "poison" else RUNAWAY_FACTOR * 1e3])
    problem = make_problem()
    outcome, log, optimizer, rng = solve(problem)
    assert outcome.reason == "diverged" and "epoch 3" in outcome.message
    assert log.n_iter == 2 and log.loss_curve == twin_log.loss_curve
    # no snapshot keeps the optimizer's moments (two copies of the parameters
    # less in every Adam fit): they restart from zero
    assert twin_opt.t > 0 and optimizer.t == 0
    twin_opt.restart()
    assert_same(state(problem, optimizer, rng), state(twin, twin_opt, twin_rng))


def test_solver_goes_back_two_epochs_when_the_last_start_overflows(monkeypatch):
    # epoch 2's loss is fine but it leaves weights whose outputs overflow
    # (checked at the start of epoch 3 only on its first batch): back to epoch 1's
    # weights and Generator; that snapshot keeps no optimizer state (two copies
    # of the parameters less in every fit), so the moments restart from zero
    twin = make_problem()
    _, twin_log, twin_opt, twin_rng = solve(twin, max_epochs=1)

    original = Trainer.run_epoch
    count = iter(range(100))

    def run_epoch(self):
        value = original(self)
        i = next(count)
        if i == 1:
            for p in self.problem.network.parameters():
                p.value[...] = 1e308
        if i == 2:
            return math.nan
        return value

    monkeypatch.setattr(Trainer, "run_epoch", run_epoch)
    problem = make_problem()
    outcome, log, optimizer, rng = solve(problem)
    assert outcome.reason == "diverged" and "epoch 2" in outcome.message
    assert log.n_iter == 1 and log.loss_curve == twin_log.loss_curve
    restarted = [np.zeros_like(v) for v in twin_opt._state.values()]
    assert [v.any() for v in twin_opt._state.values()] == [True] * len(restarted)
    fresh = (state(twin, twin_opt, twin_rng)[0], 0, dict(zip(twin_opt._state, restarted)),
             twin_rng.bit_generator.state)
    assert_same(state(problem, optimizer, rng), fresh)
    assert optimizer.lr == twin_opt.lr


def test_solver_refuses_when_no_epoch_gives_finite_outputs(monkeypatch):
    scripted(monkeypatch, ["poison"])
    problem = make_problem()
    problem.X[0, 0] = 1e308  # even the initial weights overflow on this row
    problem.network[0].weight.value[...] = 1e10
    with pytest.raises(ValueError, match="no earlier weights give finite outputs"):
        solve(problem)


def test_solver_interruption_restores_weights_and_generator_and_restarts_optimizer(monkeypatch):
    twin = make_problem()
    _, twin_log, twin_opt, twin_rng = solve(twin, max_epochs=2)
    scripted(monkeypatch, [None, None, "interrupt"])
    problem = make_problem()
    outcome, log, optimizer, rng = solve(problem)
    assert outcome.reason == "interrupted" and "epoch 3" in outcome.message
    assert log.loss_curve == twin_log.loss_curve
    assert twin_opt.t > 0 and optimizer.t == 0  # the moments restart, as above
    twin_opt.restart()
    assert_same(state(problem, optimizer, rng), state(twin, twin_opt, twin_rng))


def test_solver_interruption_puts_back_the_rate_the_epoch_began_with(monkeypatch):
    # a per-step schedule moves the rate every batch: the rollback restores the
    # rate of the epoch's start, with the moments restarted at it
    problem = make_problem()
    optimizer = nn.Adam(problem.network.parameters(), lr=0.01)
    schedule = nn.get_schedule("coslog", 0.01, total_steps=25, n_cycles=4)
    solver = MinibatchSolver(optimizer, batch_size=8, max_epochs=5,
                             rng=np.random.default_rng(0), step_schedule=schedule)
    rates = []

    class Watch:
        def on_epoch_begin(self, run):
            rates.append(run.optimizer.lr)

        def on_epoch_end(self, run, record):
            return None

        def on_fit_end(self, run, outcome):
            pass

    solver.hooks = [Watch()]
    scripted(monkeypatch, [None, None, "interrupt"])
    outcome = solver.solve(problem, TrainingLog())
    assert outcome.reason == "interrupted" and len(rates) == 3
    assert rates[2] != rates[1] and optimizer.lr == rates[2] and optimizer.t == 0


def test_solver_stops_when_a_hook_says_so():
    class StopAfter:
        def __init__(self, n):
            self.n, self.seen = n, []

        def on_epoch_begin(self, run):
            pass

        def on_epoch_end(self, run, record):
            self.seen.append(record["epoch"])
            return "callback" if record["epoch"] == self.n else None

        def on_fit_end(self, run, outcome):
            self.outcome = outcome

    hook = StopAfter(3)
    problem = make_problem()
    solver = MinibatchSolver(nn.SGD(problem.network.parameters(), lr=0.01), batch_size=8,
                             max_epochs=10, rng=np.random.default_rng(0), hooks=[hook])
    outcome = solver.solve(problem, TrainingLog())
    assert outcome.reason == "callback" and hook.seen == [1, 2, 3]
    assert hook.outcome is outcome


def test_progress_bar_on_a_terminal_stays_on_screen_after_the_fit(capsys, monkeypatch):
    pytest.importorskip("tqdm")
    import sknumpynet._epoch_hooks as hooks

    monkeypatch.setattr(hooks, "_is_terminal", lambda stream: True)
    run = make_run(max_epochs=3)
    hook = Progress(2, "Net")
    for i in range(1, 4):
        hook.on_epoch_begin(run)
        hook.on_epoch_end(run, record(i, 1.0 / i))
    hook.on_fit_end(run, None)
    err = capsys.readouterr().err
    # what is left on the line after the last carriage return: a bar that was
    # erased at the end (leave=False) leaves nothing there
    final = err.split("\r")[-1]
    assert final.startswith("Net") and "3/3" in final and "loss=0.3333" in final
    assert final.endswith("\n")


def test_best_weights_keeps_the_earlier_or_later_of_tied_epochs():
    from types import SimpleNamespace

    from sknumpynet import nn
    from sknumpynet._epoch_hooks import BestWeights
    from sknumpynet._training import TrainingLog

    layer = nn.Linear(2, 1, rng=np.random.default_rng(0))
    log = TrainingLog()
    for _ in range(3):
        log.record(1.0, None, 0.1, 0.0, 10)
    run = SimpleNamespace(problem=SimpleNamespace(network=layer), log=log)
    kept = {}
    for later in (False, True):
        hook = BestWeights(later_ties=later)
        for epoch, score in enumerate([0.5, 0.9, 0.9], start=1):
            layer.weight.value[...] = epoch
            hook.on_epoch_end(run, {"validation_score": score, "epoch": epoch})
        hook.on_fit_end(run, None)
        kept[later] = (hook.best_epoch, float(layer.weight.value[0, 0]))
    assert kept == {False: (2, 2.0), True: (3, 3.0)}


@pytest.mark.parametrize("kind", ["mlp_lbfgs", "svm_full_batch"])
def test_full_batch_epochs_are_begun_only_when_they_run(monkeypatch, kind):
    """Every epoch a full-batch solver begins it also ends, one per iteration (the
    MLP's L-BFGS used to begin one more after scipy converged)."""
    from sknumpynet import LinearSVM, MLPClassifier
    from sknumpynet._base import BaseNetwork
    from sknumpynet._epoch_hooks import EpochHook

    events = []

    class Count(EpochHook):
        def on_epoch_begin(self, run):
            events.append("begin")

        def on_epoch_end(self, run, record):
            events.append("end")

    hooks = BaseNetwork._hooks
    monkeypatch.setattr(BaseNetwork, "_hooks",
                        lambda self, *a, **k: [*hooks(self, *a, **k), Count()])
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] > 0).astype(int)
    if kind == "mlp_lbfgs":
        est = MLPClassifier(hidden_layer_sizes=(3,), solver="lbfgs", max_iter=500,
                            random_state=0).fit(X, y)
    else:
        est = LinearSVM(solver="newton", random_state=0).fit(X, y)
    assert est.n_iter_ >= 1
    assert events == ["begin", "end"] * est.n_iter_


# -- the hooks inside an estimator's fit ----------------------------------------------


def _noisy_digits():
    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, y[:400]
    rng = np.random.default_rng(0)
    return X, np.where(rng.random(len(y)) < 0.3, rng.integers(0, 10, len(y)), y)


EARLY = dict(early_stopping=True, n_iter_no_change=4, max_iter=60, validation_fraction=0.2,
             random_state=0)


def _early_svm(**params):
    return LinearSVM(**{**EARLY, "learning_rate": "constant", "learning_rate_init": 0.05,
                        **params})


def _early_mlp(**params):
    # random_state=2: a seed whose validation scores tie at their best before the end
    return MLPClassifier(**{**EARLY, "hidden_layer_sizes": (16,), "learning_rate_init": 0.02,
                            "random_state": 2, **params})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("factory", [_early_svm, _early_mlp], ids=["LinearSVM", "MLPClassifier"])
def test_early_stopping_keeps_the_first_best_epoch(factory):
    """The kept weights are those of a twin stopped at the first best epoch
    (issue 14 item 11).

    Seeded fits repeat bit for bit, so a twin with ``max_iter`` = that epoch
    holds exactly the weights the early-stopped fit had then. The data are
    chosen so that the best score is tied by a later epoch and is not the
    last epoch: keeping the last or the later tied epoch both fail.
    """
    X, y = _noisy_digits()
    est = factory().fit(X, y)
    scores = np.array(est.validation_scores_)
    best = int(np.argmax(scores))  # the first of the best
    assert (scores == scores.max()).sum() >= 2, "the data must give a tie"
    assert best < len(scores) - 1
    assert est.best_validation_score_ == scores[best]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin = factory(max_iter=best + 1).fit(X, y)
    np.testing.assert_array_equal(twin.validation_scores_, scores[: best + 1])
    assert_same_weights(est, twin)
    last = factory(restore_best_weights=False).fit(X, y)
    assert any(not np.array_equal(a, b) for a, b in zip(weights(est), weights(last)))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("patience", [1, 3])
def test_n_iter_no_change_and_tol_reach_the_stopping_rule(patience, digits):
    # every epoch after the first is "no improvement" when tol is huge
    X_DIGITS, Y_DIGITS = digits
    est = MLPClassifier((8,), max_iter=50, tol=1e9, n_iter_no_change=patience,
                        random_state=0).fit(X_DIGITS[:200], Y_DIGITS[:200])
    assert est.n_iter_ == patience + 2  # the first epoch sets the best, as scikit-learn's


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_hooks_after_the_stopping_rule_see_the_epoch_it_stops_at(capsys, digits):
    """Planted bug: end_epoch returning at the first stop, so progress, best
    weights and callbacks never saw the last epoch."""
    X_DIGITS, Y_DIGITS = digits
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
