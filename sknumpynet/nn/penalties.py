"""Regularisation penalties: the one place an L2 term's value and gradient are computed.

A penalty is added to a loss: its :meth:`L2Penalty.value` to the loss's value,
and its :meth:`L2Penalty.backward` to the parameters' gradients after the
network's ``backward`` wrote them, before the optimizer steps. Optimizers know
nothing of it.
"""

import numpy as np

__all__ = ["L2Penalty"]


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
        strength = self.alpha * scale
        if not strength:
            return
        for p in self.params:
            if not (p.value.flags.c_contiguous and p.grad.flags.c_contiguous):
                p.grad += strength * p.value  # rare (layers' parameters are contiguous)
                continue
            w, g = p.value.reshape(-1), p.grad.reshape(-1)  # views, written in place
            buffer = self._scratch(w.dtype)
            for lo in range(0, w.size, self.block_size):
                hi = min(lo + self.block_size, w.size)
                part = buffer[: hi - lo]
                np.multiply(w[lo:hi], strength, out=part)
                np.add(g[lo:hi], part, out=g[lo:hi])

    def _scratch(self, dtype):
        if self._buffer is None or self._buffer.dtype != dtype:
            self._buffer = np.empty(self.block_size, dtype=dtype)
        return self._buffer

    def __repr__(self):
        return f"L2Penalty(alpha={self.alpha}, n_params={len(self.params)})"
