"""Element-wise activations and the softmax. None has parameters.

Each keeps its *output* (not its input) for backward where the derivative can
be written in terms of it, which lets ``inplace=True`` overwrite the input.
"""

import numbers

import numpy as np
from scipy.special import expit

from ._module import Module

__all__ = ["LeakyReLU", "ReLU", "Sigmoid", "Softmax", "Tanh", "log_softmax", "softmax"]


def softmax(z, axis=-1):
    """Numerically stable softmax.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
    axis : int, default=-1

    Returns
    -------
    p : ndarray of the same shape and dtype
        ``exp(z - max) / sum(exp(z - max))``: finite for any finite ``z``.
    """
    with np.errstate(over="ignore"):  # -inf for a spread beyond the range: exp gives 0
        e = np.exp(z - _max(z, axis))
    e /= e.sum(axis=axis, keepdims=True)
    return e


def log_softmax(z, axis=-1):
    """Numerically stable log-softmax, ``z - logsumexp(z)``.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
    axis : int, default=-1

    Returns
    -------
    log_p : ndarray of the same shape and dtype
    """
    with np.errstate(over="ignore"):  # a spread beyond the dtype's range: -inf, clipped below
        shifted = z - _max(z, axis)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    if shifted.dtype.kind == "f":  # log p below the smallest float is not -inf
        np.maximum(shifted, np.finfo(shifted.dtype).min, out=shifted)
    return shifted


def _max(z, axis):
    """``z.max(axis=axis, keepdims=True)``, fast for short rows of class scores.

    numpy reduces a short last axis one row at a time: 13 us for the maximum of
    256 rows of 10 classes. Over the first axis of the transposed copy the same
    reduction is one vectorised pass per class, 2 us. (Only for the maximum,
    which is exact in any order: a sum's rounding would then depend on how
    many rows come together.)
    """
    if z.ndim == 2 and axis in (-1, 1) and z.shape[1] <= 16:  # beyond, the copy costs more
        return np.maximum.reduce(np.ascontiguousarray(z.T), axis=0)[:, np.newaxis]
    return z.max(axis=axis, keepdims=True)


class _Activation(Module):
    """Shared plumbing: keep the output in training mode, check backward order."""

    _cache_names = ("_out",)

    def __init__(self, inplace=False):
        super().__init__()
        self.inplace = bool(inplace)
        self._out = None

    def _keep(self, out):
        self._out = out  # a reference for backward, in both modes
        return out

    def _output(self):
        if self._out is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before forward."
            )
        return self._out

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Activation):
    """Rectified linear unit, ``y = max(x, 0)``; backward ``dx = g * (y > 0)``.

    Parameters
    ----------
    inplace : bool, default=False
        Overwrite the input in forward and the upstream gradient in backward,
        saving two temporaries per batch. Safe only when nothing else reads
        them (as inside a network built by the estimators).
    """

    def forward(self, x):
        return self._keep(np.maximum(x, 0, out=x if self.inplace else None))

    def backward(self, grad_output):
        out = self._output()
        return np.multiply(
            grad_output, out > 0, out=grad_output if self.inplace else None
        )


class LeakyReLU(_Activation):
    """Leaky ReLU, ``y = x`` for ``x > 0`` and ``negative_slope * x`` otherwise.

    Parameters
    ----------
    negative_slope : float, default=0.01
        Slope for negative inputs, in [0, 1).
    inplace : bool, default=False
        Overwrite the input and upstream gradient (see :class:`ReLU`).

    Notes
    -----
    Backward: ``dx = g`` where ``y > 0`` and ``negative_slope * g`` elsewhere
    (the sign of ``y`` equals the sign of ``x`` for a positive slope).
    """

    def __init__(self, negative_slope=0.01, inplace=False):
        super().__init__(inplace)
        if not isinstance(negative_slope, numbers.Real) or not 0 <= negative_slope < 1:
            raise ValueError(f"negative_slope must be in [0, 1), got {negative_slope!r}.")
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype, copy=False)
        self._slope = slope
        return np.multiply(x, slope, out=x if self.inplace else None)

    def backward(self, grad_output):
        if getattr(self, "_slope", None) is None:
            raise RuntimeError("LeakyReLU.backward called before forward.")
        return np.multiply(
            grad_output, self._slope, out=grad_output if self.inplace else None
        )

    _cache_names = ("_out", "_slope")

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (
            ", inplace=True" if self.inplace else ""
        )


class Sigmoid(_Activation):
    """Logistic sigmoid, ``y = 1 / (1 + exp(-x))``; backward ``dx = g * y * (1 - y)``.

    Uses ``scipy.special.expit``, finite and overflow-free for any input.

    Parameters
    ----------
    inplace : bool, default=False
        Overwrite the input in forward.
    """

    def forward(self, x):
        return self._keep(expit(x, out=x if self.inplace else None))

    def backward(self, grad_output):
        y = self._output()
        return grad_output * y * (1.0 - y)


class Tanh(_Activation):
    """Hyperbolic tangent; backward ``dx = g * (1 - y**2)``.

    Parameters
    ----------
    inplace : bool, default=False
        Overwrite the input in forward.
    """

    def forward(self, x):
        return self._keep(np.tanh(x, out=x if self.inplace else None))

    def backward(self, grad_output):
        y = self._output()
        return grad_output * (1.0 - y * y)


class Softmax(_Activation):
    """Softmax over the last axis, computed stably (finite for logits of 1e4).

    Parameters
    ----------
    inplace : bool, default=False
        Accepted for a uniform activation API; the softmax always allocates
        its output.

    Notes
    -----
    With ``p = softmax(x)``, backward is ``dx = p * (g - sum(g * p, axis=1))``.
    To train a classifier prefer :class:`~sknumpynet.nn.SoftmaxCrossEntropy` on
    the logits, which fuses both and is more accurate.
    """

    def forward(self, x):
        return self._keep(softmax(x))

    def backward(self, grad_output):
        p = self._output()
        return p * (grad_output - np.sum(grad_output * p, axis=1, keepdims=True))
