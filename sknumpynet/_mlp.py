"""Multi-layer perceptrons: :class:`MLPClassifier` and :class:`MLPRegressor`."""

import numbers
import os

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import accuracy_score, d2_pinball_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import column_or_1d

from . import nn
from ._array_api import numpy_inputs
from ._base import BaseNetwork, HiddenLayersMixin
from ._classifier import NetworkClassifierMixin, NetworkLabelsMixin, encode_class_labels
from ._compat import Interval, StrOptions
from ._runtime import check_is_fitted_network

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's five, and leaky_relu; the engine has more (nn.ACTIVATIONS)
_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "logistic", "identity")


def _init_source(random_state, rng):
    """Where the initial weights are drawn from.

    For an int ``random_state``, ``numpy.random.RandomState(random_state)``, as
    scikit-learn's MLP draws them: the same seed starts both from the same
    weights. Otherwise the fit's Generator.
    """
    if isinstance(random_state, numbers.Integral):
        return np.random.RandomState(int(random_state))
    return rng


def _sklearn_linear(fan_in, fan_out, activation, rng, source, dtype):
    """A Linear layer initialised as scikit-learn's MLP does (``_init_coef``).

    Weights, then biases, from U(-b, b) drawn from ``source``, b = sqrt(f /
    (fan_in + fan_out)), f = 2 after a logistic activation and 6 otherwise (the
    output layer follows the last hidden activation). A default fit on a small
    table is a few hundred Adam steps, whose outcome depends on the starting
    point: with He initialisation of ReLU layers and zero biases the drop-ins
    trailed scikit-learn's MLP on benchmarks/bench_tabular.py's half A; from
    the same weights the two train alike.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    bound = np.sqrt(factor / (fan_in + fan_out))

    def init(shape, rng, dtype):
        return source.uniform(-bound, bound, size=shape).astype(dtype, copy=False)

    linear = nn.Linear(fan_in, fan_out, rng=rng, dtype=dtype, init=init)
    linear.bias.value[...] = source.uniform(-bound, bound, size=fan_out)
    return linear


def _stochastic_solver(estimator):
    """partial_fit exists only for the stochastic solvers, as in scikit-learn."""
    if estimator.solver == "lbfgs":
        raise AttributeError(
            f"partial_fit is only available for stochastic optimizers. "
            f"{estimator.solver} is not stochastic."
        )
    return True


def _per_layer(value, n_layers, name):
    """Expand a scalar or a per-layer list to a list of length ``n_layers``."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_layers:
            raise ValueError(
                f"{name} has {len(value)} entries but there are {n_layers} hidden layers."
            )
        return list(value)
    return [value] * n_layers


# Arrays of the parameters' size L-BFGS holds besides the values, gradients and
# a best-weights snapshot: its history of 10 pairs of vectors (the other
# solvers' moments: nn.Optimizer.n_state_arrays).
_LBFGS_ARRAYS = 20


def _solver_arrays(solver):
    """Arrays of the parameters' size the solver keeps (moments or history)."""
    if solver == "lbfgs":
        return _LBFGS_ARRAYS
    return nn.OPTIMIZERS[solver].n_state_arrays


def _available_memory():
    """Return the bytes this process may use: physical memory, or less under RLIMIT_AS."""
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: no check
        total = None
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            total = soft if total is None else min(total, soft)
    except ImportError:
        pass
    return total


def check_network_memory(n_features, sizes, n_outputs, dtype, solver, batch_norm):
    """Raise a ValueError before allocating a network the memory cannot hold.

    Parameters
    ----------
    n_features, n_outputs : int
        The widths of the input and of the output layer.
    sizes : list of int
        The hidden layer widths (``hidden_layer_sizes``).
    dtype : numpy.dtype
        The parameters' dtype.
    solver : str
        The solver, for the number of moment arrays its optimizer keeps.
    batch_norm : bool
        Whether each hidden layer has a batch-norm layer (4 arrays of its width).

    Raises
    ------
    ValueError
        If the parameters, their gradients, the snapshots and the solver's
        state (moments or history) need more bytes than the physical memory
        (or the address-space limit set with ``resource.setrlimit``); the message names
        ``hidden_layer_sizes``, the parameter count and the bytes needed.
    """
    widths = [int(n_features), *sizes, int(n_outputs)]
    n_params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    n_params += 4 * sum(sizes) if batch_norm else 0
    # weights, gradients and snapshots (two rollback ones for the minibatch
    # solvers, L-BFGS's best weights), and the solver's own arrays
    n_arrays = (3 if solver == "lbfgs" else 4) + _solver_arrays(solver)
    needed = n_params * n_arrays * np.dtype(dtype).itemsize
    available = _available_memory()
    if available is not None and needed > available:
        raise ValueError(
            f"hidden_layer_sizes={tuple(sizes)} with {n_features} features and "
            f"{n_outputs} outputs makes a network of {n_params:,} parameters, which "
            f"needs about {needed / 2**30:,.1f} GiB ({n_arrays} arrays of "
            f"{np.dtype(dtype).name}: weights, gradients, snapshots and the "
            f"{solver} solver's state), more than the {available / 2**30:,.1f} GiB "
            "of memory available; use smaller hidden layers."
        )


class BaseMLP(HiddenLayersMixin, BaseNetwork):
    """The network, penalty and embeddings shared by both MLPs."""

    _shape_param_names = ("hidden_layer_sizes", "activation", "batch_norm", "dropout")

    _parameter_constraints = {
        **BaseNetwork._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS)), list, tuple],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left"), list, tuple],
        "batch_norm": ["boolean"],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "restore_best_weights": ["boolean"],
        "embedding_layer": [Interval(numbers.Integral, None, None, closed="neither"),
                            StrOptions({"all"})],
        "nesterovs_momentum": ["boolean"],
        "max_fun": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        dropout=0.0,
        batch_norm=False,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        scoring=None,
        restore_best_weights=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        embedding_layer=-1,
        n_threads=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.scoring = scoring
        self.restore_best_weights = restore_best_weights
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.embedding_layer = embedding_layer
        self.n_threads = n_threads

    # -- network ----------------------------------------------------------------

    def _build_network(self, n_features, n_outputs, dtype, rng):
        sizes = self._hidden_sizes()
        check_network_memory(n_features, sizes, n_outputs, dtype, self.solver, self.batch_norm)
        activations = _per_layer(self.activation, len(sizes), "activation")
        dropouts = _per_layer(self.dropout, len(sizes), "dropout")
        for a in activations:
            if a not in _ACTIVATIONS:
                raise ValueError(f"Unknown activation {a!r}; choose one of {_ACTIVATIONS}.")
        for p in dropouts:
            if not isinstance(p, numbers.Real) or not 0 <= p < 1:
                raise ValueError(f"dropout must be in [0, 1), got {p!r}.")
        blocks, width = [], n_features
        source = _init_source(self.random_state, rng)
        for size, act, p in zip(sizes, activations, dropouts):
            layers = [_sklearn_linear(width, size, act, rng, source, dtype)]
            if self.batch_norm:
                layers.append(nn.BatchNorm1d(size, dtype=dtype))
            layers.append(nn.get_activation(act, inplace=True))
            if p > 0:
                layers.append(nn.Dropout(p, rng=rng))
            blocks.append(nn.Sequential(*layers))
            width = size
        last = activations[-1] if activations else self.activation
        output = _sklearn_linear(width, n_outputs, last, rng, source, dtype)
        network = nn.Sequential(*blocks, output)
        first = blocks[0][0] if blocks else output
        first.needs_input_grad = False  # nobody reads the gradient of the data
        return network

    def _penalty(self, total_weight):
        return self.alpha, True

    @property
    def n_layers_(self):
        """int: Number of layers, input and output included (as scikit-learn)."""
        check_is_fitted_network(self)
        return len(self.network_) + 1

    @property
    def coefs_(self):
        """list of ndarray: ``coefs_[i]`` has shape (n_units_in, n_units_out) of layer i.

        The network's own arrays: editing them in place, or assigning a list of
        arrays of the same shapes, changes the model.
        """
        check_is_fitted_network(self)
        return [m.weight.value for m in _layer_linears(self.network_)]

    @coefs_.setter
    def coefs_(self, values):
        self._write_layers("weight", values, "coefs_")

    @property
    def intercepts_(self):
        """list of ndarray: ``intercepts_[i]`` has shape (n_units_out,) of layer i.

        Assignable like :attr:`coefs_`.
        """
        check_is_fitted_network(self)
        return [m.bias.value for m in _layer_linears(self.network_)]

    @intercepts_.setter
    def intercepts_(self, values):
        self._write_layers("bias", values, "intercepts_")

    def _write_layers(self, name, values, attribute):
        """Copy ``values`` into the fitted layers' parameter ``name``, shape-checked first."""
        check_is_fitted_network(self)
        targets = [getattr(m, name).value for m in _layer_linears(self.network_)]
        values = [np.asarray(v) for v in values]
        if len(values) != len(targets):
            raise ValueError(
                f"{attribute} needs {len(targets)} arrays (one per layer), got {len(values)}."
            )
        for i, (value, target) in enumerate(zip(values, targets)):
            if value.shape != target.shape:
                raise ValueError(
                    f"{attribute}[{i}] has shape {value.shape}; layer {i} needs {target.shape}."
                )
            if not np.isfinite(value).all():
                raise ValueError(f"{attribute}[{i}] contains NaN or infinity.")
        for value, target in zip(values, targets):  # in place: optimizer views stay valid
            np.copyto(target, value, casting="same_kind")

    # -- embeddings ---------------------------------------------------------------

    def transform(self, X):
        """Hidden-layer embeddings of ``X``, in evaluation mode.

        Dropout is off and batch norm uses its running statistics. The layer is
        chosen by ``embedding_layer``: the activations after that hidden layer,
        or all hidden layers side by side for ``"all"``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        embeddings : ndarray of shape (n_samples, n_features_out)
            ``n_features_out`` is the width of the chosen layer, or the sum of
            all widths for ``"all"``.
        """
        return self._hidden_embeddings(self._check_input(X))



