"""The estimator base shared by the MLPs and the linear SVM.

``fit`` reads as four steps (:meth:`BaseNetwork._fit`): validate the
parameters and data; build the network, or resume the fitted one for a warm
start or ``partial_fit``; hand it to a solver (:mod:`sknumpynet._training`)
with the per-epoch behaviours of this fit (:mod:`sknumpynet._epoch_hooks`);
commit every fitted attribute in one step from one :class:`FittedModel`.
Subclasses say what the network, the loss and the targets are.

A fit is all or nothing: the build and solve steps work on copies, and on an
exception the estimator's previous state is put back, so a failed ``fit``
never leaves a half-trained or inconsistent model.
"""

import copy
import inspect
import math
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    is_classifier,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import train_test_split
from sklearn.utils.validation import check_is_fitted, validate_data

from . import nn
from ._array_api import numpy_inputs
from ._compat import (
    CallbackSupportMixin,
    Interval,
    Options,
    StrOptions,
    callback_state,
    check_sample_weight,
    has_callbacks,
    init_callback_context,
    link_html_repr_to,
    validate_params,
    with_callbacks,
)
from ._epoch_hooks import BestWeights, LearningRate, Progress, SklearnCallbacks, Stopping
from ._runtime import (
    CHUNK_ROWS,
    SMALL_ROWS,
    blas_threads,
    forward_in_chunks,
    make_rng,
    matmul_work,
)
from ._training import (
    LbfgsSolver,
    MinibatchSolver,
    Problem,
    TrainingLog,
    batch_bounds,
    refresh_batch_norm,
    total_weight,
)

__all__ = [
    "FORMAT_VERSION", "BaseNetwork", "FittedModel", "HiddenLayersMixin", "NetworkTransformerMixin",
    "ValidationData",
]

#: Version of the pickled layout of fitted estimators; bumped on incompatible change.
#: 2: parameters carry a ``decay`` flag and optimizers pack decayed ones first.
#: 3: optimizers pack parameters in network order and have no weight decay; the
#:    training record is one ``TrainingLog`` (``_log``).
FORMAT_VERSION = 3

_SOLVERS = ("lbfgs", "sgd", "rmsprop", "adam", "nadam")
_SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


@dataclass
class FitData:
    """The validated data of one fit (output of the validate step)."""

    X: object
    y: np.ndarray
    sample_weight: np.ndarray
    n_outputs: int
    target_attrs: dict
    resume: bool
    partial: bool
    raw: tuple = ()  # X, y, sample_weight as passed, for callbacks
    calibration: tuple = None  # held-out rows of a LinearSVM with probability=True
    labels: object = None  # y validated but not encoded, for scorers
    validation: object = None  # ValidationData from X_val, y_val, or None
    full_batch: bool = False  # the solver chosen steps no optimizer (set before the build)


@dataclass
class ValidationData:
    """Held-out data scored after every epoch: ``X_val`` passed to fit, or a split of X.

    Attributes
    ----------
    X : ndarray or CSR matrix of shape (n_val, n_features)
        In the network's dtype.
    y : ndarray
        The targets as the loss expects them.
    labels : ndarray of shape (n_val,) or (n_val, n_outputs)
        The targets validated but not encoded (class labels), for scorers.
    sample_weight : ndarray of shape (n_val,) or None
        Sample weights times the class weights.
    """

    X: object
    y: np.ndarray
    labels: np.ndarray
    sample_weight: np.ndarray = None


@dataclass
class FittedModel:
    """Everything a fit produces; committed to the estimator in one step.

    Attributes
    ----------
    network : Sequential
    optimizer : Optimizer or None
    rng : numpy.random.Generator
    log : TrainingLog
    dtype : numpy.dtype
    n_outputs : int
    target_attrs : dict
        Fitted attributes that describe the targets (``classes_``, ...).
    shape_params : dict
        The parameters that shaped the network, to refuse a warm start after
        they changed.
    early_stopping : bool
        Whether stopping and best weights watched the validation score.
    validated : bool
        Whether validation scores and losses were recorded.
    objective : float or None
        The objective the solver reports (:class:`~sknumpynet._training.Outcome`).
    """

    network: object
    optimizer: object
    rng: object
    log: TrainingLog
    dtype: object
    n_outputs: int
    target_attrs: dict = field(default_factory=dict)
    shape_params: dict = field(default_factory=dict)
    early_stopping: bool = False
    validated: bool = False
    objective: float = None

    def attributes(self, interrupted):
        """The estimator's fitted attributes, by name."""
        log, early_stopping, validated = self.log, self.early_stopping, self.validated
        return {
            **self.target_attrs,
            "network_": self.network, "network_dtype_": self.dtype,
            "_optimizer": self.optimizer, "_rng": self.rng, "_log": log,
            "_shape_params": self.shape_params, "n_outputs_": self.n_outputs,
            "n_iter_": log.n_iter, "t_": log.t, "loss_curve_": list(log.loss_curve),
            "loss_": log.history[-1]["loss"] if log.history else np.nan,
            "validation_scores_": list(log.validation_scores) if validated else None,
            "validation_loss_curve_": list(log.validation_losses) if validated else None,
            "best_validation_score_": log.best_validation_score if validated else None,
            "best_loss_": None if early_stopping else log.best_loss,
            "history_": list(log.history), "interrupted_": interrupted,
            "_format_version": FORMAT_VERSION,
        }


