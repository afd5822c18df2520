"""Full-batch solvers for the linear SVM objective: pure functions of arrays.

The objective is :class:`~sknumpynet.LinearSVM`'s (and ``LinearSVC``'s, with an
unpenalised intercept)::

    l2:  F(W, b) = 0.5 * ||W||^2 + C * sum_i s_i * loss_i(x_i @ W + b)
    l1:  F(W, b) = ||W||_1       + C * sum_i s_i * loss_i(x_i @ W + b)

``W`` has shape (n_features, n_columns), ``b`` shape (n_columns,), ``s_i`` are
the sample weights and ``loss_i`` the multiclass (squared) hinge of
:class:`sknumpynet.nn.MultiClassHinge` with margin 1. The solvers minimise
``F / (C * sum_i s_i)`` (the mean form that LinearSVM's ``loss_curve_``
reports) with truncated Newton (conjugate gradients on exact Hessian-vector
products, Armijo line search; for one-vs-rest on few features each class's
Hessian is solved directly) or scipy's L-BFGS-B (see ``method`` of
:func:`solve_full_batch`):

- squared hinge: directly (the loss is once differentiable; Newton for "ovr"
  and "weston_watkins", L-BFGS for the Crammer-Singer maximum);
- hinge: the loss is not differentiable at the kink, so it is replaced by its
  Moreau envelope with parameter ``mu`` (a Huber-like smoothing that is exact
  for rows outside the margin and differs by at most ``mu`` elsewhere), solved
  for ``mu = 1, 0.1, ...`` down to :data:`MU_FINAL`, each stage warm-started
  from the previous one (continuation);
- ``penalty="l1"``: ``W = P - N`` with ``P, N >= 0`` makes the penalty the
  linear ``sum(P + N)``, a smooth problem with bounds that L-BFGS-B solves;
  the weights it leaves at their bound are exact zeros.

Sparse CSR ``X`` is densified only for the exact one-vs-rest Newton steps on
few features (at most ``DIRECT_MAX_WEIGHTS`` weights per class and
``DIRECT_MAX_ENTRIES`` entries, in :mod:`sknumpynet._svm_newton`); otherwise
only ``X @ W`` and ``X.T @ G`` are formed, in ``X``'s dtype.

The objective and its losses are in :mod:`sknumpynet._svm_objective`, the
Newton machinery in :mod:`sknumpynet._svm_newton`; this module holds the
L-BFGS-B path, the smoothing continuation and the choice between them.
"""

from collections import namedtuple

import numpy as np
from scipy.optimize import minimize

from ._svm_newton import SvmProblem, newton_stage, overflow_error
from ._svm_objective import objective

__all__ = ["FullBatchResult", "newton_applies", "solve_full_batch"]

#: Smoothing of the plain hinge at the last continuation stage. The smoothed
#: objective is within ``MU_FINAL * C * sum_i s_i`` of the exact one (less: only
#: rows inside the margin contribute), and its optimum's exact objective closer.
MU_FINAL = 1e-3

#: Tolerance of the intermediate smoothing stages, relative to the last one's.
STAGE_TOL_FACTOR = 10.0

#: L-BFGS stops when its last WINDOW iterations lowered the objective by less
#: than ``WINDOW_RTOL_FACTOR * tol`` of its value.
WINDOW = 10
WINDOW_RTOL_FACTOR = 1.0

#: Successive smoothing stages of the plain hinge: ``mu`` is divided by this.
MU_FACTOR = 10.0

FullBatchResult = namedtuple(
    "FullBatchResult", ["W", "b", "n_iter", "converged", "objective", "curve"]
)
FullBatchResult.__doc__ = """Result of :func:`solve_full_batch`.

W : ndarray of shape (n_features, n_columns), float64
b : ndarray of shape (n_columns,), float64 (zeros without intercept)
n_iter : int
    L-BFGS iterations over every stage.
converged : bool
    False when ``max_iter`` stopped the last stage before its tolerance.
objective : float
    The exact (unsmoothed) objective ``F(W, b)`` at the solution.
curve : list of float
    The mean-form objective ``F / (C sum s)`` after each iteration (smoothed
    while a hinge stage runs).
"""


