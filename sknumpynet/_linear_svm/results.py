"""The named results of the full-batch solvers."""

from typing import NamedTuple

import numpy as np

__all__ = ["FullBatchResult", "StageResult"]


class StageResult(NamedTuple):
    """How one Newton stage (:func:`newton_stage`) ended.

    Attributes
    ----------
    x : ndarray
        The packed weights reached.
    n_iter : int
        Newton steps taken.
    status : {"converged", "max_iter", "stopped", "line_search_failed"}
        "stopped": ``on_iter`` asked to stop; "line_search_failed": no step
        along the Newton direction lowered the objective, while the gradient
        and the predicted decrease were still above the tolerances.
    """

    x: np.ndarray
    n_iter: int
    status: str

    @property
    def converged(self):
        """bool: Whether the stage reached its tolerance (or was stopped from outside)."""
        return self.status in ("converged", "stopped")


class FullBatchResult(NamedTuple):
    """Result of :func:`~sknumpynet._linear_svm.full_batch.solve_full_batch`.

    Attributes
    ----------
    W : ndarray of shape (n_features, n_columns), float64
    b : ndarray of shape (n_columns,), float64 (zeros without intercept)
    n_iter : int
        Newton or L-BFGS iterations over every stage.
    converged : bool
        False when ``max_iter`` stopped the last stage before its tolerance.
    objective : float
        The exact (unsmoothed) objective ``F(W, b)`` at the solution.
    curve : list of float
        The mean-form objective ``F / (C sum s)`` after each iteration
        (smoothed while a smoothing stage runs).
    method : str
        The method that ran last: "newton" or "lbfgs" (after a Newton line
        search failed, "lbfgs").
    """

    W: np.ndarray
    b: np.ndarray
    n_iter: int
    converged: bool
    objective: float
    curve: list
    method: str = "lbfgs"
