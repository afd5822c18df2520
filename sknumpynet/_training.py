"""Solvers: what fits a network to a problem, epoch by epoch, and asks its hooks whether to go on.

A solver gets a :class:`Problem` (network, loss, penalty, data, validation
score) and a :class:`TrainingLog` (what earlier fits of the same model
recorded), trains in place and returns an :class:`Outcome`. Everything that
happens once per epoch beyond training itself — the learning-rate schedule,
stopping, best weights, progress, scikit-learn callbacks — is a hook object
(:mod:`sknumpynet._epoch_hooks`) with its own state; a solver calls each hook's
``on_epoch_begin(run)`` and ``on_epoch_end(run, record)`` and stops when one
returns a reason. Divergence and Ctrl-C need the solver's own snapshots, so the
solver handles them.

This module knows the engine (``nn``) and nothing of scikit-learn.
"""

import contextlib
import copy
import math
import signal
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.optimize
import scipy.sparse as sp

from .nn import BatchNorm1d, Dropout, pack_parameters
from .nn.optimizers import copy_into

__all__ = [
    "Interrupted",
    "LbfgsSolver",
    "MinibatchSolver",
    "Outcome",
    "Problem",
    "SecondInterrupt",
    "Trainer",
    "TrainingLog",
    "IterationEpochs",
    "end_epoch",
    "end_iteration",
    "interrupt_guard",
    "interrupted_message",
    "total_weight",
]

#: An epoch whose mean loss exceeds this many times the loss of the fit's first
#: batch (at least 1) has run away: divergence, even while the numbers stay finite.
RUNAWAY_FACTOR = 1e6


class Interrupted(Exception):
    """Raised by :meth:`Trainer.run_epoch` when a Ctrl-C asked training to stop."""


class SecondInterrupt(KeyboardInterrupt):
    """The second Ctrl-C inside :func:`interrupt_guard`: stop at once, keep nothing."""


class _Flag:
    stop = False


@contextlib.contextmanager
def interrupt_guard():
    """Turn the first Ctrl-C into a polite request to stop after the current batch.

    Inside the block the first SIGINT sets ``flag.stop``; the training loop
    checks it after every batch. A second SIGINT raises KeyboardInterrupt at
    once, as usual. Outside the main thread (where Python delivers no signals)
    the guard does nothing.

    Yields
    ------
    flag : object with a boolean ``stop`` attribute
    """
    flag = _Flag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.stop:
            raise SecondInterrupt
        flag.stop = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not allowed here (e.g. some embedded interpreters)
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Problem:
    """What to fit.

    Attributes
    ----------
    network : Module
        Trained in place.
    loss : Loss
    penalty : L2Penalty
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y : ndarray
        Targets as the loss expects them.
    sample_weight : ndarray of shape (n_samples,) or None
    penalty_per_batch : bool, default=True
        True: a batch of total weight ``n_b`` adds ``penalty.value(1 / n_b)``
        (scikit-learn's MLP); False: ``penalty.value()`` whatever the batch
        (the linear SVM, whose ``alpha`` is already divided by the total weight).
    validate : callable or None, default=None
        ``validate(network)`` returns ``(score, loss)`` of the eval-mode
        network on held-out data: the score watched by early stopping (higher
        is better) and the validation loss. None without validation data.
    """

    network: object
    loss: object
    penalty: object
    X: object
    y: np.ndarray
    sample_weight: np.ndarray = None
    penalty_per_batch: bool = True
    validate: object = None

    @property
    def total_weight(self):
        """float: The number of rows, or the sum of the sample weights (in float64)."""
        return total_weight(self.X, self.sample_weight)


def total_weight(X, sample_weight):
    """The number of rows of ``X``, or the sum of ``sample_weight`` (in float64).

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,) or None

    Returns
    -------
    total : float
    """
    if sample_weight is None:
        return float(X.shape[0])
    return float(np.sum(sample_weight, dtype=np.float64))  # float32 sums overflow


