"""The full-batch driver: smoothing stages, Newton or L-BFGS, and the fallback.

The objective is :class:`~.objective.LinearObjective`'s (LinearSVM's and
LinearSVR's, with an unpenalised intercept)::

    l2:  F(W, b) = 0.5 * ||W||^2 + C * sum_i s_i * loss_i(x_i @ W + b)
    l1:  F(W, b) = ||W||_1       + C * sum_i s_i * loss_i(x_i @ W + b)

minimised in its mean form ``F / (C sum_i s_i)`` by truncated Newton
(:mod:`.newton`) or scipy's L-BFGS-B (:mod:`.lbfgs`), as
:func:`choose_method` decides:

- a smooth loss (the squared hinge, the squared epsilon-insensitive loss)
  is solved directly;
- a plain loss is not differentiable at its kinks, so each kink is replaced
  by its Moreau envelope with parameter ``mu`` (a Huber-like smoothing that
  is exact outside the kink's neighbourhood and differs by at most ``mu``
  there), solved for ``mu = 1, 0.1, ...`` down to :data:`MU_FINAL` (for
  LinearSVR in units of ``y``'s spread where it is below 1), each stage
  warm-started from the previous one (continuation);
- ``penalty="l1"``: ``W = P - N`` with ``P, N >= 0`` makes the penalty the
  linear ``sum(P + N)``, a smooth problem with bounds that L-BFGS-B solves;
  the weights it leaves at their bound are exact zeros.

A Newton stage whose line search fails warns (``ConvergenceWarning``) and
goes on with L-BFGS from where it stopped, as scikit-learn's ``NewtonSolver``.
With ``method="auto"``, an L-BFGS solve of a small l2 problem (at most
:data:`~.newton.EXACT_CG_MAX_WEIGHTS` weights) is finished by exact Newton
steps on its last stage's objective: cheap there, and their quadratic
convergence lands weighted and repeated rows on the same model to 1e-7
(scikit-learn's sample-weight checks), where L-BFGS stopped 1e-5 apart. A
finishing step that finds no decrease ends it where it is, silently.
"""

import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .lbfgs import lbfgs_stage
from .losses import EpsilonInsensitive, MulticlassHinge
from .newton import EXACT_CG_MAX_WEIGHTS, ROUNDING, NewtonSolver, newton_stage
from .objective import LinearObjective
from .results import FullBatchResult

__all__ = ["choose_method", "minimize_objective", "newton_applies", "solve_full_batch"]

#: Smoothing of the plain losses at the last continuation stage, in units of
#: the margin (LinearSVM) or of ``y``'s spread where it is below 1 (LinearSVR,
#: see ``_smoothing_unit``). The smoothed objective is within ``mu * C * sum_i
#: s_i`` of the exact one (less: only rows at a kink contribute), and its
#: optimum's exact objective closer. In units of ``y`` alone, small targets
#: ended 0.1-0.5% above the optimum (coefficients 5-10% off).
MU_FINAL = 1e-3

#: Tolerance of the intermediate smoothing stages, relative to the last one's.
STAGE_TOL_FACTOR = 10.0

#: L-BFGS stops when its last WINDOW iterations lowered the objective by less
#: than ``WINDOW_RTOL_FACTOR * tol`` of its value.
WINDOW_RTOL_FACTOR = 1.0

#: Successive smoothing stages: ``mu`` is divided by this.
MU_FACTOR = 10.0


def newton_applies(kind, squared, penalty="l2"):
    """Whether LinearSVM's full-batch fit runs truncated Newton (see :func:`choose_method`).

    Parameters
    ----------
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    squared : bool
    penalty : {"l2", "l1"}, default="l2"

    Returns
    -------
    bool
    """
    return squared and kind != "crammer_singer" and penalty == "l2"


def choose_method(loss, penalty="l2"):
    """The full-batch method for a loss: "newton" or "lbfgs".

    Newton needs a loss twice differentiable almost everywhere with a
    smooth gradient: the squared hinge with "ovr" or "weston_watkins", or
    the squared epsilon-insensitive loss, and the l2 penalty. The l1
    penalty's bounds, and the kinks of the plain losses and of the
    Crammer-Singer maximum, where Newton's line search stalls, go to L-BFGS.

    Parameters
    ----------
    loss : MulticlassHinge or EpsilonInsensitive
    penalty : {"l2", "l1"}, default="l2"

    Returns
    -------
    method : {"newton", "lbfgs"}
    """
    newton = loss.squared and getattr(loss, "kind", None) != "crammer_singer"
    return "newton" if newton and penalty == "l2" else "lbfgs"


