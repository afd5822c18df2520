"""The full-batch driver behind the estimators' solver interface.

:class:`FullBatchSolver` runs :func:`~.full_batch.minimize_objective` on the
:class:`~.objective.LinearObjective` the estimator built for this fit, with
the network's linear layer as the start and the result, and treats every
iteration as an epoch: it records the mean-form objective in the training
log and calls the progress and scikit-learn callback hooks.
"""

import numpy as np

from .._training import (
    IterationEpochs,
    Outcome,
    Run,
    SecondInterrupt,
    interrupt_guard,
    interrupted_message,
)
from .full_batch import minimize_objective

__all__ = ["FullBatchSolver"]


class FullBatchSolver:
    """A full-batch solve of a linear SVM objective, as the estimators' solvers are driven.

    Parameters
    ----------
    objective : LinearObjective
        The problem's objective, over the network's weights.
    method : {"auto", "newton", "lbfgs"}
        As :func:`~.full_batch.minimize_objective` takes it.
    tol : float
    max_iter : int
    hooks : sequence, default=()
        Per-iteration hooks (progress, scikit-learn's callbacks).
    """

    def __init__(self, objective, method, *, tol, max_iter, hooks=()):
        self.objective, self.method = objective, method
        self.tol, self.max_iter, self.hooks = tol, max_iter, list(hooks)

    def solve(self, problem, log):
        """Fit ``problem.network[0]`` in place; the Outcome carries the exact objective.

        Parameters
        ----------
        problem : Problem
        log : TrainingLog

        Returns
        -------
        outcome : Outcome
        """
        linear = problem.network[0]
        epochs = IterationEpochs(Run(problem, None, log, self.max_iter), self.hooks)

        def callback(W, b, value):
            _write(linear, W, b)
            reason = epochs.iteration(value)
            if flag.stop:  # a first Ctrl-C: stop after this iteration
                reason = epochs.reason = "interrupted"
            return bool(reason)

        with interrupt_guard() as flag:
            result = self._minimize(linear, callback)
        return epochs.finish(self._outcome(epochs.reason, result, log, linear))

    def _minimize(self, linear, callback):
        """The solve, its result left in ``linear``; None after a KeyboardInterrupt.

        After an interrupt from inside the solve the weights of the last
        completed iteration stay (``callback`` writes them). A first Ctrl-C
        only stops it after the current iteration (the callback returns True)
        and a second one propagates.
        """
        W0, b0 = _weights(linear)
        try:
            result = minimize_objective(
                self.objective,
                W0,
                b0,
                tol=self.tol,
                max_iter=self.max_iter,
                method=self.method,
                callback=callback,
            )
        except SecondInterrupt:
            raise  # the estimator puts its previous state back
        except KeyboardInterrupt:
            return None
        _write(linear, result.W, result.b)
        return result

    def _outcome(self, reason, result, log, linear):
        if result is None:  # the last iteration was cut short: the one before is kept
            exact = self.objective.exact(self.objective.packing.pack(*_weights(linear)))
            return Outcome("interrupted", interrupted_message(log, "iteration"), objective=exact)
        objective = result.objective
        if reason == "interrupted":  # a first Ctrl-C: the current iteration finished
            message = interrupted_message(log, "iteration", finished=True)
            return Outcome("interrupted", message, objective=objective)
        if reason:
            return Outcome(reason, objective=objective)
        if result.converged:
            return Outcome("converged", objective=objective)
        return Outcome(
            "max_iter",
            (
                f"Full-batch solver: maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet; raise max_iter or tol, or standardise "
                "the features."
            ),
            objective=objective,
        )


def _weights(linear):
    """``(W, b)`` of the linear layer in float64 (``b`` zeros without bias)."""
    W = linear.weight.value.astype(np.float64)
    b = np.zeros(W.shape[1]) if linear.bias is None else linear.bias.value.astype(np.float64)
    return W, b


def _write(linear, W, b):
    linear.weight.value[...] = W
    if linear.bias is not None:
        linear.bias.value[...] = b
