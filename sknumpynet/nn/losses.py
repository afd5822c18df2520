"""Losses: a per-sample loss averaged over the batch, with optional sample weights.

Every loss is called as ``loss(scores, target, sample_weight=None)`` and returns
the weighted mean over the batch, ``sum_i w_i l_i / sum_i w_i`` (the plain mean
when ``sample_weight`` is None), as a Python float. ``loss.backward()`` then
returns ``d loss / d scores``, an array shaped like ``scores``. A sample weight
of 2 is therefore the same as the row appearing twice.
"""

import numbers

import numpy as np
from scipy.special import expit

from ._registry import lookup
from .activations import log_softmax

__all__ = [
    "INVERSE_LINKS",
    "LOSSES",
    "AbsoluteErrorLoss",
    "CrossEntropy",
    "HuberLoss",
    "Loss",
    "MSELoss",
    "MultiClassHinge",
    "PoissonLoss",
    "QuantileLoss",
    "SigmoidBinaryCrossEntropy",
    "SoftmaxCrossEntropy",
    "get_loss",
]


def _exp(scores):
    with np.errstate(over="ignore"):  # a huge score predicts inf, without a warning
        return np.exp(scores)


#: Inverse links from a network's scores to its predictions, by the names
#: scikit-learn's MLP records in ``out_activation_``.
INVERSE_LINKS = {"identity": lambda scores: scores, "exp": _exp}


class Loss:
    """Base class: validation, weighting and the ``backward`` bookkeeping.

    Subclasses implement ``_per_sample(scores, target)`` returning the loss of
    each row, shape (n_samples,), and the gradient of each row's loss with
    respect to its scores, shape like ``scores``.

    Attributes
    ----------
    check_finite : bool, default=True
        Raise ValueError on NaN or infinite scores. Training loops that detect
        divergence themselves set it to False and test the returned float.
    link : str, default="identity"
        The inverse link from scores to predictions, a key of
        :data:`INVERSE_LINKS` (``"exp"``: the scores are log-means).
    target_min : float or None, default=None
        The smallest valid target (inclusive), None for any real;
        ``target_domain`` says it in words for error messages.
    """

    check_finite = True
    link = "identity"
    target_min = None
    target_domain = "real y"

    @classmethod
    def inverse_link(cls, scores):
        """Predictions from scores: the inverse of the loss's link.

        Parameters
        ----------
        scores : ndarray of shape (n_samples, n_outputs)

        Returns
        -------
        predictions : ndarray of shape (n_samples, n_outputs)
        """
        return INVERSE_LINKS[cls.link](scores)

    def __call__(self, scores, target, sample_weight=None):
        """Compute the (weighted) mean loss over the batch.

        Parameters
        ----------
        scores : ndarray of shape (n_samples, n_outputs)
            The network's output.
        target : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            What each loss expects; see the subclass.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights with a positive sum.

        Returns
        -------
        loss : float
        """
        scores = self._check_scores(scores)
        n = scores.shape[0]
        target = np.asarray(target)
        if target.shape[0] != n:
            raise ValueError(
                f"{type(self).__name__}: target has {target.shape[0]} rows but scores "
                f"have {n}."
            )
        per_sample, grad = self._per_sample(scores, target)
        if sample_weight is None:
            loss = np.add.reduce(per_sample) / n  # per_sample.mean() without its wrapper
            grad *= 1.0 / n
        else:
            w = self._normalized_weights(sample_weight, n).astype(scores.dtype)
            loss = per_sample @ w
            grad *= w.reshape((n,) + (1,) * (grad.ndim - 1))
        self._grad = grad
        return float(loss)

    def backward(self):
        """Return the gradient of the last computed loss with respect to the scores.

        Returns
        -------
        grad : ndarray, shaped like the last ``scores``
        """
        grad = getattr(self, "_grad", None)
        if grad is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before the loss.")
        return grad

    def _per_sample(self, scores, target):
        raise NotImplementedError

    def _check_scores(self, scores):
        scores = np.asarray(scores)
        if scores.ndim != 2 or scores.shape[0] == 0:
            raise ValueError(
                f"{type(self).__name__} expects scores of shape (n_samples, n_outputs) "
                f"with n_samples >= 1, got shape {scores.shape}."
            )
        if scores.dtype not in (np.float32, np.float64):
            scores = scores.astype(np.float64)
        if self.check_finite and not np.isfinite(scores).all():
            raise ValueError(f"{type(self).__name__}: scores contain NaN or infinity.")
        return scores

    @staticmethod
    def _normalized_weights(sample_weight, n):
        w = np.asarray(sample_weight, dtype=np.float64)
        if w.shape != (n,):
            raise ValueError(f"sample_weight must have shape ({n},), got {w.shape}.")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("sample_weight must be finite and non-negative.")
        total = w.sum()
        if total <= 0:
            raise ValueError("sample_weight must have a positive sum.")
        return w / total

    def __repr__(self):
        return f"{type(self).__name__}()"


