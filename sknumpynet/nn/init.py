"""Weight initialisers. Each draws from the ``numpy.random.Generator`` it is given.

For a weight of shape ``(fan_in, fan_out)``:

=============== =================================================
glorot_uniform  U(-a, a), a = sqrt(6 / (fan_in + fan_out))
glorot_normal   N(0, s^2), s = sqrt(2 / (fan_in + fan_out))
he_uniform      U(-a, a), a = sqrt(6 / fan_in)
he_normal       N(0, s^2), s = sqrt(2 / fan_in)
standard_normal N(0, 1) (the neural tangent parametrisation's init)
zeros           0 (RealMLP's output layer); draws nothing
=============== =================================================

Glorot (Xavier) keeps the activation variance steady for tanh and sigmoid; He
(Kaiming) accounts for ReLU zeroing half of its inputs.
"""

import numpy as np

from ._registry import lookup

__all__ = [
    "get_initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "standard_normal",
    "zeros",
]


def _check(shape, rng):
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f"Initialisers expect a 2-D shape of positive sizes, got {shape}.")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}.")


def glorot_uniform(shape, rng, dtype=np.float32):
    """Glorot/Xavier uniform initialisation.

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    bound = np.sqrt(6.0 / (shape[0] + shape[1]))
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def glorot_normal(shape, rng, dtype=np.float32):
    """Glorot/Xavier normal initialisation.

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    std = np.sqrt(2.0 / (shape[0] + shape[1]))
    return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


def he_uniform(shape, rng, dtype=np.float32):
    """He/Kaiming uniform initialisation (for ReLU-family activations).

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    bound = np.sqrt(6.0 / shape[0])
    return rng.uniform(-bound, bound, size=shape).astype(dtype, copy=False)


def he_normal(shape, rng, dtype=np.float32):
    """He/Kaiming normal initialisation (for ReLU-family activations).

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    std = np.sqrt(2.0 / shape[0])
    return (rng.standard_normal(size=shape) * std).astype(dtype, copy=False)


def standard_normal(shape, rng, dtype=np.float32):
    """Standard normal initialisation, N(0, 1), whatever the fan-in.

    The initialisation of the neural tangent parametrisation
    (``Linear(parametrization="ntk")``), whose forward pass divides by
    ``sqrt(fan_in)`` instead.

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Source of randomness.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    return rng.standard_normal(size=shape).astype(dtype, copy=False)


def zeros(shape, rng, dtype=np.float32):
    """All-zero initialisation (RealMLP's output layer); ``rng`` is not drawn from.

    Parameters
    ----------
    shape : tuple of (int, int)
        ``(fan_in, fan_out)``.
    rng : numpy.random.Generator
        Checked but unused, for the common signature.
    dtype : dtype, default=np.float32

    Returns
    -------
    weight : ndarray of shape ``shape``
    """
    _check(shape, rng)
    return np.zeros(shape, dtype=dtype)


_INITIALIZERS = {
    "glorot_uniform": glorot_uniform,
    "glorot_normal": glorot_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "standard_normal": standard_normal,
    "zeros": zeros,
}


def get_initializer(name):
    """Look an initialiser up by name.

    Parameters
    ----------
    name : {"glorot_uniform", "glorot_normal", "he_uniform", "he_normal", \
            "standard_normal", "zeros"} or callable
        A callable ``f(shape, rng, dtype)`` is returned unchanged.

    Returns
    -------
    init : callable
    """
    if callable(name):
        return name
    return lookup(_INITIALIZERS, name, "initialiser")
