"""Tabular networks: :class:`TabularMLPClassifier` and :class:`TabularMLPRegressor`.

They take a table as it comes (a pandas or polars DataFrame with numeric,
text, categorical and boolean columns and missing values, or an array),
preprocess it inside ``fit`` (:mod:`sknumpynet._tabular_data`) and train the
network of RealMLP-TD-S (Holzmüller, Grinsztajn and Steinwart, "Better by
default: strong pre-tuned MLPs and boosted trees on tabular data", NeurIPS
2024) on the engine: a learnable per-feature scale, three NTK-parametrised
layers of 256 units (SELU for classification, Mish for regression), a
zero-initialised output layer, Adam with betas (0.9, 0.95), learning-rate
multipliers (6 for the scale, 0.1 for the biases), a per-step "coslog4"
schedule, label smoothing 0.1, a standardised regression target, and the
weights of the best epoch on held-out data.
"""

import math
import numbers

import numpy as np
from sklearn.base import RegressorMixin, is_classifier
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted, validate_data

from . import nn
from ._array_api import ArrayAPIScoreMixin, numpy_inputs
from ._base import BaseNetwork, HiddenLayersMixin
from ._classifier import NetworkClassifierMixin, NetworkLabelsMixin, encode_class_labels
from ._compat import Interval, Options, StrOptions
from ._tabular_data import checkable_table, fit_column_plan, table_columns

__all__ = ["TabularMLPClassifier", "TabularMLPRegressor"]

_ACTIVATIONS = ("selu", "mish", "gelu", "silu", "relu")  # names of nn.ACTIVATIONS
#: RealMLP-TD's learning-rate multiplier of the periodic embeddings' parameters
_PBLD_LR_FACTOR = 0.1
# lr_schedule: the per-step schedule of nn.SCHEDULES and its settings ("constant": none)
_SCHEDULES = {"coslog4": ("coslog", {"n_cycles": 4}), "flat_cos": ("flat_cos", {}),
              "constant": None}


