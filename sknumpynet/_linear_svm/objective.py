"""The objective of the linear SVMs, in one place: losses, packing, value, gradient, Hessian.

Both estimators minimise ::

    F(W, b) = R(W) + C * sum_i s_i * loss_i(x_i @ W + b)

with ``R(W) = 0.5 ||W||^2`` ("l2") or ``||W||_1`` ("l1"), ``s_i`` the sample
weights and ``loss_i`` a loss of the row's scores:

- :class:`MulticlassHinge`: LinearSVM's one-vs-rest, Weston-Watkins or
  Crammer-Singer (squared) hinge with margin 1, the loss of
  :class:`sknumpynet.nn.MultiClassHinge`;
- :class:`EpsilonInsensitive`: LinearSVR's ``max(0, |y - s| - epsilon)``
  (squared or not).

The plain (unsquared) losses are not differentiable at their kinks; with
``mu > 0`` each kink ``max(0, z)`` is replaced by its Moreau envelope (a
Huber-like smoothing within ``mu / 2`` of it), which the full-batch driver
drives to :data:`~sknumpynet._linear_svm.full_batch.MU_FINAL`.

:class:`LinearObjective` is the one object the solvers see, as scikit-learn's
``LinearModelLoss``: it maps ``(W, b)`` to a flat vector (:class:`Packing`,
with ``W = P - N`` for "l1"), and gives the mean form ``F / (C sum_i s_i)``
(what LinearSVM's minibatch solvers estimate, ``loss_curve_``), its gradient
and its Hessian-vector products. Newton (:mod:`.newton`) and L-BFGS
(:mod:`.lbfgs`) both minimise it.
"""

import numpy as np

__all__ = ["EpsilonInsensitive", "LinearObjective", "MulticlassHinge", "Packing", "overflow_error"]

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
        from .newton import multiclass_curvature  # the Hessians live with the Newton solver

        return multiclass_curvature(self, S, mu, weight)


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


# -- (W, b) <-> one vector ------------------------------------------------------------------


class Packing:
    """Maps ``(W, b)`` to one flat vector: ``[W]`` (or ``[P, N]`` for l1), then ``b``.

    Parameters
    ----------
    n_features, n_columns : int
        ``W`` has shape (n_features, n_columns).
    fit_intercept : bool
        Without an intercept the vector holds no ``b`` (and it reads as zeros).
    penalty : {"l2", "l1"}, default="l2"
        "l1" splits ``W = P - N`` with ``P, N >= 0`` (bounds for L-BFGS-B).
    """

    def __init__(self, n_features, n_columns, fit_intercept, penalty="l2"):
        self.shape = (n_features, n_columns)
        self.size = n_features * n_columns
        self.l1 = penalty == "l1"
        self.fit_intercept = fit_intercept

    @property
    def n_weights(self):
        """int: Entries of the vector that hold ``W`` (twice ``W``'s size for l1)."""
        return 2 * self.size if self.l1 else self.size

    def pack(self, W, b):
        """The vector of ``(W, b)`` (float64)."""
        parts = [np.maximum(W, 0).ravel(), np.maximum(-W, 0).ravel()] if self.l1 else [W.ravel()]
        if self.fit_intercept:
            parts.append(np.ravel(b))
        return np.concatenate(parts).astype(np.float64)

    def unpack(self, x):
        """``(W, b)`` of the vector ``x`` (views where the layout allows)."""
        W = x[: self.size].reshape(self.shape)
        if self.l1:
            W = W - x[self.size : 2 * self.size].reshape(self.shape)
        b = x[self.n_weights :] if self.fit_intercept else np.zeros(self.shape[1])
        return W, b

    def pack_grad(self, grad_W, grad_b):
        """The gradient in the vector from that in ``(W, b)`` (of the data term for l1).

        For l1 the penalty ``sum(P + N)`` is added here: ``d/dP = 1 + dL/dW``,
        ``d/dN = 1 - dL/dW``.
        """
        if self.l1:
            parts = [1.0 + grad_W.ravel(), 1.0 - grad_W.ravel()]
        else:
            parts = [grad_W.ravel()]
        if self.fit_intercept:
            parts.append(grad_b)
        return np.concatenate(parts)

    def bounds(self):
        """L-BFGS-B's bounds: ``P, N >= 0`` for l1, else None."""
        if not self.l1:
            return None
        free = self.shape[1] if self.fit_intercept else 0
        return [(0.0, None)] * (2 * self.size) + [(None, None)] * free

    def projected(self, g, x):
        """The gradient projected on the feasible directions of the bounds."""
        if not self.l1:
            return g
        g = g.copy()  # variables at their bound 0 may only move up
        at_bound = np.zeros(g.shape, dtype=bool)
        at_bound[: 2 * self.size] = x[: 2 * self.size] <= 0
        g[at_bound] = np.minimum(g[at_bound], 0.0)
        return g


# -- the objective ------------------------------------------------------------------------


