"""The estimator base shared by the MLPs and the linear SVM.

``BaseNetwork`` validates parameters and data, builds the network, and runs
the epoch loop of :mod:`sknumpynet._training` with scikit-learn's conventions:
stopping on ``tol``/``n_iter_no_change``, early stopping on a held-out split,
``warm_start``, ``partial_fit``, ``ConvergenceWarning``. Subclasses say what the
network, the loss and the targets are.

A fit is all or nothing: on an exception the estimator's previous state is put
back, so a failed ``fit`` never leaves a half-trained or inconsistent model.
"""

import contextlib
import copy
import numbers
import sys
import threading
import warnings

import numpy as np
from sklearn.base import BaseEstimator, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from . import nn
from ._training import Interrupted, SecondInterrupt, Trainer, _modules, interrupt_guard

__all__ = ["BaseNetwork", "FORMAT_VERSION"]

#: Version of the pickled layout of fitted estimators; bumped on incompatible change.
#: 2: parameters carry a ``decay`` flag and optimizers pack decayed ones first.
FORMAT_VERSION = 2

_SOLVERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam")
_SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")


def make_rng(random_state):
    """A ``numpy.random.Generator`` from a scikit-learn style ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        None draws fresh entropy; an int seeds the Generator (bit-for-bit
        repeatable); a RandomState seeds it from its next draw.

    Returns
    -------
    rng : numpy.random.Generator
    """
    if random_state is None or isinstance(random_state, numbers.Integral):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return np.random.default_rng(random_state.integers(np.iinfo(np.int64).max))
    raise ValueError(f"random_state must be None, an int or a RandomState, got {random_state!r}.")


_BLAS_LOCK = threading.Lock()
_blas = {"users": 0, "limiter": None}


@contextlib.contextmanager
def _limit_blas(n_threads):
    """threadpool_limits for fits that may overlap in several threads.

    The BLAS thread count is process-wide: the first fit in limits it, the last
    one out restores what it found. (Nested threadpool_limits blocks in several
    threads would restore in the wrong order and leave the BLAS limited.)
    """
    with _BLAS_LOCK:
        if _blas["users"] == 0:
            _blas["limiter"] = threadpool_limits(limits=n_threads, user_api="blas")
        _blas["users"] += 1
    try:
        yield
    finally:
        with _BLAS_LOCK:
            _blas["users"] -= 1
            if _blas["users"] == 0:
                _blas["limiter"].restore_original_limits()
                _blas["limiter"] = None


