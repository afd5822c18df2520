"""Regularisation penalties: the one place an L2 term's value and gradient are computed.

A penalty is added to a loss: its :meth:`L2Penalty.value` to the loss's value,
and its :meth:`L2Penalty.backward` to the parameters' gradients after the
network's ``backward`` wrote them, before the optimizer steps. Or, in one pass
with the step: :meth:`L2Penalty.fused` gives the optimizer's
:meth:`~sknumpynet.nn.Optimizer.step` the same gradient to add block by block,
just before it updates that block (the block is then still in cache). The
formula stays here; the optimizer only says where each block lies.
"""

import numpy as np

__all__ = ["BlockGradient", "L2Penalty"]


class L2Penalty:
    """``0.5 * alpha * sum ||w||^2`` over the parameters whose ``decay`` flag is set.

    Layers clear the flag on biases and on BatchNorm's scale and shift, so by
    default only weight matrices are penalised (as in scikit-learn's MLP).

    Parameters
    ----------
    params : list of Parameter
        All parameters of a network; those with ``decay=False`` are skipped.
    alpha : float, default=0.0
        Strength, non-negative.

    Examples
    --------
    >>> import numpy as np
    >>> from sknumpynet import nn
    >>> layer = nn.Linear(2, 1, rng=np.random.default_rng(0), dtype=np.float64)
    >>> penalty = nn.L2Penalty(layer.parameters(), alpha=0.1)
    >>> bool(np.isclose(penalty.value(), 0.05 * np.sum(layer.weight.value ** 2)))
    True
    """

    #: Elements processed together by :meth:`backward`: a block of the weights
    #: and its scratch copy stay in cache between the multiply and the add.
    block_size = 65536

    def __init__(self, params, alpha=0.0):
        alpha = float(alpha)
        if not (np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite non-negative number, got {alpha!r}.")
        self.alpha = alpha
        self.params = [p for p in params if p.decay]
        self._buffer = None

    def value(self, scale=1.0):
        """The penalty ``0.5 * alpha * scale * sum ||w||^2``.

        Parameters
        ----------
        scale : float, default=1.0
            Multiplies ``alpha``: e.g. ``1 / n_batch`` for a per-batch objective.

        Returns
        -------
        value : float
        """
        strength = self.alpha * scale
        if not strength:
            return 0.0
        return 0.5 * strength * sum(float(np.vdot(p.value, p.value)) for p in self.params)

    def backward(self, scale=1.0):
        """Add ``alpha * scale * w`` to each penalised parameter's ``grad``, in place.

        Parameters
        ----------
        scale : float, default=1.0
            As in :meth:`value`.
        """
        gradient = self.fused(scale)
        if gradient is None:
            return
        for p in self.params:
            if not (p.value.flags.c_contiguous and p.grad.flags.c_contiguous):
                p.grad += gradient.strength * p.value  # rare (layers' are contiguous)
                continue
            w, g = p.value.reshape(-1), p.grad.reshape(-1)  # views, written in place
            buffer = self._scratch(w.dtype)
            for lo in range(0, w.size, self.block_size):
                hi = min(lo + self.block_size, w.size)
                gradient.add(w[lo:hi], g[lo:hi], buffer[: hi - lo])

    def fused(self, scale=1.0):
        """The gradient of :meth:`backward`, for an optimizer's step to add per block.

        ``optimizer.step(penalty.fused(scale))`` is ``penalty.backward(scale)``
        then ``optimizer.step()``, bit for bit, in one pass over the weights
        instead of two.

        Parameters
        ----------
        scale : float, default=1.0
            As in :meth:`value`.

        Returns
        -------
        gradient : BlockGradient or None
            None when the penalty is zero (nothing to add).
        """
        strength = self.alpha * scale
        return BlockGradient(self.params, strength) if strength else None

    def _scratch(self, dtype):
        if self._buffer is None or self._buffer.dtype != dtype:
            self._buffer = np.empty(self.block_size, dtype=dtype)
        return self._buffer

    def __repr__(self):
        return f"L2Penalty(alpha={self.alpha}, n_params={len(self.params)})"


class BlockGradient:
    """``strength * w`` to add to the gradient of ``params``, one stretch at a time.

    Made by :meth:`L2Penalty.fused`; an optimizer's step calls :meth:`add` on
    the stretches of each of its blocks that ``params`` occupy.

    Parameters
    ----------
    params : list of Parameter
        The penalised parameters.
    strength : float
        ``alpha * scale``.
    """

    def __init__(self, params, strength):
        self.params, self.strength = params, strength

    def add(self, w, g, buf):
        """``g += strength * w`` in place, through ``buf`` (scratch of the same size).

        Parameters
        ----------
        w, g, buf : ndarray of shape (n,)
            A stretch of the weights, of their gradient, and scratch space.
        """
        np.multiply(w, self.strength, out=buf)
        np.add(g, buf, out=g)