def _check_smoothing(label_smoothing):
    ok = isinstance(label_smoothing, numbers.Real) and not isinstance(label_smoothing, bool)
    if not (ok and 0.0 <= label_smoothing <= 1.0):
        raise ValueError(f"label_smoothing must be a number in [0, 1], got {label_smoothing!r}.")
    return float(label_smoothing)


def _smoothed_repr(loss):
    eps = loss.label_smoothing
    return f"{type(loss).__name__}({f'label_smoothing={eps}' if eps else ''})"


def _check_class_target(target, n_classes, owner):
    if target.ndim != 1 or not np.issubdtype(target.dtype, np.integer):
        raise ValueError(
            f"{owner} expects integer class indices of shape (n_samples,), got "
            f"dtype {target.dtype} and shape {target.shape}."
        )
    if target.size and (target.min() < 0 or target.max() >= n_classes):
        raise ValueError(
            f"{owner}: class indices must lie in [0, {n_classes}), got values in "
            f"[{target.min()}, {target.max()}]."
        )


class SoftmaxCrossEntropy(Loss):
    """Softmax followed by the negative log-likelihood, fused for stability.

    ``l_i = -log softmax(s_i)[y_i] = logsumexp(s_i) - s_i[y_i]``, and
    ``d l_i / d s_i = softmax(s_i) - onehot(y_i)``. Computed on the max-shifted
    logits, so logits of 1e4 give a finite loss and gradient.

    Targets are integer class indices of shape (n_samples,) in
    ``[0, n_classes)``.

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1]: the target distribution becomes
        ``q = (1 - eps) * onehot(y) + eps / K`` over the ``K`` classes
        (PyTorch's definition), so ``l_i = -sum_k q_k log softmax(s_i)_k`` and
        ``d l_i / d s_i = softmax(s_i) - q``.
    """

    #: Losses pickled before label smoothing existed have none.
    label_smoothing = 0.0

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _per_sample(self, scores, target):
        _check_class_target(target, scores.shape[1], type(self).__name__)
        rows = np.arange(scores.shape[0])
        grad = log_softmax(scores)
        per_sample = -grad[rows, target]
        eps = self.label_smoothing
        if eps:
            n_classes = scores.shape[1]
            per_sample *= 1.0 - eps
            per_sample -= (eps / n_classes) * grad.sum(axis=1)
        np.exp(grad, out=grad)
        if eps:
            grad[rows, target] -= 1.0 - eps
            grad -= eps / n_classes
        else:
            grad[rows, target] -= 1.0
        return per_sample, grad

    __repr__ = _smoothed_repr


