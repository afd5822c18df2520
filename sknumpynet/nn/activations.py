"""Element-wise activations and the softmax. None has parameters.

Each keeps its *output* (not its input) for backward where the derivative can
be written in terms of it, which lets ``inplace=True`` overwrite the input.
GELU, SiLU and Mish need their input: they keep it, so their ``inplace=True``
reuses only the upstream gradient's memory in backward.
"""

import math
import numbers

import numpy as np
from scipy.special import erfc, expit

from ._module import Module
from ._registry import lookup
from .layers import Identity

__all__ = [
    "ACTIVATIONS",
    "GELU",
    "SELU",
    "LeakyReLU",
    "Mish",
    "ReLU",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
    "log_softmax",
    "softmax",
]


def softmax(z, axis=-1):
    """Numerically stable softmax.

    Parameters
    ----------
    z : ndarray of shape (n_samples, n_classes)
    axis : int, default=-1

    Returns
    -------
    p : ndarray of the same shape and dtype
        ``exp(z - max) / sum(exp(z - max))``: finite for any ``z`` without
        NaN. Scores of ``+inf`` (an overflow) share all the probability
        equally; a row of ``-inf`` is uniform.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # a spread beyond the range: exp gives 0
        e = np.exp(_shifted(z, axis))
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
        Finite for any ``z`` without NaN, as :func:`softmax`.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the range: -inf, clipped below
        shifted = _shifted(z, axis)
    shifted -= np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    if shifted.dtype.kind == "f":  # log p below the smallest float is not -inf
        np.maximum(shifted, np.finfo(shifted.dtype).min, out=shifted)
    return shifted


def _shifted(z, axis):
    """``z - max``, 0 at each row's maximum and below elsewhere.

    A row whose maximum is infinite (``inf - inf`` is NaN) is 0 where it
    equals its maximum and ``-inf`` elsewhere: the limit of the softmax.
    """
    top = _max(z, axis)
    shifted = z - top
    infinite = np.isinf(top)
    if infinite.any():
        shifted = np.where(infinite, np.where(z == top, 0.0, -np.inf), shifted).astype(
            shifted.dtype, copy=False
        )
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


class SELU(_Activation):
    """Scaled exponential linear unit (Klambauer et al., 2017), PyTorch's constants.

    ``y = scale * x`` for ``x > 0`` and ``scale * alpha * (exp(x) - 1)``
    otherwise, with ``alpha = 1.6732632423543772`` and
    ``scale = 1.0507009873554805``. Backward from the output:
    ``dx = g * scale`` where ``y > 0``, else ``g * (y + scale * alpha)``.

    Parameters
    ----------
    inplace : bool, default=False
        Overwrite the input in forward and the upstream gradient in backward
        (see :class:`ReLU`).
    """

    alpha = 1.6732632423543772
    scale = 1.0507009873554805

    def forward(self, x):
        # scale * max(x, 0) + scale * alpha * expm1(min(x, 0)): one term is 0 on
        # either side, and plain ufuncs are 3x faster than a masked copy
        negative = np.minimum(x, 0)
        np.expm1(negative, out=negative)  # no overflow for large positive x
        negative *= self.scale * self.alpha
        out = np.maximum(x, 0, out=x if self.inplace else None)
        out *= self.scale
        out += negative
        return self._keep(out)

    def backward(self, grad_output):
        y = self._output()
        # min(y, 0) + scale * alpha, less (scale * alpha - scale) where y > 0:
        # scale there, y + scale * alpha elsewhere, without np.where (4x slower)
        sa = y.dtype.type(self.scale * self.alpha)
        slope = np.minimum(y, 0)
        slope += sa
        slope -= (y > 0) * (sa - y.dtype.type(self.scale))
        return np.multiply(grad_output, slope, out=grad_output if self.inplace else None)


class _InputActivation(_Activation):
    """An activation whose derivative needs the input: forward keeps ``x``.

    ``inplace=True`` cannot overwrite the input (backward reads it), so it only
    makes backward write the input gradient into the upstream gradient.
    """

    _cache_names = ("_out", "_x")

    def _keep_input(self, x):
        self._x = x  # a reference, in both modes, as Linear keeps its batch
        return x

    def _input(self):
        x = getattr(self, "_x", None)
        if x is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward.")
        return x

    def _times(self, grad_output, derivative):
        return np.multiply(
            grad_output, derivative, out=grad_output if self.inplace else None
        )


class SiLU(_InputActivation):
    """Sigmoid linear unit (swish), ``y = x * sigmoid(x)``.

    Backward: ``dx = g * s * (1 + x * (1 - s))`` with ``s = sigmoid(x)``
    (``scipy.special.expit``, finite for any input).

    Parameters
    ----------
    inplace : bool, default=False
        Write the input gradient into the upstream gradient in backward; the
        input is kept for backward, so forward always allocates its output.
    """

    def forward(self, x):
        self._keep_input(x)
        return x * expit(x)

    def backward(self, grad_output):
        x = self._input()
        s = expit(x)
        derivative = 1.0 - s
        derivative *= x
        derivative += 1.0
        derivative *= s
        return self._times(grad_output, derivative)


class Mish(_InputActivation):
    """Mish (Misra, 2019), ``y = x * tanh(softplus(x))``.

    With ``n = exp(x)``, ``tanh(log(1 + n)) = n (n + 2) / (n (n + 2) + 2)``:
    one exponential instead of a softplus and a tanh (``logaddexp`` alone
    took 10x longer). ``x`` is capped at 20 inside the exponential, where the
    ratio is 1 to float64 precision, so nothing overflows. Backward, with
    ``t = tanh(softplus(x))`` and ``sigmoid(x) = n / (1 + n)``::

        dx = g * (t + x * (1 - t**2) * sigmoid(x))

    Parameters
    ----------
    inplace : bool, default=False
        Write the input gradient into the upstream gradient in backward (see
        :class:`SiLU`).
    """

    def forward(self, x):
        self._keep_input(x)
        t, _ = _mish_factors(x, need_sigmoid=False)
        t *= x
        return t

    def backward(self, grad_output):
        x = self._input()
        t, sigmoid = _mish_factors(x, need_sigmoid=True)
        derivative = t * t
        np.subtract(1.0, derivative, out=derivative)
        derivative *= x
        derivative *= sigmoid
        derivative += t
        return self._times(grad_output, derivative)


def _mish_factors(x, need_sigmoid):
    """``tanh(softplus(x))`` and, if asked, ``sigmoid(x)``, from one ``exp``."""
    n = np.minimum(x, 20.0).astype(x.dtype, copy=False)
    np.exp(n, out=n)
    t = n + 2.0
    t *= n
    denominator = t + 2.0
    t /= denominator
    sigmoid = None
    if need_sigmoid:
        sigmoid = n / np.add(n, 1.0, out=denominator)
    return t, sigmoid


class GELU(_InputActivation):
    """Gaussian error linear unit, exact (PyTorch's default, ``approximate="none"``).

    ``y = x * Phi(x) = 0.5 * x * (1 + erf(x / sqrt(2)))``, computed as
    ``0.5 * x * erfc(-x / sqrt(2))`` (``scipy.special.erfc``), the same
    function without the cancellation of ``1 + erf`` for negative ``x``.
    Backward: ``dx = g * (Phi(x) + x * phi(x))`` with ``phi`` the standard
    normal density ``exp(-x**2 / 2) / sqrt(2 pi)``.

    Parameters
    ----------
    inplace : bool, default=False
        Write the input gradient into the upstream gradient in backward (see
        :class:`SiLU`).
    """

    def forward(self, x):
        self._keep_input(x)
        out = _normal_cdf(x)
        out *= x
        return out

    def backward(self, grad_output):
        x = self._input()
        with np.errstate(over="ignore"):  # x**2 beyond the range: the density is 0
            density = x * x
        density *= -0.5
        np.exp(density, out=density)
        density *= x * (1.0 / math.sqrt(2.0 * math.pi))
        density += _normal_cdf(x)
        return self._times(grad_output, density)


def _normal_cdf(x):
    """The standard normal CDF, ``0.5 * erfc(-x / sqrt(2))``, in the dtype of ``x``."""
    out = erfc(x * (-1.0 / math.sqrt(2.0)))
    out *= 0.5
    return out


#: The element-wise activations by name (scikit-learn's MLP names the sigmoid
#: "logistic"): what the estimators' ``activation`` parameters choose from.
ACTIVATIONS = {
    "identity": Identity,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "tanh": Tanh,
    "logistic": Sigmoid,
    "selu": SELU,
    "mish": Mish,
    "gelu": GELU,
    "silu": SiLU,
}


def get_activation(name, *, inplace=False):
    """Build an element-wise activation from its short name.

    Parameters
    ----------
    name : {"identity", "relu", "leaky_relu", "tanh", "logistic", "selu", \
"mish", "gelu", "silu"}
    inplace : bool, default=False
        Passed on where the activation has the option (all but "identity").

    Returns
    -------
    activation : Module
    """
    cls = lookup(ACTIVATIONS, name, "activation")
    return cls() if cls is Identity else cls(inplace=inplace)
