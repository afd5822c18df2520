"""Independent references shared by the engine tests (not the package's gradcheck)."""

import numpy as np


def central_difference(f, a, eps=1e-6):
    """Independent reference: d f() / d a by central differences, perturbing ``a`` in place."""
    grad = np.zeros_like(a)
    for idx in np.ndindex(*a.shape):
        old = a[idx]
        a[idx] = old + eps
        plus = f()
        a[idx] = old - eps
        minus = f()
        a[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad
