"""Truncated Newton for the linear SVM objective: Hessians, conjugate gradients, steps.

The objective is minimised in its mean form ``F / (C sum_i s_i)`` over the flat
vector ``x = [W.ravel(), b]`` (:class:`SvmProblem`). Each Newton step solves
``H d = -g`` by Jacobi-preconditioned conjugate gradients on exact
Hessian-vector products, or, for one-vs-rest on few features, class by class
with the Hessian blocks formed and solved directly; an Armijo line search
follows. Used by :func:`sknumpynet._linear_solvers.solve_full_batch`.
"""

import numpy as np

from ._svm_objective import _crammer_singer, _ovr_targets, _simplex_projection, margin_loss

__all__ = ["SvmProblem", "newton_stage", "overflow_error"]

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




def _curvature(S, y_index, kind, squared, mu, weight, targets=None):
    """The Hessian of ``sum_i weight_i * loss_i`` in the scores, as an operator.

    Returns ``(hess, diag)``: ``hess(dS)`` is the (n, k) product of each row's
    k x k Hessian with the row of ``dS``; ``diag`` (n, k) is each Hessian's
    diagonal (for the preconditioner). For the plain hinge it is the
    Hessian of the ``mu``-smoothed loss (``mu > 0``). ``targets``: as in
    :func:`~sknumpynet._svm_objective.margin_loss`.
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


class SvmProblem:
    """The mean-form objective ``F / (C sum s)`` over flat ``x = [W.ravel(), b]``.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    y_index : ndarray of int of shape (n_samples,)
    sample_weight : ndarray of shape (n_samples,) or None
    C : float
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    squared : bool
    fit_intercept : bool
    n_columns : int
        Score columns (1 for the binary one-vs-rest SVM).
    """

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


def newton_stage(problem, x, mu, gtol, max_iter, curve, on_iter=None):
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
        if not np.isfinite(slope):  # the Hessian overflowed: no step can be trusted
            raise overflow_error(problem.X)
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


def overflow_error(X):
    """The ValueError of an SVM objective that overflows in float64 on ``X``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)

    Returns
    -------
    error : ValueError
        Naming the largest feature magnitude and how to fix it.
    """
    largest = float(abs(X).max()) if X.shape[0] * X.shape[1] else 0.0
    return ValueError(
        f"The SVM objective overflows on this data (its gradient or curvature is not "
        f"finite): the largest feature magnitude is {largest:.3g}. Scale the features, "
        "e.g. with StandardScaler."
    )