class _Packing:
    """Maps (W, b) to scipy's flat vector: ``[W]`` or ``[P, N]`` for l1, then ``b``."""

    def __init__(self, n_features, n_columns, fit_intercept, penalty):
        self.shape = (n_features, n_columns)
        self.size = n_features * n_columns
        self.l1 = penalty == "l1"
        self.fit_intercept = fit_intercept

    def pack(self, W, b):
        parts = [np.maximum(W, 0).ravel(), np.maximum(-W, 0).ravel()] if self.l1 else [W.ravel()]
        if self.fit_intercept:
            parts.append(b)
        return np.concatenate(parts).astype(np.float64)

    def unpack(self, x):
        W = x[: self.size].reshape(self.shape)
        end = self.size
        if self.l1:
            W = W - x[self.size: 2 * self.size].reshape(self.shape)
            end = 2 * self.size
        b = x[end:] if self.fit_intercept else np.zeros(self.shape[1])
        return W, b

    def pack_grad(self, grad_W, grad_b):
        if self.l1:  # d/dP = 1 + dL/dW, d/dN = 1 - dL/dW
            parts = [1.0 + grad_W.ravel(), 1.0 - grad_W.ravel()]
        else:
            parts = [grad_W.ravel()]
        if self.fit_intercept:
            parts.append(grad_b)
        return np.concatenate(parts)

    def bounds(self):
        if not self.l1:
            return None
        free = self.shape[1] if self.fit_intercept else 0
        return [(0.0, None)] * (2 * self.size) + [(None, None)] * free


def _stage(fun, x0, bounds, gtol, max_iter, curve, rtol, on_iter=None):
    """One L-BFGS-B run; returns (x, n_iter, reached_tolerance).

    Stops at a (projected) gradient entry below ``gtol``, or when the last
    :data:`WINDOW` iterations lowered the objective by less than ``rtol`` of
    its value: on these piecewise-quadratic objectives L-BFGS creeps towards
    the optimum, and the gradient test alone would cost thousands of steps for
    digits that change nothing but the fifth significant digit.
    """
    start, stalled = len(curve), []

    def callback(intermediate_result):
        curve.append(float(intermediate_result.fun))
        if on_iter is not None and on_iter(intermediate_result.x, curve[-1]):
            stalled.append(None)  # stopped from outside
            raise StopIteration
        if len(curve) - start > WINDOW:
            if curve[-WINDOW - 1] - curve[-1] <= rtol * abs(curve[-1]):
                stalled.append(True)
                raise StopIteration

    result = minimize(
        fun, x0, jac=True, method="L-BFGS-B", bounds=bounds, callback=callback,
        options={"maxiter": max_iter, "gtol": gtol, "ftol": 1e3 * np.finfo(float).eps,
                 "maxcor": 20, "maxls": 40},
    )
    # status 1: iteration limit (or the callback's stop); 2: the line search
    # can make no more progress (as good as the floating-point gradient allows)
    return result.x, int(result.nit), bool(stalled) or result.status != 1, None in stalled