class CrossEntropy(Loss):
    """Cross-entropy on probabilities, ``l_i = -sum_k t_ik log p_ik``.

    Probabilities are clipped to ``[eps, 1]`` (``eps`` the machine epsilon of
    their dtype) so that a zero probability gives a large, finite loss. The
    gradient is that of the clipped function: ``-t / p`` where
    ``eps <= p <= 1``, else 0.

    Targets are integer class indices of shape (n_samples,) or one-hot (or
    soft) targets of shape (n_samples, n_classes).
    """

    def _per_sample(self, scores, target):
        if target.ndim == 1:
            _check_class_target(target, scores.shape[1], type(self).__name__)
            onehot = np.zeros_like(scores)
            onehot[np.arange(scores.shape[0]), target] = 1.0
            target = onehot
        elif target.shape != scores.shape:
            raise ValueError(
                f"CrossEntropy: one-hot target shape {target.shape} differs from "
                f"scores shape {scores.shape}."
            )
        eps = np.finfo(scores.dtype).eps
        p = np.clip(scores, eps, 1.0)
        target = target.astype(scores.dtype, copy=False)
        per_sample = -(target * np.log(p)).sum(axis=1)
        inside = (scores >= eps) & (scores <= 1.0)
        grad = np.where(inside, -target / p, 0.0).astype(scores.dtype, copy=False)
        return per_sample, grad


class SigmoidBinaryCrossEntropy(Loss):
    """Sigmoid followed by binary cross-entropy per output, fused for stability.

    ``l_i = sum_k [log(1 + exp(s_ik)) - t_ik s_ik]`` and
    ``d l_i / d s_ik = sigmoid(s_ik) - t_ik``. Used for multilabel targets.

    Targets are 0/1 (or soft) of shape (n_samples, n_outputs).

    Parameters
    ----------
    label_smoothing : float, default=0.0
        ``eps`` in [0, 1]: each target becomes ``t * (1 - eps) + eps / 2``
        before the loss (and its gradient) above.
    """

    #: Losses pickled before label smoothing existed have none.
    label_smoothing = 0.0

    def __init__(self, label_smoothing=0.0):
        self.label_smoothing = _check_smoothing(label_smoothing)

    def _per_sample(self, scores, target):
        if target.shape != scores.shape:
            raise ValueError(
                f"SigmoidBinaryCrossEntropy: target shape {target.shape} differs from "
                f"scores shape {scores.shape}."
            )
        target = target.astype(scores.dtype, copy=False)
        eps = self.label_smoothing
        if eps:
            target = target * (1.0 - eps) + eps / 2
        per_sample = (np.logaddexp(0, scores) - target * scores).sum(axis=1)
        grad = expit(scores)
        grad -= target
        return per_sample, grad

    __repr__ = _smoothed_repr


class MSELoss(Loss):
    """Squared error averaged over outputs, ``l_i = c * mean_k (s_ik - t_ik)^2``.

    ``d l_i / d s_ik = 2 c (s_ik - t_ik) / n_outputs``, with ``c = 1``, or
    ``c = 1/2`` with ``half=True`` (scikit-learn's MLPRegressor minimises half
    the mean squared error). Targets have the shape of the scores (a 1-D target
    is read as one column).

    Parameters
    ----------
    half : bool, default=False
        Halve the loss (and its gradient).
    """

    def __init__(self, half=False):
        self.half = bool(half)

    def _per_sample(self, scores, target):
        target = _regression_target(scores, target, "MSELoss", check_finite=False)
        diff = scores - target
        per_sample = np.mean(diff * diff, axis=1)
        if self.half:
            per_sample *= 0.5
        diff *= (1.0 if self.half else 2.0) / scores.shape[1]
        return per_sample, diff


