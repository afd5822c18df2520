"""The per-epoch behaviours of training, each a small object with its own state.

A solver (:mod:`sknumpynet._training`) calls, for every hook in order,
``on_epoch_begin(run)`` before an epoch, ``on_epoch_end(run, record)`` after it
(a non-empty string return value is a reason to stop), and
``on_fit_end(run, outcome)`` once at the end. ``run`` holds the problem, the
optimizer and the :class:`~sknumpynet._training.TrainingLog`; ``record`` is the
epoch's entry in the log (epoch, loss, validation_score, validation_loss,
learning_rate, seconds).
"""

import math
import sys
import warnings

from .nn import Plateau
from .nn.optimizers import copy_into

__all__ = [
    "BestWeights",
    "EpochHook",
    "LearningRate",
    "Progress",
    "SklearnCallbacks",
    "Stopping",
]


class EpochHook:
    """Base class: every method does nothing."""

    def on_epoch_begin(self, run):
        """Called before each epoch."""

    def on_epoch_end(self, run, record):
        """Called after each finished epoch; return a reason (str) to stop, else None."""
        return None

    def on_fit_end(self, run, outcome):
        """Called once after the last epoch, whatever ended the fit."""


class LearningRate(EpochHook):
    """Hands the schedule's rate to the optimizer before each epoch and steps it after.

    Parameters
    ----------
    schedule : sknumpynet.nn.LRSchedule
    n_steps : int, default=1
        Time steps an epoch counts for (the number of samples, as scikit-learn's
        ``invscaling`` counts).
    """

    def __init__(self, schedule, n_steps=1):
        self.schedule, self.n_steps = schedule, n_steps

    def on_epoch_begin(self, run):
        run.optimizer.lr = self.schedule.lr

    def on_epoch_end(self, run, record):
        self.schedule.step(n_steps=self.n_steps)
        return None


class Stopping(EpochHook):
    """scikit-learn's stopping rule: ``n_iter_no_change`` epochs without ``tol`` progress.

    The monitored value is the training loss, or the validation score with
    early stopping. At a plateau the schedule may lower the rate instead
    (``learning_rate="adaptive"``: :meth:`~sknumpynet.nn.LRSchedule.reduce`);
    when it cannot, training has converged.

    Parameters
    ----------
    patience : int or float
        ``n_iter_no_change``; ``math.inf`` never stops.
    tol : float
    monitor : {"loss", "validation_score"}
    schedule : sknumpynet.nn.LRSchedule
    best : float
        The best value of earlier fits of the model (loss, or score).
    """

    def __init__(self, patience, tol, monitor, schedule, best):
        self.monitor, self.schedule = monitor, schedule
        self._sign = -1.0 if monitor == "validation_score" else 1.0
        self.plateau = Plateau(patience, tol, best=self._sign * best)

    def on_epoch_end(self, run, record):
        self.plateau.update(self._sign * record[self.monitor])
        if not self.plateau.reached:
            return None
        if self.schedule.reduce():
            self.plateau.reset()
            return None
        return "converged"


class BestWeights(EpochHook):
    """Keeps a copy of the weights of the best validation epoch and ends the fit with them.

    Only the network is restored: the optimizer keeps the state of the last
    epoch, as a warm start would continue.

    Parameters
    ----------
    best_score : float, default=-inf
        The best validation score of earlier fits: only a better epoch is kept.
    later_ties : bool, default=False
        A tie keeps the earlier epoch (scikit-learn's MLP), or with True the
        later one: RealMLP's rule, for schedules whose late epochs, at a low
        rate, are the settled ones (a small held-out set ties often).
    """

    def __init__(self, best_score=-math.inf, later_ties=False):
        self.best_score, self.best_epoch, self.arrays = best_score, None, None
        self.later_ties = later_ties

    def on_epoch_end(self, run, record):
        score = record["validation_score"]
        better = score is not None and (
            score >= self.best_score if self.later_ties else score > self.best_score
        )
        if better:
            self.best_score, self.best_epoch = score, record["epoch"]
            arrays = run.problem.network.state_arrays()
            old = self.arrays or [None] * len(arrays)
            # into the arrays of the epoch it replaces: one copy, never two
            self.arrays = [copy_into(a, out) for a, out in zip(arrays, old)]
        return None

    def on_fit_end(self, run, outcome):
        # an epoch dropped by a divergence rollback is no longer a candidate
        if self.arrays is None or self.best_epoch > len(run.log.history):
            return
        for dst, src in zip(run.problem.network.state_arrays(), self.arrays):
            dst[...] = src


