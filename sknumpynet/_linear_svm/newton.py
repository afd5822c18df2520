"""Truncated Newton on the linear SVM objective: Hessians, conjugate gradients, steps.

The mean-form objective of :class:`~.objective.LinearObjective` (l2 penalty)
is minimised over its packed vector ``x = [W.ravel(), b]``. Each Newton step
solves ``H d = -g`` by Jacobi-preconditioned conjugate gradients on exact
Hessian-vector products, or, for losses whose score columns are independent
(one-vs-rest, LinearSVR) on few features, column by column with the Hessian
blocks formed and solved directly; an Armijo line search follows.

As scikit-learn's ``NewtonSolver``, a stage has converged when the gradient's
largest entry is below ``gtol`` and half the Newton decrement ``d^T H d`` of
the last step below ``dtol``; a line search that finds no decrease ends the
stage with ``status="line_search_failed"``, and the driver
(:mod:`.full_batch`) warns and goes on with L-BFGS.
"""

from typing import NamedTuple

import numpy as np

from .objective import overflow_error
from .results import StageResult

__all__ = ["LineSearchResult", "NewtonSolver", "newton_stage"]

#: Most conjugate-gradient steps per Newton step.
MAX_CG = 200

#: Conjugate gradients stop when the residual is below this share of the
#: gradient. A fixed forcing term: on the sparse benchmark 97 Hessian products
#: reach the optimum, against 157 for ``min(0.1, sqrt(|g| / |g0|))``; 0.3 took
#: 79 there but 68 Newton steps instead of 27 on standardized digits.
FORCING = 0.1

#: Problems of at most this many weights solve each Newton step by conjugate
#: gradients to ``EXACT_FORCING`` (at most one product per weight): exact
#: Newton steps, whose quadratic convergence ends far inside the tolerance, so
#: that weighted and repeated rows give the same model to 1e-7 (scikit-learn's
#: sample-weight checks) where the fixed forcing converged linearly and
#: stopped 1e-5 apart (Weston-Watkins).
EXACT_CG_MAX_WEIGHTS = 512
EXACT_FORCING = 1e-10

#: One-vs-rest Hessians of at most this many entries of ``X`` times classes are
#: formed in one batched product (:func:`_grams`); larger ones class by class,
#: over the active rows only.
SMALL_GRAM_SIZE = 50_000

#: Changes of the objective within this share of its value are rounding.
ROUNDING = 64 * np.finfo(float).eps

#: A step whose predicted decrease is below this share of the objective may be
#: taken on the gradient's word alone (see :func:`_line_search`).
ROUNDING_SLOPE = 1e3 * ROUNDING

#: One-vs-rest Newton steps solve each class's Hessian directly (formed as
#: ``X^T diag(a) X``) instead of by conjugate gradients when a class has at most
#: this many weights (features + intercept) ...
DIRECT_MAX_WEIGHTS = 128

#: ... and ``n_samples * weights`` is at most this: the direct steps keep a
#: float64 copy of ``X`` with a column of ones (80 MB at most), dense or sparse.
DIRECT_MAX_ENTRIES = 10_000_000


class NewtonSolver:
    """Newton directions for a :class:`~.objective.LinearObjective` (l2 penalty).

    Parameters
    ----------
    objective : LinearObjective
    """

    def __init__(self, objective):
        if objective.packing.l1:
            raise ValueError("Newton needs the l2 penalty (l1 is solved by L-BFGS-B).")
        self.objective = objective
        self._X1 = self._ridge = None

    def direction(self, S, mu, g):
        """The Newton step ``-H^-1 g`` at scores ``S``: direct or by conjugate gradients."""
        objective = self.objective
        X, packing = objective.X, objective.packing
        n_weights = X.shape[1] + packing.fit_intercept
        if (
            objective.loss.separable
            and n_weights <= DIRECT_MAX_WEIGHTS
            and (X.shape[0] * n_weights <= DIRECT_MAX_ENTRIES)
        ):
            return self._direct_direction(S, mu, g)
        hessp, diagonal = objective.hessian(S, mu)
        forcing = EXACT_FORCING if g.size <= EXACT_CG_MAX_WEIGHTS else FORCING
        d = _conjugate_gradient(hessp, diagonal, g, forcing, max_cg=min(MAX_CG, g.size))
        if objective.loss.shift_invariant and packing.fit_intercept:
            # the loss sees only score differences: a shift of every intercept
            # changes nothing, so keep their sum where it is (unique optimum)
            d[packing.size :] -= d[packing.size :].mean()
        return d

    def _direct_direction(self, S, mu, g):
        """Independent score columns: solve each column's block of the Hessian."""
        objective = self.objective
        packing, scale = objective.packing, objective.scale
        _, A = objective.loss.curvature(S, mu, objective.weight)
        if self._X1 is None:
            X = objective.X
            n, d = X.shape
            self._X1 = np.ones((n, d + packing.fit_intercept))  # the intercept's column
            self._X1[:, :d] = X.toarray() if hasattr(X, "toarray") else X
            # the penalty on W and the intercept's damping, as in hessian()
            n_b = int(packing.fit_intercept)
            self._ridge = np.diag(np.r_[np.full(d, scale), np.full(n_b, objective.DAMPING)])
        n_w = packing.shape[0]
        gW, gb = packing.unpack(g)
        G = np.vstack([gW, gb[None, :]]) if packing.fit_intercept else gW
        H = _grams(self._X1, A) * scale + self._ridge
        D = -np.linalg.solve(H, G.T[:, :, None])[:, :, 0].T  # (p, k)
        return packing.pack_grad(D[:n_w], D[n_w] if packing.fit_intercept else None)