def _check_quantiles(quantile):
    """Several quantiles as a float64 array: 1-D, each in (0, 1), strictly increasing."""
    try:
        q = np.asarray(quantile, dtype=np.float64)
    except (TypeError, ValueError):
        q = None
    if q is None or q.ndim != 1 or q.size == 0 or not np.all((q > 0) & (q < 1)) or np.any(
        np.diff(q) <= 0
    ):
        raise ValueError(
            "quantile must be a number in (0, 1) or a non-empty 1-D sequence of them in "
            "strictly increasing order (one output column each, in that order), got "
            f"{quantile!r}."
        )
    return q


def _mean_d2_pinball(y, predictions, quantiles, sample_weight):
    """The D^2 pinball score of each quantile's column of ``predictions``, averaged."""
    return float(np.mean([
        d2_pinball_score(y, predictions[:, k], alpha=q, sample_weight=sample_weight)
        for k, q in enumerate(quantiles)
    ]))


def _layer_linears(network):
    return [block[0] if isinstance(block, nn.Sequential) else block for block in network]


class MLPClassifier(NetworkLabelsMixin, NetworkClassifierMixin, BaseMLP):
    """Multi-layer perceptron classifier with dropout, batch norm and embeddings.

    A feed-forward network of ``Linear -> [BatchNorm1d] -> activation ->
    [Dropout]`` blocks and a linear output, trained by minibatch gradient
    descent on the softmax cross-entropy (one logistic output per label for
    binary and multilabel targets), with an L2 penalty on the weights.

    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Width of each hidden layer.
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"} or list, default="relu"
        Hidden-layer activation, or one per hidden layer.
    dropout : float or list of float, default=0.0
        Dropout probability after each hidden layer, in [0, 1), or one per layer.
    batch_norm : bool, default=False
        Batch normalisation after each hidden Linear layer.
    solver : {"lbfgs", "sgd", "rmsprop", "adam", "nadam"}, default="adam"
        "lbfgs" minimises the whole-data objective with scipy's L-BFGS-B (good
        for small data; no ``partial_fit``, no dropout, ``max_iter`` counts its
        iterations and ``early_stopping`` is ignored, as in scikit-learn). The
        others are minibatch optimizers (see :mod:`sknumpynet.nn.optimizers`):
        "sgd" is scikit-learn's, SGD with ``momentum`` and
        ``nesterovs_momentum`` (plain SGD: ``momentum=0``); "rmsprop" decays its
        squared-gradient average with ``beta_2``.
    alpha : float, default=1e-4
        L2 penalty: the batch objective is ``loss + alpha / (2 n_batch) * sum ||W||^2``.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(200, n_samples)``.
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
        Schedule per epoch: constant; ``lr / (t + 1) ** power_t`` with ``t`` the
        training samples seen so far (as scikit-learn counts them; updated after
        each epoch, so it falls by the data's size each time); divided by
        5 whenever ``n_iter_no_change`` epochs bring no improvement (training
        stops below 1e-6); cosine annealing to 0 over ``max_iter`` epochs.
    learning_rate_init : float, default=1e-3
        Initial learning rate.
    power_t : float, default=0.5
        Exponent of "invscaling".
    max_iter : int, default=200
        Maximum number of epochs.
    shuffle : bool, default=True
        Shuffle the rows every epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, dropout masks, shuffling and the
        validation split. An int makes fits repeatable bit for bit.
    tol : float, default=1e-4
        Improvement below which an epoch counts as no progress.
    verbose : int, default=0
        1 prints a line per epoch; 2 shows a tqdm progress bar with the loss.
    warm_start : bool, default=False
        Continue from the previous fit's weights instead of re-initialising.
    momentum : float, default=0.9
        Momentum of "sgd", in [0, 1).
    nesterovs_momentum : bool, default=True
        Nesterov's momentum for "sgd" (when ``momentum > 0``).
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data (stratified), or score
        ``X_val`` passed to :meth:`fit`, and stop when its ``scoring`` stops
        improving for ``n_iter_no_change`` epochs.
    validation_fraction : float, default=0.1
        Share of the training data held out for early stopping (unused when
        :meth:`fit` gets ``X_val``).
    scoring : str, callable or None, default=None
        What early stopping watches on the validation data, recorded in
        ``validation_scores_`` (higher is better): None is the accuracy, as
        scikit-learn's MLP; "loss" is the validation loss (the training loss,
        sample-weighted, without the L2 term) negated; another string names a
        scikit-learn scorer (:func:`sklearn.metrics.get_scorer`, e.g.
        "neg_log_loss"), and a callable ``scorer(estimator, X, y)`` is one. A
        scorer is called after every epoch on a copy of the estimator holding
        that epoch's weights. The validation loss is recorded whatever
        ``scoring`` is (``validation_loss_curve_``).
    restore_best_weights : bool, default=True
        With early stopping, end with the weights of the best validation epoch.
    beta_1 : float, default=0.9
        Adam/Nadam first-moment decay.
    beta_2 : float, default=0.999
        Adam/Nadam second-moment decay (and RMSProp's decay).
    epsilon : float, default=1e-8
        Adam/Nadam/RMSProp numerical stabiliser.
    n_iter_no_change : int or np.inf, default=10
        Epochs without ``tol`` improvement before stopping (np.inf: never).
    max_fun : int, default=15000
        Most evaluations of the objective with "lbfgs".
    embedding_layer : int or "all", default=-1
        Hidden layer whose activations :meth:`transform` returns; "all"
        concatenates every hidden layer.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.
    n_threads : int or None, default=None
        Cap on BLAS threads during fit and predict (threadpoolctl). None
        chooses by work: where a step's matrix products are small, under
        ``40e6`` multiply-adds (the batch size times the sum of ``n_in *
        n_out`` over the layers; for a prediction, a chunk's rows times it),
        one thread, since a second core bought little there on a quiet
        machine and cost several times over on a busy one. In the main
        thread, larger products keep the BLAS as it is (all cores), and steps
        of at least ``150e6`` multiply-adds compute their products in row
        blocks that one-thread BLAS calls compute side by side, one per BLAS
        thread (:mod:`sknumpynet.nn.products`): a busy machine slows them far
        less than BLAS's own threads, and the blocks depend on the shapes and
        the number of threads, never on the load, so fits stay repeatable bit
        for bit (``benchmarks/bench_threads.py``). In other threads (joblib's
        threading backend, Dask worker threads) larger products share the
        cores among the fits running at once,
        ``max(1, cpu_count // n_running)`` BLAS threads, never more than the
        BLAS had, so parallel searches do not oversubscribe (joblib's loky
        and Dask's worker processes start already limited). An int uses
        BLAS's own threads, whose products differ in their last bits between
        thread counts.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels (for multilabel targets, the label indices).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training samples seen.
    loss_ : float
        Last epoch's mean loss (L2 term included).
    loss_curve_ : list of float
        Mean loss of every epoch.
    best_loss_ : float or None
        Lowest training loss (None with early stopping).
    validation_scores_ : list of float or None
        The validation ``scoring`` (accuracy by default) per epoch with early
        stopping or ``X_val``, else None. ``solver="lbfgs"`` scores ``X_val``
        once, after the fit: one value.
    validation_loss_curve_ : list of float or None
        The validation loss beside each of ``validation_scores_``, else None.
    best_validation_score_ : float or None
    coefs_ : list of ndarray
        Weight matrix of each layer, shape (n_in, n_out).
    intercepts_ : list of ndarray
        Bias vector of each layer.
    network_ : sknumpynet.nn.Sequential
        The fitted network (in evaluation mode).
    n_layers_ : int
        Number of layers, input and output included.
    n_outputs_ : int
        Number of output units.
    out_activation_ : str
        "softmax" (multiclass) or "logistic" (binary, multilabel).
    history_ : list of dict
        Per-epoch records: epoch, loss, validation_score, learning_rate, seconds.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sknumpynet import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=30, random_state=0)
    >>> clf.fit(X / 16, y).score(X / 16, y) > 0.95
    True
    """

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        dropout=0.0,
        batch_norm=False,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        scoring=None,
        restore_best_weights=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        embedding_layer=-1,
        class_weight=None,
        n_threads=None,
    ):
        super().__init__(
            hidden_layer_sizes, activation, dropout=dropout, batch_norm=batch_norm,
            solver=solver, alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction, scoring=scoring,
            restore_best_weights=restore_best_weights, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            embedding_layer=embedding_layer, n_threads=n_threads,
        )
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            float32 input trains in float32, anything else in float64.
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a binary indicator matrix for multilabel targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; a weight of 2 counts the row twice.
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data, as HistGradientBoosting's: checked as ``X`` and
            converted to the network's dtype. It replaces the
            ``validation_fraction`` split (all of ``X`` trains). With
            ``early_stopping=True`` its ``scoring`` drives stopping and
            ``restore_best_weights``; without, its score and loss are still
            recorded every epoch (``validation_scores_``,
            ``validation_loss_curve_``). ``solver="lbfgs"`` ignores early
            stopping and scores it once, after the fit. Needs ``y_val``.
            Routed through a Pipeline with metadata routing
            (``set_fit_request(X_val=True, y_val=True)`` and the Pipeline's
            ``transform_input=["X_val"]``).
        y_val : array-like of shape (n_val,) or (n_val, n_labels), default=None
            Targets of ``X_val``, of the same kind as ``y``; classes of ``y`` only.
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows (times ``class_weight``).

        Returns
        -------
        self : MLPClassifier
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on ``X`` and ``y``, keeping the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_labels)
        classes : array-like of shape (n_classes,), default=None
            Every class that will ever appear; required on the first call.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPClassifier

        Notes
        -----
        ``partial_fit`` takes no validation data (``X_val``): it trains one
        epoch and records no validation score; score held-out data yourself.
        """
        self._check_first_partial_fit(y, classes)
        return self._fit(X, y, sample_weight, partial=True, classes=classes)

    def _encode_targets(self, y, resume, classes, partial):
        if np.ndim(y) == 2 and np.shape(y)[1] > 1:
            if type_of_target(y) != "multilabel-indicator":
                raise ValueError(
                    "A 2-D y must be a binary indicator matrix (multilabel); got "
                    f"target type {type_of_target(y)!r}."
                )
            n_labels = y.shape[1]
            if resume and self._label_kind != "multilabel":
                raise ValueError("The model was fitted on a 1-D target; got a multilabel y.")
            attrs = {"classes_": np.arange(n_labels), "_label_kind": "multilabel",
                     "out_activation_": "logistic"}
            return np.asarray(y, dtype=np.float64), n_labels, attrs
        if resume and self._label_kind == "multilabel":
            raise ValueError("The model was fitted on a multilabel y; got a 1-D target.")
        fitted_classes = self.classes_ if resume else None
        index, known = encode_class_labels(
            y, classes, fitted_classes, type(self).__name__, same_classes=resume and not partial
        )
        binary = len(known) == 2
        attrs = {"classes_": known, "_label_kind": "binary" if binary else "multiclass",
                 "out_activation_": "logistic" if binary else "softmax"}
        if binary:
            return index.astype(np.float64).reshape(-1, 1), 1, attrs
        return index.astype(np.intp), len(known), attrs

    def _make_loss(self, target_attrs):
        if target_attrs["_label_kind"] == "multiclass":
            return nn.SoftmaxCrossEntropy()
        return nn.SigmoidBinaryCrossEntropy()

    def _validation_score(self, scores, y_encoded, sample_weight):
        if y_encoded.ndim == 1:
            predicted = scores.argmax(axis=1)
        else:
            predicted = (scores > 0).astype(y_encoded.dtype)
        return accuracy_score(y_encoded, predicted, sample_weight=sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


_REGRESSION_LOSSES = ("squared_error", "poisson", "absolute_error", "huber", "quantile")


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multi-layer perceptron regressor with dropout, batch norm and embeddings.

    The same network as :class:`MLPClassifier` with a linear output, trained on
    the chosen ``loss`` plus an L2 penalty on the weights. See
    :class:`MLPClassifier` for the meaning of each shared parameter.

    Parameters
    ----------
    loss : {"squared_error", "poisson", "absolute_error", "huber", "quantile"}, \
            default="squared_error"
        What each output's error costs (see :mod:`sknumpynet.nn.losses`; ``r``
        is the prediction minus the target):

        - "squared_error": ``r^2 / 2`` (:class:`~sknumpynet.nn.MSELoss` with
          ``half=True``, as scikit-learn);
        - "poisson": the half Poisson deviance with a log link, as
          scikit-learn's: the network outputs ``log`` of the mean, predictions
          are ``exp`` of it, and ``y`` must be non-negative
          (:class:`~sknumpynet.nn.PoissonLoss`);
        - "absolute_error": ``|r|``, fits the median
          (:class:`~sknumpynet.nn.AbsoluteErrorLoss`);
        - "huber": ``r^2 / 2`` up to ``|r| = huber_delta``, linear beyond
          (:class:`~sknumpynet.nn.HuberLoss`);
        - "quantile": the pinball loss, fits the ``quantile``-th quantile
          (:class:`~sknumpynet.nn.QuantileLoss`).

        Each is averaged over outputs and (weighted) samples. Beyond
        scikit-learn, which has "squared_error" and "poisson" only.
    hidden_layer_sizes : array-like of int, default=(100,)
    activation : {"relu", "leaky_relu", "tanh", "logistic", "identity"} or list, default="relu"
    dropout : float or list of float, default=0.0
    batch_norm : bool, default=False
    solver : {"lbfgs", "sgd", "rmsprop", "adam", "nadam"}, default="adam"
    alpha : float, default=1e-4
    batch_size : int or "auto", default="auto"
    learning_rate : {"constant", "invscaling", "adaptive", "cosine"}, default="constant"
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    tol : float, default=1e-4
    verbose : int, default=0
    warm_start : bool, default=False
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data, or score ``X_val`` passed
        to :meth:`fit`, and stop when its ``scoring`` (by default the R^2 of
        the predictions, of the means for "poisson") stops improving.
    validation_fraction : float, default=0.1
    scoring : str, callable or None, default=None
        As :class:`MLPClassifier`'s, with R^2 for None (scikit-learn's MLP;
        with several quantiles, the mean D^2 pinball score of :meth:`score`).
    restore_best_weights : bool, default=True
    beta_1 : float, default=0.9
    beta_2 : float, default=0.999
    epsilon : float, default=1e-8
        The optimizers' stabiliser (not a loss parameter: see ``huber_delta``).
    n_iter_no_change : int or np.inf, default=10
    max_fun : int, default=15000
    embedding_layer : int or "all", default=-1
    n_threads : int or None, default=None
    huber_delta : float, default=1.0
        With ``loss="huber"``: the residual, in the units of ``y``, where the
        loss turns from quadratic to linear. Positive.
    quantile : float or array-like of float, default=0.5
        With ``loss="quantile"``: the quantile to fit, in (0, 1); or several,
        in strictly increasing order, fitted at once by one network with an
        output per quantile, on the mean pinball loss over them. Several
        quantiles need a 1-D ``y``; :meth:`predict` then returns one column per
        quantile, sorted in each row so that they never cross (see Notes), and
        :meth:`score` is their mean D^2 pinball score.

    Attributes
    ----------
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
    n_iter_ : int
    t_ : int
    loss_ : float
        Last epoch's mean loss (L2 term included).
    loss_curve_ : list of float
    best_loss_ : float or None
    validation_scores_ : list of float or None
        Validation ``scoring`` (R^2 by default) per epoch with early stopping
        or ``X_val``.
    validation_loss_curve_ : list of float or None
        The validation loss beside each of ``validation_scores_``.
    best_validation_score_ : float or None
    coefs_ : list of ndarray
    intercepts_ : list of ndarray
    network_ : sknumpynet.nn.Sequential
    n_layers_ : int
    n_outputs_ : int
    out_activation_ : str
        "exp" for ``loss="poisson"`` (the network's output is the log-mean),
        else "identity".
    quantiles_ : ndarray of shape (n_quantiles,) or None
        With several quantiles, those of :meth:`predict`'s columns; else None.
    history_ : list of dict

    Notes
    -----
    **Several quantiles.** Each output column is trained towards its
    quantile, but nothing in training keeps the columns in order, and two
    quantile curves may cross, which no distribution allows. :meth:`predict`
    therefore sorts each row's predictions: the monotone rearrangement of
    Chernozhukov, Fernandez-Val and Galichon ("Quantile and probability
    curves without crossing", Econometrica 78(3), 2010). Where no curves
    cross it changes nothing; where two do, swapping them lowers the row's
    pinball loss by ``(q_j - q_i) (s_i - s_j)``, so sorting never increases
    it. :meth:`transform` (the hidden layers) is unaffected; the ONNX export
    sorts as :meth:`predict` does. The early-stopping score (``scoring=None``)
    is :meth:`score`'s, on the sorted predictions.

    Examples
    --------
    >>> import numpy as np
    >>> from sknumpynet import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 1, (300, 2))
    >>> y = rng.poisson(np.exp(1 + X[:, 0]))
    >>> reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), max_iter=300,
    ...                    learning_rate_init=0.01, random_state=0).fit(X, y)
    >>> bool((reg.predict(X) > 0).all())
    True
    """

    _parameter_constraints = {
        **BaseMLP._parameter_constraints,
        "loss": [StrOptions(set(_REGRESSION_LOSSES))],
        "huber_delta": [Interval(numbers.Real, 0, None, closed="neither")],
        "quantile": [Interval(numbers.Real, 0, 1, closed="neither"), "array-like"],
    }

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        dropout=0.0,
        batch_norm=False,
        solver="adam",
        alpha=1e-4,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=1e-3,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=0,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        scoring=None,
        restore_best_weights=True,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        embedding_layer=-1,
        n_threads=None,
        huber_delta=1.0,
        quantile=0.5,
    ):
        super().__init__(
            hidden_layer_sizes, activation, dropout=dropout, batch_norm=batch_norm,
            solver=solver, alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
            learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
            shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
            warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction, scoring=scoring,
            restore_best_weights=restore_best_weights, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, n_iter_no_change=n_iter_no_change, max_fun=max_fun,
            embedding_layer=embedding_layer, n_threads=n_threads,
        )
        self.loss = loss
        self.huber_delta = huber_delta
        self.quantile = quantile

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Fit the network to ``X`` and ``y``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        X_val : {array-like, sparse matrix} of shape (n_val, n_features), default=None
            Validation data; see :meth:`MLPClassifier.fit`.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            Targets of ``X_val``, as many outputs as ``y``.
        sample_weight_val : array-like of shape (n_val,), default=None

        Returns
        -------
        self : MLPRegressor
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)

    @available_if(_stochastic_solver)
    def partial_fit(self, X, y, sample_weight=None):
        """Train one epoch on ``X`` and ``y``, keeping the optimizer's state.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : MLPRegressor

        Notes
        -----
        ``partial_fit`` takes no validation data (``X_val``).
        """
        return self._fit(X, y, sample_weight, partial=True)

    def _encode_targets(self, y, resume, classes, partial):
        y = np.asarray(y, dtype=np.float64)
        if y.ndim == 1:
            y = y.reshape(-1, 1)
        loss = nn.LOSSES[self.loss]
        if loss.target_min is not None and (y < loss.target_min).any():
            raise ValueError(
                f"loss={self.loss!r} requires {loss.target_domain}; the smallest "
                f"target is {y.min()}."
            )
        quantiles = self._quantiles()
        attrs = {"out_activation_": loss.link, "quantiles_": quantiles}
        if quantiles is None:
            return y, y.shape[1], attrs
        if y.shape[1] != 1:
            raise ValueError(
                f"loss='quantile' with several quantiles ({len(quantiles)}) fits one "
                f"target: y must be 1-D, got shape {y.shape}. Fit one model per target."
            )
        return y, len(quantiles), attrs

    def _quantiles(self):
        """The quantiles of a several-quantile fit (float64, increasing), or None."""
        if self.loss != "quantile" or np.ndim(self.quantile) == 0:
            return None
        return _check_quantiles(self.quantile)

    def _make_loss(self, target_attrs):
        if self.loss == "huber":
            return nn.HuberLoss(delta=self.huber_delta)
        if self.loss == "quantile":
            quantiles = target_attrs.get("quantiles_")
            return nn.QuantileLoss(quantile=self.quantile if quantiles is None else quantiles)
        if self.loss == "squared_error":
            return nn.MSELoss(half=True)  # scikit-learn's: half the mean squared error
        return nn.get_loss(self.loss)

    def _output_to_prediction(self, out):
        """Predictions from the network's output: the fitted loss's inverse link."""
        return nn.INVERSE_LINKS[getattr(self, "out_activation_", "identity")](out)

    def _validation_score(self, outputs, y_encoded, sample_weight):
        # R^2 of the predictions, as scikit-learn scores every MLPRegressor loss;
        # with several quantiles, what score() gives
        quantiles = self._quantiles()
        if quantiles is not None:
            sorted_outputs = np.sort(outputs, axis=1)
            return _mean_d2_pinball(y_encoded[:, 0], sorted_outputs, quantiles, sample_weight)
        predicted = nn.LOSSES[self.loss].inverse_link(outputs)
        if not np.isfinite(predicted).all():
            return np.nan  # as scikit-learn: a diverged network scores NaN, not a crash
        return r2_score(y_encoded, predicted, sample_weight=sample_weight)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            With several quantiles, shape (n_samples, n_quantiles): column j
            the ``quantiles_[j]`` quantile, each row sorted (never crossing).
        """
        X = self._check_input(X)
        out = self._output_to_prediction(self._forward(X))
        if self.__dict__.get("quantiles_") is not None:
            return np.sort(out, axis=1)  # the monotone rearrangement (see Notes)
        return out.ravel() if out.shape[1] == 1 else out

    def score(self, X, y, sample_weight=None):
        """R^2 of :meth:`predict`; with several quantiles, their mean D^2 pinball score.

        The D^2 pinball score (:func:`sklearn.metrics.d2_pinball_score`) is
        the R^2 of quantile regression: 1 minus the pinball loss of the
        predictions over that of the best constant (the weighted quantile of
        ``y``); 1 is perfect, 0 no better than the constant. With several
        quantiles it is averaged over them, each column scored at its own.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        score : float
        """
        X, y, sample_weight = numpy_inputs(self, X=X, y=y, sample_weight=sample_weight)
        quantiles = self.__dict__.get("quantiles_")
        if quantiles is None:
            return super().score(X, y, sample_weight)
        return _mean_d2_pinball(column_or_1d(y), self.predict(X), quantiles, sample_weight)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = nn.LOSSES[self.loss].target_min is not None
        return tags