class BaseTabularMLP(HiddenLayersMixin, BaseNetwork):
    """Preprocessing, network and optimizer shared by both tabular estimators."""

    # The recipe's optimizer and its best-epoch rule: not parameters here, but
    # read by the shared fit machinery of BaseNetwork.
    solver = "adam"
    shuffle = True
    restore_best_weights = True
    _later_best_ties = True  # RealMLP keeps the last of equally good epochs

    _shape_param_names = (
        "hidden_layer_sizes", "activation", "dropout", "parametrization",
        "categorical_features", "max_onehot", "embedding_dim", "numeric_embedding",
    )

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(numbers.Integral, 1, None, closed="left")],
        "activation": [StrOptions({"auto", *_ACTIVATIONS})],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "learning_rate_init": [StrOptions({"auto"}),
                               Interval(numbers.Real, 0, None, closed="neither")],
        "lr_schedule": [StrOptions(set(_SCHEDULES))],
        "scale_lr_factor": [Interval(numbers.Real, 0, None, closed="left")],
        "bias_lr_factor": [Interval(numbers.Real, 0, None, closed="left")],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "parametrization": [StrOptions({"ntk", "standard"})],
        "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
        "max_onehot": [Interval(numbers.Integral, 0, None, closed="left")],
        "embedding_dim": [Interval(numbers.Integral, 1, None, closed="left")],
        "numeric_embedding": [StrOptions({"pbld"}), None],
        "embedding_layer": [Interval(numbers.Integral, None, None, closed="neither"),
                            StrOptions({"all", "input"})],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left"),
                             Options(numbers.Real, {math.inf})],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],
        "scoring": [str, callable, None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256, 256),
        activation="auto",
        *,
        dropout=0.0,
        learning_rate_init="auto",
        lr_schedule="coslog4",
        scale_lr_factor=6.0,
        bias_lr_factor=0.1,
        weight_decay=0.0,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=256,
        parametrization="ntk",
        categorical_features="from_dtype",
        max_onehot=8,
        embedding_dim=8,
        numeric_embedding=None,
        embedding_layer=-1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=math.inf,
        tol=1e-4,
        scoring=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        n_threads=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.learning_rate_init = learning_rate_init
        self.lr_schedule = lr_schedule
        self.scale_lr_factor = scale_lr_factor
        self.bias_lr_factor = bias_lr_factor
        self.weight_decay = weight_decay
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.parametrization = parametrization
        self.categorical_features = categorical_features
        self.max_onehot = max_onehot
        self.embedding_dim = embedding_dim
        self.numeric_embedding = numeric_embedding
        self.embedding_layer = embedding_layer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.scoring = scoring
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_threads = n_threads

    # -- the table ----------------------------------------------------------------

    def _validate_training_data(self, X, y, reset, dtype):
        """Check the raw table and ``y``, fit the preprocessing (or reuse it), apply it."""
        _, y = validate_data(
            self, checkable_table(X), y, reset=reset, dtype=None, ensure_all_finite="allow-nan",
            multi_output=True, y_numeric=not is_classifier(self),
        )
        columns, by_dtype = table_columns(X)
        if reset:
            categorical = self._categorical_mask(by_dtype)
            self._fitting_plan = fit_column_plan(columns, categorical, self.max_onehot)
        elif "_fitting_plan" not in self.__dict__:  # a warm start: the fitted plan
            self._fitting_plan = self.column_plan_
        return self._fitting_plan.transform(columns, np.float32), y

    def _categorical_mask(self, by_dtype):
        """Which columns are categorical, from ``categorical_features``."""
        spec = self.categorical_features
        n = by_dtype.shape[0]
        if isinstance(spec, str):  # "from_dtype"
            return by_dtype
        if spec is None:
            if by_dtype.any():
                raise ValueError(
                    "categorical_features=None, but column(s) "
                    f"{self._column_names(np.flatnonzero(by_dtype))} hold text or categories; "
                    "use categorical_features='from_dtype' or list them."
                )
            return by_dtype
        return by_dtype | _mask_from_spec(spec, n, getattr(self, "feature_names_in_", None))

    def _column_names(self, indices):
        names = getattr(self, "feature_names_in_", None)
        return [str(names[i]) if names is not None else int(i) for i in indices]

    def _check_input(self, X):
        if self.__dict__.get("_input_is_prepared"):
            return X  # the copy that scores held-out data gets preprocessed rows
        (X,) = numpy_inputs(self, X=X)
        check_is_fitted(self, "column_plan_")
        self._check_format_version()
        validate_data(
            self, checkable_table(X), reset=False, dtype=None, ensure_all_finite="allow-nan"
        )
        columns, _ = table_columns(X)
        return self.column_plan_.transform(columns, self.network_dtype_)

    def _commit(self, model, data, interrupted):
        super()._commit(model, data, interrupted)
        self.column_plan_ = self.__dict__.pop("_fitting_plan")

    def _snapshot_attributes(self, model, network=None, run=None):
        return {**super()._snapshot_attributes(model, network, run),
                "column_plan_": self._fitting_plan}

    def _scoring_estimator(self, model):
        estimator = super()._scoring_estimator(model)
        estimator._input_is_prepared = True
        return estimator

    # -- the network --------------------------------------------------------------

    def _build_network(self, n_features, n_outputs, dtype, rng):
        plan = self._fitting_plan
        prefix = []
        if plan.embedded:
            dims = [min(self.embedding_dim, c) for c in plan.cardinalities]
            codes = list(range(plan.n_dense, plan.n_outputs))
            prefix.append(nn.CategoricalEmbedding(
                n_features, codes, plan.cardinalities, dims, rng=rng, dtype=dtype
            ))
            n_features = n_features - len(codes) + sum(dims)
        if self.numeric_embedding == "pbld" and plan.numeric:
            # the numeric columns come first, also after the categorical embedding
            periodic = nn.PeriodicEmbedding(n_features, range(len(plan.numeric)), rng=rng,
                                            dtype=dtype)
            for p in periodic.parameters():
                p.lr_scale = _PBLD_LR_FACTOR
            prefix.append(periodic)
            n_features = periodic.n_features_out
        scale = nn.Scale(n_features, dtype=dtype)
        scale.scale.lr_scale = self.scale_lr_factor
        prefix.append(scale)
        blocks, width = [], n_features
        for size in self._hidden_sizes():
            layers = [self._linear(width, size, rng, dtype), self._activation_module()]
            if self.dropout > 0:
                layers.append(nn.Dropout(self.dropout, rng=rng))
            blocks.append(nn.Sequential(*layers))
            width = size
        output = self._linear(width, n_outputs, rng, dtype, zero=True)
        return nn.Sequential(*prefix, *blocks, output)

    def _linear(self, n_in, n_out, rng, dtype, zero=False):
        # init None: N(0, 1) weights and biases for "ntk", He for "standard"
        layer = nn.Linear(n_in, n_out, rng=rng, dtype=dtype, init="zeros" if zero else None,
                          parametrization=self.parametrization)
        layer.bias.lr_scale = self.bias_lr_factor
        return layer

    def _activation_module(self):
        name = self.activation
        if name == "auto":
            name = "selu" if is_classifier(self) else "mish"
        return nn.get_activation(name)

    def _n_prefix(self):
        """Modules before the first hidden block: the embedding (if any) and the scale."""
        return sum(not _is_block(m) for m in self.network_[:-1])

    def _penalty(self, total_weight):
        return 0.0, True  # the recipe has no L2 term (see weight_decay)

    # -- training -----------------------------------------------------------------

    def _learning_rate(self):
        if self.learning_rate_init != "auto":
            return float(self.learning_rate_init)
        if self.parametrization == "standard":
            return 2e-3
        return 0.04 if is_classifier(self) else 0.07

    def _make_optimizer(self, params):
        return nn.Adam(
            params, lr=self._learning_rate(), beta_1=self.beta_1, beta_2=self.beta_2,
            epsilon=self.epsilon, weight_decay=self.weight_decay,
        )

    def _make_schedule(self, t):
        return nn.ConstantLR(self._learning_rate())  # the step schedule sets the rate

    def _step_schedule(self, n_steps):
        if _SCHEDULES[self.lr_schedule] is None:
            return None
        name, settings = _SCHEDULES[self.lr_schedule]
        return nn.get_schedule(name, self._learning_rate(), total_steps=n_steps, **settings)

    def _warns_at_max_iter(self):
        # a schedule that anneals to zero ends training at max_iter by design
        return self.lr_schedule == "constant"

    def _batch_size(self, n_samples, partial):
        if self.batch_size == "auto":
            return min(256, n_samples)
        return super()._batch_size(n_samples, partial)

    def _divergence_advice(self):
        return f"Lower learning_rate_init (now {self._learning_rate()})."

    def _stratify(self, y):
        """Stratified where every class has two rows to split, else at random."""
        labels = super()._stratify(y)
        if labels is None:
            return None
        _, counts = np.unique(labels, return_counts=True)
        n_val = math.ceil(self.validation_fraction * len(labels))
        return labels if counts.min() >= 2 and n_val >= len(counts) else None

    # -- embeddings -----------------------------------------------------------------

    def _embedding_widths(self):
        if self.embedding_layer == "input":
            if "network_" not in self.__dict__:
                raise ValueError("embedding_layer='input' has a width once fitted.")
            return [self.network_[self._n_prefix() - 1].num_features]
        return super()._embedding_widths()

    def transform(self, X):
        """Embeddings of ``X``: hidden-layer activations, or the encoded input.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            A table like the one ``fit`` saw.

        Returns
        -------
        embeddings : ndarray of shape (n_samples, n_features_out)
            With ``embedding_layer`` an int, that hidden layer's activations
            (its width); "all": every hidden layer side by side; "input": the
            preprocessed columns with each embedded categorical column
            replaced by its learned embedding, followed by the periodic
            embeddings of the numeric columns, before the scale layer.
        """
        X = self._check_input(X)
        if self.embedding_layer == "input":
            prefix = self._n_prefix()
            return self._forward(X, stop=prefix - 1) if prefix > 1 else X
        return self._hidden_embeddings(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.allow_nan = True
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = []
        return tags


def _is_block(module):
    return isinstance(module, nn.Sequential)


def _mask_from_spec(spec, n, names):
    """A boolean mask of ``n`` columns from indices, names or a mask."""
    spec = np.asarray(spec)
    mask = np.zeros(n, bool)
    if spec.dtype.kind == "b":
        if spec.shape != (n,):
            raise ValueError(
                f"categorical_features as a mask needs {n} entries, got {spec.shape[0]}."
            )
        return spec.copy()
    for item in spec.ravel():
        if isinstance(item, str):
            if names is None or item not in set(names):
                raise ValueError(f"categorical_features names {item!r}, not a column of X.")
            mask[list(names).index(item)] = True
        elif isinstance(item, numbers.Integral) and -n <= item < n:
            mask[item] = True
        else:
            raise ValueError(
                f"categorical_features has {item!r}; expected column indices in "
                f"[0, {n}) or column names."
            )
    return mask


_COMMON_PARAMETERS = """
    hidden_layer_sizes : array-like of int, default=(256, 256, 256)
        Width of each hidden layer.
    activation : {"auto", "selu", "mish", "gelu", "silu", "relu"}, default="auto"
        "auto" is SELU for classification and Mish for regression, as RealMLP.
    dropout : float, default=0.0
        Dropout after each hidden activation, in [0, 1).
    learning_rate_init : float or "auto", default="auto"
        The base rate of Adam; "auto" is 0.04 (classification) or 0.07
        (regression) with the NTK parametrisation, 2e-3 with the standard one.
    lr_schedule : {"coslog4", "flat_cos", "constant"}, default="coslog4"
        Per-step schedule of the rate over all ``max_iter`` epochs:
        :class:`~sknumpynet.nn.CosLogLR` (four cosine cycles on a log time
        scale), :class:`~sknumpynet.nn.FlatCosLR`, or constant.
    scale_lr_factor : float, default=6.0
        Multiplier of the rate for the per-feature scale layer.
    bias_lr_factor : float, default=0.1
        Multiplier of the rate for the biases.
    weight_decay : float, default=0.0
        Decoupled weight decay of the weights (AdamW).
    beta_1, beta_2 : float, default=0.9, 0.95
        Adam's moment decays.
    epsilon : float, default=1e-8
        Adam's stabiliser.
    batch_size : int or "auto", default="auto"
        Minibatch size; "auto" is ``min(256, n_samples)``.
    max_iter : int, default=256
        Epochs.
    parametrization : {"ntk", "standard"}, default="ntk"
        "ntk": weights drawn from N(0, 1) and each layer's product divided by
        ``sqrt(fan_in)`` (:class:`~sknumpynet.nn.Linear`); "standard": He
        initialisation. The output layer starts at zero either way.
    categorical_features : "from_dtype", array-like or None, default="from_dtype"
        Which columns are categorical: "from_dtype" takes text, ``category``
        and ``bool`` columns of a dataframe (and columns of an object array
        holding text); indices, names or a boolean mask add columns; None
        refuses text columns.
    max_onehot : int, default=8
        Categorical columns with at most this many categories are one-hot
        encoded (one +1/-1 column for two); those with more get a learned
        embedding.
    embedding_dim : int, default=8
        Width of each learned category embedding (at most the number of
        categories).
    numeric_embedding : {"pbld"} or None, default=None
        None feeds the numeric columns to the scale layer as they are
        (RealMLP-TD-S). "pbld": RealMLP-TD's periodic embedding of each
        numeric column (:class:`~sknumpynet.nn.PeriodicEmbedding`: 16 learned
        frequencies and phases, ``cos``, a linear map to 3 numbers, the raw
        value kept beside them; its parameters train at 0.1 times the rate),
        between the preprocessing and the scale layer. It is not the default:
        on the benchmark panel it helped the half it was tried on and not the
        held-out half, and costs about 20% more time (see the Tabular data
        page).
    embedding_layer : int, "all" or "input", default=-1
        What :meth:`transform` returns: a hidden layer's activations, all of
        them side by side, or the encoded input with learned category and
        periodic embeddings.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows (or use ``X_val``) and end
        with the weights of the epoch that scored best on them.
    validation_fraction : float, default=0.2
        Share of the rows held out.
    n_iter_no_change : int or math.inf, default=math.inf
        Stop after this many epochs without ``tol`` improvement of the held-out
        score; the default trains every epoch, as the published recipe.
    tol : float, default=1e-4
    scoring : str, callable or None, default=None
        What picks the best epoch on the held-out rows: None is accuracy
        (classification) or R^2 (regression), "loss" the held-out loss, or any
        scikit-learn scorer.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the split and the shuffling; an int makes
        fits repeatable bit for bit.
    verbose : int, default=0
    warm_start : bool, default=False
        Continue from the fitted weights and preprocessing.
    n_threads : int or None, default=None
        BLAS threads during fit and predict; None chooses by work as
        :class:`~sknumpynet.MLPClassifier` does: one thread where a step's
        products are under ``40e6`` multiply-adds, which the recipe's usually
        are (batches of 256 rows, layers of 256; a second core sped such a
        fit up at most 1.3x on a quiet 2-core machine and slowed it 2.8-3.8x
        on a busy one: ``benchmarks/bench_tabular_threads.py``), all cores
        above.
"""

_COMMON_ATTRIBUTES = """
    n_features_in_ : int
        Columns of the table seen in fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Defined when ``X`` has string column names.
    column_plan_ : ColumnPlan
        The fitted preprocessing (which columns are numeric, one-hot or
        embedded, the medians, categories and scaling).
    network_ : sknumpynet.nn.Sequential
        The fitted network, in evaluation mode.
    n_iter_ : int
        Epochs run.
    loss_curve_ : list of float
        Mean training loss of every epoch.
    validation_scores_ : list of float or None
        Held-out score per epoch.
    best_validation_score_ : float or None
    history_ : list of dict
        Per-epoch records.
"""


class TabularMLPClassifier(NetworkLabelsMixin, NetworkClassifierMixin, BaseTabularMLP):
    __doc__ = f"""Neural-network classifier for tables, with a tuned default recipe.

    Takes a DataFrame (numeric, text, categorical and boolean columns, missing
    values) or an array as it is; the preprocessing is fitted in ``fit`` and
    is part of the model. The defaults are RealMLP-TD-S's (see the module
    docs and the "Tabular data" page of the user guide).

    Parameters
    ----------{_COMMON_PARAMETERS}    label_smoothing : float, default=0.1
        Weight of the uniform distribution mixed into the one-hot targets.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,){_COMMON_ATTRIBUTES}
    Examples
    --------
    >>> import pandas as pd
    >>> from sknumpynet import TabularMLPClassifier
    >>> X = pd.DataFrame({{"size": [1.0, 2.0, None, 4.0] * 25,
    ...                   "colour": ["red", "blue", "red", None] * 25}})
    >>> y = [0, 1, 0, 1] * 25
    >>> clf = TabularMLPClassifier(max_iter=20, random_state=0).fit(X, y)
    >>> clf.predict(X.head(2)).tolist()
    [0, 1]
    """

    _parameter_constraints = {
        **BaseTabularMLP._parameter_constraints,
        "label_smoothing": [Interval(numbers.Real, 0, 1, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes=(256, 256, 256),
        activation="auto",
        *,
        dropout=0.0,
        learning_rate_init="auto",
        lr_schedule="coslog4",
        scale_lr_factor=6.0,
        bias_lr_factor=0.1,
        weight_decay=0.0,
        beta_1=0.9,
        beta_2=0.95,
        epsilon=1e-8,
        batch_size="auto",
        max_iter=256,
        parametrization="ntk",
        categorical_features="from_dtype",
        max_onehot=8,
        embedding_dim=8,
        numeric_embedding=None,
        embedding_layer=-1,
        early_stopping=True,
        validation_fraction=0.2,
        n_iter_no_change=math.inf,
        tol=1e-4,
        scoring=None,
        random_state=None,
        verbose=0,
        warm_start=False,
        n_threads=None,
        label_smoothing=0.1,
        class_weight=None,
    ):
        super().__init__(
            hidden_layer_sizes, activation, dropout=dropout,
            learning_rate_init=learning_rate_init, lr_schedule=lr_schedule,
            scale_lr_factor=scale_lr_factor, bias_lr_factor=bias_lr_factor,
            weight_decay=weight_decay, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon,
            batch_size=batch_size, max_iter=max_iter, parametrization=parametrization,
            categorical_features=categorical_features, max_onehot=max_onehot,
            embedding_dim=embedding_dim, numeric_embedding=numeric_embedding,
            embedding_layer=embedding_layer,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, scoring=scoring,
            random_state=random_state,
            verbose=verbose, warm_start=warm_start, n_threads=n_threads,
        )
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the preprocessing and the network to the table ``X`` and labels ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table as it is: numeric, text, categorical and boolean
            columns, missing values allowed.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
        X_val, y_val : table and targets, default=None
            Held-out rows that pick the best epoch instead of a
            ``validation_fraction`` split (all of ``X`` trains); preprocessed
            with the plan fitted on ``X``.
        sample_weight_val : array-like of shape (n_val,), default=None

        Returns
        -------
        self : TabularMLPClassifier
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)

    def _encode_targets(self, y, resume, classes, partial):
        if np.ndim(y) == 2 and np.shape(y)[1] > 1:
            raise ValueError(
                f"{type(self).__name__} takes one column of class labels; got y of shape "
                f"{np.shape(y)} (multilabel targets are not supported)."
            )
        fitted = self.classes_ if resume else None
        index, known = encode_class_labels(
            y, classes, fitted, type(self).__name__, same_classes=resume
        )
        binary = len(known) == 2
        attrs = {"classes_": known, "_label_kind": "binary" if binary else "multiclass"}
        if binary:
            return index.astype(np.float64).reshape(-1, 1), 1, attrs
        return index.astype(np.intp), len(known), attrs

    def _make_loss(self, target_attrs):
        if target_attrs["_label_kind"] == "multiclass":
            return nn.SoftmaxCrossEntropy(label_smoothing=self.label_smoothing)
        return nn.SigmoidBinaryCrossEntropy(label_smoothing=self.label_smoothing)

    def _validation_score(self, scores, y_encoded, sample_weight):
        # accuracy, in numpy: accuracy_score's checks cost 10% of a small fit
        if y_encoded.ndim == 1:
            correct = scores.argmax(axis=1) == y_encoded
        else:
            correct = (scores[:, 0] > 0) == (y_encoded[:, 0] > 0.5)
        return float(np.average(correct, weights=sample_weight))


class TabularMLPRegressor(ArrayAPIScoreMixin, RegressorMixin, BaseTabularMLP):
    __doc__ = f"""Neural-network regressor for tables, with a tuned default recipe.

    Takes a DataFrame (numeric, text, categorical and boolean columns, missing
    values) or an array as it is; the preprocessing and a standardisation of
    the target are fitted in ``fit`` and are part of the model. The network
    fits the standardised target with the squared error; predictions are put
    back on the target's scale. The defaults are RealMLP-TD-S's.

    Parameters
    ----------{_COMMON_PARAMETERS}
    Attributes
    ----------{_COMMON_ATTRIBUTES}    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        The standardisation of the target: the network predicts
        ``(y - y_mean_) / y_scale_``.

    Examples
    --------
    >>> import numpy as np
    >>> from sknumpynet import TabularMLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> y = 1000 + 50 * X[:, 0]
    >>> reg = TabularMLPRegressor(max_iter=30, random_state=0).fit(X, y)
    >>> bool(reg.score(X, y) > 0.9)
    True
    """

    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None, sample_weight_val=None):
        """Fit the preprocessing and the network to the table ``X`` and targets ``y``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            The table as it is: numeric, text, categorical and boolean
            columns, missing values allowed.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None
        X_val, y_val : table and targets, default=None
            Held-out rows that pick the best epoch instead of a
            ``validation_fraction`` split (all of ``X`` trains); preprocessed
            with the plan fitted on ``X``.
        sample_weight_val : array-like of shape (n_val,), default=None

        Returns
        -------
        self : TabularMLPRegressor
        """
        return self._fit(X, y, sample_weight, X_val=X_val, y_val=y_val,
                         sample_weight_val=sample_weight_val)

    def _encode_targets(self, y, resume, classes, partial):
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if resume:
            mean, scale = self.y_mean_, self.y_scale_
        else:
            mean, scale = y.mean(axis=0), y.std(axis=0)
            scale = np.where(scale > 0, scale, 1.0)
        attrs = {"y_mean_": mean, "y_scale_": scale, "_single_output": y.shape[1] == 1}
        return (y - mean) / scale, y.shape[1], attrs

    def _make_loss(self, target_attrs):
        return nn.MSELoss()

    def _validation_score(self, outputs, y_encoded, sample_weight):
        if not np.isfinite(outputs).all():
            return np.nan
        return r2_score(y_encoded, outputs, sample_weight=sample_weight)

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        out = self._forward(self._check_input(X)) * self.y_scale_ + self.y_mean_
        return out.ravel() if self._single_output else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
