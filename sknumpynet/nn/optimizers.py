"""First-order optimizers: SGD (with momentum and Nesterov), RMSProp, Adam, Nadam.

An optimizer is built on a list of :class:`~sknumpynet.nn.Parameter` and
updates them in place from their ``.grad`` on every :meth:`Optimizer.step`.

On construction the parameters are packed into one contiguous buffer (see
:func:`~sknumpynet.nn.pack_parameters`): ``p.value`` and ``p.grad`` become
views into it, so a step is a handful of vectorised operations over all the
parameters at once, whatever their number. Optimizer state (velocities, moment
estimates) lives here, never in the layers.

In the formulas below ``w`` is a parameter, ``g`` its gradient, ``lr`` the
learning rate and ``t`` the step count, starting at 1. Optimizers only step: an
L2 penalty adds its gradient to ``g`` before the step
(:class:`~sknumpynet.nn.L2Penalty`), so every rule sees one gradient.

Every rule multiplies each parameter's step by its ``Parameter.lr_scale``
(``w -= lr_scale * step``). The multipliers are packed like the parameters,
into one per-element array, only when some ``lr_scale`` differs from 1: else
the step is exactly the rule as written. :class:`Adam` and :class:`Nadam` also
take a decoupled weight decay (AdamW).
"""

import math
import numbers
from types import SimpleNamespace

import numpy as np

from ._module import pack_parameters
from ._registry import lookup

__all__ = [
    "OPTIMIZERS", "SGD", "Adam", "Momentum", "Nadam", "Optimizer", "RMSProp", "get_optimizer",
]


def _check_number(value, name, low, high=None, low_open=False):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value < high
    if not ok:
        bounds = f"{'(' if low_open else '['}{low}, {high if high is not None else 'inf'})"
        raise ValueError(f"{name} must be a finite number in {bounds}, got {value!r}.")
    return float(value)


