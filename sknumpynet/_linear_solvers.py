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
few features (at most :data:`DIRECT_MAX_WEIGHTS` weights per class and
:data:`DIRECT_MAX_ENTRIES` entries); otherwise only ``X @ W`` and ``X.T @ G``
are formed, in ``X``'s dtype.
"""

from collections import namedtuple

import numpy as np
from scipy.optimize import minimize

__all__ = ["FullBatchResult", "margin_loss", "objective", "solve_full_batch"]

KINDS = ("ovr", "crammer_singer", "weston_watkins")

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

#: Most conjugate-gradient steps per Newton step.
MAX_CG = 200

#: Conjugate gradients stop when the residual is below this share of the
#: gradient. A fixed forcing term: on the sparse benchmark 97 Hessian products
#: reach the optimum, against 157 for ``min(0.1, sqrt(|g| / |g0|))``; 0.3 took
#: 79 there but 68 Newton steps instead of 27 on standardized digits.
FORCING = 0.1

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


def _hinge(Z, squared, mu):
    """Value and derivative of the (squared, or ``mu``-smoothed) hinge of ``Z``."""
    if squared:
        H = np.maximum(Z, 0.0)
        return H * H, 2.0 * H
    if mu == 0:
        return np.maximum(Z, 0.0), (Z > 0).astype(Z.dtype)
    D = np.clip(Z * (1.0 / mu), 0.0, 1.0)  # Moreau envelope of max(0, z)
    return np.where(Z >= mu, Z - 0.5 * mu, 0.5 * mu * D * D), D


def _simplex_projection(V):
    """Euclidean projection of each row of ``V`` onto the probability simplex."""
    U = -np.sort(-V, axis=1)
    css = np.cumsum(U, axis=1) - 1.0
    ind = np.arange(1, V.shape[1] + 1)
    rho = np.count_nonzero(U * ind > css, axis=1)
    theta = css[np.arange(V.shape[0]), rho - 1] / rho
    return np.maximum(V - theta[:, None], 0.0)


def _crammer_singer(Z, y_index, squared, mu):
    """Loss and d(loss)/dZ of ``max_j max(0, Z_j)`` with ``Z_y = 0``, per row."""
    n, k = Z.shape
    rows = np.arange(n)
    grad = np.zeros_like(Z)
    if mu == 0:
        worst = Z.argmax(axis=1)
        loss, d = _hinge(Z[rows, worst], squared, 0.0)
        grad[rows, worst] = d
        return loss, grad
    # Moreau envelope of the max over the simplex, centred on e_y:
    # f(z) = max_p p.z - mu/2 ||p - e_y||^2; rows with every Z_j <= 0 give 0
    active = np.flatnonzero(Z.max(axis=1) > 0)
    loss = np.zeros(n, dtype=Z.dtype)
    if active.size:
        Za, ya = Z[active], y_index[active]
        E = np.zeros_like(Za)
        E[np.arange(active.size), ya] = 1.0
        P = _simplex_projection(E + Za * (1.0 / mu))
        envelope = (P * Za).sum(axis=1) - 0.5 * mu * ((P - E) ** 2).sum(axis=1)
        if squared:  # the envelope is >= 0 (p = e_y gives 0): its square is smooth too
            loss[active] = envelope**2
            grad[active] = (2.0 * envelope)[:, None] * P
        else:
            loss[active] = envelope
            grad[active] = P
    return loss, grad


def _ovr_targets(y_index, n_columns):
    """The +-1 targets of one-vs-rest.

    Parameters
    ----------
    y_index : ndarray of int of shape (n_samples,)
    n_columns : int
        1 for the binary SVM (targets ``2 y - 1``), else the number of classes.

    Returns
    -------
    targets : ndarray of shape (n_samples, n_columns)
    """
    if n_columns == 1:
        return (2.0 * y_index - 1.0)[:, None]
    T = np.full((y_index.size, n_columns), -1.0)
    T[np.arange(y_index.size), y_index] = 1.0
    return T


def margin_loss(S, y_index, kind, squared, mu=0.0, targets=None):
    """Per-sample multiclass hinge loss of scores and its gradient.

    Parameters
    ----------
    S : ndarray of shape (n_samples, n_columns)
        Scores ``X @ W + b``. One column is the binary SVM (``kind="ovr"`` only).
    y_index : ndarray of int of shape (n_samples,)
        Class index of each row (0 or 1 for one column).
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    squared : bool
        Square each hinge term.
    mu : float, default=0.0
        Smoothing of the plain hinge (ignored when ``squared``); 0 is exact.
    targets : ndarray of shape (n_samples, n_columns), default=None
        ``_ovr_targets(y_index, n_columns)`` when already at hand ("ovr" only).

    Returns
    -------
    loss : ndarray of shape (n_samples,)
    grad : ndarray of shape (n_samples, n_columns)
        d(loss_i)/d(S_i).
    """
    n, k = S.shape
    rows = np.arange(n)
    if kind == "ovr":
        T = _ovr_targets(y_index, k) if targets is None else targets
        H, D = _hinge(1.0 - T * S, squared, mu)
        return H.sum(axis=1), -T * D
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    Z = 1.0 + S - S[rows, y_index][:, None]
    if kind == "weston_watkins":
        Z[rows, y_index] = -1.0  # no term for the true class
        H, G = _hinge(Z, squared, mu)
        loss = H.sum(axis=1)
    else:
        Z[rows, y_index] = 0.0
        loss, G = _crammer_singer(Z, y_index, squared, mu)
    G[rows, y_index] = 0.0
    G[rows, y_index] = -G.sum(axis=1)
    return loss, G


def objective(W, b, X, y_index, sample_weight, *, C, kind, squared, penalty="l2", mu=0.0):
    """The SVM objective ``F(W, b)`` and its gradient.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_columns)
    b : ndarray of shape (n_columns,)
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y_index : ndarray of int of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,) or None
    C : float
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    squared : bool
    penalty : {"l2", "l1"}, default="l2"
        For "l1" the returned gradient of the penalty is ``sign(W)`` (a
        subgradient, 0 at 0).
    mu : float, default=0.0
        Smoothing of the plain hinge; 0 is the exact objective.

    Returns
    -------
    value : float
    grad_W : ndarray of shape (n_features, n_columns), float64
    grad_b : ndarray of shape (n_columns,), float64
    """
    S = np.asarray(X @ W.astype(X.dtype, copy=False), dtype=np.float64) + b
    loss, G = margin_loss(S, y_index, kind, squared, mu)
    weight = C if sample_weight is None else C * np.asarray(sample_weight, dtype=np.float64)
    if sample_weight is None:
        data, G = C * loss.sum(), C * G
    else:
        data, G = weight @ loss, weight[:, None] * G
    grad_W = np.asarray(X.T @ G.astype(X.dtype, copy=False), dtype=np.float64)
    if penalty == "l1":
        return float(np.abs(W).sum() + data), grad_W + np.sign(W), G.sum(axis=0)
    return float(0.5 * np.vdot(W, W) + data), grad_W + W, G.sum(axis=0)


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
        :data:`DIRECT_MAX_WEIGHTS` weights per class, each class's Hessian
        solved directly) with an Armijo line search; "lbfgs": scipy's
        L-BFGS-B. "auto" is "newton" where the loss is twice differentiable
        almost everywhere with a smooth gradient (the squared hinge with
        "ovr" or "weston_watkins" and the l2 penalty), else "lbfgs": the
        l1 penalty's bounds, and the kinks of the plain hinge and of the
        Crammer-Singer maximum, where Newton's line search stalls.
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
        smooth = squared and kind != "crammer_singer" and penalty == "l2"
        method = "newton" if smooth else "lbfgs"
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
        problem = _Problem(X, y_index, sample_weight, C=C, kind=kind, squared=squared,
                           fit_intercept=fit_intercept, n_columns=n_columns)
        x = problem.join(W0, b0)

        def run(x, mu, gtol, budget, curve):
            return _newton_stage(problem, x, mu, gtol, budget, curve, on_iter)

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
    gtol = tol * max(1.0, float(np.abs(first_gradient(x, stages[0])).max(initial=0.0)))
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
        return value * scale, packing.pack_grad(grad_W, grad_b) * scale

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


# -- second order: Hessian-vector products for Newton-CG ---------------------------


def _curvature(S, y_index, kind, squared, mu, weight, targets=None):
    """The Hessian of ``sum_i weight_i * loss_i`` in the scores, as an operator.

    Returns ``(hess, diag)``: ``hess(dS)`` is the (n, k) product of each row's
    k x k Hessian with the row of ``dS``; ``diag`` (n, k) is each Hessian's
    diagonal (for the preconditioner). For the plain hinge it is the
    Hessian of the ``mu``-smoothed loss (``mu > 0``). ``targets``: as in
    :func:`margin_loss`.
    """
    n, k = S.shape
    rows = np.arange(n)
    w = weight[:, None]

    def curv(Z):  # second derivative of the (squared / smoothed) hinge
        if squared:
            return 2.0 * (Z > 0)
        return ((Z > 0) & (Z <= mu)) * (1.0 / mu)

    if kind == "ovr":
        T = _ovr_targets(y_index, k) if targets is None else targets
        A = w * curv(1.0 - T * S)
        return (lambda dS: A * dS), A
    Z = 1.0 + S - S[rows, y_index][:, None]
    if kind == "weston_watkins":
        Z[rows, y_index] = -1.0
        A = w * curv(Z)
        D = A.copy()
        D[rows, y_index] = A.sum(axis=1)

        def hess(dS):
            R = A * (dS - dS[rows, y_index][:, None])
            R[rows, y_index] = -R.sum(axis=1)
            return R

        return hess, D
    Z[rows, y_index] = 0.0
    if squared and mu > 0:
        return _squared_crammer_singer_curvature(Z, y_index, mu, weight)
    if squared:
        worst = Z.argmax(axis=1)
        a = weight * curv(Z[rows, worst])
        D = np.zeros_like(S)
        D[rows, worst] = a
        D[rows, y_index] = a  # a is 0 where worst == y

        def hess(dS):
            r = a * (dS[rows, worst] - dS[rows, y_index])
            R = np.zeros_like(dS)
            R[rows, worst] = r
            R[rows, y_index] -= r
            return R

        return hess, D
    return _crammer_singer_curvature(Z, y_index, mu, weight)


def _crammer_singer_curvature(Z, y_index, mu, weight):
    """Hessian operator of the smoothed Crammer-Singer hinge (see :func:`_curvature`).

    The gradient in ``Z`` is ``p = proj_simplex(e_y + Z / mu)``, whose Jacobian
    is ``(diag(m) - m m^T / |m|) / mu`` with ``m`` the support of ``p``.
    """
    n, k = Z.shape
    rows = np.arange(n)
    M = np.zeros_like(Z)
    active = np.flatnonzero(Z.max(axis=1) > 0)
    if active.size:
        E = np.zeros((active.size, k))
        E[np.arange(active.size), y_index[active]] = 1.0
        M[active] = _simplex_projection(E + Z[active] * (1.0 / mu)) > 0
    size = np.maximum(M.sum(axis=1), 1.0)
    scale = (weight / mu)[:, None]
    D = scale * M * (1.0 - 1.0 / size[:, None])
    others = M.sum(axis=1) - M[rows, y_index]  # support outside y
    D[rows, y_index] = scale[:, 0] * (others - others * others / size)

    def hess(dS):
        dZ = dS - dS[rows, y_index][:, None]
        P = M * dZ
        dp = scale * (P - M * (P.sum(axis=1) / size)[:, None])
        dp[rows, y_index] = 0.0
        dp[rows, y_index] = -dp.sum(axis=1)
        return dp

    return hess, D


def _squared_crammer_singer_curvature(Z, y_index, mu, weight):
    """Hessian operator of the squared smoothed Crammer-Singer hinge, ``m(Z)**2``.

    With ``m`` the envelope and ``p`` its gradient in ``Z`` (as in
    :func:`_crammer_singer_curvature`), the Hessian in ``Z`` is
    ``2 p p^T + 2 m J`` with ``J`` the envelope's Hessian; both are mapped to
    the scores as there (``Z_j = 1 + S_j - S_y``).
    """
    rows = np.arange(Z.shape[0])
    envelope, P = _crammer_singer(Z, y_index, False, mu)
    inner, inner_diag = _crammer_singer_curvature(Z, y_index, mu, 2.0 * weight * envelope)
    Pw = P * np.sqrt(2.0 * weight)[:, None]  # 2 w p p^T = Pw Pw^T
    Pw[rows, y_index] = 0.0
    Q = Pw.copy()
    Q[rows, y_index] = -Pw.sum(axis=1)  # p mapped to the scores

    def hess(dS):
        return inner(dS) + Q * (Q * dS).sum(axis=1)[:, None]

    return hess, inner_diag + Q * Q


class _Problem:
    """The mean-form objective ``F / (C sum s)`` over flat ``x = [W.ravel(), b]``."""

    def __init__(self, X, y_index, sample_weight, *, C, kind, squared, fit_intercept,
                 n_columns):
        self.X, self.y, self.kind, self.squared = X, y_index, kind, squared
        self.fit_intercept = fit_intercept
        self.shape = (X.shape[1], n_columns)
        self.size = X.shape[1] * n_columns
        s = np.ones(y_index.size) if sample_weight is None else np.asarray(sample_weight, float)
        self.weight = C * s
        self.scale = 1.0 / self.weight.sum()
        self.targets = _ovr_targets(y_index, n_columns) if kind == "ovr" else None
        self._X2 = self._X1 = self._ridge = None

    def split(self, x):
        W = x[: self.size].reshape(self.shape)
        b = x[self.size:] if self.fit_intercept else np.zeros(self.shape[1])
        return W, b

    def join(self, gW, gb):
        return np.concatenate([gW.ravel(), gb]) if self.fit_intercept else gW.ravel()

    def scores(self, x):
        W, b = self.split(x)
        return np.asarray(self.X @ W.astype(self.X.dtype, copy=False), dtype=np.float64) + b

    def value(self, x, S, mu):
        """Objective from the scores ``S`` of ``x`` (no product with X)."""
        loss, _ = margin_loss(S, self.y, self.kind, self.squared, mu, self.targets)
        W = x[: self.size]
        return float(0.5 * W @ W + self.weight @ loss) * self.scale

    def gradient(self, x, S, mu):
        W, _ = self.split(x)
        _, G = margin_loss(S, self.y, self.kind, self.squared, mu, self.targets)
        G *= self.weight[:, None]
        gW = np.asarray(self.X.T @ G.astype(self.X.dtype, copy=False), dtype=np.float64) + W
        return self.join(gW, G.sum(axis=0)) * self.scale

    def hessian(self, S, mu):
        """``(hessp, diagonal)`` of the mean-form objective at scores ``S``."""
        hess, D = _curvature(S, self.y, self.kind, self.squared, mu, self.weight, self.targets)
        X, scale = self.X, self.scale
        damping = 1e-6  # keeps the intercept's block definite where no row is curved

        def hessp(v):
            V, vb = self.split(v)
            R = hess(np.asarray(X @ V.astype(X.dtype, copy=False), dtype=np.float64) + vb)
            HV = np.asarray(X.T @ R.astype(X.dtype, copy=False), dtype=np.float64) + V
            return self.join(HV * scale, R.sum(axis=0) * scale + damping * vb)

        if self._X2 is None:
            self._X2 = X.multiply(X).tocsr() if hasattr(X, "multiply") else X * X
        dW = np.asarray(self._X2.T @ D.astype(X.dtype, copy=False), dtype=np.float64) + 1.0
        return hessp, self.join(dW * scale, D.sum(axis=0) * scale + damping)

    def newton_direction(self, S, mu, g):
        """The Newton step ``-H^-1 g`` at scores ``S``: direct or by conjugate gradients."""
        n_weights = self.X.shape[1] + self.fit_intercept
        if self.kind == "ovr" and n_weights <= DIRECT_MAX_WEIGHTS and (
            self.X.shape[0] * n_weights <= DIRECT_MAX_ENTRIES
        ):
            return self._direct_ovr_direction(S, mu, g)
        hessp, diagonal = self.hessian(S, mu)
        d = _conjugate_gradient(hessp, diagonal, g, FORCING, max_cg=min(MAX_CG, g.size))
        if self.kind != "ovr" and self.fit_intercept:
            # the loss sees only score differences: a shift of every intercept
            # changes nothing, so keep their sum where it is (unique optimum)
            d[self.size:] -= d[self.size:].mean()
        return d

    def _direct_ovr_direction(self, S, mu, g):
        """One-vs-rest classes are independent: solve each class's block of the Hessian."""
        _, A = _curvature(S, self.y, self.kind, self.squared, mu, self.weight, self.targets)
        if self._X1 is None:
            n, d = self.X.shape
            self._X1 = np.ones((n, d + self.fit_intercept))  # the intercept's column
            self._X1[:, :d] = self.X.toarray() if hasattr(self.X, "toarray") else self.X
            # the penalty on W and the intercept's damping, as in hessian()
            n_w, n_b = self.shape[0], int(self.fit_intercept)
            self._ridge = np.diag(np.r_[np.full(n_w, self.scale), np.full(n_b, 1e-6)])
        X1, n_w = self._X1, self.shape[0]
        gW, gb = self.split(g)
        G = np.vstack([gW, gb[None, :]]) if self.fit_intercept else gW
        H = _grams(X1, A)
        H = H * self.scale + self._ridge
        D = -np.linalg.solve(H, G.T[:, :, None])[:, :, 0].T  # (p, k)
        return self.join(D[:n_w], D[n_w] if self.fit_intercept else None)


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


