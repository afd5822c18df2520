"""The linear support vector classifier: :class:`LinearSVM`.

One ``Linear`` layer trained on the multiclass hinge loss, by the full-batch
solvers of this package or the engine's minibatch optimizers: the classic
"linear layer + SVM loss" exercise, grown into an estimator that behaves like
scikit-learn's ``LinearSVC``.
"""

import functools
import numbers
import types

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score

from .. import nn
from .._base import BaseNetwork, NetworkTransformerMixin
from .._classifier import NetworkClassifierMixin, encode_class_labels
from .._compat import Interval, StrOptions, safe_indexing
from .._runtime import check_is_fitted_network, forward_in_chunks
from .base import LinearSVMBase
from .calibration import checked_calibration_input, fit_temperature, train_and_held_rows
from .full_batch import newton_applies
from .losses import MulticlassHinge

__all__ = ["LinearSVM"]


class _needs_probability:
    """A method that exists only with ``probability=True``, as ``available_if`` makes one.

    scikit-learn's ``available_if`` raises "This 'LinearSVM' has no attribute
    'predict_proba'" and chains the reason below it; here the one message
    carries the hint, as SVC's does (``hasattr`` still answers False).
    """

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        if not obj.probability:
            raise AttributeError(
                f"This {type(obj).__name__!r} has no attribute {self.method.__name__!r}: "
                "it needs probability=True; set it and fit again."
            )
        return types.MethodType(self.method, obj)