@dataclass
class TrainingLog:
    """What the fits of one model recorded, epoch by epoch; carried across warm starts.

    ``history`` is the one record: the curves are read off it.

    Attributes
    ----------
    history : list of dict
        One record per epoch: epoch, loss, validation_score, validation_loss,
        learning_rate, seconds. A full-batch fit, which scores only its final
        model, puts that score in its last record.
    best_loss : float
        Lowest training loss so far.
    best_validation_score : float
        Highest validation score so far (``-inf`` before the first).
    t : int
        Training samples seen.
    n_iter : int
        Epochs of the current fit (not carried over).
    loss_curve : list of float
        The loss of every record (read-only, a new list).
    validation_scores, validation_losses : list of float
        The validation score and loss of every record that has one (read-only).
    """

    history: list = field(default_factory=list)
    best_loss: float = math.inf
    best_validation_score: float = -math.inf
    t: int = 0
    n_iter: int = 0

    #: Lists that files and pickles written before ``history`` was the one
    #: record still hold; the history they were read off is kept instead.
    _LEGACY = ("loss_curve", "validation_scores", "validation_losses")

    @classmethod
    def from_fields(cls, **saved):
        """A log from saved fields, those of older files included (see ``_LEGACY``)."""
        return cls(**{k: v for k, v in saved.items() if k not in cls._LEGACY})

    def __setstate__(self, state):
        for name in self._LEGACY:
            state.pop(name, None)
        self.__dict__.update(state)

    @property
    def loss_curve(self):
        return [r["loss"] for r in self.history]

    @property
    def validation_scores(self):
        return [r["validation_score"] for r in self.history
                if r.get("validation_score") is not None]

    @property
    def validation_losses(self):
        return [r.get("validation_loss") for r in self.history
                if r.get("validation_score") is not None]

    def record(self, loss, validation_score, learning_rate, seconds, n_samples,
               validation_loss=None):
        """Append one finished epoch and return its record (a dict)."""
        self.n_iter += 1
        self.t += n_samples
        self.best_loss = min(self.best_loss, loss)
        if validation_score is not None:
            self.best_validation_score = max(self.best_validation_score, validation_score)
        entry = {
            "epoch": len(self.history) + 1, "loss": loss,
            "validation_score": validation_score, "validation_loss": validation_loss,
            "learning_rate": learning_rate, "seconds": seconds,
        }
        self.history.append(entry)
        return entry

    def record_validation(self, score, loss):
        """Score the final model of a full-batch fit.

        The score goes to this fit's last record, replaced by an updated copy:
        records are shared with the logs of earlier fits (see :meth:`resumed`)
        and never change. A fit that ran no iteration (already at its optimum)
        has no record of its own: one is added for its final model, with the
        previous record's loss (the model has not changed; NaN in a first fit)
        and no epoch counted.

        Parameters
        ----------
        score : float
            Higher is better.
        loss : float
        """
        scored = {"validation_score": score, "validation_loss": loss}
        if self.n_iter > 0:
            self.history[-1] = {**self.history[-1], **scored}
        else:  # the model is the previous record's: its loss, if there is one
            loss_before = self.history[-1]["loss"] if self.history else math.nan
            self.history.append({"epoch": len(self.history) + 1, "loss": loss_before, **scored,
                                 "learning_rate": math.nan, "seconds": 0.0})
        self.best_validation_score = max(self.best_validation_score, score)

    def resumed(self):
        """This log, for the next fit of the same model (a warm start or ``partial_fit``).

        The list is new, so the next fit's records never reach this log;
        the records themselves, never changed once written, are shared
        (copying them made each ``partial_fit`` cost time in the length of
        the history). ``n_iter`` starts again at 0.

        Returns
        -------
        log : TrainingLog
        """
        return replace(self, history=list(self.history), n_iter=0)

    def drop_last(self, n_samples):
        """Forget the last recorded epoch (its weights were rolled back)."""
        self.n_iter -= 1
        self.t -= n_samples
        self.history.pop()
        self.best_loss = min((v for v in self.loss_curve if v == v), default=math.inf)
        self.best_validation_score = max(self.validation_scores, default=-math.inf)


@dataclass
class Outcome:
    """How a solve ended.

    Attributes
    ----------
    reason : {"max_iter", "converged", "interrupted", "diverged", "callback", ...}
        "max_iter" when the epoch budget ran out; otherwise what a hook or the
        solver returned.
    message : str
        What happened, for a warning ("" when nothing needs saying).
    objective : float or None
        The objective the solver reached, where it computes one exactly (the
        linear SVMs' full-batch solver); None otherwise.
    """

    reason: str = "max_iter"
    message: str = ""
    objective: float = None


