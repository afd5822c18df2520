"""The losses of the linear SVMs' scores: values, gradients and Hessians.

- :class:`MulticlassHinge`: LinearSVM's one-vs-rest, Weston-Watkins or
  Crammer-Singer (squared) hinge with margin 1, the loss of
  :class:`sknumpynet.nn.MultiClassHinge`;
- :class:`EpsilonInsensitive`: LinearSVR's ``max(0, |y - s| - epsilon)``
  (squared or not).

Each gives, for the scores ``S`` of every row, the per-row loss and its
gradient (:meth:`~MulticlassHinge.loss_gradient`) and the Hessian of the
weighted sum as an operator (:meth:`~MulticlassHinge.curvature`). The plain
(unsquared) losses are not differentiable at their kinks; with ``mu > 0``
each kink ``max(0, z)`` is replaced by its Moreau envelope (a Huber-like
smoothing within ``mu / 2`` of it), which the full-batch driver drives to
:data:`~sknumpynet._linear_svm.full_batch.MU_FINAL` (for LinearSVR in units
of the targets' spread where it is below 1).
"""

import numpy as np

__all__ = ["EpsilonInsensitive", "MulticlassHinge"]

KINDS = ("ovr", "crammer_singer", "weston_watkins")


# -- the scalar hinge ---------------------------------------------------------------------


def _hinge(Z, squared, mu):
    """Value and derivative of the (squared, or ``mu``-smoothed) hinge ``max(0, Z)``."""
    if squared:
        H = np.maximum(Z, 0.0)
        return H * H, 2.0 * H
    if mu == 0:
        return np.maximum(Z, 0.0), (Z > 0).astype(Z.dtype)
    D = np.clip(Z * (1.0 / mu), 0.0, 1.0)  # Moreau envelope of max(0, z)
    return np.where(Z >= mu, Z - 0.5 * mu, 0.5 * mu * D * D), D


def _hinge_curvature(Z, squared, mu):
    """Second derivative of the (squared, or ``mu``-smoothed) hinge, 0 at the kinks."""
    if squared:
        return 2.0 * (Z > 0)
    return ((Z > 0) & (Z <= mu)) * (1.0 / mu)


# -- the losses of the scores ---------------------------------------------------------------


class MulticlassHinge:
    """LinearSVM's multiclass (squared) hinge with margin 1, for fixed classes.

    Parameters
    ----------
    y_index : ndarray of int of shape (n_samples,)
        Class index of each row (0 or 1 with one score column).
    n_columns : int
        Score columns: 1 is the binary SVM ("ovr" only), else the classes.
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    squared : bool
    """

    def __init__(self, y_index, n_columns, kind, squared):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        self.y, self.n_columns, self.kind, self.squared = y_index, n_columns, kind, squared
        self.targets = _ovr_targets(y_index, n_columns) if kind == "ovr" else None

    @property
    def smooth(self):
        """bool: Whether the loss is differentiable (no smoothing needed).

        The squared hinge is, but for Crammer-Singer's maximum over three or
        more classes (with two there is one wrong class, and no tie).
        """
        return self.squared and (self.kind != "crammer_singer" or self.n_columns <= 2)

    @property
    def separable(self):
        """bool: Whether each score column is its own problem (one-vs-rest)."""
        return self.kind == "ovr"

    @property
    def shift_invariant(self):
        """bool: Whether adding one value to every score leaves the loss unchanged."""
        return self.kind != "ovr"

    def loss_gradient(self, S, mu=0.0):
        """Per-row loss and its gradient in the scores.

        Parameters
        ----------
        S : ndarray of shape (n_samples, n_columns)
        mu : float, default=0.0
            Smoothing of the plain hinge (ignored when squared); 0 is exact.

        Returns
        -------
        loss : ndarray of shape (n_samples,)
        grad : ndarray of shape (n_samples, n_columns)
        """
        rows = np.arange(S.shape[0])
        if self.kind == "ovr":
            H, D = _hinge(1.0 - self.targets * S, self.squared, mu)
            return H.sum(axis=1), -self.targets * D
        Z = 1.0 + S - S[rows, self.y][:, None]
        if self.kind == "weston_watkins":
            Z[rows, self.y] = -1.0  # no term for the true class
            H, G = _hinge(Z, self.squared, mu)
            loss = H.sum(axis=1)
        else:
            Z[rows, self.y] = 0.0
            loss, G = _crammer_singer(Z, self.y, self.squared, mu)
        G[rows, self.y] = 0.0
        G[rows, self.y] = -G.sum(axis=1)
        return loss, G

    def curvature(self, S, mu, weight):
        """The Hessian of ``sum_i weight_i loss_i`` in the scores, as an operator.

        Returns ``(hess, diag)``: ``hess(dS)`` is the (n, k) product of each
        row's k x k Hessian with the row of ``dS``; ``diag`` (n, k) holds each
        Hessian's diagonal (Jacobi preconditioner; for "ovr" the Hessian itself).
        """
        return _multiclass_curvature(self, S, mu, weight)