class BaseNetwork(BaseEstimator):
    """Shared fit/partial_fit/predict machinery; not for direct use.

    Subclasses implement ``_build_network``, ``_make_loss``, ``_encode_targets``,
    ``_validation_score`` and ``_penalty``.
    """

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
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "momentum": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_1": [Interval(numbers.Real, 0, 1, closed="left")],
        "beta_2": [Interval(numbers.Real, 0, 1, closed="left")],
        "epsilon": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_threads": [None, Interval(numbers.Integral, 1, None, closed="left")],
    }

    # -- hooks for subclasses -------------------------------------------------

    def _build_network(self, n_features, n_outputs, dtype, rng):
        raise NotImplementedError

    def _make_loss(self, target_attrs):
        raise NotImplementedError

    def _encode_targets(self, y, first_call, classes):
        """Return ``(y_encoded, n_outputs, fitted_attributes)`` for the loss."""
        raise NotImplementedError

    def _validation_score(self, network, X, y_encoded, sample_weight):
        raise NotImplementedError

    def _penalty(self, total_weight):
        """Return ``(alpha, alpha_per_batch)`` for the Trainer."""
        raise NotImplementedError

    def _class_sample_weight(self, y_encoded, target_attrs, partial):
        """Per-sample weights from ``class_weight``, or None."""
        return None

    # -- fitting ---------------------------------------------------------------

    def _threads(self):
        if self.n_threads is None:
            return contextlib.nullcontext()
        return _limit_blas(self.n_threads)

    def _fit(self, X, y, sample_weight=None, *, partial=False, classes=None):
        self._validate_params()
        saved = dict(self.__dict__)
        try:
            with self._threads():
                return self._fit_unsafe(X, y, sample_weight, partial, classes)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(saved)
            raise

    def _fit_unsafe(self, X, y, sample_weight, partial, classes):
        """Validate, train and commit the fitted attributes; the subclass extension point.

        Runs inside :meth:`_fit`, which restores the previous state if it
        raises, so an override may split the data or post-process (as
        LinearSVM does for calibration) and stay all-or-nothing.
        """
        fitted = hasattr(self, "network_")
        first_call = not fitted or not (partial or self.warm_start)
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        dtype = [np.float64, np.float32] if first_call else self.network_dtype_
        X, y = validate_data(
            self, X, y, reset=first_call, accept_sparse="csr", dtype=dtype,
            multi_output=True, y_numeric=not is_classifier(self),
        )
        if getattr(self, "batch_norm", False) and X.shape[0] < 2:
            raise ValueError(
                f"batch_norm=True needs at least 2 samples to estimate batch statistics, "
                f"got n_samples = {X.shape[0]} (1 sample)."
            )
        y_enc, n_outputs, target_attrs = self._encode_targets(y, first_call, classes)
        if not first_call and n_outputs != self.n_outputs_:
            raise ValueError(
                f"y has {n_outputs} outputs but the fitted model has {self.n_outputs_}."
            )
        if y_enc.dtype.kind == "f":
            y_enc = y_enc.astype(X.dtype, copy=False)  # targets in the network's precision
        sample_weight = self._sample_weight(sample_weight, X, y_enc, target_attrs, partial)

        if first_call:
            rng = make_rng(self.random_state)
            network = self._build_network(X.shape[1], n_outputs, X.dtype, rng)
            optimizer, t, loss_curve, val_scores = None, 0, [], []
            best_loss, best_val = np.inf, -np.inf
        else:  # work on copies, so that a failure leaves the fitted model intact
            rng = copy.deepcopy(self._rng)
            # copied together, the optimizer keeps pointing at the copied parameters
            network, optimizer = copy.deepcopy(
                (self.network_, self._optimizer if partial else None)
            )
            t, loss_curve = self.t_, list(self.loss_curve_)
            val_scores = list(self.validation_scores_ or [])
            best_loss = self.best_loss_ if self.best_loss_ is not None else np.inf
            best_val = self.best_validation_score_
            best_val = -np.inf if best_val is None else best_val
        if optimizer is None:
            optimizer = self._make_optimizer(network.parameters())

        early_stopping = self.early_stopping and not partial
        X_val = y_val = sw_val = None
        if early_stopping:
            X, X_val, y_enc, y_val, sample_weight, sw_val = self._split_validation(
                X, y_enc, sample_weight, rng
            )
        n_samples = X.shape[0]
        batch_size = min(200, n_samples) if self.batch_size == "auto" else self.batch_size
        if self.batch_size != "auto" and self.batch_size > n_samples and not partial:
            warnings.warn(
                f"Got batch_size={self.batch_size} larger than the {n_samples} training "
                "samples; using the whole set as one batch.",
                UserWarning,
            )
        batch_size = max(1, min(batch_size, n_samples))
        total_weight = n_samples if sample_weight is None else float(sample_weight.sum())
        alpha, per_batch = self._penalty(total_weight)

        schedule = self._make_schedule()
        state = {
            "best_loss": best_loss, "best_val": best_val, "no_improve": 0,
            "best_state": None, "converged": False, "stopped": None,
        }
        n_iter, snapshot = 0, None
        max_epochs = 1 if partial else self.max_iter
        records = []
        with interrupt_guard() as flag:
            trainer = Trainer(
                network, self._make_loss(target_attrs), optimizer, batch_size=batch_size, rng=rng,
                shuffle=self.shuffle, alpha=alpha, alpha_per_batch=per_batch, flag=flag,
            )
            progress = self._progress(max_epochs)
            try:
                for _ in range(max_epochs):
                    if schedule is not None:
                        optimizer.lr = schedule.lr
                    previous = snapshot if n_iter else None  # start of the last epoch
                    snapshot = [a.copy() for a in network.state_arrays()]
                    try:
                        loss, seconds = trainer.timed_epoch(X, y_enc, sample_weight)
                    except SecondInterrupt:
                        raise  # a second Ctrl-C: _fit puts the previous state back
                    except (Interrupted, KeyboardInterrupt):
                        _restore(network, snapshot)
                        state["stopped"] = "interrupted"
                        warnings.warn(
                            f"Training interrupted during epoch {len(loss_curve) + 1}; "
                            f"keeping the weights of the last completed epoch "
                            f"({len(loss_curve)}).",
                            UserWarning,
                        )
                        break
                    if not np.isfinite(loss):
                        _restore(network, snapshot)
                        if previous is not None and not _finite_outputs(network, X):
                            # this epoch's starting weights overflow already (they
                            # were only checked on its first batch): one epoch back
                            _restore(network, previous)
                            n_iter, t = n_iter - 1, t - n_samples
                            loss_curve.pop()
                            records.pop()
                            state["best_loss"] = min(loss_curve, default=np.inf)
                            if early_stopping:
                                val_scores.pop()
                                # the best weights may be the ones that overflow
                                state["best_state"] = None
                                state["best_val"] = max(val_scores, default=-np.inf)
                        if not _finite_outputs(network, X):
                            raise ValueError(
                                f"Training diverged (loss is {loss}) and no earlier weights "
                                "give finite outputs. Lower learning_rate_init (now "
                                f"{self.learning_rate_init}) or standardise the features."
                            )
                        state["stopped"] = "diverged"
                        warnings.warn(
                            f"Training diverged in epoch {len(loss_curve) + 1} (loss is "
                            f"{loss}); stopped and restored the weights of the last finite "
                            f"epoch. Lower learning_rate_init (now "
                            f"{self.learning_rate_init}) or standardise the features "
                            "(e.g. StandardScaler).",
                            ConvergenceWarning,
                        )
                        break
                    n_iter += 1
                    t += n_samples
                    loss_curve.append(loss)
                    if schedule is not None:
                        schedule.step(loss)
                    val = None
                    if early_stopping:
                        network.eval()
                        val = self._validation_score(network, X_val, y_val, sw_val)
                        val_scores.append(val)
                    records.append((len(loss_curve), loss, val, optimizer.lr, seconds))
                    self._report(progress, records[-1])
                    if partial:
                        state["best_loss"] = min(state["best_loss"], loss)
                        break
                    if self._should_stop(loss, val, network, optimizer, state):
                        state["converged"] = True
                        break
            finally:
                if progress is not None:
                    progress.close()
        if early_stopping and self.restore_best_weights and state["best_state"] is not None:
            _restore(network, state["best_state"])
        if (
            not partial and not state["converged"] and state["stopped"] is None
            and n_iter == self.max_iter
        ):
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached and "
                "the optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        network.eval()
        network.clear_cache()

        # commit: every fitted attribute at once
        for name, value in target_attrs.items():
            setattr(self, name, value)
        self.network_ = network
        self.network_dtype_ = X.dtype
        self._optimizer = optimizer
        self._rng = rng
        self.n_outputs_ = n_outputs
        self.n_iter_ = (0 if first_call else getattr(self, "n_iter_", 0)) + n_iter
        self.t_ = t
        self.loss_curve_ = loss_curve
        self.loss_ = loss_curve[-1] if loss_curve else np.nan
        if early_stopping:
            self.validation_scores_ = val_scores
            self.best_validation_score_ = state["best_val"]
            self.best_loss_ = None
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = state["best_loss"]
        self.history_ = getattr(self, "history_", []) if not first_call else []
        self.history_ = self.history_ + [
            {"epoch": e, "loss": lo, "validation_score": v, "learning_rate": lr, "seconds": s}
            for e, lo, v, lr, s in records
        ]
        self.interrupted_ = state["stopped"] == "interrupted"
        self._format_version = FORMAT_VERSION
        return self

    def _sample_weight(self, sample_weight, X, y_enc, target_attrs, partial):
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=X.dtype, copy=True)
            if (sample_weight < 0).any():
                raise ValueError("Negative values in data passed to `sample_weight`.")
            if not sample_weight.any():
                raise ValueError("Sample weights must contain at least one non-zero number.")
        class_weight = self._class_sample_weight(y_enc, target_attrs, partial)
        if class_weight is not None:
            class_weight = class_weight.astype(X.dtype)
            sample_weight = class_weight if sample_weight is None else sample_weight * class_weight
        return sample_weight

    def _split_validation(self, X, y, sample_weight, rng):
        seed = int(rng.integers(np.iinfo(np.int32).max))
        arrays = [X, y] if sample_weight is None else [X, y, sample_weight]
        stratify = y if is_classifier(self) and y.ndim == 1 else None
        try:
            parts = train_test_split(
                *arrays, test_size=self.validation_fraction, random_state=seed, stratify=stratify
            )
        except ValueError:  # a class too small to stratify: split at random instead
            parts = train_test_split(*arrays, test_size=self.validation_fraction, random_state=seed)
        X_tr, X_val, y_tr, y_val = parts[:4]
        if X_val.shape[0] < 2 or X_tr.shape[0] < 1:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves too few samples "
                f"for early stopping with {X.shape[0]} samples."
            )
        sw_tr, sw_val = (parts[4], parts[5]) if sample_weight is not None else (None, None)
        return X_tr, X_val, y_tr, y_val, sw_tr, sw_val

    def _should_stop(self, loss, val, network, optimizer, state):
        """Update the no-improvement count; True when training has converged."""
        if val is not None:
            improved = val > state["best_val"] + self.tol
            if val > state["best_val"]:
                state["best_val"] = val
                state["best_state"] = [a.copy() for a in network.state_arrays()]
        else:
            improved = loss < state["best_loss"] - self.tol
            state["best_loss"] = min(state["best_loss"], loss)
        state["no_improve"] = 0 if improved else state["no_improve"] + 1
        if state["no_improve"] > self.n_iter_no_change:
            if self.learning_rate == "adaptive" and optimizer.lr > 1e-6:
                optimizer.lr /= 5.0
                state["no_improve"] = 0
                return False
            return True
        return False

    def _make_optimizer(self, params):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return nn.SGD(params, lr=lr)
        if self.solver in ("momentum", "nesterov"):
            return nn.SGD(params, lr=lr, momentum=self.momentum, nesterov=self.solver == "nesterov")
        if self.solver == "rmsprop":
            return nn.RMSProp(params, lr=lr, rho=self.beta_2, eps=self.epsilon)
        cls = nn.Adam if self.solver == "adam" else nn.Nadam
        return cls(params, lr=lr, beta_1=self.beta_1, beta_2=self.beta_2, epsilon=self.epsilon)

    def _make_schedule(self):
        """The per-epoch schedule of this fit, or None to leave the rate alone.

        "adaptive" is not a schedule here: :meth:`_should_stop` divides the rate
        when training stalls, as scikit-learn does.
        """
        lr0 = self.learning_rate_init
        if self.learning_rate == "invscaling":
            return nn.InverseScalingLR(lr0, power_t=self.power_t)
        if self.learning_rate == "cosine":
            return nn.CosineLR(lr0, t_max=self.max_iter)
        return None

    # -- reporting -------------------------------------------------------------

    def _progress(self, total):
        if self.verbose < 2:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            warnings.warn("verbose=2 needs tqdm (pip install tqdm); printing lines instead.")
            return None
        return tqdm(total=total, desc=type(self).__name__, unit="epoch", leave=False)

    def _report(self, progress, record):
        epoch, loss, val, lr, seconds = record
        if progress is not None:
            postfix = {"loss": f"{loss:.4f}"}
            if val is not None:
                postfix["val"] = f"{val:.4f}"
            progress.set_postfix(postfix)
            progress.update(1)
        elif self.verbose:
            val_text = "" if val is None else f", validation score = {val:.6f}"
            print(
                f"Iteration {epoch}, loss = {loss:.8f}{val_text}, lr = {lr:.3g}, "
                f"time = {seconds:.3f}s",
                file=sys.stdout,
            )

    # -- prediction --------------------------------------------------------------

    def _check_input(self, X):
        check_is_fitted(self)
        self._check_format_version()
        return validate_data(
            self, X, reset=False, accept_sparse="csr", dtype=self.network_dtype_
        )

    def _forward(self, X, stop=None):
        """Outputs of the fitted network (or its first ``stop`` modules) for ``X``."""
        with self._threads():
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
        if version == 1:
            self._upgrade_from_format_1()

    def _upgrade_from_format_1(self):
        """Bring a model pickled in format 1 to this version's layout.

        Format 1 had no ``decay`` flag (it loads as True everywhere), so the
        biases and BatchNorm's scale and shift get their False back, and its
        optimizer kept its moments in the old packing order, so it is dropped:
        the model predicts as before, and the next ``partial_fit`` or warm
        start begins with fresh optimizer moments.
        """
        for module in _modules(self.network_):
            for name in ("bias", "gamma", "beta"):
                param = getattr(module, name, None)
                if isinstance(param, nn.Parameter):
                    param.decay = False
        self._optimizer = None
        self._format_version = FORMAT_VERSION


