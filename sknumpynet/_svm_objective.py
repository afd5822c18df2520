"""The linear SVM objective and its multiclass hinge losses: pure functions of arrays.

``F(W, b) = 0.5 ||W||^2 + C sum_i s_i loss_i(x_i @ W + b)`` (or ``||W||_1``
for the l1 penalty), with ``loss_i`` the one-vs-rest, Weston-Watkins or
Crammer-Singer (squared) hinge of the scores, optionally smoothed (the Moreau
envelope of the plain hinge with parameter ``mu``). Used by the full-batch
solvers (:mod:`sknumpynet._linear_solvers`, :mod:`sknumpynet._svm_newton`).
"""

import numpy as np

__all__ = ["margin_loss", "objective"]

KINDS = ("ovr", "crammer_singer", "weston_watkins")


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