class Trainer:
    """Minibatch gradient descent of a network on a loss and a penalty.

    One batch: gather the rows into a reused buffer, forward (with the batch's
    sample weights for the modules that use them), loss, backward, penalty
    gradient, optimizer step. One epoch: shuffle the row order with the
    Generator, then every batch in turn.

    Parameters
    ----------
    problem : Problem
    optimizer : Optimizer
        Built on ``problem.network.parameters()``.
    batch_size : int
    rng : numpy.random.Generator
        Shuffles the rows.
    shuffle : bool, default=True
    flag : object with a ``stop`` attribute, default=None
        Set by :func:`interrupt_guard`; checked after every batch.
    step_schedule : sknumpynet.nn.LRSchedule, default=None
        A schedule stepped once per batch (``CosLogLR``, ``FlatCosLR``): its
        rate is handed to the optimizer before every step. None leaves the
        rate to the per-epoch hooks.
    """

    def __init__(
        self, problem, optimizer, *, batch_size, rng, shuffle=True, flag=None, step_schedule=None
    ):
        self.problem, self.optimizer = problem, optimizer
        self.batch_size, self.rng, self.shuffle = int(batch_size), rng, shuffle
        self.flag, self.step_schedule = flag, step_schedule
        # the whole-data penalty scale, or None to divide by each batch's weight
        self._scale = None if problem.penalty_per_batch else 1.0
        self._buffer = None
        self.first_loss = None

    def _gather(self, X, idx):
        """Rows ``idx`` of ``X``, copied into a buffer reused across batches."""
        if sp.issparse(X):
            return X[idx]
        n = len(idx)
        if self._buffer is None or self._buffer.shape[0] < n or self._buffer.dtype != X.dtype:
            self._buffer = np.empty((max(n, self.batch_size),) + X.shape[1:], dtype=X.dtype)
        # mode="clip" because the indices come from a permutation and are valid:
        # take's default mode="raise" copies through a temporary when given out=,
        # which doubled the cost of the gather (30 -> 17 ms per Fashion-MNIST epoch)
        return np.take(X, idx, axis=0, out=self._buffer[:n], mode="clip")

    def train_batch(self, xb, yb, wb=None, batch_weight=None):
        """One optimizer step on one batch.

        Parameters
        ----------
        xb : ndarray of shape (batch, n_features)
        yb : ndarray
            Targets as the loss expects.
        wb : ndarray of shape (batch,), default=None
            Sample weights.
        batch_weight : float, default=None
            The batch's total weight (its size without weights).

        Returns
        -------
        loss : float
            The batch's loss including the penalty (NaN or inf on divergence).
        """
        p = self.problem
        scores = p.network.forward(xb) if wb is None else p.network.forward(xb, sample_weight=wb)
        value = p.loss(scores, yb, wb)
        p.network.backward(p.loss.backward())
        scale = self._scale
        if scale is None:
            scale = 1.0 / (len(yb) if batch_weight is None else batch_weight)
        value += p.penalty.value(scale)
        if self.step_schedule is not None:
            self.optimizer.lr = self.step_schedule.lr
            self.step_schedule.step()
        # the penalty's gradient, added in the optimizer's blocked pass
        self.optimizer.step(p.penalty.fused(scale))
        return value

    def run_epoch(self):
        """Train on every row once, in (shuffled) minibatches.

        Returns
        -------
        mean_loss : float
            The batch losses averaged with the batches' sizes (or weights). A
            non-finite value means training diverged; the epoch stops at once.

        Raises
        ------
        Interrupted
            If the interrupt flag was raised; the current batch finished first.
        """
        X, y, sample_weight = self.problem.X, self.problem.y, self.problem.sample_weight
        n = X.shape[0]
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        self.problem.network.train()
        total, seen = 0.0, 0.0
        for start, stop in batch_bounds(n, self.batch_size):
            idx = order[start:stop]
            wb, size = None, float(len(idx))
            if sample_weight is not None:
                wb = sample_weight[idx]
                size = float(np.sum(wb, dtype=np.float64))  # float32 sums overflow
                if not size > 0:
                    continue  # a batch of zero weight carries no gradient
            value = self.train_batch(self._gather(X, idx), y[idx], wb, size)
            if self.first_loss is None:
                self.first_loss = value
            total += value * size
            seen += size
            if not math.isfinite(value):
                return value
            if self.flag is not None and self.flag.stop:
                raise Interrupted
        return total / seen


