"""The objective of the linear SVMs, in one place: packing, value, gradient, Hessian.

Both estimators minimise ::

    F(W, b) = R(W) + C * sum_i s_i * loss_i(x_i @ W + b)

with ``R(W) = 0.5 ||W||^2`` ("l2") or ``||W||_1`` ("l1"), ``s_i`` the sample
weights and ``loss_i`` a loss of the row's scores from :mod:`.losses`.

:class:`LinearObjective` is the one object the solvers see, as scikit-learn's
``LinearModelLoss``: it maps ``(W, b)`` to a flat vector (:class:`Packing`,
with ``W = P - N`` for "l1"), and gives the mean form ``F / (C sum_i s_i)``
(what LinearSVM's minibatch solvers estimate, ``loss_curve_``), its gradient
and its Hessian-vector products. Newton (:mod:`.newton`) and L-BFGS
(:mod:`.lbfgs`) both minimise it.
"""

import numpy as np

__all__ = ["LinearObjective", "Packing", "overflow_error"]


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