def solve_full_batch(
    X,
    y_index,
    sample_weight,
    *,
    C,
    kind,
    squared,
    fit_intercept=True,
    penalty="l2",
    W0=None,
    b0=None,
    tol=1e-4,
    max_iter=200,
    method="auto",
    callback=None,
):
    """Minimise LinearSVM's objective over the full batch.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        float32 data is multiplied in float32, anything else in float64.
    y_index : ndarray of int of shape (n_samples,)
        Class index of each row.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights ``s_i`` (class weights already multiplied in).
    C : float
        Weight of the data term, positive.
    kind : {"ovr", "crammer_singer", "weston_watkins"}
        With ``kind="ovr"`` and two classes, one column (the binary SVM).
    squared : bool
        Squared hinge (True) or hinge (False).
    fit_intercept : bool, default=True
    penalty : {"l2", "l1"}, default="l2"
    W0 : ndarray of shape (n_features, n_columns), default=None
        Starting weights (zeros when None); the number of columns comes from
        ``W0`` when given, else from ``kind`` and ``y_index.max() + 1``.
    b0 : ndarray of shape (n_columns,), default=None
    tol, max_iter, method, callback
        As in :func:`minimize_objective`.

    Returns
    -------
    result : FullBatchResult
    """
    y_index = np.asarray(y_index, dtype=np.intp)
    if W0 is None:
        n_classes = int(y_index.max()) + 1 if y_index.size else 2
        n_columns = 1 if kind == "ovr" and n_classes <= 2 else max(n_classes, 2)
        W0 = np.zeros((X.shape[1], n_columns))
    loss = MulticlassHinge(y_index, W0.shape[1], kind, squared)
    objective = LinearObjective(
        X, loss, sample_weight, C=C, fit_intercept=fit_intercept, penalty=penalty
    )
    return minimize_objective(
        objective, W0, b0, tol=tol, max_iter=max_iter, method=method, callback=callback
    )


def minimize_objective(
    objective, W0=None, b0=None, *, tol=1e-4, max_iter=200, method="auto", callback=None
):
    """Minimise a :class:`~.objective.LinearObjective` from ``(W0, b0)``.

    Parameters
    ----------
    objective : LinearObjective
    W0 : ndarray of shape (n_features, n_columns), default=None
        Starting weights (zeros when None).
    b0 : ndarray of shape (n_columns,), default=None
    tol : float, default=1e-4
        Stop when the largest (projected) gradient entry of the mean-form
        objective falls below ``tol`` times its value at the start (or 1),
        and, for Newton, half the Newton decrement below ``tol`` times the
        starting objective (or 1); L-BFGS also stops when its last 10
        iterations lowered the objective by less than ``tol`` of its value.
    max_iter : int, default=200
        Most Newton (or L-BFGS) iterations, over all the smoothing stages.
    method : {"auto", "newton", "lbfgs"}, default="auto"
        "auto" is :func:`choose_method`'s choice.
    callback : callable, default=None
        ``callback(W, b, value)`` after every iteration, with the current
        weights (float64 arrays, not to be kept) and the mean-form objective
        (smoothed during a smoothing stage); returning True stops the solve
        (reported as converged).

    Returns
    -------
    result : FullBatchResult
    """
    packing = objective.packing
    polish = method == "auto" and not packing.l1 and packing.n_weights <= EXACT_CG_MAX_WEIGHTS
    if method == "auto":
        method = choose_method(objective.loss, objective.penalty)
    if method not in ("newton", "lbfgs") or (method == "newton" and packing.l1):
        raise ValueError(f"method={method!r} is not available with penalty={objective.penalty!r}.")
    W0 = np.zeros(packing.shape) if W0 is None else np.asarray(W0, dtype=np.float64)
    b0 = np.zeros(packing.shape[1]) if b0 is None else np.asarray(b0, dtype=np.float64)
    x = packing.pack(W0, b0)
    stages = [0.0] if objective.loss.smooth else _smoothing_stages(_smoothing_unit(objective))
    on_iter = None if callback is None else (lambda v, value: callback(*packing.unpack(v), value))
    f0, g0 = objective.loss_gradient(x, stages[0])
    gtol = tol * max(1.0, float(np.abs(packing.projected(g0, x)).max(initial=0.0)))
    dtol = tol * max(1.0, abs(f0))
    run = _Stages(objective, method, tol, on_iter)
    curve, n_iter, converged = [], 0, True
    for i, mu in enumerate(stages):
        if n_iter >= max_iter:
            converged = False
            break
        # a smoothing stage only warm-starts the next: a looser tolerance will do
        factor = 1.0 if i == len(stages) - 1 else STAGE_TOL_FACTOR
        result = run(x, mu, factor * gtol, factor * dtol, max_iter - n_iter, curve)
        x, n_iter, converged = result.x, n_iter + result.n_iter, result.converged
        if result.status == "stopped":
            break
    else:
        if polish and method == "lbfgs" and converged and n_iter < max_iter:
            x, used = _polish(objective, x, stages[-1], max_iter - n_iter, curve, on_iter)
            n_iter += used
    W, b = packing.unpack(x)
    return FullBatchResult(
        np.array(W, dtype=np.float64),
        np.array(b, dtype=np.float64),
        n_iter,
        converged,
        objective.exact(x),
        curve,
        run.method,
    )