class Progress(EpochHook):
    """Per-epoch progress: a line per epoch, or a tqdm bar on a terminal.

    Parameters
    ----------
    verbose : int
        1 prints a line per epoch; 2 draws a bar that stays on screen after the
        fit when the output is a terminal (and tqdm is installed), and prints
        lines otherwise, so logs written to a file stay readable.
    name : str
        Shown before the bar.
    stream : file, default=None
        Where lines go; None is ``sys.stdout`` at the time of each epoch.
    """

    def __init__(self, verbose, name, stream=None):
        self.verbose, self.name, self.stream = verbose, name, stream
        self.bar = None

    def on_epoch_begin(self, run):
        if self.bar is None and self.verbose >= 2 and _is_terminal(sys.stderr):
            self.bar = _make_bar(run.max_epochs, self.name)
            self.verbose = 1 if self.bar is None else self.verbose

    def on_epoch_end(self, run, record):
        if self.bar is not None:
            postfix = {"loss": f"{record['loss']:.4f}"}
            if record["validation_score"] is not None:
                postfix["val"] = f"{record['validation_score']:.4f}"
            self.bar.set_postfix(postfix, refresh=False)
            self.bar.update(1)
        elif self.verbose:
            print(_epoch_line(record), file=self.stream or sys.stdout, flush=True)
        return None

    def on_fit_end(self, run, outcome):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _make_bar(total, name):
    try:
        from tqdm.auto import tqdm
    except ImportError:
        warnings.warn("verbose=2 needs tqdm (pip install tqdm); printing lines instead.")
        return None
    return tqdm(total=total, desc=name, unit="epoch", leave=True)


def _epoch_line(record):
    val, val_loss = record["validation_score"], record.get("validation_loss")
    val_text = "" if val is None else f", validation score = {val:.6f}"
    if val_loss is not None:
        val_text += f", validation loss = {val_loss:.6f}"
    return (
        f"Iteration {record['epoch']}, loss = {record['loss']:.8f}{val_text}, "
        f"lr = {record['learning_rate']:.3g}, time = {record['seconds']:.3f}s"
    )


class SklearnCallbacks(EpochHook):
    """scikit-learn's callback API (``sklearn.callback``): every epoch is a subtask of the fit.

    Parameters
    ----------
    context : sklearn.callback.CallbackContext
        The fit's root context.
    estimator : estimator
        The estimator being fitted, as the callbacks see it.
    X, y : array-like
        The data passed to ``fit``, handed to the callbacks.
    metadata : dict or None
        E.g. ``{"sample_weight": ...}``.
    fitted_attributes : callable
        ``fitted_attributes(run)`` returns the attributes that make a copy of
        the estimator predict as of now; called only if a callback asks for
        ``fitted_estimator``.
    """

    def __init__(self, context, estimator, X, y, metadata, fitted_attributes):
        self.context, self.estimator = context, estimator
        self.data = {"X": X, "y": y, "metadata": metadata}
        self.fitted_attributes = fitted_attributes
        self.epoch = None

    def on_epoch_begin(self, run):
        self.epoch = self.context.subcontext(task_name="epoch")
        self.epoch.call_on_fit_task_begin(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=lambda: self.fitted_attributes(run),
        )

    def on_epoch_end(self, run, record):
        epoch, self.epoch = self.epoch, None
        stop = epoch.call_on_fit_task_end(
            estimator=self.estimator, **self.data,
            reconstruction_attributes=lambda: self.fitted_attributes(run),
        )
        return "callback" if stop else None

    def on_fit_end(self, run, outcome):
        if self.epoch is not None:  # an epoch that began but did not finish
            self.epoch.call_on_fit_task_end(estimator=self.estimator)
            self.epoch = None
