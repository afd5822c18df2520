"""The linear support vector regressor: :class:`LinearSVR`.

One ``Linear`` layer with one output trained on the epsilon-insensitive loss,
on the same objective machinery as :class:`~sknumpynet.LinearSVM`: an
estimator that behaves like scikit-learn's ``LinearSVR``.
"""

import numbers

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import validate_data

from .. import nn
from .._array_api import ArrayAPIScoreMixin
from .._base import BaseNetwork, NetworkTransformerMixin
from .._compat import Interval, StrOptions
from .._runtime import check_is_fitted_network
from .base import LinearSVMBase
from .losses import EpsilonInsensitive

__all__ = ["EpsilonInsensitiveLoss", "LinearSVR"]

#: The stabiliser of Adam, Nadam and RMSProp for LinearSVR, whose ``epsilon``
#: is the width of the loss's tube (as in scikit-learn's LinearSVR).
OPTIMIZER_EPSILON = 1e-8

_LOSSES = ("epsilon_insensitive", "squared_epsilon_insensitive")


class EpsilonInsensitiveLoss(nn.Loss):
    """``max(0, |s - y| - epsilon)`` (or its square) as an engine loss, for minibatches.

    Parameters
    ----------
    epsilon : float, default=0.0
        Width of the tube without loss, non-negative.
    squared : bool, default=False

    Notes
    -----
    Targets have the shape of the scores, (n_samples, 1) (a 1-D target is
    read as one column). The derivative at the kinks is 0.
    """

    def __init__(self, epsilon=0.0, squared=False):
        if not (isinstance(epsilon, numbers.Real) and np.isfinite(epsilon) and epsilon >= 0):
            raise ValueError(f"epsilon must be a finite non-negative number, got {epsilon!r}.")
        self.epsilon, self.squared = float(epsilon), bool(squared)

    def _per_sample(self, scores, target):
        if target.ndim == 1:
            target = target.reshape(-1, 1)
        if target.shape != scores.shape:
            raise ValueError(
                f"EpsilonInsensitiveLoss: target shape {target.shape} differs "
                f"from scores shape {scores.shape}."
            )
        residual = scores - target.astype(scores.dtype, copy=False)
        excess = np.maximum(np.abs(residual) - self.epsilon, 0.0)
        sign = np.sign(residual) * (excess > 0)
        if self.squared:
            return (excess * excess).sum(axis=1), 2.0 * excess * sign
        return excess.sum(axis=1), sign.astype(scores.dtype)

    def __repr__(self):
        return f"EpsilonInsensitiveLoss(epsilon={self.epsilon}, squared={self.squared})"


