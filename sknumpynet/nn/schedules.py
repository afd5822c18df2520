"""Learning-rate schedules, stepped once per epoch (or per optimizer step).

A schedule starts at ``lr`` and its :meth:`LRSchedule.step` is called at the end
of every epoch with that epoch's training loss; it returns the learning rate
for the next epoch. :class:`CosLogLR` and :class:`FlatCosLR` (RealMLP's) are
functions of the training progress instead, stepped after every optimizer step
(or with ``n_steps`` the steps of an epoch). ``e`` below counts finished
epochs. :class:`Plateau` is the no-improvement count that
:class:`ReduceLROnPlateau` (and a training loop's stopping rule) share.
"""

import math
import numbers

from ._registry import lookup

__all__ = [
    "SCHEDULES",
    "ConstantLR",
    "CosLogLR",
    "CosineLR",
    "FlatCosLR",
    "InverseScalingLR",
    "LRSchedule",
    "Plateau",
    "ReduceLROnPlateau",
    "get_schedule",
]


class Plateau:
    """Count the epochs that fail to improve a monitored value (lower is better).

    scikit-learn's rule: an epoch whose value is above ``best - tol`` counts as
    no improvement, any other resets the count; a plateau is reached when the
    count exceeds ``patience``. To monitor a score (higher is better), pass its
    negative.

    Parameters
    ----------
    patience : int or float, default=10
        Epochs without improvement tolerated; ``math.inf`` never plateaus.
    tol : float, default=1e-4
        Least improvement that counts, non-negative.
    best : float, default=inf
        The best value so far (e.g. of an earlier fit being resumed).

    Attributes
    ----------
    best : float
        Lowest value seen (``inf`` before the first update).
    count : int
        Consecutive epochs without improvement.
    """

    def __init__(self, patience=10, tol=1e-4, best=math.inf):
        if not patience >= 0:
            raise ValueError(f"patience must be non-negative, got {patience!r}.")
        if not tol >= 0:
            raise ValueError(f"tol must be non-negative, got {tol!r}.")
        self.patience, self.tol = patience, float(tol)
        self.best, self.count = float(best), 0

    def update(self, value):
        """Record one epoch's value.

        Parameters
        ----------
        value : float

        Returns
        -------
        improved_best : bool
            Whether ``value`` is a new best (strictly lower than all before).
        """
        self.count = self.count + 1 if value > self.best - self.tol else 0
        improved = value < self.best
        self.best = min(self.best, value)
        return improved

    @property
    def reached(self):
        """bool: True when more than ``patience`` epochs in a row brought no improvement."""
        return self.count > self.patience

    def reset(self):
        """Start counting again (the best value is kept)."""
        self.count = 0


class LRSchedule:
    """Base class of the schedules.

    Parameters
    ----------
    lr : float
        Initial learning rate, positive.

    Attributes
    ----------
    lr : float
        The current learning rate.
    epoch : int
        Number of epochs stepped so far.
    """

    def __init__(self, lr):
        if not lr > 0:
            raise ValueError(f"lr must be positive, got {lr!r}.")
        self.initial_lr = float(lr)
        self.lr = float(lr)
        self.epoch = 0

    def step(self, loss=None, n_steps=1):
        """Advance one epoch and return the learning rate for the next one.

        Parameters
        ----------
        loss : float, default=None
            The epoch's training loss (used by :class:`ReduceLROnPlateau`).
        n_steps : int, default=1
            Time steps the epoch counts for (:class:`InverseScalingLR` decays
            with them; scikit-learn counts samples seen).

        Returns
        -------
        lr : float
        """
        self.epoch += 1
        self.lr = self._next_lr(loss, n_steps)
        return self.lr

    def _next_lr(self, loss, n_steps):
        raise NotImplementedError

    def reduce(self):
        """Lower the rate because training stalled, if this schedule does that.

        Returns
        -------
        reduced : bool
            False (the base schedules never reduce on demand): a training loop
            then stops.
        """
        return False

    @property
    def stalled(self):
        """bool: True when the schedule cannot lower the rate any further."""
        return False

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.initial_lr})"