class Optimizer:
    """Base class: parameter packing and the step counter.

    Parameters
    ----------
    params : list of Parameter
        The parameters to update; they must share one dtype.
    lr : float
        Learning rate, non-negative (0 takes no step: per-step schedules such
        as :class:`~sknumpynet.nn.CosLogLR` start there). May be changed
        between steps (schedules do).

    Attributes
    ----------
    t : int
        Number of steps taken since construction or the last :meth:`restart`.

    Notes
    -----
    A subclass lists its per-parameter state in ``_state_names`` (zero at the
    start, saved with the optimizer) and its scratch arrays in
    ``_scratch_names``, and implements ``_update(block)``: one step of its
    rule on one block of the flat buffers, where ``block.w`` is the values,
    ``block.g`` the gradient, and ``block.<name>`` the same stretch of each
    state or scratch array. The rule ends with ``self._descend(block, step)``,
    which applies the parameters' ``lr_scale`` (``block.lr_scale``, None when
    all are 1) and subtracts the step.
    """

    #: Number of parameters updated together by one pass of :meth:`step`
    #: (read when the parameters are packed, on construction).
    block_size = 65536
    #: Every this many steps, state entries below the smallest normal float are
    #: set to zero (see ``_flush_subnormals``).
    flush_every = 64
    _state_names = ()
    #: The most arrays of the parameters' size the state holds (memory estimates
    #: read it before an optimizer exists).
    n_state_arrays = 0
    _scratch_names = ("buf",)

    def __init__(self, params, lr):
        self.params = list(params)
        self.lr = _check_number(lr, "lr", 0.0)
        self.t = 0
        self._state = {}
        self._pack()

    def _pack(self):
        self._w, self._g = pack_parameters(self.params)
        self._stretch_cache = {}
        for name in self._state_names:  # kept when only the parameter arrays changed
            if name not in self._state or self._state[name].shape != self._w.shape:
                self._state[name] = np.zeros_like(self._w)
        spans = _even_spans(0, self._w.size, self.block_size)
        # the blocks are updated one after another: one block's worth of each
        # scratch array serves them all (not a copy of the parameters each)
        longest = max((span.stop - span.start for span in spans), default=0)
        scratch = {n: np.empty(longest, dtype=self._w.dtype) for n in self._scratch_names}
        self._blocks = [
            SimpleNamespace(
                w=self._w[span],
                g=self._g[span],
                **{name: a[span] for name, a in self._state.items()},
                **{name: a[: span.stop - span.start] for name, a in scratch.items()},
            )
            for span in spans
        ]
        self._set_multipliers()

    def _settings(self):
        """The per-parameter settings the packed multipliers are built from."""
        return tuple(p.lr_scale for p in self.params)

    def _set_multipliers(self):
        """Give each block its stretch of the packed ``lr_scale`` multipliers.

        ``block.lr_scale`` is None when every parameter's ``lr_scale`` is 1, so
        that the usual step takes no extra pass.
        """
        self._packed_settings = self._settings()
        scales = [p.lr_scale for p in self.params]
        flat = self._per_element(scales) if any(s != 1.0 for s in scales) else None
        self._set_block_arrays("lr_scale", flat)

    def _per_element(self, values):
        """One value per parameter spread over its stretch of the flat buffer."""
        flat = np.empty_like(self._w)
        start = 0
        for p, value in zip(self.params, values):
            flat[start : start + p.value.size] = value
            start += p.value.size
        return flat

    def _set_block_arrays(self, name, flat):
        """Set ``block.<name>`` to each block's stretch of ``flat`` (or to None)."""
        start = 0
        for block in self._blocks:
            stop = start + block.w.size
            setattr(block, name, None if flat is None else flat[start:stop])
            start = stop

    def _descend(self, block, step):
        """``w -= lr_scale * step`` on one block; ``step`` may be overwritten."""
        if block.lr_scale is not None:
            step *= block.lr_scale
        block.w -= step

    def step(self, gradient=None):
        """Update every parameter in place from its current ``.grad``.

        Parameters
        ----------
        gradient : BlockGradient, default=None
            A term to add to the gradient of some parameters first (an L2
            penalty's, from :meth:`~sknumpynet.nn.L2Penalty.fused`): added
            block by block, each block just before its update, so that the
            weights are read once for both.
        """
        if not self._is_packed():
            self._pack()  # parameters were replaced, e.g. after unpickling
        elif self._packed_settings != self._settings():
            self._set_multipliers()  # an lr_scale (or a decay setting) changed
        stretches = None if gradient is None else self._stretches(gradient.params)
        self.t += 1
        # Block by block, so that every array of a block stays in cache across
        # the several passes of the update rule (5% of a Fashion-MNIST epoch).
        for i, block in enumerate(self._blocks):
            if stretches is not None:
                for lo, hi in stretches[i]:
                    gradient.add(block.w[lo:hi], block.g[lo:hi], block.buf[: hi - lo])
            self._update(block)
        if self.t % self.flush_every == 0:
            self._flush_subnormals()

    def _stretches(self, params):
        """For each block, the ``(lo, hi)`` stretches of it that ``params`` occupy.

        Cached per list of parameters until the next packing.
        """
        key = tuple(map(id, params))
        cache = self.__dict__.setdefault("_stretch_cache", {})
        if key not in cache:
            if any(p.value.base is not self._w for p in params):
                raise ValueError("A gradient term names parameters this optimizer does not update.")
            base, itemsize = self._w.ctypes.data, self._w.itemsize
            spans = [((p.value.ctypes.data - base) // itemsize, p.value.size) for p in params]
            spans = [(start, start + size) for start, size in spans]
            cache.clear()  # one list at a time (the penalised parameters)
            cache[key] = [
                [(max(lo, b0) - b0, min(hi, b1) - b0) for lo, hi in spans if lo < b1 and hi > b0]
                for b0, b1 in self._block_bounds()
            ]
        return cache[key]

    def _block_bounds(self):
        start, bounds = 0, []
        for block in self._blocks:
            bounds.append((start, start + block.w.size))
            start += block.w.size
        return bounds

    def _flush_subnormals(self):
        """Set the state entries that decayed below the smallest normal float to zero.

        A parameter whose gradient stays exactly zero (a pixel blank in every
        image of a batch, a dead unit) has its moment estimates multiplied by
        beta at every step, and after some 800 steps they are subnormal, where
        x86 arithmetic is many times slower: an Adam epoch on Fashion-MNIST
        without L2 slowed from 0.39 to 0.48 s after three epochs. This is the
        CPU's flush-to-zero mode, which numpy cannot switch on, done by hand
        now and then; it moves an update by less than ``lr * tiny / epsilon``.
        """
        tiny = np.finfo(self._w.dtype).tiny
        for state in self._state.values():
            state[np.abs(state) < tiny] = 0.0

    def _is_packed(self):
        """True while every ``p.value`` and ``p.grad`` still views the flat buffers.

        Any parameter can be replaced (``p.value = new_array``, unpickling), not
        only the first; its new array would otherwise be silently left alone.
        """
        w, g = self._w, self._g
        return w is not None and all(p.value.base is w and p.grad.base is g for p in self.params)

    def _update(self, block):
        raise NotImplementedError

    def restart(self, lr=None, like=None):
        """Set the state and the step count in place: zero, as a fresh optimizer's, or another's.

        The parameters are left alone; after a restart to zero, Adam's bias
        correction starts again from the first step. The fits roll back to an epoch's start with it,
        instead of keeping a copy of the state (as large as the parameters,
        per state array).

        Parameters
        ----------
        lr : float, default=None
            The rate to set, non-negative; None keeps the current one.
        like : Optimizer, default=None
            An optimizer of the same kind on parameters of the same shapes
            whose step count and state to take instead of zeros (copied into
            this one's arrays).
        """
        if like is not None and {n: a.shape for n, a in like._state.items()} != {
            n: a.shape for n, a in self._state.items()
        }:
            raise ValueError(
                f"restart(like=...) needs an optimizer of the same kind on parameters of "
                f"the same sizes; got {type(like).__name__} for this {type(self).__name__}."
            )
        if lr is not None:
            self.lr = _check_number(lr, "lr", 0.0)
        self.t = 0 if like is None else like.t
        for name, array in self._state.items():
            if like is None:
                array.fill(0)
            else:
                np.copyto(array, like._state[name])

    def __getstate__(self):
        state = self.__dict__.copy()
        # the parameters pickle with the network and the blocks are views of
        # their buffers: repack on load (the state arrays are kept)
        state["_w"] = state["_g"] = state["_blocks"] = None
        state.pop("_stretch_cache", None)
        return state

    def __setstate__(self, state):
        ordered = state.pop("_ordered", None)
        state.pop("weight_decay", None)  # format 2's L2 decay, now nn.L2Penalty's
        self.__dict__.update(state)
        if ordered is not None:  # pickled by format 2: decayed parameters came first
            self._state = _reorder(self._state, ordered, self.params)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyper().items())
        return f"{type(self).__name__}({args})"

    def _hyper(self):
        return {"lr": self.lr}

    def state_arrays(self):
        """Return the optimizer's state as one array per state name and parameter.

        Returns
        -------
        arrays : list of ndarray
            For each name of ``_state_names`` in order, one view per parameter
            in the order of ``params``, of that parameter's shape. They are
            views of the state: ``np.copyto`` into them (in place) restores a
            saved state, whatever the packing of the flat buffers.
        """
        if not self._is_packed():
            self._pack()
        base = self._w.ctypes.data
        itemsize = self._w.itemsize
        arrays = []
        for name in self._state_names:
            flat = self._state[name]
            for p in self.params:
                start = (p.value.ctypes.data - base) // itemsize
                arrays.append(flat[start : start + p.value.size].reshape(p.value.shape))
        return arrays


def _reorder(state, old_order, new_order):
    """State arrays packed in ``old_order`` of the parameters, repacked in ``new_order``."""
    offsets, start = {}, 0
    for p in old_order:
        offsets[id(p)] = (start, start + p.value.size)
        start += p.value.size
    return {
        name: np.concatenate([array[slice(*offsets[id(p)])] for p in new_order])
        for name, array in state.items()
    }


def copy_into(array, out=None):
    """A copy of ``array``, written into ``out`` when it has the same shape and dtype."""
    if out is None or out.shape != array.shape or out.dtype != array.dtype:
        return array.copy()
    np.copyto(out, array)
    return out


def _even_spans(lo, hi, size):
    """Slices that cut ``[lo, hi)`` into the fewest near-equal pieces of at most ``size``."""
    n = -(-(hi - lo) // size)
    if n == 0:
        return []
    edges = [lo + (hi - lo) * i // n for i in range(n + 1)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


class SGD(Optimizer):
    """Stochastic gradient descent, optionally with (Nesterov) momentum.

    Update (Sutskever et al., 2013, in the form PyTorch uses)::

        v = momentum * v + g
        w = w - lr * v                          (classical momentum)
        w = w - lr * (g + momentum * v)         (nesterov=True)

    With ``momentum=0`` this is plain ``w = w - lr * g``.

    Parameters
    ----------
    params : list of Parameter
    lr : float, default=0.01
    momentum : float, default=0.0
        In [0, 1).
    nesterov : bool, default=False
        Nesterov's accelerated gradient; needs ``momentum > 0``.
    """

    n_state_arrays = 1  # the velocity, with momentum

    def __init__(self, params, lr=0.01, momentum=0.0, nesterov=False):
        self.momentum = _check_number(momentum, "momentum", 0.0, 1.0)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs a positive momentum.")
        self.nesterov = bool(nesterov)
        super().__init__(params, lr)

    @property
    def _state_names(self):
        return ("velocity",) if self.momentum else ()

    def _update(self, block):
        buf, g = block.buf, block.g
        if self.momentum == 0:
            np.multiply(g, self.lr, out=buf)
            self._descend(block, buf)
            return
        v = block.velocity
        v *= self.momentum
        v += g
        if self.nesterov:
            np.multiply(v, self.momentum, out=buf)
            buf += g
            buf *= self.lr
        else:
            np.multiply(v, self.lr, out=buf)
        self._descend(block, buf)

    def _hyper(self):
        return {**super()._hyper(), "momentum": self.momentum, "nesterov": self.nesterov}


class Momentum(SGD):
    """SGD with momentum 0.9 by default (see :class:`SGD` for the update).

    Parameters
    ----------
    params : list of Parameter
    lr : float, default=0.01
    momentum : float, default=0.9
    nesterov : bool, default=False
    """

    def __init__(self, params, lr=0.01, momentum=0.9, nesterov=False):
        super().__init__(params, lr, momentum, nesterov)


class RMSProp(Optimizer):
    """RMSProp (Hinton, 2012): scale each step by a running RMS of the gradient.

    Update::

        s = rho * s + (1 - rho) * g**2
        w = w - lr * g / (sqrt(s) + eps)

    Parameters
    ----------
    params : list of Parameter
    lr : float, default=0.001
    rho : float, default=0.9
        Decay of the squared-gradient average, in [0, 1).
    eps : float, default=1e-8
    """

    def __init__(self, params, lr=0.001, rho=0.9, eps=1e-8):
        self.rho = _check_number(rho, "rho", 0.0, 1.0)
        self.eps = _check_number(eps, "eps", 0.0, low_open=True)
        super().__init__(params, lr)

    _state_names = ("square_avg",)
    n_state_arrays = 1

    def _update(self, block):
        s, buf, g = block.square_avg, block.buf, block.g
        s *= self.rho
        np.multiply(g, g, out=buf)
        buf *= 1.0 - self.rho
        s += buf
        np.sqrt(s, out=buf)
        buf += self.eps
        np.divide(g, buf, out=buf)
        buf *= self.lr
        self._descend(block, buf)

    def _hyper(self):
        return {**super()._hyper(), "rho": self.rho, "eps": self.eps}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015).

    Update::

        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g**2
        m_hat = m / (1 - beta_1**t)
        v_hat = v / (1 - beta_2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + epsilon) - lr * weight_decay * w

    (the last term, AdamW's decoupled weight decay of Loshchilov & Hutter,
    2019, uses the weights before the step, as the paper and PyTorch's AdamW
    do, and applies only to parameters with ``decay=True``; with each
    parameter's ``lr_scale`` both terms are multiplied by it), computed in the
    equivalent form of the paper's section 2,
    ``w -= lr_t * m / (sqrt(v) + epsilon * sqrt(1 - beta_2**t))`` with
    ``lr_t = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)``, which saves two passes.

    Parameters
    ----------
    params : list of Parameter
    lr : float, default=0.001
    beta_1 : float, default=0.9
        Decay of the first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Decay of the second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
    weight_decay : float, default=0.0
        Decoupled weight decay (AdamW), non-negative. Unlike an L2 penalty
        (:class:`~sknumpynet.nn.L2Penalty`) it is not scaled by the moment
        estimates. 0 leaves the rule (and its cost) exactly as without it.

    Attributes
    ----------
    decoupled_weight_decay : float
        The ``weight_decay`` given (also readable and settable as
        ``weight_decay``). Its own name keeps it apart from the L2
        ``weight_decay`` that optimizers pickled by format 2 (and model files
        of that time) carried: those load without a decoupled decay.
    """

    #: For Adam objects pickled before the decoupled decay existed.
    decoupled_weight_decay = 0.0

    def __init__(self, params, lr=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=0.0):
        self.beta_1 = _check_number(beta_1, "beta_1", 0.0, 1.0)
        self.beta_2 = _check_number(beta_2, "beta_2", 0.0, 1.0)
        self.epsilon = _check_number(epsilon, "epsilon", 0.0, low_open=True)
        self.decoupled_weight_decay = _check_number(weight_decay, "weight_decay", 0.0)
        super().__init__(params, lr)

    _state_names = ("m", "v")
    n_state_arrays = 2

    @property
    def weight_decay(self):
        """float: The decoupled weight decay (``decoupled_weight_decay``)."""
        return self.decoupled_weight_decay

    @weight_decay.setter
    def weight_decay(self, value):
        self.decoupled_weight_decay = _check_number(value, "weight_decay", 0.0)

    def _settings(self):
        decay = tuple(p.decay for p in self.params) if self.decoupled_weight_decay else ()
        return (*super()._settings(), self.decoupled_weight_decay, decay)

    def _set_multipliers(self):
        """Also pack ``weight_decay * lr_scale`` (0 where ``decay=False``), or None."""
        super()._set_multipliers()
        wd = self.decoupled_weight_decay
        rates = [wd * p.lr_scale if p.decay else 0.0 for p in self.params]
        flat = self._per_element(rates) if wd else None
        self._set_block_arrays("weight_decay", flat)

    def _decay_weights(self, block):
        """``w -= lr * weight_decay * lr_scale * w`` on one block, when decay is on."""
        rate = block.weight_decay
        if rate is not None:
            buf = block.buf
            np.multiply(block.w, rate, out=buf)
            buf *= self.lr
            block.w -= buf

    def _moments(self, block, g):
        """Update and return the block's moment estimates, kept scaled to save passes.

        Returns ``m / (1 - beta_1)`` and ``v / (1 - beta_2)``: the recursions
        ``m' = beta_1 m' + g`` and ``v' = beta_2 v' + g**2`` need two and three
        passes over the parameters instead of three and four.
        """
        m, v, buf = block.m, block.v, block.buf
        m *= self.beta_1
        m += g
        v *= self.beta_2
        np.multiply(g, g, out=buf)
        v += buf
        return m, v

    def _update(self, block):
        self._decay_weights(block)  # of the weights before the step
        m, v = self._moments(block, block.g)
        buf, b1, b2, t = block.buf, self.beta_1, self.beta_2, self.t
        # The rule above with m = (1 - b1) m' and v = (1 - b2) v' substituted:
        #   w -= lr_t (1 - b1) / sqrt(1 - b2) * m' / (sqrt(v') + eps sqrt(1 - b2**t) / sqrt(1 - b2))
        # Python floats keep the float32 arithmetic in float32 (NEP 50).
        bias2 = math.sqrt(1.0 - b2**t)
        lr_t = self.lr * bias2 / (1.0 - b1**t)
        scale = lr_t * (1.0 - b1) / math.sqrt(1.0 - b2)
        if scale == 0.0:  # lr 0 (a schedule's first step): the moments move, not w
            return
        np.sqrt(v, out=buf)
        buf += self.epsilon * bias2 / math.sqrt(1.0 - b2)
        buf *= 1.0 / scale
        np.divide(m, buf, out=buf)
        self._descend(block, buf)

    def _hyper(self):
        hyper = {
            **super()._hyper(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }
        if self.decoupled_weight_decay:
            hyper["weight_decay"] = self.decoupled_weight_decay
        return hyper


class Nadam(Adam):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016).

    Update, with ``m`` and ``v`` as in :class:`Adam`::

        m_hat = beta_1 * m / (1 - beta_1**(t + 1)) + (1 - beta_1) * g / (1 - beta_1**t)
        v_hat = v / (1 - beta_2**t)
        w = w - lr * m_hat / (sqrt(v_hat) + epsilon) - lr * weight_decay * w

    the first moment looks one step ahead, as Nesterov momentum does. The
    decoupled weight decay and ``lr_scale`` apply as in :class:`Adam`.

    Parameters
    ----------
    params : list of Parameter
    lr : float, default=0.001
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8
    weight_decay : float, default=0.0
        Decoupled weight decay, as in :class:`Adam`.
    """

    _scratch_names = ("buf", "num")

    def _update(self, block):
        self._decay_weights(block)
        g = block.g
        m, v = self._moments(block, g)  # scaled: m = (1 - b1) m', v = (1 - b2) v'
        buf, b1, b2, t = block.buf, self.beta_1, self.beta_2, self.t
        # numerator m_hat, built in a separate buffer so buf can hold the denominator
        num = block.num
        np.multiply(m, b1 * (1.0 - b1) / (1.0 - b1 ** (t + 1)), out=num)
        np.multiply(g, (1.0 - b1) / (1.0 - b1**t), out=buf)
        num += buf
        np.multiply(v, (1.0 - b2) / (1.0 - b2**t), out=buf)
        np.sqrt(buf, out=buf)
        buf += self.epsilon
        np.divide(num, buf, out=buf)
        buf *= self.lr
        self._descend(block, buf)


#: The optimizers by name: the estimators' ``solver`` names (``"sgd"``,
#: ``"rmsprop"``, ``"adam"``, ``"nadam"``) and ``"momentum"``. Saved models
#: may name these classes only.
OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "rmsprop": RMSProp, "adam": Adam, "nadam": Nadam}


def get_optimizer(name, params, **kwargs):
    """Build an optimizer from its short name.

    Parameters
    ----------
    name : {"sgd", "momentum", "rmsprop", "adam", "nadam"}
    params : list of Parameter
    **kwargs
        Passed to the optimizer's constructor (``lr``, ``momentum``, ...).

    Returns
    -------
    optimizer : Optimizer
    """
    return lookup(OPTIMIZERS, name, "optimizer")(params, **kwargs)