#: Where sknumpynet's documentation is published (the HTML repr's "?" links there).
DOCS_URL = "https://sknumpynet.readthedocs.io/en/latest/"


_SPLIT_ADVICE = (
    "pass validation data instead (fit(X, y, X_val=..., y_val=...)), or set "
    "early_stopping=False"
)


# the "?" of the HTML repr (scikit-learn's, in notebooks) opens the class's
# entry in sknumpynet's API reference, not a scikit-learn page
@link_html_repr_to("sknumpynet", DOCS_URL + "api/estimators.html#sknumpynet.{estimator_name}")
class BaseNetwork(CallbackSupportMixin, BaseEstimator):
    """Shared fit/partial_fit/predict machinery; not for direct use.

    Subclasses implement ``_build_network``, ``_make_loss``, ``_encode_targets``,
    ``_validation_score`` and ``_penalty``, and list in ``_shape_param_names``
    the parameters that shape the network.
    """

    #: Whether large default fits compute their products in row blocks
    #: (``_runtime.blas_threads``): the layers' products go through
    #: ``nn.products``; a solver with products of its own says False.
    _splits_products = True

    _parameter_constraints = {
        "solver": [StrOptions(set(_SOLVERS))],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(numbers.Real, 0, None, closed="neither")],
        "learning_rate": [StrOptions(set(_SCHEDULES))],
        "power_t": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_iter_no_change": [
            Interval(numbers.Integral, 1, None, closed="left"),
            Options(numbers.Real, {math.inf}),
        ],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
    }

    _shape_param_names = ()
    #: Whether a validation score tying the best keeps the later epoch's weights.
    _later_best_ties = False

    # -- hooks for subclasses -------------------------------------------------

    def _build_network(self, n_features, n_outputs, dtype, rng):
        raise NotImplementedError

    def _make_loss(self, target_attrs):
        raise NotImplementedError

    def _encode_targets(self, y, resume, classes, partial):
        """Return ``(y_encoded, n_outputs, fitted_attributes)`` for the loss."""
        raise NotImplementedError

    def _validation_score(self, outputs, y_encoded, sample_weight):
        """The held-out score (higher is better) of the network's finite ``outputs``."""
        raise NotImplementedError

    def _penalty(self, total_weight):
        """Return ``(alpha, per_batch)``: the L2 strength and whether it divides by each batch."""
        raise NotImplementedError

    def _class_sample_weight(self, y_encoded, target_attrs, partial):
        """Per-sample weights from ``class_weight``, or None."""
        return None

    # -- fit: validate -> build or resume -> solve -> commit ---------------------

    @with_callbacks
    def _fit(self, X, y, sample_weight=None, *, partial=False, classes=None,
             X_val=None, y_val=None, sample_weight_val=None):
        validate_params(self)
        X, y, sample_weight, classes, X_val, y_val, sample_weight_val = numpy_inputs(
            self, X=X, y=y, sample_weight=sample_weight, classes=classes, X_val=X_val,
            y_val=y_val, sample_weight_val=sample_weight_val,
        )
        metadata = None if sample_weight is None else {"sample_weight": sample_weight}
        saved = dict(self.__dict__)
        try:
            with self._threads():
                data = self._validate_fit_data(
                    X, y, sample_weight, partial, classes, (X_val, y_val, sample_weight_val)
                )
                model = self._build_or_resume(data)
                context = init_callback_context(self, max_subtasks=1 if partial else self.max_iter)
                context.call_on_fit_task_begin(estimator=self, X=X, y=y, metadata=metadata)
                interrupted = self._solve(model, data, context)
                self._commit(model, data, interrupted)
            # inside the all-or-nothing block: a callback failing here undoes the fit
            context.call_on_fit_task_end(
                estimator=self, X=X, y=y, metadata=metadata, reconstruction_attributes={}
            )
        except BaseException:
            _restore_state(self, saved)
            raise
        return self

    def _resumes(self, partial):
        """Whether this fit continues the fitted network (``partial_fit`` or a warm start)."""
        return "network_" in self.__dict__ and (partial or self.warm_start)

    def _validate_fit_data(self, X, y, sample_weight, partial, classes, validation=None):
        """Step 1: check X, y and the weights against each other and the fitted model.

        ``validation`` is ``(X_val, y_val, sample_weight_val)`` as passed to fit.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        _check_validation_arguments(*(validation or (None, None, None)))
        if partial and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True.")
        resume = self._resumes(partial)
        dtype = self.network_dtype_ if resume else [np.float64, np.float32]
        raw = (X, y, sample_weight)
        X, y = self._validate_training_data(X, y, reset=not resume, dtype=dtype)
        if getattr(self, "batch_norm", False) and X.shape[0] < 2:
            raise ValueError(
                f"batch_norm=True needs at least 2 samples to estimate batch statistics, "
                f"got n_samples = {X.shape[0]} (1 sample)."
            )
        y_enc, n_outputs, target_attrs = self._encode_targets(y, resume, classes, partial)
        if resume and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} outputs but the fitted model has {self.n_outputs_}."
            )
        if y_enc.dtype.kind == "f":
            y_enc = y_enc.astype(X.dtype, copy=False)  # targets in the network's precision
        sample_weight = self._sample_weight(sample_weight, X, y_enc, target_attrs, partial)
        data = FitData(
            X, y_enc, sample_weight, n_outputs, target_attrs, resume, partial, raw, labels=y
        )
        if validation is not None and validation[0] is not None:
            try:
                data.validation = self._validate_validation_data(data, *validation)
            except ValueError as exc:
                raise ValueError(
                    f"Invalid validation data (X_val, y_val, sample_weight_val): {exc}"
                ) from exc
        return data

    def _validate_validation_data(self, data, X_val, y_val, sample_weight_val):
        """``X_val`` and ``y_val`` checked as X and y, against the training data.

        Same features (and feature names), the network's dtype, targets of the
        same kind and width as y, and for classifiers only known classes.

        Returns
        -------
        validation : ValidationData
        """
        X_val, labels = self._validate_training_data(
            X_val, y_val, reset=False, dtype=data.X.dtype
        )
        y_enc, n_outputs, attrs = self._encode_validation_targets(labels, data.target_attrs)
        kind = data.target_attrs.get("_label_kind")
        if n_outputs != data.n_outputs or attrs.get("_label_kind") != kind:
            raise ValueError(
                f"y_val of shape {np.shape(labels)} does not match y of shape "
                f"{np.shape(data.labels)}" + (f" ({kind} targets)." if kind else ".")
            )
        if y_enc.dtype.kind == "f":
            y_enc = y_enc.astype(X_val.dtype, copy=False)
        sample_weight = self._sample_weight(
            sample_weight_val, X_val, y_enc, data.target_attrs, False
        )
        return ValidationData(X_val, y_enc, labels, sample_weight)

    def _encode_validation_targets(self, labels, target_attrs):
        """``(y_encoded, n_outputs, attributes)`` of ``y_val`` over the classes of y, if any."""
        return self._encode_targets(labels, False, target_attrs.get("classes_"), True)

    def _validate_training_data(self, X, y, reset, dtype):
        """``X`` and ``y`` checked (``validate_data``) and converted for the network."""
        return validate_data(
            self, X, y, reset=reset, accept_sparse="csr", dtype=dtype,
            multi_output=True, y_numeric=not is_classifier(self),
        )

    def _build_or_resume(self, data):
        """Step 2: a new network, or copies of the fitted network, optimizer and Generator."""
        shape_params = {name: getattr(self, name) for name in self._shape_param_names}
        if not data.resume:
            rng = make_rng(self.random_state)
            network = self._build_network(data.X.shape[1], data.n_outputs, data.X.dtype, rng)
            optimizer = None if data.full_batch else self._make_optimizer(network.parameters())
            return FittedModel(
                network, optimizer, rng, TrainingLog(), data.X.dtype, data.n_outputs,
                data.target_attrs, shape_params,
            )
        self._check_shape_params(shape_params)
        # copied together, the optimizer keeps pointing at the copied parameters
        # and dropout keeps drawing from the model's one Generator
        network, optimizer, rng = copy.deepcopy(
            (self.network_, self._optimizer if data.partial else None, self._rng)
        )
        if optimizer is None and not data.full_batch:  # a warm start begins new moments
            optimizer = self._make_optimizer(network.parameters())
        elif optimizer is not None and not optimizer._is_packed():
            # the copied parameters go into flat buffers now, not at the first
            # step: then the copy's per-parameter arrays are gone before the
            # solver snapshots the model
            optimizer._pack()
        return FittedModel(
            network, optimizer, rng, self._log.resumed(), self.network_dtype_,
            data.n_outputs, data.target_attrs, shape_params,
        )

    def _check_shape_params(self, shape_params):
        fitted = self.__dict__.get("_shape_params", shape_params)
        changed = sorted(k for k in shape_params if _differs(shape_params[k], fitted.get(k)))
        if changed:
            raise ValueError(
                f"Cannot resume training (warm_start=True or partial_fit): "
                f"{', '.join(changed)} changed since the network was built "
                f"({', '.join(f'{k}={fitted.get(k)!r}' for k in changed)}). Fit with "
                "warm_start=False to build a new network."
            )

    def _solve(self, model, data, context):
        """Step 3: train ``model.network`` in place; True if a Ctrl-C ended it."""
        problem = self._problem(model, data)
        solver = self._make_solver(model, data, context, problem)
        model.validated = problem.validate is not None
        model.early_stopping = self._stops_on_validation(problem) and isinstance(
            solver, MinibatchSolver
        )
        rows = getattr(solver, "batch_size", problem.X.shape[0])
        with self._threads(matmul_work(model.network, rows)):
            outcome = solver.solve(problem, model.log)
        model.objective = outcome.objective
        if outcome.reason == "interrupted":
            warnings.warn(outcome.message, UserWarning)
        elif outcome.reason == "diverged":
            warnings.warn(outcome.message, ConvergenceWarning)
        elif outcome.reason == "max_iter" and not data.partial and self._warns_at_max_iter():
            warnings.warn(outcome.message or (
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet."
            ), ConvergenceWarning)
        model.network.eval()
        if model.validated and not isinstance(solver, MinibatchSolver):
            # a full-batch solver scores no epochs: the final model, once
            model.log.record_validation(*problem.validate(model.network))
        model.network.clear_cache()
        return outcome.reason == "interrupted"

    def _stops_on_validation(self, problem):
        """Whether early stopping and best weights watch ``problem``'s validation score."""
        return self.early_stopping and problem.validate is not None

    def _commit(self, model, data, interrupted):
        """Step 4: every fitted attribute at once."""
        self.__dict__.update(model.attributes(interrupted))

    def _make_solver(self, model, data, context, problem):
        """The full-batch L-BFGS solver, or the minibatch loop of the optimizers."""
        hooks = self._hooks(model, data, context, self._stops_on_validation(problem),
                            full_batch=self.solver == "lbfgs")
        if self.solver == "lbfgs":
            _check_lbfgs(model.network, data.partial)
            return LbfgsSolver(
                max_iter=self.max_iter, max_fun=getattr(self, "max_fun", 15000), tol=self.tol,
                hooks=hooks,
            )
        batch_size = self._batch_size(problem.X.shape[0], data.partial)
        max_epochs = 1 if data.partial else self.max_iter
        n_steps = max_epochs * len(batch_bounds(problem.X.shape[0], batch_size))
        # partial_fit trains a copy of the estimator's optimizer, which stays as it
        # was: a rollback in its one epoch takes the moments back from it
        resumed = data.partial and data.resume
        return MinibatchSolver(
            model.optimizer, batch_size=batch_size, max_epochs=max_epochs, rng=model.rng,
            shuffle=self.shuffle, hooks=hooks, advice=self._divergence_advice(),
            step_schedule=self._step_schedule(n_steps),
            start_state=self.__dict__.get("_optimizer") if resumed else None,
        )

    def _warns_at_max_iter(self):
        """Whether ending at ``max_iter`` means training had not converged (it warns)."""
        return True

    def _step_schedule(self, n_steps):
        """A schedule stepped once per batch over ``n_steps`` batches, or None (per epoch)."""
        return None

    # -- the pieces of a fit -------------------------------------------------------

    def _problem(self, model, data):
        X, y, sample_weight = data.X, data.y, data.sample_weight
        validation = data.validation  # X_val replaces the split: all of X trains
        # as scikit-learn, lbfgs ignores early stopping: no split; so do the
        # linear SVMs' full-batch solvers (data.full_batch: "newton" too)
        full_batch = self.solver == "lbfgs" or data.full_batch
        if validation is None and self.early_stopping and not full_batch:
            X, y, sample_weight, validation = self._split_validation(
                X, y, sample_weight, data.labels, model.rng
            )
        alpha, per_batch = self._penalty(total_weight(X, sample_weight))
        loss = self._make_loss(data.target_attrs)
        loss.check_finite = False  # the solver detects divergence on the returned float
        validate = None if validation is None else self._validator(model, validation)
        return Problem(
            model.network, loss, nn.L2Penalty(model.network.parameters(), alpha), X, y,
            sample_weight, per_batch, validate,
        )

    def _validator(self, model, validation):
        """``validate(network) -> (score, loss)`` on the held-out data.

        The loss is the training loss (sample-weighted, without the penalty);
        the score is what ``scoring`` names. Outputs that overflow (a
        diverging epoch) score -inf at an infinite loss.
        """
        loss = self._make_loss(model.target_attrs)  # its own cache, not the training loss's
        loss.check_finite = False
        score = self._score_function(model, validation)

        def validate(network):
            with np.errstate(all="ignore"):
                outputs = forward_in_chunks(network, validation.X)
            if not np.isfinite(outputs).all():
                return -np.inf, np.inf
            value = float(loss(outputs, validation.y, validation.sample_weight))
            return score(outputs, value), value

        return validate

    def _score_function(self, model, validation):
        """``score(outputs, loss)`` of the validation data, as ``scoring`` chooses."""
        scoring = getattr(self, "scoring", None)
        if scoring is None:  # scikit-learn's MLP: accuracy, or R^2
            return lambda outputs, loss: self._validation_score(
                outputs, validation.y, validation.sample_weight
            )
        if scoring == "loss":
            return lambda outputs, loss: -loss
        scorer = check_scoring(self, scoring)
        estimator = self._scoring_estimator(model)
        weight = validation.sample_weight
        kwargs = {} if weight is None else {"sample_weight": weight}
        return lambda outputs, loss: float(
            scorer(estimator, validation.X, validation.labels, **kwargs)
        )

    def _scoring_estimator(self, model):
        """An unfitted copy of this estimator that predicts with the network being trained.

        Built once per fit; it holds ``model.network`` itself (no copy), so a
        scorer sees the weights of the epoch just finished. It knows no
        feature names: the scorer gets the validated arrays.
        """
        estimator = type(self)(**self.get_params(deep=False))
        estimator.__dict__.update(
            self._snapshot_attributes(model, network=model.network),
            n_features_in_=self.n_features_in_, _format_version=FORMAT_VERSION,
        )
        return estimator

    def _hooks(self, model, data, context, early_stopping, full_batch=False):
        """The per-epoch behaviours of this fit, in order.

        A full-batch solver gets neither a learning rate nor a stopping rule
        (it has its own tolerance): only progress and scikit-learn's callbacks.
        """
        hooks = []
        if not full_batch:
            schedule = self._make_schedule(model.log.t)
            hooks.append(LearningRate(schedule, n_steps=data.X.shape[0]))
        if not data.partial and not full_batch:
            monitor = "validation_score" if early_stopping else "loss"
            best = model.log.best_validation_score if early_stopping else model.log.best_loss
            hooks.append(Stopping(self.n_iter_no_change, self.tol, monitor, schedule, best))
            if early_stopping and self.restore_best_weights:
                hooks.append(BestWeights(model.log.best_validation_score,
                                         later_ties=self._later_best_ties))
        hooks.append(Progress(self.verbose, type(self).__name__))
        if has_callbacks(self):
            X, y, sample_weight = data.raw
            metadata = None if sample_weight is None else {"sample_weight": sample_weight}
            hooks.append(SklearnCallbacks(
                context, self, X, y, metadata,
                lambda run: self._snapshot_attributes(model, run=run),
            ))
        return hooks

    def _snapshot_attributes(self, model, network=None, run=None):
        """Attributes that make a copy of this estimator predict as of now.

        ``network`` defaults to an eval-mode copy of ``model.network``; given
        the solver's ``run``, its batch-norm statistics are refreshed on the
        training data as the solver refreshes them at the end, so the last
        epoch's copy predicts as the returned model.
        """
        if network is None:
            network = copy.deepcopy(model.network).eval()
            if run is not None:
                problem = run.problem
                refresh_batch_norm(network, problem.X, problem.sample_weight, run.batch_size)
        return {
            **model.target_attrs, "network_": network, "network_dtype_": model.dtype,
            "n_outputs_": model.n_outputs, "_shape_params": model.shape_params,
        }

    def _batch_size(self, n_samples, partial):
        if self.batch_size == "auto":
            return min(200, n_samples)
        if self.batch_size > n_samples and not partial:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} training "
                "samples; using the whole set as one batch.",
                UserWarning,
            )
        return max(1, min(self.batch_size, n_samples))

    def _divergence_advice(self):
        return (
            f"Lower learning_rate_init (now {self.learning_rate_init}) or standardise the "
            "features (e.g. StandardScaler)."
        )

    def _threads(self, work=None):
        """The BLAS limit of ``n_threads`` for ``work`` multiply-adds per step.

        See ``_runtime.blas_threads`` for the rule.
        """
        return blas_threads(self.n_threads, work, split=self._splits_products)

    def _sample_weight(self, sample_weight, X, y_enc, target_attrs, partial):
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X, dtype=X.dtype)
            if not sample_weight.any():
                raise ValueError("Sample weights must contain at least one non-zero number.")
        class_weight = self._class_sample_weight(y_enc, target_attrs, partial)
        if class_weight is not None:
            class_weight = class_weight.astype(X.dtype)
            sample_weight = class_weight if sample_weight is None else sample_weight * class_weight
        return sample_weight

    def _split_validation(self, X, y, sample_weight, labels, rng):
        """``(X, y, sample_weight)`` of the training part and the held-out ValidationData."""
        seed = int(rng.integers(np.iinfo(np.int32).max))
        # one more array (the labels) leaves the drawn split unchanged
        arrays = [X, y, labels] + ([] if sample_weight is None else [sample_weight])
        stratify = self._stratify(y)
        if stratify is not None:
            self._check_stratified_split(stratify, X.shape[0])
        try:
            parts = train_test_split(
                *arrays, test_size=self.validation_fraction, random_state=seed,
                stratify=stratify,
            )
        except ValueError as exc:  # e.g. a class of one sample
            if stratify is None:
                raise
            raise ValueError(
                f"{exc} (early_stopping=True holds out a validation set stratified by "
                f"class, validation_fraction={self.validation_fraction}; {_SPLIT_ADVICE})"
            ) from exc
        X_tr, X_val, y_tr, y_val, _, labels_val = parts[:6]
        if X_val.shape[0] < 2 or X_tr.shape[0] < 1:
            raise ValueError(
                f"The validation set is too small: validation_fraction="
                f"{self.validation_fraction} of {X.shape[0]} samples leaves {X_val.shape[0]} "
                "for early stopping (at least 2 are needed). Increase validation_fraction or "
                "pass more data."
            )
        sw_tr, sw_val = (parts[6], parts[7]) if sample_weight is not None else (None, None)
        return X_tr, y_tr, sw_tr, ValidationData(X_val, y_val, labels_val, sw_val)

    def _check_stratified_split(self, labels, n_samples):
        """A ValueError naming validation_fraction when the split cannot hold every class.

        A stratified split puts every class on both sides: it needs at least
        as many validation rows, and training rows, as there are classes.
        """
        _, counts = np.unique(np.ravel(labels), return_counts=True)
        n_classes, n_val = len(counts), math.ceil(self.validation_fraction * n_samples)
        if counts.min() < 2 or (n_val >= n_classes and n_samples - n_val >= n_classes):
            return  # a class of one sample: scikit-learn's message names it
        fraction = self.validation_fraction
        message = (
            f"early_stopping=True holds out validation_fraction={fraction} of the "
            f"{n_samples} samples, {n_val} row{'s' * (n_val != 1)}, stratified by class: "
            f"each of the {n_classes} classes needs a row in the validation set and one "
            "in the training set"
        )
        # every class has two samples here, so some fraction works: the range,
        # rounded inwards to three decimals where that still works

        def works(f):
            n = math.ceil(f * n_samples)  # as train_test_split counts
            return n_classes <= n <= n_samples - n_classes

        low = math.ceil(1000 * n_classes / n_samples) / 1000
        low = low if works(low) else n_classes / n_samples
        high = math.floor(1000 * (n_samples - n_classes) / n_samples) / 1000
        high = high if works(high) and high >= low else low
        span = f"to {low:g}" if low == high else f"between {low:g} and {high:g}"
        raise ValueError(f"{message}. Set validation_fraction {span}, or {_SPLIT_ADVICE}.")

    def _stratify(self, y):
        """The labels to stratify the validation split by (None: a random split).

        As scikit-learn's MLP: a classifier's split is stratified, and a class
        too small to split is an error.
        """
        if is_classifier(self) and y.ndim == 1:
            return y
        if is_classifier(self) and y.shape[1] == 1:  # binary: one 0/1 column
            return y > 0.5  # a 2-D bool column, as scikit-learn stratifies it
        return None

    def _make_optimizer(self, params):
        if self.solver == "lbfgs":
            return None  # L-BFGS keeps its own history, only during a fit
        return nn.get_optimizer(
            self.solver, params, lr=self.learning_rate_init, **self._optimizer_settings()
        )

    def _optimizer_settings(self):
        """The estimator's parameters as the settings of its solver's optimizer."""
        if self.solver == "sgd":  # scikit-learn's: momentum 0.9 with Nesterov by default
            nesterov = getattr(self, "nesterovs_momentum", True) and self.momentum > 0
            return {"momentum": self.momentum, "nesterov": nesterov}
        if self.solver == "rmsprop":
            return {"rho": self.beta_2, "eps": self.epsilon}
        return {"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon}

    def _make_schedule(self, t):
        """This fit's schedule, from :mod:`sknumpynet.nn.schedules`; ``t``: samples seen."""
        settings = {
            "invscaling": {"power_t": self.power_t, "t0": t},
            "cosine": {"t_max": self.max_iter},
            # the Stopping hook counts the plateaus and asks the schedule to reduce
            "adaptive": {"factor": 0.2, "patience": math.inf, "min_lr": 1e-6},
        }
        return nn.get_schedule(
            self.learning_rate, self.learning_rate_init, **settings.get(self.learning_rate, {})
        )

    # -- prediction --------------------------------------------------------------

    def _check_input(self, X):
        if _is_small_ready_array(self, X):
            return X  # every check validate_data would make, at a fraction of its cost
        (X,) = numpy_inputs(self, X=X)
        check_is_fitted(self)
        self._check_format_version()
        return validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=self.network_dtype_
        )

    def _forward(self, X, stop=None):
        """Outputs of the fitted network (or its first ``stop`` modules) for ``X``.

        A few rows (at most ``SMALL_ROWS``) skip the BLAS thread limit: their
        products are too small for threads to matter, and setting the limit
        costs more than the product itself.
        """
        if X.shape[0] <= SMALL_ROWS:
            return forward_in_chunks(self.network_, X, stop)
        with self._threads(matmul_work(self.network_, min(X.shape[0], CHUNK_ROWS))):
            return forward_in_chunks(self.network_, X, stop)

    def _check_format_version(self):
        version = getattr(self, "_format_version", None)
        if version is not None and version > FORMAT_VERSION:
            raise ValueError(
                f"This {type(self).__name__} was saved by a newer sknumpynet (format "
                f"{version}); this version reads format {FORMAT_VERSION}. Upgrade sknumpynet."
            )

    def __setstate__(self, state):
        version = state.get("_format_version")
        if version is not None and version > FORMAT_VERSION:
            raise ValueError(
                f"Cannot load a {type(self).__name__} saved in format {version} by a newer "
                f"sknumpynet; this version reads format {FORMAT_VERSION}. Upgrade sknumpynet."
            )
        super().__setstate__(state)
        for name, default in _constructor_defaults(type(self)).items():
            self.__dict__.setdefault(name, default)  # parameters added since it was saved
        if "network_" in self.__dict__:  # fitted attributes added since it was saved
            self.__dict__.setdefault("validation_loss_curve_", None)
        if version is not None and version < FORMAT_VERSION:
            _upgrade(self, version)