class ConstantLR(LRSchedule):
    """Keep ``lr`` for every epoch.

    Parameters
    ----------
    lr : float
    """

    def _next_lr(self, loss, n_steps):
        return self.initial_lr


class InverseScalingLR(LRSchedule):
    """``lr_t = lr / (t + 1) ** power_t``, with ``t`` the time steps counted so far.

    By default an epoch counts for one step, so ``t`` is the epoch; scikit-learn
    counts the samples seen (pass ``n_steps=n_samples`` to :meth:`step`).

    Parameters
    ----------
    lr : float
    power_t : float, default=0.5
        Exponent of the decay, non-negative.
    t0 : int, default=0
        Steps already taken (a resumed fit starts where it stopped).
    """

    def __init__(self, lr, power_t=0.5, t0=0):
        super().__init__(lr)
        if not power_t >= 0:
            raise ValueError(f"power_t must be non-negative, got {power_t!r}.")
        if not t0 >= 0:
            raise ValueError(f"t0 must be non-negative, got {t0!r}.")
        self.power_t = float(power_t)
        self.t = int(t0)
        self.lr = self.initial_lr / (self.t + 1) ** self.power_t

    def _next_lr(self, loss, n_steps):
        self.t += int(n_steps)
        return self.initial_lr / (self.t + 1) ** self.power_t


class ReduceLROnPlateau(LRSchedule):
    """Multiply the rate by ``factor`` whenever the loss stops improving.

    As scikit-learn's ``learning_rate="adaptive"``: when more than ``patience``
    consecutive epochs fail to lower the best loss by at least ``tol`` (a
    :class:`Plateau`), the rate is multiplied by ``factor``, unless it is
    already at or below ``min_lr``: then the schedule is :attr:`stalled`.

    :meth:`step` with a loss counts the plateau itself; a training loop whose
    stopping rule already counts one calls :meth:`step` without a loss and
    :meth:`reduce` at each plateau.

    Parameters
    ----------
    lr : float
    factor : float, default=0.2
        In (0, 1).
    patience : int or float, default=10
    tol : float, default=1e-4
    min_lr : float, default=1e-6
    """

    def __init__(self, lr, factor=0.2, patience=10, tol=1e-4, min_lr=1e-6):
        super().__init__(lr)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}.")
        self.factor, self.min_lr = float(factor), float(min_lr)
        self.plateau = Plateau(patience, tol)

    def _next_lr(self, loss, n_steps):
        if loss is not None:
            self.plateau.update(loss)
            if self.plateau.reached:
                self.reduce()
        return self.lr

    def reduce(self):
        """Multiply the rate by ``factor`` unless it is already at ``min_lr``.

        Returns
        -------
        reduced : bool
            False when the schedule is stalled.
        """
        if self.stalled:
            return False
        self.lr *= self.factor
        self.plateau.reset()
        return True

    @property
    def stalled(self):
        """bool: True when the rate is at or below ``min_lr``."""
        return self.lr <= self.min_lr


class CosineLR(LRSchedule):
    """Cosine annealing from ``lr`` to ``min_lr`` over ``t_max`` epochs.

    ``lr_e = min_lr + (lr - min_lr) * (1 + cos(pi * min(e, t_max) / t_max)) / 2``

    Parameters
    ----------
    lr : float
    t_max : int
        Number of epochs to anneal over, positive.
    min_lr : float, default=0.0
    """

    def __init__(self, lr, t_max, min_lr=0.0):
        super().__init__(lr)
        if not t_max >= 1:
            raise ValueError(f"t_max must be a positive integer, got {t_max!r}.")
        self.t_max, self.min_lr = int(t_max), float(min_lr)

    def _next_lr(self, loss, n_steps):
        progress = min(self.epoch, self.t_max) / self.t_max
        cosine = (1 + math.cos(math.pi * progress)) / 2
        return self.min_lr + (self.initial_lr - self.min_lr) * cosine