def batch_bounds(n_samples, batch_size):
    """``(start, stop)`` of each minibatch; a lone last row joins the batch before.

    A batch of one row would make BatchNorm1d's variance undefined, so
    ``n_samples = k * batch_size + 1`` gives a last batch of ``batch_size + 1``.

    Parameters
    ----------
    n_samples : int
    batch_size : int

    Returns
    -------
    bounds : list of (int, int)
    """
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, starts[1:] + [n_samples]))


class _Snapshot:
    """The network's state arrays, the optimizer's rate and the Generator's state at one moment.

    The optimizer's moments are not copied: each would cost as much memory as
    the weights (Adam's two would make a fit 8 copies of its parameters instead
    of 6). Restoring puts the weights, the rate and the Generator back and
    restarts the optimizer (:meth:`~sknumpynet.nn.Optimizer.restart`): from
    zero, which is exact when the snapshot was taken before the optimizer's
    first step, or from ``like``, an untouched optimizer whose state is the
    one at the snapshot (the estimator's own, kept while ``partial_fit``
    trains a copy).
    """

    def __init__(self, network, optimizer, rng, reuse=None, like=None):
        """``reuse``: a snapshot no longer needed, whose arrays this one overwrites."""
        arrays = network.state_arrays()
        old = reuse.arrays if reuse is not None else [None] * len(arrays)
        self.arrays = [copy_into(a, out) for a, out in zip(arrays, old)]
        self.lr = None if optimizer is None else optimizer.lr
        self.like = like
        self.rng = copy.deepcopy(rng.bit_generator.state)

    def restore(self, network, optimizer, rng):
        for dst, src in zip(network.state_arrays(), self.arrays):
            np.copyto(dst, src)
        if optimizer is not None:
            optimizer.restart(self.lr, like=self.like)
        rng.bit_generator.state = self.rng


def finite_outputs(network, X, rows=4096):
    """Whether the eval-mode network maps the first ``rows`` rows of X to finite outputs.

    Parameters
    ----------
    network : Module
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    rows : int, default=4096

    Returns
    -------
    finite : bool
    """
    network.eval()
    with np.errstate(all="ignore"):
        out = network.forward(X[:rows])
    network.clear_cache()
    return bool(np.isfinite(out).all())


def usable_weights(problem, rows=4096):
    """Whether the eval-mode network gives finite outputs and a finite loss on the first rows.

    Weights whose outputs are finite but whose loss overflows (outputs near the
    float maximum under a squared error) are no model to keep.

    Parameters
    ----------
    problem : Problem
    rows : int, default=4096

    Returns
    -------
    usable : bool
    """
    if not finite_outputs(problem.network, problem.X, rows):
        return False
    weight = None if problem.sample_weight is None else problem.sample_weight[:rows]
    with np.errstate(all="ignore"):
        out = problem.network.forward(problem.X[:rows])
        value = float(problem.loss(out, problem.y[:rows], weight))
    problem.network.clear_cache()
    return math.isfinite(value)


@dataclass
class Run:
    """What a solver shares with its hooks during one fit.

    Attributes
    ----------
    problem : Problem
    optimizer : Optimizer or None
        None for solvers that do not step one (L-BFGS).
    log : TrainingLog
    max_epochs : int
    batch_size : int or None
        The minibatch size (None: the whole data is one batch), with which
        :func:`refresh_batch_norm` recomputes running statistics.
    """

    problem: Problem
    optimizer: object
    log: TrainingLog
    max_epochs: int
    batch_size: int = None


