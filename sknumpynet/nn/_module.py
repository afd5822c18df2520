"""The module contract: :class:`Parameter`, :class:`Module` and :class:`Sequential`.

A module maps a batch ``x`` to an output in :meth:`Module.forward` and keeps
whatever :meth:`Module.backward` will need. ``backward(grad_output)`` returns the
gradient with respect to the input and *writes* (never adds) the gradient of
every parameter for that batch into ``Parameter.grad``.
"""

import numbers

import numpy as np

__all__ = ["Module", "Parameter", "Sequential", "pack_parameters"]


class Parameter:
    """A trainable array and its gradient.

    Parameters
    ----------
    value : ndarray
        The initial value. It is stored as given (no copy).
    decay : bool, default=True
        Whether an L2 penalty (:class:`~sknumpynet.nn.L2Penalty`) applies to
        it. Layers set it to False for biases and BatchNorm's scale and shift,
        which are conventionally left unpenalised; with a decoupled weight
        decay (``Adam(weight_decay=...)``) it is also the flag that selects the
        decayed parameters.
    lr_scale : float, default=1.0
        A multiplier of the learning rate for this parameter alone: every
        optimizer moves it by ``lr_scale`` times the step it would otherwise
        take (RealMLP trains its biases and input scales faster this way).
        Non-negative; 0 freezes the parameter.

    Attributes
    ----------
    value : ndarray
        The current value, updated in place by optimizers.
    grad : ndarray of the same shape and dtype as ``value``
        The gradient of the loss with respect to ``value`` for the last batch,
        written by the owning module's ``backward``.
    decay : bool
        As the parameter above.
    lr_scale : float
        As the parameter above; optimizers read it on every step.
    """

    __slots__ = ("value", "grad", "decay", "lr_scale")

    def __init__(self, value, decay=True, lr_scale=1.0):
        self.value = value
        self.grad = np.zeros_like(value)
        self.decay = bool(decay)
        self.lr_scale = _check_lr_scale(lr_scale)

    @property
    def shape(self):
        """tuple of int: The shape of ``value``."""
        return self.value.shape

    def __getstate__(self):
        # the gradient is per-batch scratch that the next backward overwrites:
        # pickling it would add the size of the parameters to every saved model
        return {"value": self.value, "decay": self.decay, "lr_scale": self.lr_scale}

    def __setstate__(self, state):
        self.value = state["value"]
        self.grad = np.zeros_like(self.value)
        self.decay = state.get("decay", True)
        self.lr_scale = state.get("lr_scale", 1.0)  # pickled before lr_scale existed

    def __repr__(self):
        decay = "" if self.decay else ", decay=False"
        scale = "" if self.lr_scale == 1.0 else f", lr_scale={self.lr_scale!r}"
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype}{decay}{scale})"


def _check_lr_scale(lr_scale):
    """``float(lr_scale)`` if it is a finite non-negative real number, else ValueError."""
    if isinstance(lr_scale, bool) or not isinstance(lr_scale, (numbers.Real, np.floating)):
        raise ValueError(f"lr_scale must be a finite non-negative number, got {lr_scale!r}.")
    if not (np.isfinite(lr_scale) and lr_scale >= 0):
        raise ValueError(f"lr_scale must be a finite non-negative number, got {lr_scale!r}.")
    return float(lr_scale)


