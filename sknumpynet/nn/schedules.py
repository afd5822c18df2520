"""Learning-rate schedules, stepped once per epoch.

A schedule starts at ``lr`` and its :meth:`LRSchedule.step` is called at the end
of every epoch with that epoch's training loss; it returns the learning rate
for the next epoch. ``e`` below counts finished epochs. :class:`Plateau` is the
no-improvement count that :class:`ReduceLROnPlateau` (and a training loop's
stopping rule) share.
"""

import math

__all__ = [
    "ConstantLR",
    "CosineLR",
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


_SCHEDULES = {
    "constant": ConstantLR,
    "invscaling": InverseScalingLR,
    "adaptive": ReduceLROnPlateau,
    "cosine": CosineLR,
}


def get_schedule(name, lr, **kwargs):
    """Build a schedule from its short name.

    Parameters
    ----------
    name : {"constant", "invscaling", "adaptive", "cosine"}
    lr : float
        Initial learning rate.
    **kwargs
        Passed to the schedule's constructor (e.g. ``t_max`` for "cosine").

    Returns
    -------
    schedule : LRSchedule
    """
    try:
        cls = _SCHEDULES[name]
    except KeyError:
        choices = sorted(_SCHEDULES)
        raise ValueError(f"Unknown schedule {name!r}; choose one of {choices}.") from None
    return cls(lr, **kwargs)