class MultiClassHinge(Loss):
    """The multiclass SVM (hinge) loss on class scores.

    With ``s`` a row of scores, ``y`` its class, ``m`` the margin and
    ``h_j = max(0, s_j - s_y + m)``:

    - ``"weston_watkins"``: ``l = sum_{j != y} h_j`` (each wrong class that comes
      within the margin is penalised);
    - ``"crammer_singer"``: ``l = max_{j != y} h_j`` (only the worst offender);
    - ``"ovr"``: one binary hinge per class, ``l = sum_k max(0, m - t_k s_k)``
      with ``t_k = +1`` for the true class and -1 otherwise. With a single
      score column this is the binary SVM: class 1 is ``t = +1``.

    ``squared=True`` squares each hinge term (the "squared hinge"), which is
    differentiable and penalises large violations more.

    Parameters
    ----------
    margin : float, default=1.0
        The margin ``m``, positive.
    kind : {"weston_watkins", "crammer_singer", "ovr"}, default="weston_watkins"
    squared : bool, default=False

    Notes
    -----
    Targets are integer class indices of shape (n_samples,).
    """

    KINDS = ("weston_watkins", "crammer_singer", "ovr")

    def __init__(self, margin=1.0, kind="weston_watkins", squared=False):
        if not isinstance(margin, numbers.Real) or not margin > 0:
            raise ValueError(f"margin must be a positive number, got {margin!r}.")
        if kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}.")
        self.margin = float(margin)
        self.kind = kind
        self.squared = bool(squared)

    def _per_sample(self, scores, target):
        n, k = scores.shape
        owner = type(self).__name__
        if self.kind == "ovr":
            _check_class_target(target, max(k, 2), owner)
            if k == 1:
                sign = (2.0 * target - 1.0).reshape(-1, 1)
            else:
                sign = -np.ones_like(scores)
                sign[np.arange(n), target] = 1.0
            sign = sign.astype(scores.dtype, copy=False)
            margins = self.margin - sign * scores
            np.maximum(margins, 0, out=margins)
            per_sample, dh = self._hinge(margins)
            return per_sample, -sign * dh
        _check_class_target(target, k, owner)
        if k < 2:
            raise ValueError(f"{owner} with kind={self.kind!r} needs at least 2 columns.")
        rows = np.arange(n)
        margins = scores - scores[rows, target][:, None] + self.margin
        margins[rows, target] = 0.0
        if self.kind == "crammer_singer":
            worst = margins.argmax(axis=1)
            h = np.maximum(margins[rows, worst], 0)
            margins.fill(0)
            margins[rows, worst] = h
        np.maximum(margins, 0, out=margins)
        per_sample, grad = self._hinge(margins)
        grad[rows, target] = -grad.sum(axis=1)
        return per_sample, grad

    def _hinge(self, h):
        """Per-sample sum of (squared) hinge terms and their derivative in h."""
        if self.squared:
            return (h * h).sum(axis=1), 2.0 * h
        return h.sum(axis=1), (h > 0).astype(h.dtype)

    def __repr__(self):
        return f"MultiClassHinge(margin={self.margin}, kind={self.kind!r}, squared={self.squared})"


def _regression_target(scores, target, owner, check_finite=True):
    """The target as an array shaped like the scores (a 1-D target is one column).

    ``check_finite`` refuses NaN and infinite targets (MSELoss lets them through,
    as it always has: its loss is then NaN).
    """
    if target.ndim == 1:
        target = target.reshape(-1, 1)
    if target.shape != scores.shape:
        raise ValueError(
            f"{owner}: target shape {target.shape} differs from scores shape {scores.shape}."
        )
    target = target.astype(scores.dtype, copy=False)
    if check_finite and not np.isfinite(target).all():
        raise ValueError(f"{owner}: target contains NaN or infinity.")
    return target