class NetworkTransformerMixin(ClassNamePrefixFeaturesOutMixin, TransformerMixin):
    """``transform`` outputs named ``<class><i>``, float32 kept, sparse input accepted."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class HiddenLayersMixin(NetworkTransformerMixin):
    """``hidden_layer_sizes`` and ``embedding_layer``: the hidden blocks ``transform`` reads.

    The network is ``Sequential(*prefix, *hidden_blocks, output)``; subclasses
    with modules before the first hidden block say how many in ``_n_prefix``.
    """

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else list(sizes)
        if any(not isinstance(s, numbers.Integral) or s < 1 for s in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers, got {sizes}.")
        return [int(s) for s in sizes]

    def _n_prefix(self):
        return 0

    def _embedding_widths(self):
        """Widths of the layers ``transform`` returns; ValueError for a bad ``embedding_layer``."""
        sizes = self._hidden_sizes()
        if not sizes:
            raise ValueError("transform needs at least one hidden layer.")
        if self.embedding_layer == "all":
            return sizes
        idx = self.embedding_layer
        if not -len(sizes) <= idx < len(sizes):
            raise ValueError(
                f"embedding_layer={idx} is out of range for {len(sizes)} hidden layers."
            )
        return [sizes[idx]]

    @property
    def _n_features_out(self):
        # AttributeError, not ValueError: dir(), hasattr and skl2onnx's option
        # lookup read properties and expect it for what is not available
        try:
            return sum(self._embedding_widths())
        except ValueError as exc:
            raise AttributeError(str(exc)) from exc

    def _hidden_embeddings(self, X):
        """The activations of the ``embedding_layer`` hidden block(s) for checked ``X``."""
        self._embedding_widths()  # validates hidden_layer_sizes and embedding_layer
        prefix = self._n_prefix()
        n_hidden = len(self.network_) - 1 - prefix
        if self.embedding_layer == "all":
            return np.hstack([self._forward(X, stop=prefix + i + 1) for i in range(n_hidden)])
        return self._forward(X, stop=prefix + self.embedding_layer % n_hidden + 1)


def _is_small_ready_array(estimator, X):
    """Whether ``X`` is a few rows that validate_data would pass through unchanged.

    A plain C-ordered 2-D ndarray of the fitted dtype and width, finite, for a
    fitted model of this format that saw no feature names: validate_data would
    return it as is (and the chunking would be one chunk). One-row predictions
    spend most of their time in those checks, so they are made directly here;
    anything else goes the usual way, with its usual errors.
    """
    d = estimator.__dict__
    return (
        type(X) is np.ndarray and X.ndim == 2 and 0 < X.shape[0] <= SMALL_ROWS
        and "network_" in d and X.dtype == d["network_dtype_"]
        and X.shape[1] == d.get("n_features_in_") and "feature_names_in_" not in d
        and d.get("_format_version") == FORMAT_VERSION and X.flags.c_contiguous
        and bool(np.isfinite(X).all())
    )


def _check_validation_arguments(X_val, y_val, sample_weight_val):
    """Refuse ``X_val`` without ``y_val`` (or the reverse), and weights without them."""
    if (X_val is None) != (y_val is None):
        given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
        raise ValueError(f"{given} was passed without {missing}: pass both or neither.")
    if sample_weight_val is not None and X_val is None:
        raise ValueError("sample_weight_val was passed without X_val and y_val.")


def _refuse_partial_fit(partial):
    """The error of ``partial_fit`` with a full-batch solver (``solver='lbfgs'``)."""
    if partial:
        raise ValueError("partial_fit is not available with solver='lbfgs' (not stochastic).")


def _check_lbfgs(network, partial):
    _refuse_partial_fit(partial)
    dropout = [m.p for m in network.modules() if isinstance(m, nn.Dropout) and m.p > 0]
    if dropout:
        raise ValueError(
            f"solver='lbfgs' cannot train with dropout (p={dropout[0]}): random masks make "
            "every evaluation of the objective different, which breaks its line search. "
            "Use dropout=0 or a stochastic solver such as 'adam'."
        )


def _restore_state(estimator, saved):
    """Put back the estimator's state from before a failed fit, callback bookkeeping aside."""
    keep = callback_state(estimator)
    estimator.__dict__.clear()
    estimator.__dict__.update(saved)
    estimator.__dict__.update(keep)