class LinearObjective:
    """The mean-form objective ``F / (C sum_i s_i)`` over a packed vector.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features)
        float32 data is multiplied in float32, anything else in float64.
    loss : MulticlassHinge or EpsilonInsensitive
    sample_weight : ndarray of shape (n_samples,) or None
    C : float
    fit_intercept : bool, default=True
        An unpenalised intercept per score column.
    penalty : {"l2", "l1"}, default="l2"

    Attributes
    ----------
    packing : Packing
    weight : ndarray of shape (n_samples,)
        ``C * s_i``.
    scale : float
        ``1 / (C sum_i s_i)``: the mean form is ``F * scale``.
    """

    #: Added to the intercept's curvature: keeps its block of the Hessian
    #: definite where no row is curved.
    DAMPING = 1e-6

    def __init__(self, X, loss, sample_weight, *, C, fit_intercept=True, penalty="l2"):
        if penalty not in ("l2", "l1"):
            raise ValueError(f"penalty must be 'l2' or 'l1', got {penalty!r}.")
        self.X, self.loss, self.penalty = X, loss, penalty
        self.packing = Packing(X.shape[1], loss.n_columns, fit_intercept, penalty)
        s = np.ones(X.shape[0]) if sample_weight is None else np.asarray(sample_weight, float)
        self.weight = C * s
        self.scale = 1.0 / self.weight.sum()
        self._X2 = None

    def _times_X(self, W):
        X = self.X
        return np.asarray(X @ W.astype(X.dtype, copy=False), dtype=np.float64)

    def _times_XT(self, G):
        X = self.X
        return np.asarray(X.T @ G.astype(X.dtype, copy=False), dtype=np.float64)

    def scores(self, x):
        """``X @ W + b`` of the vector ``x``, shape (n_samples, n_columns)."""
        W, b = self.packing.unpack(x)
        return self._times_X(W) + b

    def _regulariser(self, x):
        if self.packing.l1:
            return float(x[: 2 * self.packing.size].sum())
        W = x[: self.packing.size]
        return 0.5 * float(W @ W)

    def value(self, x, S, mu=0.0):
        """The mean-form objective of ``x`` from its scores ``S`` (no product with X)."""
        loss, _ = self.loss.loss_gradient(S, mu)
        return (self._regulariser(x) + float(self.weight @ loss)) * self.scale

    def gradient(self, x, S, mu=0.0):
        """The gradient of the mean form in the vector, from the scores ``S``."""
        _, G = self.loss.loss_gradient(S, mu)
        return self._gradient(x, G)

    def _gradient(self, x, G):
        G = G * self.weight[:, None]
        grad_W = self._times_XT(G)
        if not self.packing.l1:
            grad_W += self.packing.unpack(x)[0]
        return self.packing.pack_grad(grad_W, G.sum(axis=0)) * self.scale

    def loss_gradient(self, x, mu=0.0):
        """Value and gradient of the mean form at ``x`` (one product each way with X).

        Raises
        ------
        ValueError
            When they overflow (finite weights give a finite objective
            otherwise): :func:`overflow_error`.
        """
        S = self.scores(x)
        loss, G = self.loss.loss_gradient(S, mu)
        value = (self._regulariser(x) + float(self.weight @ loss)) * self.scale
        grad = self._gradient(x, G)
        if not (np.isfinite(value) and np.isfinite(grad).all()):
            raise overflow_error(self.X)
        return value, grad

    def hessian(self, S, mu=0.0):
        """``(hessp, diagonal)`` of the mean form at scores ``S`` (l2 penalty only).

        ``hessp(v)`` is the Hessian-vector product in the packed vector;
        ``diagonal`` its diagonal (for a Jacobi preconditioner).
        """
        if self.packing.l1:
            raise ValueError("The l1 objective has no Hessian (it is solved with bounds).")
        hess, D = self.loss.curvature(S, mu, self.weight)
        packing, scale = self.packing, self.scale

        def hessp(v):
            V, vb = packing.unpack(v)
            R = hess(self._times_X(V) + vb)
            HV = self._times_XT(R) + V
            return packing.pack_grad(HV * scale, R.sum(axis=0) * scale + self.DAMPING * vb)

        if self._X2 is None:
            X = self.X
            self._X2 = X.multiply(X).tocsr() if hasattr(X, "multiply") else X * X
        dW = self._times_XT_of(self._X2, D) + 1.0
        return hessp, packing.pack_grad(dW * scale, D.sum(axis=0) * scale + self.DAMPING)

    def _times_XT_of(self, A, G):
        return np.asarray(A.T @ G.astype(A.dtype, copy=False), dtype=np.float64)

    def exact(self, x):
        """The objective ``F`` itself (not the mean form, no smoothing) at ``x``.

        For l1 the penalty is ``||P - N||_1``, which is below ``sum(P + N)``
        where an entry has both parts positive (as L-BFGS may leave it).
        """
        W, _ = self.packing.unpack(x)
        loss, _ = self.loss.loss_gradient(self.scores(x), 0.0)
        penalty = np.abs(W).sum() if self.packing.l1 else 0.5 * np.vdot(W, W)
        return float(penalty + self.weight @ loss)


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