class MinibatchSolver:
    """Epochs of minibatch gradient descent until a hook says stop or ``max_epochs``.

    Parameters
    ----------
    optimizer : Optimizer
    batch_size : int
    max_epochs : int
    rng : numpy.random.Generator
    shuffle : bool, default=True
    hooks : list, default=()
        Per-epoch behaviours, called in order (see the module docstring).
    advice : str, default=""
        Appended to divergence messages (what the user can change).
    step_schedule : sknumpynet.nn.LRSchedule, default=None
        Stepped once per batch (see :class:`Trainer`).
    start_state : Optimizer, default=None
        An optimizer left untouched during the fit whose step count and state
        are ``optimizer``'s at the start (the estimator's own, when
        ``partial_fit`` trains a copy of it): a rollback to the first epoch's
        start takes them from it instead of restarting the moments.
    """

    def __init__(
        self, optimizer, *, batch_size, max_epochs, rng, shuffle=True, hooks=(), advice="",
        step_schedule=None, start_state=None,
    ):
        self.optimizer, self.batch_size = optimizer, batch_size
        self.max_epochs, self.rng, self.shuffle = max_epochs, rng, shuffle
        self.hooks, self.advice = list(hooks), advice
        self.step_schedule, self.start_state = step_schedule, start_state

    def solve(self, problem, log):
        """Train ``problem.network`` in place; record every epoch in ``log``.

        Parameters
        ----------
        problem : Problem
        log : TrainingLog
            Updated in place.

        Returns
        -------
        outcome : Outcome
        """
        run = Run(problem, self.optimizer, log, self.max_epochs, self.batch_size)
        with interrupt_guard() as flag:
            trainer = Trainer(
                problem, self.optimizer, batch_size=self.batch_size, rng=self.rng,
                shuffle=self.shuffle, flag=flag, step_schedule=self.step_schedule,
            )
            outcome = self._epochs(run, trainer)
        finished = outcome.reason not in ("diverged", "interrupted")
        if finished and not finite_outputs(problem.network, problem.X):
            outcome = self._roll_back(run, log.history[-1]["loss"], recorded=True)
        refresh_batch_norm(problem.network, problem.X, problem.sample_weight, self.batch_size)
        for hook in self.hooks:
            hook.on_fit_end(run, outcome)
        return outcome

    def _epochs(self, run, trainer):
        problem, n = run.problem, run.problem.X.shape[0]
        self._last = self._previous = None  # snapshots at the start of the last two epochs
        for _ in range(self.max_epochs):
            for hook in self.hooks:
                hook.on_epoch_begin(run)
            # two snapshots, not three: the new one overwrites the arrays of the
            # one it replaces (the start of the epoch before last)
            like = self.start_state if self._last is None else None
            self._previous, self._last = self._last, _Snapshot(
                problem.network, self.optimizer, self.rng, reuse=self._previous, like=like
            )
            start = time.perf_counter()
            try:
                loss = trainer.run_epoch()
            except SecondInterrupt:
                raise  # the estimator puts its previous state back
            except (Interrupted, KeyboardInterrupt):
                self._last.restore(problem.network, self.optimizer, self.rng)
                return Outcome("interrupted", interrupted_message(run.log))
            seconds = time.perf_counter() - start
            if not math.isfinite(loss) or loss > RUNAWAY_FACTOR * max(trainer.first_loss, 1.0):
                return self._roll_back(run, loss, recorded=False)
            val = val_loss = None
            if problem.validate is not None:
                problem.network.eval()
                val, val_loss = problem.validate(problem.network)
            record = run.log.record(loss, val, self.optimizer.lr, seconds, n, val_loss)
            reason = end_epoch(run, self.hooks, record)
            if reason:
                return Outcome(reason)
        return Outcome("max_iter")

    def _roll_back(self, run, loss, recorded):
        """Diverged: back to the weights of the last epoch whose outputs are finite.

        ``recorded`` says whether the epoch that went wrong is already in the log
        (its loss was fine but its outputs are not).
        """
        network, n = run.problem.network, run.problem.X.shape[0]
        if recorded:
            run.log.drop_last(n)
        epoch = len(run.log.history) + 1
        self._last.restore(network, self.optimizer, self.rng)
        if self._previous is not None and not usable_weights(run.problem):
            # this epoch's starting weights overflow already: one epoch back
            self._previous.restore(network, self.optimizer, self.rng)
            run.log.drop_last(n)
            epoch -= 1
        if not usable_weights(run.problem):
            raise ValueError(
                f"Training diverged (loss is {loss}) and no earlier weights give finite "
                "outputs: Solver produced non-finite parameter weights. The input data may "
                f"contain large values and need to be preprocessed. {self.advice}"
            )
        return Outcome(
            "diverged",
            f"Training diverged in epoch {epoch} (loss is {loss}); stopped and restored "
            f"the weights of the last finite epoch. {self.advice}",
        )