def pack_parameters(params):
    """Move parameters into one contiguous buffer for values and one for gradients.

    Afterwards every ``p.value`` and ``p.grad`` is a view into the returned flat
    arrays, so an optimizer can update all parameters with a handful of
    vectorised operations. Values and gradients are preserved. Calling it again on parameters
    that are already packed together returns the existing buffers.

    Parameters
    ----------
    params : list of Parameter
        Parameters that share one dtype.

    Returns
    -------
    flat_value : ndarray of shape (n_total,)
        The buffer that every ``p.value`` views.
    flat_grad : ndarray of shape (n_total,)
        The buffer that every ``p.grad`` views.
    """
    params = list(params)
    if not params:
        raise ValueError("pack_parameters needs at least one Parameter, got none.")
    dtypes = {p.value.dtype for p in params}
    if len(dtypes) != 1:
        raise ValueError(f"Parameters must share one dtype to be packed, got {dtypes}.")
    packed = _packed_buffers(params)
    if packed is not None:
        return packed
    dtype = dtypes.pop()
    total = sum(p.value.size for p in params)
    # values first, then gradients: each parameter's own array is freed as it
    # moves, so packing holds one extra copy at most, not two
    return _move_into(params, "value", np.empty(total, dtype)), _move_into(
        params, "grad", np.empty(total, dtype)
    )


def _move_into(params, name, flat):
    """Copy each parameter's ``name`` array into ``flat`` and make it a view of it."""
    start = 0
    for p in params:
        old = getattr(p, name)
        stop = start + old.size
        flat[start:stop] = old.ravel()
        setattr(p, name, flat[start:stop].reshape(old.shape))
        start = stop
    return flat


def _packed_buffers(params):
    """Return the shared flat buffers if ``params`` are packed in order, else None."""
    flat_value, flat_grad = params[0].value.base, params[0].grad.base
    # a base may also be a non-array buffer (mmap of a memory-mapped load, bytes)
    if not isinstance(flat_value, np.ndarray) or not isinstance(flat_grad, np.ndarray):
        return None
    if flat_value.ndim != 1:
        return None
    start = 0
    for p in params:
        if p.value.base is not flat_value or p.grad.base is not flat_grad:
            return None
        if not np.shares_memory(p.value, flat_value[start : start + 1]):
            return None
        start += p.value.size
    if start != flat_value.size or flat_grad.size != start:
        return None
    return flat_value, flat_grad


class Module:
    """Base class of every layer, activation and container.

    Subclasses implement :meth:`forward` and :meth:`backward`, and list their
    trainable arrays in ``self._params`` (a list of :class:`Parameter`) and their
    child modules in ``self._children``.

    Attributes
    ----------
    training : bool
        True in training mode (the default), False in evaluation mode. Only
        modules such as Dropout and BatchNorm1d behave differently.
    """

    def __init__(self):
        self.training = True
        self._params = []
        self._children = []

    #: Whether :meth:`forward` takes a ``sample_weight`` keyword (BatchNorm1d's
    #: weighted batch statistics, containers that pass it on). Containers give
    #: the weights of a training batch only to the children that declare this.
    accepts_sample_weight = False

    def forward(self, x):
        """Compute the output for a batch and keep what ``backward`` needs.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features_in)

        Returns
        -------
        out : ndarray of shape (n_samples, n_features_out)
        """
        raise NotImplementedError

    def backward(self, grad_output):
        """Back-propagate the gradient of the loss through the last ``forward``.

        Parameters
        ----------
        grad_output : ndarray of shape (n_samples, n_features_out)
            Gradient of the loss with respect to this module's output.

        Returns
        -------
        grad_input : ndarray of shape (n_samples, n_features_in)
            Gradient of the loss with respect to this module's input. Each
            parameter's ``grad`` is overwritten with this batch's gradient.
        """
        raise NotImplementedError

    def __call__(self, x):
        return self.forward(x)

    def parameters(self):
        """Return the trainable parameters of this module and its children.

        Returns
        -------
        params : list of Parameter
            In a fixed order: this module's own parameters, then each child's.
        """
        params = list(self._params)
        for child in self._children:
            params.extend(child.parameters())
        return params

    def modules(self):
        """Return this module and every module below it, depth first.

        Returns
        -------
        modules : list of Module
            ``self`` first, then each child's :meth:`modules` in order.
        """
        found = [self]
        for child in self._children:
            found.extend(child.modules())
        return found

    def buffers(self):
        """Return the non-trainable state arrays of this module and its children.

        Buffers (such as BatchNorm1d's running statistics) change during
        training but are not updated by optimizers. Together with the parameter
        values they are the module's whole state.

        Returns
        -------
        buffers : list of ndarray
        """
        arrays = [getattr(self, name) for name in getattr(self, "_buffer_names", ())]
        for child in self._children:
            arrays.extend(child.buffers())
        return arrays

    def state_arrays(self):
        """Return every array that defines the module's state, in a fixed order.

        Returns
        -------
        arrays : list of ndarray
            The parameter values, then the buffers. Copy them to take a
            snapshot; ``np.copyto`` them back (in place) to restore it.
        """
        return [p.value for p in self.parameters()] + self.buffers()

    def zero_grad(self):
        """Set every parameter gradient to zero, in place."""
        for p in self.parameters():
            p.grad.fill(0)

    def train(self, mode=True):
        """Switch this module and its children to training mode.

        Parameters
        ----------
        mode : bool, default=True
            False switches to evaluation mode, like :meth:`eval`.

        Returns
        -------
        self : Module
        """
        self.training = bool(mode)
        for child in self._children:
            child.train(mode)
        return self

    def eval(self):
        """Switch this module and its children to evaluation mode.

        Returns
        -------
        self : Module
        """
        return self.train(False)

    def clear_cache(self):
        """Drop the arrays kept from the last forward pass (frees memory)."""
        for name in getattr(self, "_cache_names", ()):
            setattr(self, name, None)
        for child in self._children:
            child.clear_cache()

    def extra_repr(self):
        """Return the constructor arguments shown by ``repr``."""
        return ""

    def __getstate__(self):
        state = self.__dict__.copy()
        for name in getattr(self, "_cache_names", ()):
            state[name] = None  # never pickle batch activations
        return state

    def __repr__(self):
        return f"{type(self).__name__}({self.extra_repr()})"


