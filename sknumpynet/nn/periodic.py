"""PeriodicEmbedding: learned periodic embeddings of numeric columns (RealMLP's "PBLD")."""

import numpy as np

from ._module import Module, Parameter
from .layers import _check_positive_int, check_batch, check_float_dtype

__all__ = ["PeriodicEmbedding"]

_TWO_PI = 2 * np.pi


class PeriodicEmbedding(Module):
    """Periodic embeddings of chosen columns, appended to the batch.

    The "PBLD" embedding of RealMLP-TD (Holzmüller, Grinsztajn and Steinwart,
    NeurIPS 2024), after the periodic embeddings of Gorishniy, Rubachev and
    Babenko ("On embeddings for numerical features in tabular deep
    learning", NeurIPS 2022): each column ``j`` of ``columns`` gets its own
    frequencies, phases and a small linear map,

    ``e_j(x) = cos(2 pi x_j w_j + b_j) @ V_j + c_j``

    with ``w_j, b_j`` of shape (n_frequencies,) and ``V_j`` of shape
    (n_frequencies, embedding_dim). The output is the whole input followed by
    the embeddings of ``columns`` in their order ("densenet": the raw value
    stays beside its embedding).

    Parameters
    ----------
    n_features : int
        Number of input columns.
    columns : sequence of int
        The distinct columns to embed.
    n_frequencies : int, default=16
        Periodic features per column.
    embedding_dim : int, default=3
        Width of each column's embedding.
    sigma : float, default=0.1
        Standard deviation of the initial frequencies ``w``.
    rng : numpy.random.Generator, default=None
        Source of the initial values: ``w ~ N(0, sigma^2)``, ``b ~ U[-pi, pi]``,
        ``V, c ~ U[-1, 1] / sqrt(n_frequencies)``.
    dtype : dtype, default=np.float32

    Attributes
    ----------
    frequencies, phases : Parameter of shape (n_columns, n_frequencies)
    weight : Parameter of shape (n_columns, n_frequencies, embedding_dim)
    bias : Parameter of shape (n_columns, embedding_dim)
        ``decay=False`` for ``phases`` and ``bias``.
    n_features_out : int
        ``n_features + n_columns * embedding_dim``.

    Notes
    -----
    With ``a = 2 pi x_j w_j + b_j``, ``h = cos(a)`` and ``g_j`` the upstream
    gradient of ``e_j``: ``dV_j = h^T g_j``, ``dc_j = sum g_j``,
    ``da = -(g_j V_j^T) sin(a)``, ``dw_j = 2 pi sum x_j da``, ``db_j = sum da``
    and ``dx_j`` is the pass-through gradient plus ``2 pi da w_j``.
    """

    _cache_names = ("_x", "_angle", "_cos")

    def __init__(self, n_features, columns, *, n_frequencies=16, embedding_dim=3, sigma=0.1,
                 rng=None, dtype=np.float32):
        super().__init__()
        self.n_features = _check_positive_int(n_features, "n_features")
        self.columns = [int(c) for c in columns]
        if not self.columns or len(set(self.columns)) != len(self.columns) or any(
            not 0 <= c < self.n_features for c in self.columns
        ):
            raise ValueError(f"columns must be distinct, in [0, {self.n_features}) and at "
                             f"least one, got {self.columns}.")
        self.n_frequencies = _check_positive_int(n_frequencies, "n_frequencies")
        self.embedding_dim = _check_positive_int(embedding_dim, "embedding_dim")
        if not sigma > 0:
            raise ValueError(f"sigma must be positive, got {sigma}.")
        self.sigma = float(sigma)
        self.dtype = check_float_dtype(dtype, "PeriodicEmbedding")
        rng = np.random.default_rng() if rng is None else rng
        c, f, d = len(self.columns), self.n_frequencies, self.embedding_dim
        bound = 1 / np.sqrt(f)
        self.frequencies = Parameter((sigma * rng.standard_normal((c, f))).astype(self.dtype))
        self.phases = Parameter(rng.uniform(-np.pi, np.pi, (c, f)).astype(self.dtype),
                                decay=False)
        self.weight = Parameter(rng.uniform(-bound, bound, (c, f, d)).astype(self.dtype))
        self.bias = Parameter(rng.uniform(-bound, bound, (c, d)).astype(self.dtype), decay=False)
        self._params = [self.frequencies, self.phases, self.weight, self.bias]
        self.n_features_out = self.n_features + c * d
        self._x = self._angle = self._cos = None

    def forward(self, x):
        check_batch(x, self.n_features, "PeriodicEmbedding")
        x = np.asarray(x).astype(self.dtype, copy=False)
        # (columns, frequencies, rows): the rows innermost, so that every
        # element-wise pass runs over long contiguous stretches
        xc = np.ascontiguousarray(x[:, self.columns].T)[:, None, :]  # (c, 1, n)
        angle = xc * (_TWO_PI * self.frequencies.value[:, :, None])  # (c, f, n)
        angle += self.phases.value[:, :, None]
        cos = np.cos(angle)
        emb = np.matmul(self.weight.value.transpose(0, 2, 1), cos)  # (c, d, n)
        emb += self.bias.value[:, :, None]
        n = x.shape[0]
        out = np.empty((n, self.n_features_out), dtype=self.dtype)
        out[:, : self.n_features] = x
        # (n, c * d) spelled out: reshape cannot infer -1 for an empty batch
        out[:, self.n_features:] = emb.transpose(2, 0, 1).reshape(n, emb.shape[0] * emb.shape[1])
        self._x, self._angle, self._cos = xc, angle, cos
        return out

    def backward(self, grad_output):
        if self._x is None:
            raise RuntimeError("PeriodicEmbedding.backward called before forward.")
        n, c, d = grad_output.shape[0], len(self.columns), self.embedding_dim
        g = np.ascontiguousarray(
            grad_output[:, self.n_features:].reshape(n, c, d).transpose(1, 2, 0)
        )  # (c, d, n)
        np.matmul(self._cos, g.transpose(0, 2, 1), out=self.weight.grad)
        np.add.reduce(g, axis=2, out=self.bias.grad)
        d_angle = np.matmul(self.weight.value, g)  # (c, f, n)
        d_angle *= np.sin(self._angle)
        d_angle *= -1
        np.add.reduce(d_angle, axis=2, out=self.phases.grad)
        by_x = np.matmul(d_angle, self._x.transpose(0, 2, 1))  # (c, f, 1)
        self.frequencies.grad[...] = _TWO_PI * by_x[..., 0]
        d_x = np.matmul(self.frequencies.value[:, None, :], d_angle)[:, 0, :]  # (c, n)
        grad_input = np.array(grad_output[:, : self.n_features], dtype=grad_output.dtype)
        grad_input[:, self.columns] += _TWO_PI * d_x.T
        return grad_input

    def extra_repr(self):
        return (f"n_features={self.n_features}, columns={self.columns}, "
                f"n_frequencies={self.n_frequencies}, embedding_dim={self.embedding_dim}")