def _grams(X, A):
    """``X^T diag(A[:, j]) X`` for every column ``j`` of ``A >= 0``: shape (k, p, p)."""
    if X.size * A.shape[1] <= SMALL_GRAM_SIZE:  # one batched product: less overhead
        return (X.T[None, :, :] * A.T[:, None, :]) @ X
    grams = []
    for a in A.T:  # over the rows where a > 0 only
        rows = np.flatnonzero(a)
        Xa = X[rows] * np.sqrt(a[rows])[:, None]
        grams.append(Xa.T @ Xa)  # numpy computes A^T A with one symmetric BLAS call
    return np.stack(grams)


def _conjugate_gradient(hessp, diagonal, g, eta, max_cg):
    """Approximately solve ``H d = -g`` by Jacobi-preconditioned CG."""
    d = np.zeros_like(g)
    r = -g
    z = r / diagonal
    p, rz = z.copy(), r @ z
    goal = eta * np.sqrt(g @ g)
    for _ in range(max_cg):
        Hp = hessp(p)
        curvature = p @ Hp
        if curvature <= 0:
            break
        alpha = rz / curvature
        d += alpha * p
        r -= alpha * Hp
        if np.sqrt(r @ r) <= goal:
            break
        z = r / diagonal
        rz, rz_old = r @ z, rz
        p = z + (rz / rz_old) * p
    return d if d.any() else -g / diagonal


class LineSearchResult(NamedTuple):
    """What :func:`_line_search` found along a direction.

    Attributes
    ----------
    step : float or None
        The step length taken; None when none lowered the objective.
    value : float
        The objective after the step (before it when ``step`` is None).
    gradient : ndarray or None
        The gradient after the step when the search had to compute it.
    """

    step: object
    value: float
    gradient: object = None


def newton_stage(
    objective, x, mu, gtol, dtol, max_iter, curve, on_iter=None, solver=None, first_step=False
):
    """Truncated Newton with an Armijo line search, from ``x``.

    Parameters
    ----------
    objective : LinearObjective
    x : ndarray
        Starting packed weights.
    mu : float
        Smoothing of the plain hinge (0 for smooth losses).
    gtol : float
        Largest gradient entry at which the stage may stop ...
    dtol : float
        ... when half the Newton decrement of the last step, ``0.5 d^T H d``
        (the objective's predicted decrease), is below this as well.
    max_iter : int
    curve : list
        The mean-form objective is appended after every step.
    on_iter : callable, default=None
        ``on_iter(x, value)`` after every step; True stops the stage.
    solver : NewtonSolver, default=None
        Reused between stages (it caches a dense copy of ``X``).
    first_step : bool, default=False
        Take a step even where the gradient is already below ``gtol`` at
        ``x`` (then the decrement decides when to stop): to finish another
        solver's result.

    Returns
    -------
    result : StageResult
    """
    solver = NewtonSolver(objective) if solver is None else solver
    S = objective.scores(x)
    f, g = objective.value(x, S, mu), objective.gradient(x, S, mu)
    decrement = np.inf  # no step yet: the gradient alone decides, unless first_step
    for it in range(max_iter + 1):
        gmax = np.abs(g).max(initial=0.0)
        if gmax <= gtol and ((it == 0 and not first_step) or 0.5 * decrement <= dtol):
            return StageResult(x, it, "converged")
        if it == max_iter:
            return StageResult(x, it, "max_iter")
        d = solver.direction(S, mu, g)
        dS = objective.scores(d)  # the scores are linear in (W, b)
        slope = g @ d
        if not np.isfinite(slope):  # the Hessian overflowed: no step can be trusted
            raise overflow_error(objective.X)
        if slope >= 0:  # not a descent direction (rounding): fall back on the gradient
            d, slope = -g, -(g @ g)
            dS = objective.scores(d)
        decrement = -slope  # d^T H d = -g^T d for the Newton direction
        found = _line_search(objective, x, S, d, dS, mu, f, slope, gmax)
        if found.step is None:
            # no decrease left at floating-point precision is as converged as it
            # gets; a failure above that is one (the driver falls back on L-BFGS)
            rounding = decrement <= ROUNDING_SLOPE * abs(f)
            return StageResult(x, it, "converged" if rounding else "line_search_failed")
        x, S, f = x + found.step * d, S + found.step * dS, found.value
        g = objective.gradient(x, S, mu) if found.gradient is None else found.gradient
        curve.append(f)
        if on_iter is not None and on_iter(x, f):
            return StageResult(x, it + 1, "stopped")
    return StageResult(x, max_iter, "max_iter")


def _line_search(objective, x, S, d, dS, mu, f, slope, gmax):
    """Armijo backtracking along ``d``.

    Near the optimum a Newton step lowers ``f`` by less than its rounding; when
    the predicted decrease ``-slope`` is that small, the full step is taken if
    ``f`` rose by no more than rounding and the gradient shrank.

    Returns
    -------
    result : LineSearchResult
        ``step`` is None when no step is taken in 40 halvings.
    """
    step = 1.0
    for _ in range(40):
        x_new, S_new = x + step * d, S + step * dS
        f_new = objective.value(x_new, S_new, mu)
        if f_new <= f + 1e-4 * step * slope:
            return LineSearchResult(step, f_new)
        if step == 1.0 and -slope <= ROUNDING_SLOPE * abs(f) and f_new <= f + ROUNDING * abs(f):
            g_new = objective.gradient(x_new, S_new, mu)
            if np.abs(g_new).max() < gmax:
                return LineSearchResult(step, f_new, g_new)
        step *= 0.5
    return LineSearchResult(None, f)