class Sequential(Module):
    """A chain of modules applied one after the other.

    Parameters
    ----------
    *modules : Module
        The modules, in the order they are applied.

    Examples
    --------
    >>> import numpy as np
    >>> from sknumpynet.nn import Linear, ReLU, Sequential
    >>> rng = np.random.default_rng(0)
    >>> net = Sequential(Linear(4, 8, rng=rng), ReLU(), Linear(8, 3, rng=rng))
    >>> net(np.ones((2, 4), dtype=np.float32)).shape
    (2, 3)
    """

    def __init__(self, *modules):
        super().__init__()
        for i, m in enumerate(modules):
            if not isinstance(m, Module):
                raise TypeError(
                    f"Sequential takes Module instances; argument {i} is "
                    f"{type(m).__name__}."
                )
        self._children = list(modules)

    accepts_sample_weight = True

    def forward(self, x, sample_weight=None):
        """Apply the modules in order.

        Parameters
        ----------
        x : ndarray of shape (n_samples, n_features_in)
        sample_weight : ndarray of shape (n_samples,), default=None
            Weights of the rows of a training batch, handed to the children
            that accept them (``accepts_sample_weight``).

        Returns
        -------
        out : ndarray of shape (n_samples, n_features_out)
        """
        if sample_weight is None:
            for module in self._children:
                x = module.forward(x)
            return x
        for module in self._children:
            if module.accepts_sample_weight:
                x = module.forward(x, sample_weight=sample_weight)
            else:
                x = module.forward(x)
        return x

    def backward(self, grad_output):
        for module in reversed(self._children):
            grad_output = module.backward(grad_output)
        return grad_output

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(*self._children[index])
        return self._children[index]

    def __len__(self):
        return len(self._children)

    def __iter__(self):
        return iter(self._children)

    def __repr__(self):
        # a nested child's own lines are indented one more level
        lines = [
            f"  ({i}): " + repr(m).replace("\n", "\n  ") for i, m in enumerate(self._children)
        ]
        return "Sequential(\n" + "\n".join(lines) + "\n)"
