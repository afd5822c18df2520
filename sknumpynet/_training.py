"""The minibatch training loop: batch -> epoch, with divergence and Ctrl-C handling.

This module knows the engine (``nn``) and nothing of scikit-learn. The
estimators in ``_base`` drive it one epoch at a time and decide when to stop.
"""

import contextlib
import math
import signal
import threading
import time

import numpy as np
import scipy.sparse as sp

from .nn import BatchNorm1d

__all__ = ["Interrupted", "SecondInterrupt", "Trainer", "interrupt_guard"]


class Interrupted(Exception):
    """Raised by :meth:`Trainer.run_epoch` when a Ctrl-C asked training to stop."""


class SecondInterrupt(KeyboardInterrupt):
    """The second Ctrl-C inside :func:`interrupt_guard`: stop at once, keep nothing."""


class _Flag:
    stop = False


@contextlib.contextmanager
def interrupt_guard():
    """Turn the first Ctrl-C into a polite request to stop after the current batch.

    Inside the block the first SIGINT sets ``flag.stop``; the training loop
    checks it after every batch. A second SIGINT raises KeyboardInterrupt at
    once, as usual. Outside the main thread (where Python delivers no signals)
    the guard does nothing.

    Yields
    ------
    flag : object with a boolean ``stop`` attribute
    """
    flag = _Flag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return

    def handler(signum, frame):
        if flag.stop:
            raise SecondInterrupt
        flag.stop = True

    try:
        previous = signal.signal(signal.SIGINT, handler)
    except ValueError:  # not allowed here (e.g. some embedded interpreters)
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


class Trainer:
    """Minibatch gradient descent of a network on a loss.

    One batch: gather the rows into a reused buffer, forward, loss, backward,
    optimizer step (which adds the L2 gradient). One epoch: shuffle the row
    order with the Generator, then every batch in turn.

    Parameters
    ----------
    network : Module
        Trained in place.
    loss : Loss
    optimizer : Optimizer
        Built on ``network.parameters()``.
    batch_size : int
    rng : numpy.random.Generator
        Shuffles the rows.
    shuffle : bool, default=True
    alpha : float, default=0.0
        L2 penalty on the parameters whose ``decay`` flag is set (the weights
        of the Linear layers, not the biases): the objective of a batch with
        total sample weight ``n_b`` is ``loss + alpha / (2 n_b) * sum ||W||^2``,
        as scikit-learn's MLP. Its gradient is added by the optimizer, in its
        blocked pass where the weights are in cache anyway: the trainer sets
        ``optimizer.weight_decay`` before every step (to 0 when ``alpha`` is 0).
    alpha_per_batch : bool, default=True
        False uses ``alpha / 2 * sum ||W||^2`` whatever the batch (the linear
        SVM's minibatch objective, where ``alpha = 1 / (C n)``).
    flag : object with a ``stop`` attribute, default=None
        Set by :func:`interrupt_guard`; checked after every batch.
    """

    def __init__(
        self, network, loss, optimizer, *, batch_size, rng, shuffle=True, alpha=0.0,
        alpha_per_batch=True, flag=None,
    ):
        self.network, self.loss, self.optimizer = network, loss, optimizer
        self.batch_size, self.rng, self.shuffle = int(batch_size), rng, shuffle
        self.alpha, self.alpha_per_batch = float(alpha), alpha_per_batch
        self.flag = flag
        self.decayed = [p for p in network.parameters() if p.decay]
        self.batch_norms = [m for m in _modules(network) if isinstance(m, BatchNorm1d)]
        self.loss.check_finite = False  # divergence is detected on the returned float
        self._buffer = None

    def _gather(self, X, idx):
        """Rows ``idx`` of ``X``, copied into a buffer reused across batches."""
        if sp.issparse(X):
            return X[idx]
        n = len(idx)
        if self._buffer is None or self._buffer.shape[0] < n or self._buffer.dtype != X.dtype:
            self._buffer = np.empty((max(n, self.batch_size),) + X.shape[1:], dtype=X.dtype)
        # mode="clip" because the indices come from a permutation and are valid:
        # take's default mode="raise" copies through a temporary when given out=,
        # which doubled the cost of the gather (30 -> 17 ms per Fashion-MNIST epoch)
        return np.take(X, idx, axis=0, out=self._buffer[:n], mode="clip")

    def train_batch(self, xb, yb, wb=None):
        """One optimizer step on one batch.

        Parameters
        ----------
        xb : ndarray of shape (batch, n_features)
        yb : ndarray
            Targets as the loss expects.
        wb : ndarray of shape (batch,), default=None
            Sample weights.

        Returns
        -------
        loss : float
            The batch's loss including the L2 term (NaN or inf on divergence).
        """
        for bn in self.batch_norms:  # weighted batch statistics, as the weighted loss
            bn.batch_weight = wb
        scores = self.network.forward(xb)
        value = self.loss(scores, yb, wb)
        self.network.backward(self.loss.backward())
        scale = self.alpha
        if scale:
            if self.alpha_per_batch:
                scale /= len(yb) if wb is None else float(wb.sum())
            value += 0.5 * scale * sum(float(np.vdot(p.value, p.value)) for p in self.decayed)
        self.optimizer.weight_decay = scale  # also 0: a resumed optimizer may hold an old one
        self.optimizer.step()
        return value

    def run_epoch(self, X, y, sample_weight=None):
        """Train on every row once, in (shuffled) minibatches.

        Parameters
        ----------
        X : ndarray or sparse matrix of shape (n_samples, n_features)
        y : ndarray
        sample_weight : ndarray of shape (n_samples,), default=None

        Returns
        -------
        mean_loss : float
            The batch losses averaged with the batches' sizes (or weights). A
            non-finite value means training diverged; the epoch stops at once.

        Raises
        ------
        Interrupted
            If the interrupt flag was raised; the current batch finished first.
        """
        n = X.shape[0]
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        self.network.train()
        total, seen = 0.0, 0.0
        for start, stop in batch_bounds(n, self.batch_size):
            idx = order[start:stop]
            wb = None if sample_weight is None else sample_weight[idx]
            if wb is not None and not wb.any():
                continue  # a batch of zero weight carries no gradient
            value = self.train_batch(self._gather(X, idx), y[idx], wb)
            size = len(idx) if wb is None else float(wb.sum())
            total += value * size
            seen += size
            if not math.isfinite(value):
                return value
            if self.flag is not None and self.flag.stop:
                raise Interrupted
        return total / seen

    def timed_epoch(self, X, y, sample_weight=None):
        """:meth:`run_epoch` and its wall time in seconds."""
        start = time.perf_counter()
        loss = self.run_epoch(X, y, sample_weight)
        return loss, time.perf_counter() - start


def batch_bounds(n_samples, batch_size):
    """``(start, stop)`` of each minibatch; a lone last row joins the batch before.

    A batch of one row would make BatchNorm1d's variance undefined, so
    ``n_samples = k * batch_size + 1`` gives a last batch of ``batch_size + 1``.

    Parameters
    ----------
    n_samples : int
    batch_size : int

    Returns
    -------
    bounds : list of (int, int)
    """
    starts = list(range(0, n_samples, batch_size))
    if len(starts) > 1 and n_samples - starts[-1] == 1:
        starts.pop()
    return list(zip(starts, starts[1:] + [n_samples]))


def _modules(module):
    """Every module in the tree, depth first."""
    yield module
    for child in getattr(module, "_children", ()):
        yield from _modules(child)
