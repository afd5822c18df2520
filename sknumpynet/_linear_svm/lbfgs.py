"""L-BFGS-B on the linear SVM objective: one stage of scipy's solver.

Solves :class:`~.objective.LinearObjective`'s mean form over its packed
vector, with the bounds ``P, N >= 0`` of the l1 split; used for the l1
penalty, the plain (smoothed) hinge and epsilon-insensitive losses, the
Crammer-Singer maximum, and after a failed Newton line search.
"""

import numpy as np
from scipy.optimize import minimize

from .results import StageResult

__all__ = ["lbfgs_stage"]

#: L-BFGS stops when its last WINDOW iterations lowered the objective by less
#: than ``rtol`` of its value.
WINDOW = 10


def lbfgs_stage(objective, x, mu, gtol, max_iter, curve, rtol, on_iter=None):
    """One L-BFGS-B run from ``x``.

    Stops at a (projected) gradient entry below ``gtol``, or when the last
    :data:`WINDOW` iterations lowered the objective by less than ``rtol`` of
    its value: on these piecewise-quadratic objectives L-BFGS creeps towards
    the optimum, and the gradient test alone would cost thousands of steps for
    digits that change nothing but the fifth significant digit.

    Parameters
    ----------
    objective : LinearObjective
    x : ndarray
        Starting packed weights.
    mu : float
        Smoothing of the plain losses (0: exact).
    gtol : float
    max_iter : int
    curve : list
        The mean-form objective is appended after every iteration.
    rtol : float
    on_iter : callable, default=None
        ``on_iter(x, value)`` after every iteration; True stops the stage.

    Returns
    -------
    result : StageResult
    """
    start, ended = len(curve), []

    def callback(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if on_iter is not None and on_iter(intermediate_result.x, curve[-1]):
            ended.append("stopped")
            raise StopIteration
        if len(curve) - start > WINDOW:
            if curve[-WINDOW - 1] - curve[-1] <= rtol * abs(curve[-1]):
                ended.append("converged")
                raise StopIteration

    result = minimize(
        lambda v: objective.loss_gradient(v, mu),
        x,
        jac=True,
        method="L-BFGS-B",
        bounds=objective.packing.bounds(),
        callback=callback,
        options={
            "maxiter": max_iter,
            "gtol": gtol,
            "ftol": 1e3 * np.finfo(float).eps,
            "maxcor": 20,
            "maxls": 40,
        },
    )
    # status 1: iteration limit (or the callback's stop); 2: the line search
    # can make no more progress (as good as the floating-point gradient allows)
    if ended:
        status = ended[0]
    else:
        status = "max_iter" if result.status == 1 else "converged"
    return StageResult(result.x, int(result.nit), status)