def _newton_stage(problem, x, mu, gtol, max_iter, curve, on_iter=None):
    """Truncated Newton with an Armijo line search.

    Returns ``(x, n_iter, converged, stopped)``; ``stopped`` when ``on_iter(x,
    value)`` returned True after an iteration.
    """
    S = problem.scores(x)
    f, g = problem.value(x, S, mu), problem.gradient(x, S, mu)
    for it in range(max_iter + 1):
        gmax = np.abs(g).max()
        if gmax <= gtol:
            return x, it, True, False
        if it == max_iter:
            return x, it, False, False
        d = problem.newton_direction(S, mu, g)
        dS = problem.scores(d)  # the scores are linear in (W, b)
        slope = g @ d
        if slope >= 0:  # not a descent direction (rounding): fall back on the gradient
            d, slope = -g, -(g @ g)
            dS = problem.scores(d)
        step, f_new, g_new = _line_search(problem, x, S, d, dS, mu, f, slope, gmax)
        if step is None:  # no decrease left at floating-point precision: as converged as it gets
            return x, it, True, False
        x, S, f = x + step * d, S + step * dS, f_new
        g = problem.gradient(x, S, mu) if g_new is None else g_new
        curve.append(f)
        if on_iter is not None and on_iter(x, f):
            return x, it + 1, True, True
    return x, max_iter, False, False


def _line_search(problem, x, S, d, dS, mu, f, slope, gmax):
    """Armijo backtracking along ``d``: ``(step, value, gradient or None)``.

    Near the optimum a Newton step lowers ``f`` by less than its rounding; when
    the predicted decrease ``-slope`` is that small, the full step is taken if
    ``f`` rose by no more than rounding and the gradient shrank (``step`` is
    None when neither happens in 40 halvings).
    """
    step = 1.0
    for _ in range(40):
        x_new, S_new = x + step * d, S + step * dS
        f_new = problem.value(x_new, S_new, mu)
        if f_new <= f + 1e-4 * step * slope:
            return step, f_new, None
        if step == 1.0 and -slope <= ROUNDING_SLOPE * abs(f) and f_new <= f + ROUNDING * abs(f):
            g_new = problem.gradient(x_new, S_new, mu)
            if np.abs(g_new).max() < gmax:
                return step, f_new, g_new
        step *= 0.5
    return None, f, None