class LinearSVM(LinearSVMBase, NetworkClassifierMixin, NetworkTransformerMixin, BaseNetwork):
    """Linear support vector machine trained by minibatch gradient descent.

    One ``Linear`` layer and the multiclass hinge loss
    (:class:`sknumpynet.nn.MultiClassHinge`), trained by the engine's
    optimizers. The objective is that of scikit-learn's ``LinearSVC``::

        0.5 * ||W||^2 + C * sum_i s_i * loss(x_i, y_i)

    with ``s_i`` the sample weights (times the class weights). Divided by
    ``C * sum_i s_i`` it becomes a mean, which is what each minibatch
    estimates: a batch ``B`` takes a step on ::

        sum_{i in B} s_i loss_i / sum_{i in B} s_i  +  ||W||^2 / (2 C sum_i s_i)

    The weights start at zero (the problem is convex); the intercept is not
    penalised (``LinearSVC`` penalises it through ``intercept_scaling``).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength, as in ``LinearSVC``: larger values fit
        the training data more closely. Must be positive.
    loss : {"hinge", "squared_hinge"}, default="squared_hinge"
        Each hinge term ``max(0, 1 - margin)`` as is or squared (``LinearSVC``'s
        default).
    multi_class : {"crammer_singer", "weston_watkins", "ovr"}, default="ovr"
        With ``s`` a row of class scores and ``y`` its class:
        "crammer_singer" penalises the worst wrong class,
        ``max_{j != y} max(0, 1 + s_j - s_y)`` (``LinearSVC(multi_class=
        "crammer_singer")``); "weston_watkins" sums that term over every wrong
        class; "ovr" trains one binary SVM per class (``LinearSVC``'s default).
        With two classes "ovr" is the plain binary SVM on one score column;
        the other two train two columns whose difference is the binary SVM
        (with ``2 C``), exactly as ``LinearSVC(multi_class="crammer_singer")``,
        and ``coef_`` is that difference.
    fit_intercept : bool, default=True
        Learn an intercept per score column (unpenalised); False fixes it to 0.
    penalty : {"l2", "l1"}, default="l2"
        "l2" is ``0.5 ||W||^2``; "l1" is ``||W||_1`` (as ``LinearSVC``), which
        gives exact zeros (for ``SelectFromModel``). "l1" needs the full-batch
        solver ("lbfgs", or "auto" which then always picks it).
    dual : {"auto", True, False}, default="auto"
        Accepted for ``LinearSVC`` compatibility and ignored: every solver here
        works on the primal problem.
    intercept_scaling : float, default=1.0
        Accepted for ``LinearSVC`` compatibility and ignored: liblinear
        penalises its intercept through this synthetic feature, while here the
        intercept is never penalised.
    solver : {"auto", "newton", "lbfgs", "sgd", "rmsprop", "adam", "nadam"}, default="auto"
        The algorithm. "newton" (truncated Newton: conjugate gradients on
        exact Hessian-vector products, Armijo line search) and "lbfgs"
        (scipy's L-BFGS-B) are the full-batch solvers of
        :mod:`sknumpynet._linear_svm`: they reach the optimum of the
        objective above. Newton needs a twice-differentiable loss: the
        squared hinge with "ovr" or "weston_watkins" and the l2 penalty; a
        Newton line search that finds no decrease warns
        (``ConvergenceWarning``) and goes on with L-BFGS. L-BFGS solves the
        plain hinge by a continuation on a smoothed hinge, and "l1" as
        ``W = P - N`` with bounds. The others are the minibatch optimizers
        of :mod:`sknumpynet.nn.optimizers`, which stop near the optimum.
        "auto" picks by the data's shape, its format (sparse or dense) and
        the objective alone, deterministically (the same data and
        parameters always get the same solver):

        - a full-batch solver ("newton" where it applies, else "lbfgs")
          when ``n_samples * n_features <= 1,000,000``
          (``AUTO_FULL_BATCH_MAX_SIZE``, dense or sparse alike, so both give
          the same model), or ``penalty="l1"``;
        - "newton" for larger sparse data where it applies (its products
          touch only the stored entries: on 32,000 x 25,000 text-like rows
          2.3 s against Adam's 10.9 s, at the same test accuracy);
        - "adam" otherwise (large dense data, where Newton on unscaled
          features such as pixels needs many conjugate-gradient steps:
          Fashion-MNIST 109 s against Adam's 6 s, same test accuracy; the
          plain hinge and Crammer-Singer on large sparse data), and always
          for ``early_stopping=True`` and ``partial_fit``.

        Pass a solver by name to override the choice. The solver is chosen
        before anything is built: a full-batch fit holds no optimizer.
    learning_rate_init : float, default=1e-2
        Initial learning rate.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="adaptive"
        Schedule per epoch: constant; ``lr / (t + 1) ** power_t`` with ``t`` the
        training samples seen so far (updated after each epoch); divided
        by 5 whenever more than ``n_iter_no_change`` epochs bring no ``tol``
        improvement, stopping once it falls below 1e-6; cosine annealing to 0
        over ``max_iter`` epochs. The default anneals as progress stalls: with
        a constant rate the minibatch noise keeps the weights from settling on
        the optimum, and the number of epochs adapts to the data (about 70 on
        Fashion-MNIST's 60,000 rows, 50 to 200 on a thousand rows).
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    max_iter : int, default=1000
        Maximum number of epochs (minibatch solvers) or of iterations (full
        batch, over all its smoothing stages; see ``solver``).
    tol : float, default=1e-4
        Minibatch solvers: improvement of the training objective (or
        validation accuracy with early stopping) below which an epoch counts
        as no progress. Full batch: the gradient's largest entry, relative to
        its value at the start, at which the solver stops.
    n_iter_no_change : int, default=3
        Training stops (or, with "adaptive", the rate is divided by 5) after
        more than this many epochs without ``tol`` improvement.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified) and stop
        when its accuracy stops improving for ``n_iter_no_change`` epochs.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping (unused when
        :meth:`fit` gets ``X_val``).
    scoring : str, callable or None, default=None
        What early stopping watches on the validation data (higher is
        better): None is the accuracy; "loss" the validation hinge loss
        (sample-weighted, without the L2 term) negated; another string or a
        callable is a scikit-learn scorer, called after every epoch on a copy
        of the estimator holding that epoch's weights (the probabilities of
        ``probability=True`` are calibrated only after the fit, so scorers
        that need them fail during it).
    restore_best_weights : bool, default=True
        With early stopping, end with the weights of the best validation epoch.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight`` (the same as
        multiplying ``C`` per class in ``LinearSVC``).
    probability : bool, default=False
        Enable :meth:`predict_proba` and :meth:`predict_log_proba`. ``fit``
        then holds out 20% of each class's weight, trains on the rest and fits
        a temperature to the held-out scores (see Notes); predictions are those
        of the model trained on 80% of the data.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule.
    momentum : float, default=0.9
        Momentum of "sgd" (with Nesterov's correction, as scikit-learn's MLP).
    beta_1 : float, default=0.9
        Adam/Nadam first-moment decay.
    beta_2 : float, default=0.999
        Adam/Nadam second-moment decay (and RMSProp's decay).
    epsilon : float, default=1e-8
        Adam/Nadam/RMSProp numerical stabiliser.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the row order, the early-stopping split and the calibration
        split. An int makes fits repeatable bit for bit.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of starting at zero.
    verbose : int, default=0
        1 prints a line per epoch; 2 shows a tqdm progress bar.
    n_threads : int or None, default=None
        Cap on BLAS threads during fit and predict (threadpoolctl). None
        chooses by work, as :class:`~sknumpynet.MLPClassifier` does: one
        thread where a step's products are under ``40e6`` multiply-adds (the
        rows of a step, the batch or for the full-batch solvers every row,
        times ``n_features * n_outputs``); above, the BLAS as it is in the
        main thread, and in other threads (joblib's threading backend, Dask
        worker threads) a share of the cores among the fits running at once,
        ``max(1, cpu_count // n_running)`` threads, never more than the BLAS
        had, so parallel searches do not oversubscribe (joblib's loky and
        Dask's worker processes start already limited).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Weights of the decision function; one row for two classes. A view of
        the network's weights (edits in place change the model), except for
        two classes on two columns, where it is their difference. Assignable
        (shape-checked).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts of the decision function; zeros when ``fit_intercept=False``.
        A view of the bias where there is one; assignable (shape-checked).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Defined when ``X`` has string column names.
    n_iter_ : int
        Epochs run (full batch: iterations).
    objective_ : float
        Full-batch solver only: the objective ``0.5 ||W||^2 + C sum_i s_i
        loss_i`` (``||W||_1 + ...`` for "l1") at the solution.
    t_ : int
        Training samples seen.
    loss_ : float
        Last epoch's mean objective (the minibatch form above).
    loss_curve_ : list of float
        Mean objective of every epoch.
    best_loss_ : float or None
        Lowest training objective (None with early stopping).
    validation_scores_ : list of float or None
        The validation ``scoring`` (accuracy by default) per epoch with early
        stopping or ``X_val``, else None. The full-batch solver scores
        ``X_val`` once, after the fit: one value.
    validation_loss_curve_ : list of float or None
        The validation loss beside each of ``validation_scores_``, else None.
    best_validation_score_ : float or None
    calibration_temperature_ : float
        With ``probability=True``: the temperature ``T`` of
        ``predict_proba = softmax(scores / T)`` (inf for uniform probabilities).
    network_ : sknumpynet.nn.Sequential
        The fitted network: one ``Linear`` layer.
    n_outputs_ : int
        Number of score columns of the network.
    history_ : list of dict
        Per-epoch records: epoch, loss, validation_score, learning_rate, seconds.

    See Also
    --------
    sklearn.svm.LinearSVC : The same objective solved exactly by liblinear.
    sklearn.linear_model.SGDClassifier : Plain SGD on the one-vs-rest hinge.

    Notes
    -----
    **Probabilities.** Hinge-loss scores are margins, not probabilities. With
    ``probability=True`` they are turned into probabilities by temperature
    scaling, ``p = softmax(scores / T)`` (for two classes ``p(classes_[1]) =
    sigmoid(decision_function / T)``), with the one parameter ``T`` fitted by
    minimising the weighted negative log-likelihood of the held-out rows. It
    is chosen over Platt's two-parameter sigmoid (what ``SVC`` uses) because
    it never moves the decision boundary: ``predict_proba`` always agrees with
    ``predict`` and ``decision_function``. The targets are smoothed as Platt
    does, ``(N_c + 1) / (N_c + 2)`` for the true class and the remaining
    ``1 / (N_c + 2)`` shared equally by the other classes (``N_c`` the
    held-out weight of class ``c``), so a perfectly separated held-out set
    gives a finite temperature. The held-out rows (``CALIBRATION_FRACTION``,
    20%, of each class's weight) are chosen by a keyed hash of their values,
    whatever their storage (dense, CSR, explicit zeros), so the same data
    gives the same model, duplicated rows never straddle the split and a
    sample weight of 2 is the same as the row appearing twice. ``partial_fit`` holds out and
    recalibrates on each batch the same way.

    **Accuracy of the solution.** Minibatch descent stops near, not at, the
    optimum: with the defaults the objective ends within a few percent of
    liblinear's, and test accuracy matches ``LinearSVC``'s. Full-batch descent
    (``batch_size`` = n_samples) on the squared hinge converges to
    ``LinearSVC(fit_intercept=False)``'s weights.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknumpynet import LinearSVM
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = LinearSVM(random_state=0).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseNetwork._parameter_constraints,
        "C": [Interval(numbers.Real, 0, None, closed="neither")],
        "loss": [StrOptions({"hinge", "squared_hinge"})],
        "multi_class": [StrOptions({"crammer_singer", "weston_watkins", "ovr"})],
        "fit_intercept": ["boolean"],
        "penalty": [StrOptions({"l2", "l1"})],
        "dual": ["boolean", StrOptions({"auto"})],
        "intercept_scaling": [Interval(numbers.Real, 0, None, closed="neither")],
        "solver": LinearSVMBase._solver_constraint,
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "probability": ["boolean"],
        "restore_best_weights": ["boolean"],
    }

    def __init__(
        self,
        C=1.0,
        *,
        loss="squared_hinge",
        multi_class="ovr",
        fit_intercept=True,
        penalty="l2",
        dual="auto",
        intercept_scaling=1.0,
        solver="auto",
        learning_rate_init=1e-2,
        learning_rate="adaptive",
        batch_size="auto",
        max_iter=1000,
        tol=1e-4,
        n_iter_no_change=3,
        early_stopping=False,
        validation_fraction=0.1,
        scoring=None,
        restore_best_weights=True,
        class_weight=None,
        probability=False,
        power_t=0.5,
        momentum=0.9,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        shuffle=True,
        random_state=None,
        warm_start=False,
        verbose=0,
        n_threads=None,
    ):
        self.C = C
        self.loss = loss
        self.multi_class = multi_class
        self.fit_intercept = fit_intercept
        self.penalty = penalty
        self.dual = dual
        self.intercept_scaling = intercept_scaling
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights
        self.class_weight = class_weight
        self.probability = probability
        self.power_t = power_t
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.shuffle = shuffle
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.n_threads = n_threads

    # -- fitting -------------------------------------------------------------------

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the SVM to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 input trains in float32, anything else in float64.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of 2 counts the row twice.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, as HistGradientBoosting's: checked as ``X``; it
            replaces the ``validation_fraction`` split. With
            ``early_stopping=True`` (a minibatch solver) its ``scoring`` drives
            stopping and ``restore_best_weights``; otherwise a minibatch
            solver records its score and loss every epoch, and the full-batch
            solver (``solver="lbfgs"``, or "auto" on small data) scores it
            once, after the fit. Needs ``y_val``.
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``: classes of ``y`` only.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows (times ``class_weight``).

        Returns
        -------
        self : LinearSVM
        """
        return self._fit(
            X, y, sample_weight, X_val=X_val, y_val=y_val, sample_weight_val=sample_weight_val
        )

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X`` and ``y``, keeping the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LinearSVM

        Notes
        -----
        ``partial_fit`` takes no validation data (``X_val``).
        """
        if "network_" not in self.__dict__ and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    _shape_param_names = ("fit_intercept", "multi_class")

    def _validate_fit_data(self, X, y, sample_weight, partial, classes, validation=None):
        # with probability=True, a share of the rows is held out (before the
        # base's validation, so a DataFrame keeps its column names) and kept
        # in the FitData for the calibration in _commit
        if not self.probability or y is None:
            return super()._validate_fit_data(X, y, sample_weight, partial, classes, validation)
        X_num, y_num, labels, weights = checked_calibration_input(self, X, y, sample_weight)
        known, label_index = np.unique(labels, return_inverse=True)
        if not self._resumes(partial) and classes is None:
            classes = known  # a class may fall wholly outside the training part
        train, held = train_and_held_rows(self, X_num, label_index, weights)
        X_train = safe_indexing(X, train) if hasattr(X, "iloc") else X_num[train]
        data = super()._validate_fit_data(
            X_train,
            y_num[train],
            None if sample_weight is None else weights[train],
            partial,
            classes,
            validation,
        )
        data.raw = (X, y, sample_weight)
        data.calibration = (X_num[held], labels[held], weights[held])
        return data

    def _newton_applies(self):
        return newton_applies(self.multi_class, self.loss == "squared_hinge", self.penalty)

    def _loss_description(self):
        return f"loss={self.loss!r}, multi_class={self.multi_class!r}, penalty={self.penalty!r}"

    def _loss_terms(self, problem, n_columns):
        return MulticlassHinge(
            np.asarray(problem.y, dtype=np.intp),
            n_columns,
            self.multi_class,
            self.loss == "squared_hinge",
        )

    def _commit(self, model, data, interrupted):
        super()._commit(model, data, interrupted)
        calibration = getattr(data, "calibration", None)
        if calibration is None:
            self.__dict__.pop("calibration_temperature_", None)
            return
        X_held, labels, weights = calibration
        scores = self._scores_matrix(forward_in_chunks(self.network_, X_held))
        index = np.searchsorted(self.classes_, labels)
        self.calibration_temperature_ = fit_temperature(scores, index, weights)

    def _encode_targets(self, y, resume, classes, partial):
        if np.ndim(y) == 2 and np.shape(y)[1] > 1:
            raise ValueError(
                f"{type(self).__name__} does not support multilabel or multi-output "
                f"targets; y should be 1-D, got shape {np.shape(y)}."
            )
        fitted_classes = self.classes_ if resume else None
        index, known = encode_class_labels(y, classes, fitted_classes, type(self).__name__)
        n_outputs = 1 if len(known) == 2 and self.multi_class == "ovr" else len(known)
        return index.astype(np.intp), n_outputs, {"classes_": known}

    def _make_loss(self, target_attrs):
        return nn.MultiClassHinge(
            margin=1.0, kind=self.multi_class, squared=self.loss == "squared_hinge"
        )

    def _validation_score(self, outputs, y_encoded, sample_weight):
        predicted = _predict_index(outputs)
        return accuracy_score(y_encoded, predicted, sample_weight=sample_weight)

    # -- the fitted linear model -----------------------------------------------------

    @property
    def coef_(self):
        """ndarray of shape (1, n_features) or (n_classes, n_features): the weights.

        A view of the network's weights where the layout allows (edits in
        place change the model); for two classes on two columns, their
        difference (a copy). Assigning writes the network (shape-checked).
        """
        check_is_fitted_network(self)
        weight = self.network_[0].weight.value
        if weight.shape[1] == 2:  # two classes on two columns: their difference
            return (weight[:, 1] - weight[:, 0]).reshape(1, -1)
        return weight.T

    @coef_.setter
    def coef_(self, value):
        check_is_fitted_network(self)
        weight = self.network_[0].weight.value
        rows = 1 if weight.shape[1] == 2 else weight.shape[1]
        value = _checked_array(value, (rows, weight.shape[0]), "coef_")
        if weight.shape[1] == 2:  # the difference of the two columns is the coefficient
            weight[:, 1], weight[:, 0] = 0.5 * value[0], -0.5 * value[0]
        else:
            weight[...] = value.T

    @property
    def intercept_(self):
        """ndarray of shape (1,) or (n_classes,): the intercepts (zeros without).

        A view of the bias where there is one and the layout allows;
        assigning writes it (shape-checked).
        """
        check_is_fitted_network(self)
        linear = self.network_[0]
        if linear.bias is None:
            bias = np.zeros(linear.out_features, dtype=linear.weight.value.dtype)
        else:
            bias = linear.bias.value
        if bias.shape[0] == 2:
            return bias[1:] - bias[:1]
        return bias

    @intercept_.setter
    def intercept_(self, value):
        check_is_fitted_network(self)
        linear = self.network_[0]
        columns = linear.out_features
        value = _checked_array(value, (1 if columns == 2 else columns,), "intercept_")
        if linear.bias is None:
            if value.any():
                raise ValueError(
                    "This LinearSVM was fitted with fit_intercept=False and has no "
                    "intercept to set; only zeros can be assigned to intercept_."
                )
            return
        if columns == 2:
            linear.bias.value[1], linear.bias.value[0] = 0.5 * value[0], -0.5 * value[0]
        else:
            linear.bias.value[...] = value

    @property
    def _n_features_out(self):
        check_is_fitted_network(self)
        return 1 if len(self.classes_) == 2 else len(self.classes_)

    # -- prediction --------------------------------------------------------------------

    def _decision_scores(self, X):
        """Class scores of shape (n_samples, 1) for two classes, else (n, n_classes)."""
        return _binary_column(self._forward(self._check_input(X)))

    def _scores_matrix(self, outputs):
        """(n, n_classes) scores whose softmax gives the probabilities."""
        scores = _binary_column(outputs)
        if scores.shape[1] == 1:
            return np.hstack([np.zeros_like(scores), scores])
        return scores

    def decision_function(self, X):
        """Signed distance-like scores of each class.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            For two classes, one score: positive means ``classes_[1]``.
            Otherwise one score per class; the largest wins.
        """
        scores = self._decision_scores(X)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        index = _predict_index(self._decision_scores(X))
        return self.classes_[index]

    def transform(self, X):
        """Class scores as a 2-D array, e.g. to stack into a downstream model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, 1) or (n_samples, n_classes)
            :meth:`decision_function` as columns: one for two classes.
        """
        return self._decision_scores(X)

    def _calibrated_scores(self, X):
        X = self._check_input(X)
        temperature = self.__dict__.get("calibration_temperature_")
        if temperature is None:
            raise NotFittedError(
                "predict_proba is not available: this model was fitted with "
                "probability=False. Fit it again with probability=True."
            )
        scores = self._scores_matrix(self._forward(X))
        if temperature == np.inf:
            return np.zeros_like(scores)  # uninformative scores: uniform probabilities
        # shifted to a maximum of 0 before the scaling, which then cannot
        # overflow: scores near the dtype's limit divided by T < 1 became
        # inf - inf, NaN probabilities (a row whose maximum already overflowed
        # is left to softmax, which gives the infinite scores the probability)
        top = scores.max(axis=1, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = np.where(np.isfinite(top), scores - top, scores)
            return shifted * (1.0 / temperature)

    @_needs_probability
    def predict_proba(self, X):
        """Calibrated probability estimates (needs ``probability=True``).

        ``softmax(scores / T)`` with the temperature ``T`` fitted on held-out
        rows (see Notes of the class); its argmax is :meth:`predict`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Rows sum to 1, in the order of ``classes_``.
        """
        return nn.softmax(self._calibrated_scores(X))

    @_needs_probability
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        return nn.log_softmax(self._calibrated_scores(X))


def _checked_array(value, shape, name):
    """``value`` as a float array of exactly ``shape``, else a ValueError naming it."""
    array = np.asarray(value, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}.")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite.")
    return array


def _binary_column(outputs):
    """Two classes on two columns become the one column ``s_1 - s_0``."""
    if outputs.shape[1] == 2:
        return outputs[:, 1:] - outputs[:, :1]
    return outputs


def _predict_index(outputs):
    scores = _binary_column(outputs)
    if scores.shape[1] == 1:
        return (scores[:, 0] > 0).astype(np.intp)
    return scores.argmax(axis=1)
