"""Layers with parameters or modes: Linear, Dropout, BatchNorm1d, Identity, Scale,
Embedding and CategoricalEmbedding."""

import math
import numbers

import numpy as np

from . import products
from ._module import Module, Parameter
from .init import get_initializer

__all__ = [
    "BatchNorm1d",
    "CategoricalEmbedding",
    "Dropout",
    "Embedding",
    "Identity",
    "Linear",
    "Scale",
]


def check_batch(x, n_features, owner):
    """Raise a clear error unless ``x`` is a 2-D batch with ``n_features`` columns."""
    shape = getattr(x, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"{owner} expects a 2-D array of shape (n_samples, {n_features}), "
            f"got {'shape ' + str(shape) if shape is not None else type(x).__name__}."
        )
    if n_features is not None and shape[1] != n_features:
        raise ValueError(
            f"{owner} expects {n_features} features per sample, got {shape[1]} "
            f"(input shape {shape})."
        )


def check_float_dtype(dtype, owner):
    """Return ``numpy.dtype(dtype)`` if it is a floating-point type, else raise.

    The engine computes gradients, so weights must be real floats: an integer
    dtype would truncate them to zero, a complex, boolean, string or object
    dtype has no meaning here.

    Parameters
    ----------
    dtype : dtype-like
        What the caller passed, for example ``np.float32`` or ``"float64"``.
    owner : str
        The name of the layer, for the message.

    Returns
    -------
    dtype : numpy.dtype
        A float16, float32, float64 (or longdouble) dtype.

    Raises
    ------
    ValueError
        If ``dtype`` is not a dtype, or not a floating-point one.
    """
    try:
        resolved = np.dtype(dtype)
    except TypeError as exc:
        raise ValueError(
            f"{owner}: dtype must be a floating-point dtype such as np.float32 or "
            f"np.float64, got {dtype!r}, which is not a dtype."
        ) from exc
    if resolved.kind != "f":
        raise ValueError(
            f"{owner}: dtype must be a floating-point dtype such as np.float32 or "
            f"np.float64, got {dtype!r} ({resolved.name}); an integer, boolean, "
            "complex, string or object dtype cannot hold trained weights."
        )
    return resolved


def _check_positive_int(value, name):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