class _ProgressLR(LRSchedule):
    """A rate ``lr * f(t)`` of the progress ``t = min(step, total_steps) / total_steps``.

    ``step`` counts the optimizer steps taken (:meth:`LRSchedule.step` adds
    ``n_steps``); ``lr`` is always the rate of the next step, ``f(0)`` at first.
    """

    def __init__(self, lr, total_steps):
        super().__init__(lr)
        if isinstance(total_steps, bool) or not (
            isinstance(total_steps, numbers.Integral) and total_steps >= 1
        ):
            raise ValueError(f"total_steps must be a positive integer, got {total_steps!r}.")
        self.total_steps = int(total_steps)
        self.t = 0
        self.lr = self._rate()

    def _next_lr(self, loss, n_steps):
        self.t += int(n_steps)
        return self._rate()

    def _rate(self):
        return self.initial_lr * self._factor(min(self.t, self.total_steps) / self.total_steps)

    def _factor(self, progress):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(lr={self.initial_lr}, total_steps={self.total_steps})"


class CosLogLR(_ProgressLR):
    """RealMLP's "coslog" schedule: cosine cycles that lengthen geometrically.

    ``lr_t = lr * (0.5 - 0.5 * cos(2 pi log2(1 + (2**n_cycles - 1) * t)))``
    with ``t = step / total_steps`` (held at 1 past the end). The argument of
    the cosine runs from 0 to ``n_cycles``, so there are ``n_cycles`` cycles,
    each twice as long as the one before; the rate is 0 at the first step, at
    the end of every cycle and from the last step on (Holzmüller et al., 2024:
    "coslog4" is ``n_cycles=4``, ``log2(1 + 15 t)``). A rate of 0 is a valid
    optimizer step: the moment estimates move, the weights do not.

    Parameters
    ----------
    lr : float
        The peak rate.
    total_steps : int
        The number of optimizer steps of the whole training, positive.
    n_cycles : int, default=4
        Positive.
    """

    def __init__(self, lr, total_steps, n_cycles=4):
        if isinstance(n_cycles, bool) or not (
            isinstance(n_cycles, numbers.Integral) and n_cycles >= 1
        ):
            raise ValueError(f"n_cycles must be a positive integer, got {n_cycles!r}.")
        self.n_cycles = int(n_cycles)
        super().__init__(lr, total_steps)

    def _factor(self, progress):
        cycles = math.log2(1.0 + (2.0**self.n_cycles - 1.0) * progress)
        return 0.5 - 0.5 * math.cos(2.0 * math.pi * cycles)

    def __repr__(self):
        return (f"CosLogLR(lr={self.initial_lr}, total_steps={self.total_steps}, "
                f"n_cycles={self.n_cycles})")


class FlatCosLR(_ProgressLR):
    """RealMLP's "flat_cos" schedule: flat for the first half, then a cosine to 0.

    ``lr_t = lr`` for ``t < 1/2`` and ``lr * (0.5 + 0.5 * cos(pi * (2 t - 1)))``
    from ``t = 1/2`` on, with ``t = step / total_steps`` (held at 1 past the
    end): pytabkit's ``flat_cos``, a constant over ``[0, 1/2)`` followed by a
    half cosine from ``lr`` down to 0 over ``[1/2, 1]``.

    Parameters
    ----------
    lr : float
    total_steps : int
        The number of optimizer steps of the whole training, positive.
    """

    def _factor(self, progress):
        if progress < 0.5:
            return 1.0
        return 0.5 + 0.5 * math.cos(math.pi * (2.0 * progress - 1.0))


#: The schedules by name: the estimators' ``learning_rate`` names and more.
SCHEDULES = {
    "constant": ConstantLR,
    "invscaling": InverseScalingLR,
    "adaptive": ReduceLROnPlateau,
    "cosine": CosineLR,
    "coslog": CosLogLR,
    "flat_cos": FlatCosLR,
}


def get_schedule(name, lr, **kwargs):
    """Build a schedule from its short name.

    Parameters
    ----------
    name : {"constant", "invscaling", "adaptive", "cosine", "coslog", "flat_cos"}
    lr : float
        Initial learning rate.
    **kwargs
        Passed to the schedule's constructor (e.g. ``t_max`` for "cosine",
        ``total_steps`` for "coslog" and "flat_cos").

    Returns
    -------
    schedule : LRSchedule
    """
    return lookup(SCHEDULES, name, "schedule")(lr, **kwargs)