#: Most rows pushed through the network at once by predict/transform: bounds
#: inference memory whatever the number of rows, and is large enough for BLAS.
CHUNK_ROWS = 4096


def forward_in_chunks(network, X, stop=None):
    """Outputs of an eval-mode network for ``X``, in chunks of bounded memory.

    Parameters
    ----------
    network : sknumpynet.nn.Sequential
        In evaluation mode.
    X : ndarray or CSR matrix of shape (n_samples, n_features)
    stop : int, default=None
        Run only the first ``stop`` modules.

    Returns
    -------
    out : ndarray of shape (n_samples, n_outputs)
    """
    modules = list(network)[:stop]
    widths = [m.out_features for m in _linears(modules)] + [X.shape[1]]
    row_bytes = 4 * X.dtype.itemsize * max(widths)
    chunk = get_chunk_n_rows(row_bytes=row_bytes, max_n_rows=CHUNK_ROWS)
    out = None
    for rows in gen_batches(X.shape[0], chunk):
        h = X[rows]
        for m in modules:  # the fitted network is in eval mode
            h = m.forward(h)
        if out is None:
            out = np.empty((X.shape[0],) + h.shape[1:], dtype=h.dtype)
        out[rows] = h
    if out is None:
        raise ValueError("Found array with 0 sample(s) while a minimum of 1 is required.")
    return out


def _linears(modules):
    found = []
    for m in modules:
        if isinstance(m, nn.Linear):
            found.append(m)
        found.extend(_linears(getattr(m, "_children", [])))
    return found


def _finite_outputs(network, X):
    """Whether the network, in evaluation mode, maps every row of X to finite outputs."""
    network.eval()
    with np.errstate(all="ignore"):
        return bool(np.isfinite(forward_in_chunks(network, X)).all())


def _restore(network, snapshot):
    for dst, src in zip(network.state_arrays(), snapshot):
        np.copyto(dst, src)