def end_epoch(run, hooks, record):
    """Call every hook's ``on_epoch_end``, in order (all of them, even after a stop).

    Parameters
    ----------
    run : Run
    hooks : list
    record : dict
        The epoch's entry in ``run.log``.

    Returns
    -------
    reason : str or None
        The first reason to stop a hook gave, or None to go on.
    """
    reasons = [hook.on_epoch_end(run, record) for hook in hooks]
    return next((r for r in reasons if r), None)


def end_iteration(run, hooks, value, clock):
    """Record one full-batch iteration and end it as an epoch (see :func:`end_epoch`).

    Parameters
    ----------
    run : Run
    hooks : list
    value : float
        The objective after the iteration.
    clock : dict
        ``clock["start"]``, when the iteration began (``time.perf_counter``);
        set to now for the next one.

    Returns
    -------
    reason : str or None
        Why a hook asks to stop, if one does.
    """
    now = time.perf_counter()
    record = run.log.record(value, None, math.nan, now - clock["start"],
                            run.problem.X.shape[0])
    clock["start"] = now
    return end_epoch(run, hooks, record)


class IterationEpochs:
    """The hooks' view of a full-batch solve: every iteration is an epoch.

    One driver for every full-batch solver (the MLPs' L-BFGS, the linear SVMs'
    Newton and L-BFGS). An iteration is known only once the solver reports it,
    so each epoch is begun, recorded and ended at that report: no epoch is
    begun that never runs.

    Parameters
    ----------
    run : Run
    hooks : sequence of EpochHook

    Attributes
    ----------
    reason : str or None
        Why a hook asked to stop, once one has.
    """

    def __init__(self, run, hooks):
        self.run, self.hooks = run, list(hooks)
        self.clock = {"start": time.perf_counter()}
        self.reason = None

    def iteration(self, value):
        """Record one finished iteration of objective ``value`` as an epoch.

        Parameters
        ----------
        value : float

        Returns
        -------
        reason : str or None
            Why a hook asks to stop, if one does.
        """
        for hook in self.hooks:
            hook.on_epoch_begin(self.run)
        self.reason = end_iteration(self.run, self.hooks, value, self.clock)
        return self.reason

    def finish(self, outcome):
        """Tell the hooks the fit ended with ``outcome``, and return it."""
        for hook in self.hooks:
            hook.on_fit_end(self.run, outcome)
        return outcome


def interrupted_message(log, unit="epoch", finished=False):
    """The warning of a fit that a Ctrl-C stopped.

    Parameters
    ----------
    log : TrainingLog
        ``log.n_iter`` counts the ``unit``s this fit completed.
    unit : str, default="epoch"
    finished : bool, default=False
        True when the ``unit`` under way was completed (and is kept), False
        when it was cut short (and the one before it is kept).

    Returns
    -------
    message : str
    """
    done = log.n_iter
    if finished:
        return f"Training interrupted; stopped after {unit} {done} and kept its weights."
    return (
        f"Training interrupted during {unit} {done + 1}; keeping the weights of the last "
        f"completed {unit} ({done})."
    )


def refresh_batch_norm(network, X, sample_weight=None, batch_size=None):
    """Set every BatchNorm1d's running statistics to those of ``X`` under the final weights.

    During training the running averages trail the weights (each batch's
    statistics were taken with the weights of its time), so the eval-mode
    network can differ from the one that was trained, badly so when a feature's
    scale is huge. Here the batches are forwarded again, in training mode with
    dropout off, and each BatchNorm1d keeps the running mean of their
    statistics ("precise batch norm"). Without BatchNorm1d it does nothing.

    Parameters
    ----------
    network : Module
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    sample_weight : ndarray of shape (n_samples,), default=None
    batch_size : int, default=None
        None forwards ``X`` as one batch.
    """
    norms = [m for m in network.modules() if isinstance(m, BatchNorm1d)]
    if not norms:
        return
    momenta = [bn.momentum for bn in norms]
    network.train()
    for m in network.modules():
        if isinstance(m, Dropout):
            m.eval()
    try:
        bounds = batch_bounds(X.shape[0], batch_size or X.shape[0])
        for k, (start, stop) in enumerate(bounds, start=1):
            for bn in norms:
                bn.momentum = 1.0 / k  # the running mean of the batches' statistics
            wb = None if sample_weight is None else sample_weight[start:stop]
            if wb is not None and not np.sum(wb, dtype=np.float64) > 0:
                continue
            network.forward(X[start:stop], sample_weight=wb)
    finally:
        for bn, momentum in zip(norms, momenta):
            bn.momentum = momentum
        network.eval()
        network.clear_cache()