class _Stages:
    """Runs one stage with the chosen method; a failed Newton line search falls back on L-BFGS."""

    def __init__(self, objective, method, tol, on_iter):
        self.objective, self.method, self.tol, self.on_iter = objective, method, tol, on_iter
        self.newton = NewtonSolver(objective) if method == "newton" else None

    def __call__(self, x, mu, gtol, dtol, budget, curve):
        if self.method == "newton":
            result = newton_stage(
                self.objective, x, mu, gtol, dtol, budget, curve, self.on_iter, self.newton
            )
            if result.status != "line_search_failed":
                return result
            warnings.warn(
                f"Newton solver: the line search found no decrease after {len(curve)} "
                "iterations (the data may be badly scaled or collinear); going on with "
                "L-BFGS. Standardise the features or pass solver='lbfgs'.",
                ConvergenceWarning,
            )
            self.method = "lbfgs"
            used = result.n_iter
            result = self(result.x, mu, gtol, dtol, budget - used, curve)
            return result._replace(n_iter=result.n_iter + used)
        return lbfgs_stage(
            self.objective,
            x,
            mu,
            gtol,
            budget,
            curve,
            rtol=WINDOW_RTOL_FACTOR * self.tol,
            on_iter=self.on_iter,
        )


def _polish(objective, x, mu, budget, curve, on_iter):
    """Exact Newton steps from an L-BFGS solution, to rounding level: ``(x, steps)``.

    Stops once a step's predicted decrease (half its Newton decrement) is
    below the objective's rounding, which exact steps on these piecewise
    quadratics reach in a few steps. Every step taken passed the line search
    (a descent step): where a step finds no decrease, the point before it stays.
    """
    value = objective.value(x, objective.scores(x), mu)
    dtol = ROUNDING * max(1.0, abs(value))
    result = newton_stage(objective, x, mu, np.inf, dtol, budget, curve, on_iter, first_step=True)
    return result.x, result.n_iter


def _smoothing_unit(objective):
    """The unit of ``mu``: 1 for margins (LinearSVM); for LinearSVR's residuals,
    in units of ``y``, the weighted mean absolute deviation of ``y`` where it is
    below 1 (small targets), else 1.

    Continuous in the data and the same for weights as for repeated rows, so the
    stages, fixed in number, solve the same problems for both.
    """
    if not isinstance(objective.loss, EpsilonInsensitive):
        return 1.0
    w, y = objective.weight, objective.loss.y[:, 0]
    spread = float(w @ np.abs(y - (w @ y) / w.sum())) / w.sum()
    return min(1.0, spread) if spread > 0 else 1.0


def _smoothing_stages(unit=1.0):
    stages, mu = [], 1.0
    while mu >= MU_FINAL * (1 - 1e-9):
        stages.append(unit * mu)
        mu /= MU_FACTOR
    return stages