def _constructor_defaults(cls):
    """The default value of every constructor parameter of ``cls``."""
    signature = inspect.signature(cls.__init__)
    return {
        name: p.default for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def _differs(a, b):
    """Whether two parameter values differ (lists and tuples of equal items are equal)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) != len(b) or any(_differs(x, y) for x, y in zip(a, b))
    try:
        return bool(a != b)
    except (TypeError, ValueError):
        return True


def _upgrade(estimator, version):
    """Bring a model pickled in an older format to this version's layout.

    Format 1 had no ``decay`` flag (it loads as True everywhere), so the biases
    and BatchNorm's scale and shift get their False back, and its optimizer
    kept its moments in an unknown order, so it is dropped: the next
    ``partial_fit`` begins with fresh moments. Format 2's optimizer repacks
    its own state on unpickling (:class:`~sknumpynet.nn.Optimizer`). Formats 1
    and 2 kept the training record in separate attributes: they become one
    :class:`~sknumpynet._training.TrainingLog`.
    """
    if version == 1:
        for module in estimator.network_.modules():
            for name in ("bias", "gamma", "beta"):
                param = getattr(module, name, None)
                if isinstance(param, nn.Parameter):
                    param.decay = False
        estimator._optimizer = None
    d = estimator.__dict__
    best_val = d.get("best_validation_score_")
    best_loss = d.get("best_loss_")
    d["_log"] = TrainingLog(
        history=_upgraded_history(d),
        best_loss=math.inf if best_loss is None else best_loss,
        best_validation_score=-math.inf if best_val is None else best_val,
        t=d.get("t_", 0), n_iter=d.get("n_iter_", 0),
    )
    estimator._format_version = FORMAT_VERSION


def _upgraded_history(d):
    """The epoch records of an old pickle's attributes.

    Rebuilt from its loss curve where its ``history_`` does not cover every epoch.
    """
    history, losses = list(d.get("history_", [])), list(d.get("loss_curve_", []))
    if len(history) == len(losses):
        return history
    scores = list(d.get("validation_scores_") or [])
    scores = scores if len(scores) == len(losses) else [None] * len(losses)
    return [{"epoch": k + 1, "loss": loss, "validation_score": score, "validation_loss": None,
             "learning_rate": None, "seconds": None}
            for k, (loss, score) in enumerate(zip(losses, scores))]
