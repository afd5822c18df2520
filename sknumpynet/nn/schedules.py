"""Learning-rate schedules, stepped once per epoch.

A schedule starts at ``lr`` and its :meth:`LRSchedule.step` is called at the end
of every epoch with that epoch's training loss; it returns the learning rate
for the next epoch. ``e`` below counts finished epochs.
"""

import math

__all__ = [
    "ConstantLR",
    "CosineLR",
    "InverseScalingLR",
    "LRSchedule",
    "ReduceLROnPlateau",
    "get_schedule",
]


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

    def step(self, loss=None):
        """Advance one epoch and return the learning rate for the next one.

        Parameters
        ----------
        loss : float, default=None
            The epoch's training loss (used by :class:`ReduceLROnPlateau`).

        Returns
        -------
        lr : float
        """
        self.epoch += 1
        self.lr = self._next_lr(loss)
        return self.lr

    def _next_lr(self, loss):
        raise NotImplementedError

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

    def _next_lr(self, loss):
        return self.initial_lr


class InverseScalingLR(LRSchedule):
    """``lr_e = lr / (e + 1) ** power_t``.

    Parameters
    ----------
    lr : float
    power_t : float, default=0.5
        Exponent of the decay, non-negative.
    """

    def __init__(self, lr, power_t=0.5):
        super().__init__(lr)
        if not power_t >= 0:
            raise ValueError(f"power_t must be non-negative, got {power_t!r}.")
        self.power_t = float(power_t)

    def _next_lr(self, loss):
        return self.initial_lr / (self.epoch + 1) ** self.power_t


class ReduceLROnPlateau(LRSchedule):
    """Divide the rate by ``1 / factor`` when the loss stops improving.

    As scikit-learn's ``learning_rate="adaptive"``: each time ``patience``
    consecutive epochs fail to lower the best loss by at least ``tol``, the rate
    is multiplied by ``factor``, down to ``min_lr``.

    Parameters
    ----------
    lr : float
    factor : float, default=0.2
        In (0, 1).
    patience : int, default=2
    tol : float, default=1e-4
    min_lr : float, default=1e-6
    """

    def __init__(self, lr, factor=0.2, patience=2, tol=1e-4, min_lr=1e-6):
        super().__init__(lr)
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1), got {factor!r}.")
        self.factor, self.patience = float(factor), int(patience)
        self.tol, self.min_lr = float(tol), float(min_lr)
        self.best_loss = math.inf
        self.bad_epochs = 0

    def _next_lr(self, loss):
        if loss is None:
            raise ValueError("ReduceLROnPlateau.step needs the epoch's loss.")
        if loss < self.best_loss - self.tol:
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        self.best_loss = min(self.best_loss, loss)
        if self.bad_epochs >= self.patience:
            self.bad_epochs = 0
            return max(self.lr * self.factor, self.min_lr)
        return self.lr

    @property
    def stalled(self):
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

    def _next_lr(self, loss):
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