class LbfgsSolver:
    """Full-batch L-BFGS (scipy's L-BFGS-B) over all the parameters, packed in one vector.

    The objective is the loss of the whole data plus the penalty: with
    ``penalty_per_batch`` the penalty is scaled by ``1 / total weight``, which
    is what scikit-learn's MLP minimises. Each L-BFGS iteration is an epoch for
    the hooks (progress, scikit-learn callbacks); ``tol`` is scipy's ``gtol``.
    Batch norm sees the whole data as its batch; dropout would make the
    objective random, which breaks the line search, so the estimator refuses it.

    Parameters
    ----------
    max_iter : int
        Most L-BFGS iterations.
    max_fun : int
        Most evaluations of the objective.
    tol : float
        Stop when every component of the projected gradient is below it.
    hooks : list, default=()
    """

    def __init__(self, *, max_iter, max_fun, tol, hooks=()):
        self.max_iter, self.max_fun, self.tol = max_iter, max_fun, tol
        self.hooks = list(hooks)

    def solve(self, problem, log):
        """Minimise ``problem``'s objective in place; record every iteration in ``log``.

        Parameters
        ----------
        problem : Problem
        log : TrainingLog

        Returns
        -------
        outcome : Outcome
            reason "converged", "max_iter" (iterations or evaluations ran out),
            "interrupted" or "callback"; the message is scipy's.
        """
        epochs = IterationEpochs(Run(problem, None, log, self.max_iter), self.hooks)
        objective = _FullBatchObjective(problem)
        with interrupt_guard() as flag:
            objective.flag = flag
            outcome = self._minimize(epochs, objective)
        objective.set(objective.best_x)  # the last accepted iterate
        refresh_batch_norm(problem.network, problem.X, problem.sample_weight)
        return epochs.finish(outcome)

    def _minimize(self, epochs, objective):
        def callback(intermediate_result):
            objective.best_x = intermediate_result.x.copy()
            if epochs.iteration(float(intermediate_result.fun)):
                raise StopIteration

        try:
            result = scipy.optimize.minimize(
                objective, objective.best_x, method="L-BFGS-B", jac=True, callback=callback,
                options={"maxiter": self.max_iter, "maxfun": self.max_fun, "gtol": self.tol},
            )
        except (Interrupted, KeyboardInterrupt) as exc:
            if isinstance(exc, SecondInterrupt):
                raise
            return Outcome("interrupted", interrupted_message(epochs.run.log))
        if epochs.reason:
            return Outcome(epochs.reason)
        if result.status == 0:
            return Outcome("converged")
        return Outcome(
            "max_iter",
            f"lbfgs failed to converge after {result.nit} iteration(s) "
            f"(status={result.status}): {result.message}",
        )


class _FullBatchObjective:
    """``f(w), grad f(w)`` of a problem's whole-data objective, for scipy (float64)."""

    def __init__(self, problem):
        self.problem = problem
        params = problem.network.parameters()
        self.values, self.grads = pack_parameters(params)
        self.best_x = self.values.astype(np.float64)
        total = problem.total_weight
        self.scale = 1.0 / total if problem.penalty_per_batch else 1.0
        self.flag = None

    def set(self, x):
        self.values[...] = x

    def __call__(self, x):
        if self.flag is not None and self.flag.stop:
            raise Interrupted
        p = self.problem
        self.set(x)
        p.network.train()
        with np.errstate(over="ignore", invalid="ignore"):
            scores = p.network.forward(p.X, sample_weight=p.sample_weight)
            value = p.loss(scores, p.y, p.sample_weight) + p.penalty.value(self.scale)
            p.network.backward(p.loss.backward())
            p.penalty.backward(self.scale)
        return value, self.grads.astype(np.float64)
