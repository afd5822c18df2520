"""Finite-difference gradient checks for any Module or loss, in float64.

The analytic gradients from ``backward`` are compared with central
differences ``(f(x + eps) - f(x - eps)) / (2 eps)`` of the scalar
``f = sum(forward(x) * G)`` for a *random* upstream gradient ``G`` (an all-ones
``G`` would hide transposition errors). The module is copied and cast to
float64 first, so the check neither depends on nor changes the original.
"""

import copy

import numpy as np

from ._module import Module, Parameter

__all__ = ["GradientCheckError", "check_loss_gradients", "check_module_gradients"]


class GradientCheckError(AssertionError):
    """Raised when analytic and numerical gradients disagree past the tolerance."""


def relative_error(analytic, numeric, floor=1e-8):
    """``max|a - n| / max(max|a| + max|n|, floor)``: the error relative to the gradient's scale.

    The rounding error of a central difference is absolute (about
    ``machine_eps * |f| / eps``), not relative to each entry, so entries far
    smaller than the largest one are compared against the array's scale rather
    than against themselves; an element-wise ratio would flag correct
    gradients whose random upstream weight happens to be tiny.

    Parameters
    ----------
    analytic, numeric : ndarray of the same shape
    floor : float, default=1e-8
        Smallest scale divided by: a gradient that is (nearly) zero is
        compared in absolute terms, against ``floor``.

    Returns
    -------
    error : float
    """
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    if a.size == 0:
        return 0.0
    scale = max(float(np.max(np.abs(a)) + np.max(np.abs(n))), floor)
    return float(np.max(np.abs(a - n))) / scale


def _as_float64(module):
    """A deep copy of ``module`` whose float arrays and parameters are float64."""
    module = copy.deepcopy(module)
    for m in module.modules():
        # parameters listed only in parameters() (not as attributes) are cast too
        params = {id(p): p for p in m._params}
        for name, value in vars(m).items():
            if isinstance(value, Parameter):
                params[id(value)] = value
            elif isinstance(value, np.ndarray) and value.dtype.kind == "f":
                setattr(m, name, value.astype(np.float64))
            elif isinstance(value, np.dtype):
                setattr(m, name, np.dtype(np.float64))
        for p in params.values():
            p.value = p.value.astype(np.float64)
            p.grad = p.grad.astype(np.float64)
    return module


def _generators(module):
    return [
        v for m in module.modules() for v in vars(m).values()
        if isinstance(v, np.random.Generator)
    ]


def _numerical_gradient(f, x, eps):
    """Central differences of the scalar function ``f()`` with respect to ``x``, in place."""
    grad = np.empty_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def check_module_gradients(
    module, x, rng=None, *, grad_output=None, eps=1e-6, tol=1e-6, raise_error=True
):
    """Compare a module's analytic gradients with central differences in float64.

    Checks the gradient with respect to the input (unless the module returns
    None for it) and to every parameter. The module's mode is kept: check
    Dropout and BatchNorm1d in training and evaluation mode separately. Random
    masks are replayed: every Generator in the module is reset to its starting
    state before each forward pass.

    Parameters
    ----------
    module : Module
        The module to check; it is copied, never modified.
    x : array-like of shape (n_samples, n_features)
        The input batch.
    rng : numpy.random.Generator, default=None
        Draws the random upstream gradient; None means ``default_rng(0)``.
    grad_output : ndarray, default=None
        Upstream gradient to use instead of a random one.
    eps : float, default=1e-6
        Finite-difference step.
    tol : float, default=1e-6
        Largest accepted relative error, as measured by :func:`relative_error`.
    raise_error : bool, default=True
        Raise :class:`GradientCheckError` past ``tol``; otherwise only return.

    Returns
    -------
    max_error : float
        The largest relative error over the input and every parameter.

    Raises
    ------
    GradientCheckError
        If ``raise_error`` and some gradient is off by more than ``tol``; the
        message names which one.
    """
    if not isinstance(module, Module):
        raise TypeError(f"module must be a Module, got {type(module).__name__}.")
    x = np.array(x, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError("check_module_gradients: x contains NaN or infinity.")
    module = _as_float64(module)
    rng = np.random.default_rng(0) if rng is None else rng
    generators = _generators(module)
    states = [g.bit_generator.state for g in generators]

    def forward(inputs):
        for g, s in zip(generators, states):
            g.bit_generator.state = s
        return module.forward(inputs.copy())  # a copy: in-place modules may write to it

    out = forward(x)
    if grad_output is None:
        grad_output = rng.standard_normal(out.shape)
    grad_output = np.asarray(grad_output, dtype=np.float64)
    if grad_output.shape != out.shape:
        raise ValueError(f"grad_output shape {grad_output.shape} differs from output {out.shape}.")
    dx = module.backward(grad_output.copy())
    checks = [] if dx is None else [("input", np.array(dx), x)]
    for i, p in enumerate(module.parameters()):
        checks.append((f"parameter {i} {p!r}", p.grad.copy(), p.value))

    def objective():
        return float(np.sum(forward(x) * grad_output))

    # rounding error of one central difference, ~ machine eps * |f| / eps: differences
    # below it cannot be resolved, e.g. for a gradient that is exactly zero
    noise = 64 * np.finfo(np.float64).eps * max(1.0, abs(objective())) / eps
    worst, errors = 0.0, []
    for name, analytic, wrt in checks:
        numeric = _numerical_gradient(objective, wrt, eps)
        err = relative_error(analytic, numeric, floor=max(noise / tol, 1e-8))
        worst = max(worst, err)
        if err > tol:
            errors.append(f"{name}: max relative error {err:.3g}")
    if errors and raise_error:
        raise GradientCheckError(
            f"Gradient check failed for {module!r} (tol={tol:g}): " + "; ".join(errors)
        )
    return worst


def check_loss_gradients(
    loss, scores, target, sample_weight=None, *, eps=1e-6, tol=1e-6, raise_error=True
):
    """Compare a loss's ``backward`` with central differences in float64.

    Parameters
    ----------
    loss : Loss
    scores : array-like of shape (n_samples, n_outputs)
    target : array-like
        As the loss expects.
    sample_weight : array-like of shape (n_samples,), default=None
    eps : float, default=1e-6
    tol : float, default=1e-6
    raise_error : bool, default=True

    Returns
    -------
    max_error : float

    Raises
    ------
    GradientCheckError
        If ``raise_error`` and the relative error exceeds ``tol``.
    """
    scores = np.array(scores, dtype=np.float64)
    loss(scores, target, sample_weight)
    analytic = np.array(loss.backward())
    numeric = _numerical_gradient(lambda: loss(scores, target, sample_weight), scores, eps)
    err = relative_error(analytic, numeric)
    if err > tol and raise_error:
        raise GradientCheckError(
            f"Gradient check failed for {loss!r}: max relative error {err:.3g} > {tol:g}"
        )
    return err