class Linear(Module):
    """Fully connected layer, ``y = x @ W + b``.

    Parameters
    ----------
    in_features : int
        Size of each input sample.
    out_features : int
        Size of each output sample.
    bias : bool, default=True
        Whether to learn an additive bias ``b``.
    rng : numpy.random.Generator, default=None
        Source of randomness for the initial weights. None uses a fresh,
        unseeded Generator.
    dtype : dtype, default=np.float32
        The dtype of the weights, a floating-point one (a ValueError names any
        other); inputs are cast to it, so the layer computes in this
        precision.
    init : str or callable, default=None
        Weight initialiser (see :mod:`sknumpynet.nn.init`). None means
        "he_uniform" (which suits the ReLU family; use "glorot_uniform" for
        tanh or sigmoid networks), or "standard_normal" with
        ``parametrization="ntk"``.
    parametrization : {"standard", "ntk"}, default="standard"
        "ntk" is the neural tangent parametrisation of RealMLP's NTPLinear:
        ``y = (x @ W) / sqrt(in_features) + b``, with the weight and the bias
        drawn from N(0, 1) (the bias after the weight, from the same ``rng``)
        unless ``init="zeros"``, which sets both to 0 (RealMLP's output
        layer).

    Attributes
    ----------
    weight : Parameter of shape (in_features, out_features)
    bias : Parameter of shape (out_features,) or None
        With ``decay=False``: weight decay (L2) applies to the weight only.
    needs_input_grad : bool
        When False, ``backward`` skips the product ``grad @ W.T`` and returns
        None. Set it on a network's first layer, whose input gradient nobody
        reads, to save a third of that layer's work.

    Notes
    -----
    Backward, for a batch ``x`` of shape (n, in) and upstream gradient ``g`` of
    shape (n, out), with ``c = 1`` (``c = 1 / sqrt(in)`` for "ntk")::

        dW = c * x.T @ g    (in, out)
        db = g.sum(axis=0)  (out,)
        dx = c * g @ W.T    (n, in)

    ``x`` may be a scipy sparse matrix (CSR); then no input gradient is
    computed.
    """

    _cache_names = ("_x",)
    #: Linear layers pickled before the "ntk" parametrisation are standard ones.
    parametrization = "standard"
    _ntk_factor = None

    def __init__(
        self, in_features, out_features, bias=True, *, rng=None, dtype=np.float32,
        init=None, parametrization="standard",
    ):
        super().__init__()
        self.in_features = _check_positive_int(in_features, "in_features")
        self.out_features = _check_positive_int(out_features, "out_features")
        self.dtype = check_float_dtype(dtype, "Linear")
        if parametrization not in ("standard", "ntk"):
            raise ValueError(
                f"parametrization must be 'standard' or 'ntk', got {parametrization!r}."
            )
        ntk = parametrization == "ntk"
        self.parametrization = parametrization
        self._ntk_factor = 1.0 / math.sqrt(self.in_features) if ntk else None
        if init is None:
            init = "standard_normal" if ntk else "he_uniform"
        rng = np.random.default_rng() if rng is None else rng
        weight = get_initializer(init)((self.in_features, self.out_features), rng, self.dtype)
        self.weight = Parameter(weight)
        if not bias:
            self.bias = None
        elif ntk and not (isinstance(init, str) and init == "zeros"):
            b = rng.standard_normal(self.out_features).astype(self.dtype, copy=False)
            self.bias = Parameter(b, decay=False)
        else:
            self.bias = Parameter(np.zeros(self.out_features, dtype=self.dtype), decay=False)
        self._params = [self.weight] if self.bias is None else [self.weight, self.bias]
        self.needs_input_grad = True
        self._x = None

    def forward(self, x):
        check_batch(x, self.in_features, "Linear")
        x = x.astype(self.weight.value.dtype, copy=False)
        # kept in both modes (a reference, not a copy), so that backward always
        # uses the batch of the last forward and eval-mode networks can be checked
        self._x = x
        if self.out_features == 1 and isinstance(x, np.ndarray):
            # BLAS's matrix-vector kernel rounds a row differently depending on its
            # position in the block; einsum gives every row the same result whatever
            # batch it comes in, so chunked prediction equals one big batch exactly.
            out = np.einsum("ij,jk->ik", x, self.weight.value)
        else:  # row blocks inside nn.products.split_products; a sparse x whole
            out = products.matmul(x, self.weight.value)
        if self._ntk_factor is not None:
            out *= self._ntk_factor
        if self.bias is not None:
            out += self.bias.value
        return np.asarray(out)

    def backward(self, grad_output):
        if self._x is None:
            raise RuntimeError("Linear.backward called before forward.")
        x = self._x
        dense = isinstance(x, np.ndarray)  # else a scipy sparse matrix
        if dense:
            products.matmul(x.T, grad_output, out=self.weight.grad)
        else:
            self.weight.grad[...] = x.T @ grad_output
        factor = self._ntk_factor
        if factor is not None:
            self.weight.grad *= factor
        if self.bias is not None:
            np.add.reduce(grad_output, axis=0, out=self.bias.grad)
        if not self.needs_input_grad or not dense:
            return None
        grad_input = products.matmul(grad_output, self.weight.value.T)
        if factor is not None:
            grad_input *= factor
        return grad_input

    def extra_repr(self):
        ntk = ", parametrization='ntk'" if self.parametrization == "ntk" else ""
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, dtype={self.dtype.name}{ntk}"
        )