def newton_applies(kind, squared, penalty="l2"):
    """Whether ``method="auto"`` of :func:`solve_full_batch` runs truncated Newton.

    Newton needs a loss twice differentiable almost everywhere with a smooth
    gradient: the squared hinge with "ovr" or "weston_watkins" and the l2
    penalty. The l1 penalty's bounds, and the kinks of the plain hinge and of
    the Crammer-Singer maximum, where Newton's line search stalls, go to L-BFGS.

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


def solve_full_batch(
    X, y_index, sample_weight, *, C, kind, squared, fit_intercept=True, penalty="l2",
    W0=None, b0=None, tol=1e-4, max_iter=200, method="auto", callback=None,
):
    """Minimise the linear SVM objective over the full batch.

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
        Learn an unpenalised ``b``; False keeps it at 0.
    penalty : {"l2", "l1"}, default="l2"
    W0 : ndarray of shape (n_features, n_columns), default=None
        Starting weights (zeros when None); the number of columns comes from
        ``W0`` when given, else from ``kind`` and ``y_index.max() + 1``.
    b0 : ndarray of shape (n_columns,), default=None
    tol : float, default=1e-4
        Stop when the largest (projected) gradient entry of the mean-form
        objective falls below ``tol`` times its value at the start (or 1);
        L-BFGS also stops when its last :data:`WINDOW` (10) iterations lowered
        the objective by less than ``tol`` of its value (measured on the four
        small scikit-learn sets: within 0.6% of the optimum with the default).
    max_iter : int, default=200
        Most Newton (or L-BFGS) iterations, over all the smoothing stages
        (one for the squared hinge, ``1 + log10(1 / MU_FINAL)`` for the hinge).
    method : {"auto", "newton", "lbfgs"}, default="auto"
        "newton": truncated Newton (conjugate gradients on exact
        Hessian-vector products; for "ovr" with at most
        ``DIRECT_MAX_WEIGHTS`` weights per class, each class's Hessian
        solved directly) with an Armijo line search; "lbfgs": scipy's
        L-BFGS-B. "auto" is "newton" where :func:`newton_applies` (the
        squared hinge with "ovr" or "weston_watkins" and the l2 penalty),
        else "lbfgs".
    callback : callable, default=None
        ``callback(W, b, value)`` after every iteration, with the current
        weights (float64 arrays, not to be kept) and the mean-form objective
        (smoothed during a hinge stage); returning True stops the solve
        (reported as converged).

    Returns
    -------
    result : FullBatchResult
    """
    if penalty not in ("l2", "l1"):
        raise ValueError(f"penalty must be 'l2' or 'l1', got {penalty!r}.")
    if method == "auto":
        method = "newton" if newton_applies(kind, squared, penalty) else "lbfgs"
    if method not in ("newton", "lbfgs") or (method == "newton" and penalty == "l1"):
        raise ValueError(f"method={method!r} is not available with penalty={penalty!r}.")
    y_index = np.asarray(y_index, dtype=np.intp)
    if W0 is None:
        n_classes = int(y_index.max()) + 1 if y_index.size else 2
        n_columns = 1 if kind == "ovr" and n_classes <= 2 else max(n_classes, 2)
        W0 = np.zeros((X.shape[1], n_columns))
    n_columns = W0.shape[1]
    b0 = np.zeros(n_columns) if b0 is None or not fit_intercept else b0
    W0 = np.asarray(W0, dtype=np.float64)
    b0 = np.asarray(b0, dtype=np.float64)
    # the squared hinge is smooth, but crammer_singer's max over three or more
    # classes is not (with two there is one wrong class, and no tie)
    smooth = squared and (kind != "crammer_singer" or W0.shape[1] <= 2)
    stages = [0.0] if smooth else _smoothing_stages()
    if method == "newton":
        problem = SvmProblem(X, y_index, sample_weight, C=C, kind=kind, squared=squared,
                           fit_intercept=fit_intercept, n_columns=n_columns)
        x = problem.join(W0, b0)

        def run(x, mu, gtol, budget, curve):
            return newton_stage(problem, x, mu, gtol, budget, curve, on_iter)

        def first_gradient(x, mu):
            return problem.gradient(x, problem.scores(x), mu)

        unpack = problem.split
    else:
        packing = _Packing(X.shape[1], n_columns, fit_intercept, penalty)
        x = packing.pack(W0, b0)
        fun = _lbfgs_objective(X, y_index, sample_weight, C, kind, squared, packing)

        def run(x, mu, gtol, budget, curve):
            return _stage(lambda v: fun(v, mu), x, packing.bounds(), gtol, budget, curve,
                          rtol=WINDOW_RTOL_FACTOR * tol, on_iter=on_iter)

        def first_gradient(x, mu):
            return _projected(fun(x, mu)[1], x, packing)

        unpack = packing.unpack
    on_iter = None if callback is None else (lambda v, value: callback(*unpack(v), value))
    g0 = np.abs(first_gradient(x, stages[0]))
    if not np.isfinite(g0).all():
        raise overflow_error(X)
    gtol = tol * max(1.0, float(g0.max(initial=0.0)))
    curve, n_iter, converged = [], 0, True
    for i, mu in enumerate(stages):
        if n_iter >= max_iter:
            converged = False
            break
        # a smoothing stage only warm-starts the next: a looser tolerance will do
        last = i == len(stages) - 1
        x, used, converged, stopped = run(x, mu, gtol if last else STAGE_TOL_FACTOR * gtol,
                                          max_iter - n_iter, curve)
        n_iter += used
        if stopped:
            break
    W, b = unpack(x)
    value = objective(W, b, X, y_index, sample_weight, C=C, kind=kind, squared=squared,
                      penalty=penalty)[0]
    return FullBatchResult(W.copy(), np.array(b, dtype=np.float64), n_iter, converged, value,
                           curve)


def _lbfgs_objective(X, y_index, sample_weight, C, kind, squared, packing):
    """``fun(x, mu) -> (value, gradient)`` of the mean form over ``packing``'s vector."""
    total = y_index.size if sample_weight is None else float(np.sum(sample_weight))
    scale = 1.0 / (C * total)

    def fun(x, mu):
        W, b = packing.unpack(x)
        value, grad_W, grad_b = objective(
            W, b, X, y_index, sample_weight, C=C, kind=kind, squared=squared, mu=mu
        )
        if packing.l1:  # objective() added 0.5||W||^2: swap it for sum(P + N)
            value += x[: 2 * packing.size].sum() - 0.5 * np.vdot(W, W)
            grad_W = grad_W - W
        grad = packing.pack_grad(grad_W, grad_b) * scale
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            raise overflow_error(X)  # finite weights give a finite objective, but for overflow
        return value * scale, grad

    return fun


def _smoothing_stages():
    stages, mu = [], 1.0
    while mu >= MU_FINAL * (1 - 1e-9):
        stages.append(mu)
        mu /= MU_FACTOR
    return stages


def _projected(g, x, packing):
    """The gradient projected on the feasible directions of the bounds."""
    if packing.l1:  # variables at their bound 0 may only move up
        g = g.copy()
        at_bound = np.zeros(g.shape, dtype=bool)
        at_bound[: 2 * packing.size] = x[: 2 * packing.size] <= 0
        g[at_bound] = np.minimum(g[at_bound], 0.0)
    return g