def _check_real(value, name, low, high, closed_low):
    """A float in ``[low, high)`` (or ``(low, high)`` when not ``closed_low``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    inside = (low <= value if closed_low else low < value) and value < high
    if not inside:
        interval = f"{'[' if closed_low else '('}{low}, {high})"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}.")
    return value


class PoissonLoss(Loss):
    """Half Poisson deviance with a log link: the scores are ``log`` of the mean.

    With ``s`` a score (the predicted log-mean, so the mean is ``mu = exp(s)``)
    and ``y >= 0`` its target, each output costs the half Poisson deviance

    ``h(s, y) = exp(s) - y s + (y log y - y)``  (``0 log 0 = 0``),

    which is ``y log(y / mu) - y + mu``: zero when ``mu = y``, and half of
    what :func:`sklearn.metrics.mean_poisson_deviance` reports per entry. The
    last term does not depend on ``s``; it is what scikit-learn's
    ``HalfPoissonLoss`` leaves out and its MLP's ``poisson_loss`` keeps. Each
    row costs ``l_i = mean_k h(s_ik, y_ik)``, and
    ``d l_i / d s_ik = (exp(s_ik) - y_ik) / n_outputs``.

    Targets have the shape of the scores (a 1-D target is read as one column)
    and must be non-negative.
    """

    link = "exp"
    target_min = 0.0
    target_domain = "non-negative y (counts or rates)"

    def _per_sample(self, scores, target):
        owner = type(self).__name__
        target = _regression_target(scores, target, owner)
        if (target < 0).any():
            raise ValueError(
                f"{owner}: targets must be non-negative (Poisson counts or rates), got a "
                f"minimum of {target.min()}."
            )
        mu = self.inverse_link(scores)  # huge scores give an inf loss, not a warning
        log_y = np.log(np.where(target > 0, target, 1))
        per_entry = mu - target * scores + target * log_y - target
        grad = mu - target
        grad *= 1.0 / scores.shape[1]
        return per_entry.mean(axis=1), grad


class AbsoluteErrorLoss(Loss):
    """Absolute error averaged over outputs, ``l_i = mean_k |s_ik - y_ik|``.

    ``d l_i / d s_ik = sign(s_ik - y_ik) / n_outputs``. At ``s = y`` the loss
    has a kink; the gradient there is 0, the subgradient of least norm
    (scikit-learn's ``AbsoluteError`` uses -1 there).

    Targets have the shape of the scores (a 1-D target is read as one column).
    """

    def _per_sample(self, scores, target):
        target = _regression_target(scores, target, type(self).__name__)
        diff = scores - target
        per_sample = np.abs(diff).mean(axis=1)
        grad = np.sign(diff)
        grad *= 1.0 / scores.shape[1]
        return per_sample, grad


class HuberLoss(Loss):
    """Huber loss averaged over outputs: squared near the target, linear beyond ``delta``.

    With the residual ``r = s - y``:

    ``h(r) = r^2 / 2`` where ``|r| <= delta``, else ``delta (|r| - delta / 2)``,

    ``l_i = mean_k h(r_ik)`` and ``d l_i / d s_ik = clip(r_ik, -delta, delta) / n_outputs``
    (continuous, so the loss is differentiable everywhere). As ``delta`` grows it
    tends to half the squared error; as it shrinks, ``h / delta`` tends to the
    absolute error.

    Parameters
    ----------
    delta : float, default=1.0
        Where the loss turns from quadratic to linear, positive. It is in the
        units of the target.

    Notes
    -----
    Targets have the shape of the scores (a 1-D target is read as one column).
    """

    def __init__(self, delta=1.0):
        self.delta = _check_real(delta, "delta", 0, np.inf, closed_low=False)

    def _per_sample(self, scores, target):
        target = _regression_target(scores, target, type(self).__name__)
        r = scores - target
        a = np.abs(r)
        d = scores.dtype.type(self.delta)
        per_entry = np.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        grad = np.clip(r, -d, d)
        grad *= 1.0 / scores.shape[1]
        return per_entry.mean(axis=1), grad

    def __repr__(self):
        return f"HuberLoss(delta={self.delta})"


class QuantileLoss(Loss):
    """Pinball (quantile) loss averaged over outputs: the fit estimates a quantile.

    With ``q`` the quantile and the residual ``r = y - s``:

    ``h(r) = q r`` where ``r >= 0`` (under-prediction), else ``(q - 1) r``,

    ``l_i = mean_k h(r_ik)`` and ``d l_i / d s_ik = -q / n_outputs`` where
    ``s < y``, ``(1 - q) / n_outputs`` where ``s > y``. At ``s = y`` the loss has
    a kink; the gradient there is 0, the subgradient of least norm (any value
    in ``[-q, 1 - q]`` is a subgradient; scikit-learn's ``PinballLoss`` uses
    ``-q``). ``q = 0.5`` is half the absolute error. The value equals
    :func:`sklearn.metrics.mean_pinball_loss` with ``alpha=q``.

    Several quantiles at once: ``quantile`` a sequence ``(q_1, ..., q_K)``,
    one per output column, and ``h`` of column ``k`` uses ``q_k``; with a
    target of one column (or 1-D), shared by every column, ``l_i`` is the
    mean pinball loss of the ``K`` quantile predictions of ``y_i``.

    Parameters
    ----------
    quantile : float or sequence of float, default=0.5
        The quantile ``q`` to estimate, in (0, 1), or one per output column
        (stored as a tuple).

    Notes
    -----
    Targets have the shape of the scores (a 1-D target is read as one column);
    with a sequence of quantiles, a target of one column is shared by all.
    """

    def __init__(self, quantile=0.5):
        if np.ndim(quantile) == 0:
            self.quantile = _check_real(quantile, "quantile", 0, 1, closed_low=False)
            return
        if np.ndim(quantile) != 1 or len(quantile) == 0:
            raise ValueError(f"quantile must be a number or a 1-D sequence, got {quantile!r}.")
        self.quantile = tuple(
            _check_real(q, "quantile", 0, 1, closed_low=False) for q in np.asarray(quantile)
        )

    def _per_sample(self, scores, target):
        if np.ndim(self.quantile) == 0:
            q = scores.dtype.type(self.quantile)
        else:
            q = np.asarray(self.quantile, dtype=scores.dtype)
            if q.size != scores.shape[1]:
                raise ValueError(
                    f"QuantileLoss: {q.size} quantiles but the scores have "
                    f"{scores.shape[1]} columns (one per quantile)."
                )
            if target.shape[0] == scores.shape[0] and target.size == target.shape[0]:
                target = np.broadcast_to(target.reshape(-1, 1), scores.shape)  # shared
        target = _regression_target(scores, target, type(self).__name__)
        r = target - scores
        per_entry = np.where(r >= 0, q * r, (q - 1) * r)
        grad = np.where(r > 0, -q, np.where(r < 0, 1 - q, 0)).astype(scores.dtype, copy=False)
        grad *= 1.0 / scores.shape[1]
        return per_entry.mean(axis=1), grad

    def __repr__(self):
        return f"QuantileLoss(quantile={self.quantile})"


#: The losses by name: scikit-learn's names for the regression losses, and
#: "log_loss", "binary_log_loss" and "hinge" for the classification ones.
LOSSES = {
    "squared_error": MSELoss,
    "poisson": PoissonLoss,
    "absolute_error": AbsoluteErrorLoss,
    "huber": HuberLoss,
    "quantile": QuantileLoss,
    "log_loss": SoftmaxCrossEntropy,
    "binary_log_loss": SigmoidBinaryCrossEntropy,
    "hinge": MultiClassHinge,
}


def get_loss(name, **kwargs):
    """Build a loss from its short name.

    Parameters
    ----------
    name : {"squared_error", "poisson", "absolute_error", "huber", "quantile", \
"log_loss", "binary_log_loss", "hinge"}
    **kwargs
        Passed to the loss's constructor (``half``, ``delta``, ``quantile``, ...).

    Returns
    -------
    loss : Loss
    """
    return lookup(LOSSES, name, "loss")(**kwargs)