class Dropout(Module):
    """Inverted dropout.

    In training mode each unit is zeroed with probability ``p`` and the kept
    units are scaled by ``1 / (1 - p)``, so the expected output equals the
    input; in evaluation mode the layer is the identity.

    Parameters
    ----------
    p : float, default=0.5
        Probability of dropping a unit, in [0, 1).
    rng : numpy.random.Generator, default=None
        Source of the masks. None uses a fresh, unseeded Generator.

    Notes
    -----
    ``y = x * m`` with ``m = (u >= p) / (1 - p)``, ``u ~ U[0, 1)``; backward is
    ``dx = g * m`` with the same mask.
    """

    _cache_names = ("_mask",)

    def __init__(self, p=0.5, *, rng=None):
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability p must be in [0, 1), got {p!r}.")
        self.p = float(p)
        self.rng = np.random.default_rng() if rng is None else rng
        self._mask = None

    def forward(self, x):
        check_batch(x, None, "Dropout")
        if not self.training or self.p == 0.0:
            self._mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        mask = self.rng.random(x.shape, dtype=dtype) >= self.p
        self._mask = mask.astype(dtype) * (1.0 / (1.0 - self.p))
        return x * self._mask

    def backward(self, grad_output):
        if self._mask is None:
            return grad_output
        return grad_output * self._mask

    def extra_repr(self):
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalisation over the sample axis of a 2-D batch.

    Training mode normalises with the batch mean and (biased) variance and
    updates the running statistics; evaluation mode uses the running
    statistics::

        x_hat = (x - mean) / sqrt(var + eps)
        y = gamma * x_hat + beta
        running_mean = (1 - momentum) * running_mean + momentum * batch_mean
        running_var = (1 - momentum) * running_var + momentum * unbiased_batch_var

    Parameters
    ----------
    num_features : int
        Number of features (columns).
    eps : float, default=1e-5
        Added to the variance for numerical stability (a constant feature
        normalises to zero, not NaN).
    momentum : float, default=0.1
        Weight of the current batch in the running statistics, in (0, 1].
    dtype : dtype, default=np.float32
        The dtype of the parameters and statistics, a floating-point one (a
        ValueError names any other).

    Attributes
    ----------
    gamma : Parameter of shape (num_features,)
        Scale, initialised to ones; ``decay=False`` (no weight decay).
    beta : Parameter of shape (num_features,)
        Shift, initialised to zeros; ``decay=False``.
    running_mean : ndarray of shape (num_features,)
    running_var : ndarray of shape (num_features,)

    Notes
    -----
    Backward in training mode, with ``dx_hat = g * gamma``, ``n`` rows and
    ``p_i = 1 / n`` (or the normalised batch weights)::

        dx_i = (dx_hat_i - p_i sum(dx_hat) - p_i x_hat_i sum(dx_hat * x_hat)) / sqrt(var + eps)

    and in evaluation mode ``dx = g * gamma / sqrt(running_var + eps)``; in both
    ``dgamma = sum(g * x_hat)``, ``dbeta = sum(g)`` over rows.
    """

    _cache_names = ("_x_hat", "_inv_std", "_p")
    accepts_sample_weight = True
    _buffer_names = ("running_mean", "running_var")

    def __init__(self, num_features, eps=1e-5, momentum=0.1, *, dtype=np.float32):
        super().__init__()
        self.num_features = _check_positive_int(num_features, "num_features")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}.")
        if not 0.0 < momentum <= 1.0:
            raise ValueError(f"momentum must be in (0, 1], got {momentum!r}.")
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.dtype = check_float_dtype(dtype, "BatchNorm1d")
        self.gamma = Parameter(np.ones(self.num_features, dtype=self.dtype), decay=False)
        self.beta = Parameter(np.zeros(self.num_features, dtype=self.dtype), decay=False)
        self._params = [self.gamma, self.beta]
        self.running_mean = np.zeros(self.num_features, dtype=self.dtype)
        self.running_var = np.ones(self.num_features, dtype=self.dtype)
        self._x_hat = None
        self._inv_std = None
        self._p = None

    def forward(self, x, sample_weight=None):
        """Normalise the batch (training) or apply the running statistics (evaluation).

        Parameters
        ----------
        x : ndarray of shape (n_samples, num_features)
        sample_weight : ndarray of shape (n_samples,), default=None
            Non-negative weights of the rows of a training batch (ignored in
            evaluation mode). The batch mean and variance become weighted (a
            row of weight 2 counts twice, as in the loss), and the unbiased
            correction uses the total weight.

        Returns
        -------
        out : ndarray of shape (n_samples, num_features)
        """
        check_batch(x, self.num_features, "BatchNorm1d")
        x = x.astype(self.gamma.value.dtype, copy=False)
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError(
                    "BatchNorm1d needs at least 2 samples per batch in training mode "
                    f"to estimate a variance, got {n}. Use a larger batch or call eval()."
                )
            if sample_weight is None:
                self._p, total = None, n
                mean = x.mean(axis=0)
                centered = x - mean
                var = np.mean(centered * centered, axis=0)
            else:
                w = np.asarray(sample_weight, dtype=np.float64)
                if w.shape != (n,):
                    raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}.")
                if (w < 0).any() or not w.sum() > 0:
                    raise ValueError("sample_weight must be non-negative with a positive sum.")
                # in float64: the sum of float32 weights near 1e37 would overflow
                self._p = p = (w / w.sum()).astype(x.dtype)
                # frequency weights count as that many rows, but never fewer rows
                # than carry weight (so rescaled weights cannot inflate the variance)
                total = max(float(w.sum()), float(np.count_nonzero(w)))
                mean = p @ x
                centered = x - mean
                var = p @ (centered * centered)
            m = self.momentum
            unbiased = total / (total - 1) if total > 1 else 1.0
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += (m * unbiased) * var
        else:
            centered = x - self.running_mean
            var = self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = centered * inv_std
        self._x_hat, self._inv_std = x_hat, inv_std
        return x_hat * self.gamma.value + self.beta.value

    def backward(self, grad_output):
        if self._x_hat is None:
            raise RuntimeError("BatchNorm1d.backward called before forward.")
        x_hat = self._x_hat
        np.sum(grad_output * x_hat, axis=0, out=self.gamma.grad)
        np.sum(grad_output, axis=0, out=self.beta.grad)
        scale = self.gamma.value * self._inv_std
        if not self.training:
            return grad_output * scale
        p = 1.0 / x_hat.shape[0] if self._p is None else self._p[:, None]
        return (grad_output - p * self.beta.grad - (p * x_hat) * self.gamma.grad) * scale

    def extra_repr(self):
        return f"num_features={self.num_features}, eps={self.eps}, momentum={self.momentum}"


class Identity(Module):
    """The identity map: ``forward(x) = x`` and ``backward(g) = g``."""

    def forward(self, x):
        return x

    def backward(self, grad_output):
        return grad_output


class Scale(Module):
    """A learnable scale per feature, ``y = x * scale`` (RealMLP's first layer).

    Parameters
    ----------
    num_features : int
        Number of features (columns).
    dtype : dtype, default=np.float32
        The dtype of the scale, a floating-point one; inputs are cast to it.

    Attributes
    ----------
    scale : Parameter of shape (num_features,)
        Initialised to ones; ``decay=False``.

    Notes
    -----
    Backward: ``dscale = sum over rows of g * x`` and ``dx = g * scale``.
    """

    _cache_names = ("_x",)

    def __init__(self, num_features, *, dtype=np.float32):
        super().__init__()
        self.num_features = _check_positive_int(num_features, "num_features")
        self.dtype = check_float_dtype(dtype, "Scale")
        self.scale = Parameter(np.ones(self.num_features, dtype=self.dtype), decay=False)
        self._params = [self.scale]
        self._x = None

    def forward(self, x):
        check_batch(x, self.num_features, "Scale")
        x = np.asarray(x).astype(self.scale.value.dtype, copy=False)
        self._x = x  # a reference, in both modes
        return x * self.scale.value

    def backward(self, grad_output):
        if self._x is None:
            raise RuntimeError("Scale.backward called before forward.")
        np.add.reduce(grad_output * self._x, axis=0, out=self.scale.grad)
        return grad_output * self.scale.value

    def extra_repr(self):
        return f"num_features={self.num_features}"


def _codes(x, n_codes, owner):
    """Integer codes of shape (n,) from ``x`` and the mask of the missing ones.

    A code of -1 or NaN is missing; any other must be an integer in
    ``[0, n_codes)`` (floats holding integers are accepted).
    """
    x = np.asarray(x)
    if x.ndim != 1:
        raise ValueError(f"{owner} expects a 1-D array of integer codes, got shape {x.shape}.")
    if x.dtype.kind == "f":
        missing = np.isnan(x) | (x == -1)
        known = x[~missing]
        if not (np.isfinite(known).all() and (known == np.floor(known)).all()):
            raise ValueError(f"{owner}: codes must be integers (or -1 or NaN for missing).")
        codes = np.where(missing, 0, x).astype(np.intp)
    elif x.dtype.kind in "iub":
        codes = x.astype(np.intp)
        missing = codes == -1
        codes[missing] = 0
    else:
        raise ValueError(f"{owner} expects integer codes, got dtype {x.dtype}.")
    if codes.size and (codes.min() < 0 or codes.max() >= n_codes):
        raise ValueError(
            f"{owner}: codes must lie in [0, {n_codes}) (or be -1 or NaN for missing), "
            f"got values in [{codes.min()}, {codes.max()}]."
        )
    return codes, (missing if missing.any() else None)


class Embedding(Module):
    """A lookup table: row ``i`` of the output is row ``index[i]`` of ``weight``.

    Parameters
    ----------
    num_embeddings : int
        Number of rows (categories), codes ``0 .. num_embeddings - 1``.
    embedding_dim : int
        Size of each embedding vector.
    rng : numpy.random.Generator, default=None
        Source of the initial weight. None uses a fresh, unseeded Generator.
    dtype : dtype, default=np.float32
        The dtype of the weight, a floating-point one.

    Attributes
    ----------
    weight : Parameter of shape (num_embeddings, embedding_dim)
        Initialised from N(0, 1), as PyTorch's ``nn.Embedding``.

    Notes
    -----
    ``forward`` takes codes of shape (n_samples,), integers or floats holding
    integers; a code of -1 or NaN means missing (or unknown) and gives a zero
    vector. It returns shape (n_samples, embedding_dim). Backward writes
    ``dweight[k] = sum of g[i] over the rows i with index[i] == k`` (missing
    rows contribute nothing) and returns None: codes have no gradient.
    """

    _cache_names = ("_codes", "_missing")

    def __init__(self, num_embeddings, embedding_dim, *, rng=None, dtype=np.float32):
        super().__init__()
        self.num_embeddings = _check_positive_int(num_embeddings, "num_embeddings")
        self.embedding_dim = _check_positive_int(embedding_dim, "embedding_dim")
        self.dtype = check_float_dtype(dtype, "Embedding")
        rng = np.random.default_rng() if rng is None else rng
        shape = (self.num_embeddings, self.embedding_dim)
        self.weight = Parameter(rng.standard_normal(shape).astype(self.dtype, copy=False))
        self._params = [self.weight]
        self._codes = self._missing = None

    def forward(self, x):
        codes, missing = _codes(x, self.num_embeddings, "Embedding")
        self._codes, self._missing = codes, missing
        out = self.weight.value[codes]  # a new array
        if missing is not None:
            out[missing] = 0
        return out

    def backward(self, grad_output):
        if self._codes is None:
            raise RuntimeError("Embedding.backward called before forward.")
        codes, missing = self._codes, self._missing
        if missing is not None:
            codes, grad_output = codes[~missing], grad_output[~missing]
        grad = self.weight.grad
        grad.fill(0)
        np.add.at(grad, codes, grad_output)
        return None

    def extra_repr(self):
        return f"num_embeddings={self.num_embeddings}, embedding_dim={self.embedding_dim}"


class CategoricalEmbedding(Module):
    """Embed the categorical columns of a float batch, pass the others through.

    Parameters
    ----------
    n_features : int
        Number of input columns.
    columns : sequence of int
        The distinct columns holding category codes: integers in
        ``[0, cardinality)``, -1 or NaN for missing (a zero vector). They are
        rounded to the nearest integer first, so float noise is harmless.
    cardinalities : sequence of int
        The number of categories of each of ``columns``.
    embedding_dims : sequence of int
        The embedding size of each of ``columns``.
    rng : numpy.random.Generator, default=None
        Source of the initial embeddings (in the order of ``columns``).
    dtype : dtype, default=np.float32

    Attributes
    ----------
    embeddings : list of Embedding
        One per column of ``columns``, also the module's children.
    n_features_out : int
        ``n_features - len(columns) + sum(embedding_dims)``.

    Notes
    -----
    The output is the other columns, in their order, followed by the
    embeddings of ``columns`` in the order given. Backward writes each
    embedding's gradient and returns ``g`` for the passed-through columns and
    zeros for the code columns.
    """

    _cache_names = ("_n",)

    def __init__(
        self, n_features, columns, cardinalities, embedding_dims, *, rng=None, dtype=np.float32
    ):
        super().__init__()
        self.n_features = _check_positive_int(n_features, "n_features")
        self.columns = [int(c) for c in columns]
        self.cardinalities = [int(c) for c in cardinalities]
        self.embedding_dims = [int(d) for d in embedding_dims]
        if not len(self.columns) == len(self.cardinalities) == len(self.embedding_dims):
            raise ValueError("columns, cardinalities and embedding_dims must have one "
                             "entry per categorical column.")
        if len(set(self.columns)) != len(self.columns) or any(
            not 0 <= c < self.n_features for c in self.columns
        ):
            raise ValueError(f"columns must be distinct and in [0, {self.n_features}), "
                             f"got {self.columns}.")
        self.dtype = check_float_dtype(dtype, "CategoricalEmbedding")
        rng = np.random.default_rng() if rng is None else rng
        self.embeddings = [
            Embedding(k, d, rng=rng, dtype=self.dtype)
            for k, d in zip(self.cardinalities, self.embedding_dims)
        ]
        self._children = list(self.embeddings)
        coded = set(self.columns)
        self._passed = [c for c in range(self.n_features) if c not in coded]
        self.n_features_out = len(self._passed) + sum(self.embedding_dims)
        self._n = None

    def forward(self, x):
        check_batch(x, self.n_features, "CategoricalEmbedding")
        x = np.asarray(x)
        n, n_passed = x.shape[0], len(self._passed)
        out = np.empty((n, self.n_features_out), dtype=self.dtype)
        out[:, :n_passed] = x[:, self._passed]
        start = n_passed
        for column, embedding in zip(self.columns, self.embeddings):
            codes = x[:, column]
            if codes.dtype.kind == "f":
                codes = np.rint(codes)
            stop = start + embedding.embedding_dim
            out[:, start:stop] = embedding.forward(codes)
            start = stop
        self._n = n
        return out

    def backward(self, grad_output):
        if self._n is None:
            raise RuntimeError("CategoricalEmbedding.backward called before forward.")
        n_passed = len(self._passed)
        start = n_passed
        for embedding in self.embeddings:
            stop = start + embedding.embedding_dim
            embedding.backward(grad_output[:, start:stop])
            start = stop
        grad_input = np.zeros((self._n, self.n_features), dtype=grad_output.dtype)
        grad_input[:, self._passed] = grad_output[:, :n_passed]
        return grad_input

    def extra_repr(self):
        return (
            f"n_features={self.n_features}, columns={self.columns}, "
            f"cardinalities={self.cardinalities}, embedding_dims={self.embedding_dims}"
        )