class EpsilonInsensitive:
    """LinearSVR's loss ``max(0, |y - s| - epsilon)``, or its square.

    Written as two hinges, ``max(0, r - eps) + max(0, -r - eps)`` with
    ``r = s - y``, so that it shares the hinge's smoothing and curvature.

    Parameters
    ----------
    y : ndarray of shape (n_samples,)
        Targets.
    epsilon : float
        Width of the tube without loss, non-negative.
    squared : bool
    """

    n_columns = 1
    separable = True
    shift_invariant = False

    def __init__(self, y, epsilon, squared):
        self.y = np.asarray(y, dtype=np.float64).reshape(-1, 1)
        self.epsilon, self.squared = float(epsilon), squared

    @property
    def smooth(self):
        """bool: Whether the loss is differentiable (the squared one is)."""
        return self.squared

    def _sides(self, S):
        residual = S - self.y
        return residual - self.epsilon, -residual - self.epsilon

    def loss_gradient(self, S, mu=0.0):
        """Per-row loss and its gradient in the scores (see :class:`MulticlassHinge`)."""
        above, below = self._sides(S)
        H1, D1 = _hinge(above, self.squared, mu)
        H2, D2 = _hinge(below, self.squared, mu)
        return (H1 + H2)[:, 0], D1 - D2

    def curvature(self, S, mu, weight):
        """``(hess, diag)`` of ``sum_i weight_i loss_i`` in the scores (diagonal)."""
        above, below = self._sides(S)
        A = weight[:, None] * (
            _hinge_curvature(above, self.squared, mu) + _hinge_curvature(below, self.squared, mu)
        )
        return (lambda dS: A * dS), A


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
    """The +-1 targets of one-vs-rest, shape (n_samples, n_columns).

    One column is the binary SVM (targets ``2 y - 1``).
    """
    if n_columns == 1:
        return (2.0 * y_index - 1.0)[:, None]
    T = np.full((y_index.size, n_columns), -1.0)
    T[np.arange(y_index.size), y_index] = 1.0
    return T


# -- the Hessians of the multiclass hinge ---------------------------------------------------


def _multiclass_curvature(loss, S, mu, weight):
    """The Hessian of ``sum_i weight_i * loss_i`` in the scores, as an operator.

    Parameters
    ----------
    loss : MulticlassHinge
    S : ndarray of shape (n_samples, n_columns)
    mu : float
        Smoothing of the plain hinge (its Hessian is that of the smoothed loss).
    weight : ndarray of shape (n_samples,)

    Returns
    -------
    hess : callable
        ``hess(dS)``: the (n, k) product of each row's k x k Hessian with the
        row of ``dS``.
    diag : ndarray of shape (n_samples, n_columns)
        Each Hessian's diagonal (for the preconditioner).
    """
    n, k = S.shape
    rows, y, squared = np.arange(n), loss.y, loss.squared
    w = weight[:, None]
    if loss.kind == "ovr":
        A = w * _hinge_curvature(1.0 - loss.targets * S, squared, mu)
        return (lambda dS: A * dS), A
    Z = 1.0 + S - S[rows, y][:, None]
    if loss.kind == "weston_watkins":
        Z[rows, y] = -1.0
        A = w * _hinge_curvature(Z, squared, mu)
        D = A.copy()
        D[rows, y] = A.sum(axis=1)

        def hess(dS):
            R = A * (dS - dS[rows, y][:, None])
            R[rows, y] = -R.sum(axis=1)
            return R

        return hess, D
    Z[rows, y] = 0.0
    if squared and mu > 0:
        return _squared_crammer_singer_curvature(Z, y, mu, weight)
    if squared:
        return _worst_class_curvature(Z, y, weight)
    return _crammer_singer_curvature(Z, y, mu, weight)


def _worst_class_curvature(Z, y_index, weight):
    """Hessian operator of the exact squared Crammer-Singer hinge (one wrong class per row)."""
    rows = np.arange(Z.shape[0])
    worst = Z.argmax(axis=1)
    a = weight * _hinge_curvature(Z[rows, worst], True, 0.0)
    D = np.zeros_like(Z)
    D[rows, worst] = a
    D[rows, y_index] = a  # a is 0 where worst == y

    def hess(dS):
        r = a * (dS[rows, worst] - dS[rows, y_index])
        R = np.zeros_like(dS)
        R[rows, worst] = r
        R[rows, y_index] -= r
        return R

    return hess, D


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