class LinearSVR(
    LinearSVMBase, ArrayAPIScoreMixin, RegressorMixin, NetworkTransformerMixin, BaseNetwork
):
    """Linear support vector regression, as scikit-learn's ``LinearSVR``.

    One ``Linear`` layer with one output. The objective is ``LinearSVR``'s::

        0.5 * ||w||^2 + C * sum_i s_i * loss(y_i - x_i @ w - b)

    with ``loss(r) = max(0, |r| - epsilon)`` ("epsilon_insensitive") or its
    square ("squared_epsilon_insensitive") and ``s_i`` the sample weights.
    The intercept ``b`` is not penalised (``LinearSVR`` penalises it through
    ``intercept_scaling``). It is minimised by the full-batch solvers of
    :mod:`sknumpynet._linear_svm` (the objective of
    :class:`~sknumpynet._linear_svm.objective.LinearObjective`, shared with
    :class:`~sknumpynet.LinearSVM`), or, divided by ``C * sum_i s_i``, by the
    engine's minibatch optimizers.

    Parameters
    ----------
    epsilon : float, default=0.0
        Width of the tube around the targets within which errors cost
        nothing, in the units of ``y``. Non-negative.
    tol : float, default=1e-4
        Full batch: the gradient's largest entry (and for Newton half the
        Newton decrement), relative to its value at the start, at which the
        solver stops. Minibatch solvers: improvement of the training
        objective below which an epoch counts as no progress.
    C : float, default=1.0
        Inverse regularisation strength; larger values fit the data more
        closely. Must be positive.
    loss : {"epsilon_insensitive", "squared_epsilon_insensitive"}, \
default="epsilon_insensitive"
        The loss of each residual: the L1 loss outside the tube, or its square.
    fit_intercept : bool, default=True
        Learn an (unpenalised) intercept; False fixes it to 0.
    intercept_scaling : float, default=1.0
        Accepted for ``LinearSVR`` compatibility and ignored: liblinear
        penalises its intercept through this synthetic feature, while here the
        intercept is never penalised.
    dual : {"auto", True, False}, default="auto"
        Accepted for ``LinearSVR`` compatibility and ignored: every solver here
        works on the primal problem.
    verbose : int, default=0
        1 prints a line per epoch (iteration); 2 shows a tqdm progress bar.
    random_state : int, RandomState instance or None, default=None
        Seeds the row order of the minibatch solvers and the early-stopping
        split. An int makes fits repeatable bit for bit (the full-batch solvers
        draw nothing).
    max_iter : int, default=1000
        Most epochs (minibatch solvers) or iterations (full batch, over all
        its smoothing stages).
    solver : {"auto", "newton", "lbfgs", "sgd", "rmsprop", "adam", "nadam"}, default="auto"
        "newton" (truncated Newton) needs the squared loss; "lbfgs" (scipy's
        L-BFGS-B) solves the plain loss by a continuation on its smoothed
        kinks (``mu = 1, 0.1, ..., 1e-3`` in the units of ``y``). "auto"
        chooses as :class:`~sknumpynet.LinearSVM` does: "newton" for the
        squared loss and "lbfgs" for the plain one when ``n_samples *
        n_features <= 1,000,000``, "newton" for larger sparse data with the
        squared loss, "adam" otherwise and for ``partial_fit`` and
        ``early_stopping=True``. The others are the engine's minibatch
        optimizers (with a stabiliser of 1e-8: ``epsilon`` is the tube).
    learning_rate_init : float, default=1e-2
        Initial learning rate of the minibatch solvers.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="adaptive"
        Schedule per epoch, as LinearSVM's.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    n_iter_no_change : int, default=3
        Minibatch training stops (or, with "adaptive", the rate is divided
        by 5) after more than this many epochs without ``tol`` improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data and stop when its R^2
        stops improving (minibatch solvers).
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping.
    scoring : str, callable or None, default=None
        What early stopping watches (higher is better): None is R^2; "loss"
        the validation loss negated; else a scikit-learn scorer.
    restore_best_weights : bool, default=True
        With early stopping, end with the weights of the best validation epoch.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    momentum : float, default=0.9
        Momentum of "sgd" (with Nesterov's correction).
    beta_1 : float, default=0.9
        Adam/Nadam first-moment decay.
    beta_2 : float, default=0.999
        Adam/Nadam second-moment decay (and RMSProp's decay).
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting at zero.
    n_threads : int or None, default=None
        Cap on BLAS threads during fit and predict (see LinearSVM).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        The weights; a view of the network's weights (assignable, shape-checked).
    intercept_ : ndarray of shape (1,)
        The intercept; zeros when ``fit_intercept=False``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined when ``X`` has string column names.
    n_iter_ : int
        Epochs run (full batch: iterations).
    objective_ : float
        Full-batch solvers only: the objective above at the solution.
    loss_curve_ : list of float
        The mean-form objective of every epoch (iteration).
    t_ : int
        Training samples seen.

    See Also
    --------
    sknumpynet.LinearSVM : The linear support vector classifier.
    sklearn.svm.LinearSVR : liblinear's, which penalises the intercept.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from sknumpynet import LinearSVR
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> reg = LinearSVR(C=10.0).fit(X, y)
    >>> reg.score(X, y) > 0.45
    True
    """

    _parameter_constraints = {
        **BaseNetwork._parameter_constraints,
        "epsilon": [Interval(numbers.Real, 0, None, closed="left")],
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "loss": [StrOptions(set(_LOSSES))],
        "fit_intercept": ["boolean"],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "dual": ["boolean", StrOptions({"auto"})],
        "solver": LinearSVMBase._solver_constraint,
        "restore_best_weights": ["boolean"],
    }

    _shape_param_names = ("fit_intercept",)

    def __init__(
        self,
        *,
        epsilon=0.0,
        tol=1e-4,
        C=1.0,
        loss="epsilon_insensitive",
        fit_intercept=True,
        intercept_scaling=1.0,
        dual="auto",
        verbose=0,
        random_state=None,
        max_iter=1000,
        solver="auto",
        learning_rate_init=1e-2,
        learning_rate="adaptive",
        batch_size="auto",
        n_iter_no_change=3,
        early_stopping=False,
        validation_fraction=0.1,
        scoring=None,
        restore_best_weights=True,
        power_t=0.5,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        shuffle=True,
        warm_start=False,
        n_threads=None,
    ):
        self.epsilon = epsilon
        self.tol = tol
        self.C = C
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.intercept_scaling = intercept_scaling
        self.dual = dual
        self.verbose = verbose
        self.random_state = random_state
        self.max_iter = max_iter
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights
        self.power_t = power_t
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.n_threads = n_threads

    # -- fitting -------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the regressor to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 input trains in float32, anything else in float64.
        y : array-like of shape (n_samples,)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of 2 counts the row twice.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, as LinearSVM's: it replaces the
            ``validation_fraction`` split. Needs ``y_val``.
        y_val : array-like of shape (n_val,), default=None
        sample_weight_val : array-like of shape (n_val,), default=None

        Returns
        -------
        self : LinearSVR
        """
        return self._fit(
            X, y, sample_weight, X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val
        )

    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``X`` and ``y``, keeping the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LinearSVR
        """
        return self._fit(X, y, sample_weight, partial=True)

    def _validate_training_data(self, X, y, reset, dtype):
        # one target, as LinearSVR: a column vector is raveled with a warning
        return validate_data(
            self, X, y, reset=reset, accept_sparse="csr", dtype=dtype, y_numeric=True
        )

    def _encode_targets(self, y, resume, classes, partial):
        return np.asarray(y, dtype=np.float64).reshape(-1, 1), 1, {}

    def _newton_applies(self):
        return self.loss == "squared_epsilon_insensitive"

    def _loss_terms(self, problem, n_columns):
        return EpsilonInsensitive(problem.y[:, 0], self.epsilon, self._newton_applies())

    def _make_loss(self, target_attrs):
        return EpsilonInsensitiveLoss(self.epsilon, squared=self._newton_applies())

    def _make_optimizer(self, params):
        lr, eps = self.learning_rate_init, OPTIMIZER_EPSILON
        if self.solver == "sgd":
            return nn.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.momentum > 0)
        if self.solver == "rmsprop":
            return nn.RMSProp(params, lr=lr, rho=self.beta_2, eps=eps)
        cls = nn.Nadam if self.solver == "nadam" else nn.Adam  # "auto" too
        return cls(params, lr=lr, beta_1=self.beta_1, beta_2=self.beta_2, epsilon=eps)

    def _validation_score(self, outputs, y_encoded, sample_weight):
        return r2_score(y_encoded[:, 0], outputs[:, 0], sample_weight=sample_weight)

    # -- the fitted linear model -----------------------------------------------------

    @property
    def coef_(self):
        """ndarray of shape (n_features,): the weights, a view of the network's."""
        check_is_fitted_network(self)
        return self.network_[0].weight.value[:, 0]

    @coef_.setter
    def coef_(self, value):
        check_is_fitted_network(self)
        weight = self.network_[0].weight.value
        weight[:, 0] = _checked_array(value, (weight.shape[0],), "coef_")

    @property
    def intercept_(self):
        """ndarray of shape (1,): the intercept (zeros without)."""
        check_is_fitted_network(self)
        linear = self.network_[0]
        if linear.bias is None:
            return np.zeros(1, dtype=linear.weight.value.dtype)
        return linear.bias.value

    @intercept_.setter
    def intercept_(self, value):
        check_is_fitted_network(self)
        linear = self.network_[0]
        value = _checked_array(value, (1,), "intercept_")
        if linear.bias is None:
            if value.any():
                raise ValueError(
                    "This LinearSVR was fitted with fit_intercept=False and has no "
                    "intercept to set; only zeros can be assigned to intercept_."
                )
            return
        linear.bias.value[...] = value

    @property
    def _n_features_out(self):
        check_is_fitted_network(self)
        return 1

    # -- prediction --------------------------------------------------------------------

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        return self._forward(self._check_input(X))[:, 0]

    def transform(self, X):
        """The predictions as one column, e.g. to stack into a downstream model.

        As :meth:`LinearSVM.transform <sknumpynet.LinearSVM.transform>` gives
        the decision function as columns.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples, 1)
            :meth:`predict` as a column.
        """
        return self._forward(self._check_input(X))


def _checked_array(value, shape, name):
    """``value`` as a float array of exactly ``shape``, else a ValueError naming it."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite.")
    return array
