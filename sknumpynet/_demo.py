"""The ``sknumpynet demo`` job: train, compare with scikit-learn, draw, save.

:func:`run_demo` loads a data set, trains sknumpynet's :class:`MLPClassifier`
and :class:`LinearSVM` (with a progress bar on a terminal) and scikit-learn's
``MLPClassifier`` and ``LinearSVC`` on the same split, each linear SVM with its
defaults, prints a table of test accuracy and fit time that says which library
wins each row, and writes to the output folder:

``learning_curves.png``
    Training loss and validation accuracy per epoch.
``predictions.png``
    Random test images titled with predicted and true labels (green right, red
    wrong); up to a quarter of them are mistakes, picked on purpose, and the
    figure's title says so.
``confusion_matrix.png``
    The MLP's confusion matrix on the test set.
``embeddings.png``
    A t-SNE (or PCA) map of raw pixels beside one of the MLP's embeddings.
``model.skn``
    The fitted MLP, written by :func:`sknumpynet.save` (load it with
    :func:`sknumpynet.load`; it takes pixels scaled to [0, 1]);
    ``linear_svm.skn`` likewise for the LinearSVM.
``results.json``
    The table and the settings, for scripts.

The command line in :mod:`sknumpynet.__main__` only parses arguments and
calls :func:`run_demo`, which reads as its steps: :func:`load_dataset`,
:func:`machine_load`, :func:`train_models`, :func:`plot_figures` (drawn by
:mod:`sknumpynet._plotting`) and :func:`save_outputs`.
"""

import importlib.util
import json
import math
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "DATASETS", "DemoError", "DemoResult", "machine_load", "plot_figures", "run_demo",
    "save_outputs", "scale_pixels", "train_models",
]

#: Data sets the demo knows, with their defaults.
DATASETS = {
    "digits": {
        "title": "digits (scikit-learn, 8x8)",
        "n_samples": (1797, None),
        "n_features": 64,
        "epochs": 30,
        "hidden": (128, 64),
        "max_samples": None,
    },
    "fashion-mnist": {
        "title": "Fashion-MNIST (28x28)",
        "n_samples": (60_000, 10_000),
        "n_features": 784,
        "epochs": 15,
        "hidden": (256, 128),
        "max_samples": 20_000,
    },
    "mnist": {
        "title": "MNIST (28x28)",
        "n_samples": (60_000, 10_000),
        "n_features": 784,
        "epochs": 15,
        "hidden": (256, 128),
        "max_samples": 20_000,
    },
}

#: Classes of every demo data set.
N_CLASSES = 10
#: The share of the training samples both MLPs hold out for early stopping.
VALIDATION_FRACTION = 0.1
#: The share of digits (which has no fixed split) kept for testing.
DIGITS_TEST_FRACTION = 0.25

#: Most test samples shown in the 2-D maps (t-SNE grows fast with their number).
MAP_SAMPLES = 1000
#: Images in the prediction grid.
GRID_IMAGES = 32


class DemoError(Exception):
    """The demo cannot run: data unavailable, an output folder that cannot be made..."""


@dataclass
class DemoResult:
    """What :func:`run_demo` did.

    Attributes
    ----------
    dataset : str
        The data set's name.
    rows : list of dict
        One per model: ``model``, ``library``, ``accuracy``, ``fit_seconds``,
        ``epochs`` (None where the notion does not apply).
    files : dict of str to pathlib.Path
        The files written, by kind.
    X_test : ndarray of shape (n_test, n_features)
        The raw test pixels.
    y_test : ndarray of shape (n_test,)
        The test labels.
    y_pred : ndarray of shape (n_test,)
        The saved model's predictions for ``X_test``.
    """

    dataset: str
    rows: list = field(default_factory=list)
    files: dict = field(default_factory=dict)
    X_test: np.ndarray = None
    y_test: np.ndarray = None
    y_pred: np.ndarray = None


def scale_pixels(X, max_value=255.0):
    """Raw pixel values to float32 in [0, 1]: ``X / max_value``.

    A module-level function, so a :class:`~sklearn.preprocessing.FunctionTransformer`
    built on it pickles by reference.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Pixel values in ``[0, max_value]``.
    max_value : float, default=255.0
        The largest possible pixel value (16 for scikit-learn's digits).

    Returns
    -------
    X_scaled : ndarray of shape (n_samples, n_features), dtype float32
    """
    return np.asarray(X, dtype=np.float32) / np.float32(max_value)


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _failure_summary(exc):
    """The first line of ``exc`` and, for a failed download, each URL tried and why.

    The fetchers' errors end in a long guide; the command line keeps the first
    line and the ``  - <url>: <reason>`` lines under it.
    """
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    tried = []
    if lines[0].endswith("tried:"):
        for line in lines[1:]:
            if not line.startswith("  - "):
                break
            tried.append(line)
    return "\n".join([lines[0], *tried])


def _subsample(X, y, n, rng):
    """At most ``n`` rows, every class kept in proportion (stratified)."""
    if n is None or n >= len(y):
        return X, y
    from sklearn.model_selection import train_test_split

    try:
        _, X_small, _, y_small = train_test_split(X, y, test_size=n, stratify=y,
                                                  random_state=int(rng.integers(2**31)))
    except ValueError:  # too few samples for every class: plain random rows
        keep = np.sort(rng.choice(len(y), size=n, replace=False))
        return X[keep], y[keep]
    return X_small, y_small


def load_dataset(name, *, data_home=None, max_samples=None, seed=0):
    """Load a demo data set, split into train and test.

    Parameters
    ----------
    name : {"digits", "fashion-mnist", "mnist"}
    data_home : str or os.PathLike, default=None
        Passed to the Fashion-MNIST and MNIST fetchers.
    max_samples : int, default=None
        At most this many training samples and this many test samples
        (stratified). For digits, which has no fixed split, at most this many
        samples before the 75 / 25 split.
    seed : int, default=0

    Returns
    -------
    data : dict
        ``X_train``, ``y_train``, ``X_test``, ``y_test`` (raw pixels),
        ``image_shape``, ``max_value`` and ``class_names``.

    Raises
    ------
    DemoError
        If the data cannot be found or downloaded.
    """
    rng = np.random.default_rng(seed)
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        digits = load_digits()
        X, y = _subsample(digits.data, digits.target, max_samples, rng)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=DIGITS_TEST_FRACTION, stratify=y, random_state=seed
        )
        return {
            "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
            "image_shape": (8, 8), "max_value": 16.0,
            "class_names": [str(c) for c in digits.target_names],
        }
    if name not in DATASETS:
        raise DemoError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    from . import datasets

    fetch = datasets.fetch_fashion_mnist if name == "fashion-mnist" else datasets.fetch_mnist
    try:
        train = fetch(data_home, subset="train")
        test = fetch(data_home, subset="test")
    except (OSError, ValueError) as exc:
        raise DemoError(
            f"could not load {DATASETS[name]['title']}: {_failure_summary(exc)}\n"
            "Put the four IDX files in a folder passed with --data-home (or named by "
            "$SKNUMPYNET_DATA), or check the network."
        ) from exc
    X_train, y_train = _subsample(train.data, train.target, max_samples, rng)
    X_test, y_test = _subsample(test.data, test.target, max_samples, rng)
    return {
        "X_train": X_train, "y_train": y_train, "X_test": X_test, "y_test": y_test,
        "image_shape": (28, 28), "max_value": 255.0,
        "class_names": [str(c) for c in train.target_names],
    }


def linear_svm_class():
    """sknumpynet's LinearSVM, or None in a version that does not have it yet.

    Returns
    -------
    cls : type or None
    """
    try:
        from . import LinearSVM
    except ImportError:
        return None
    return LinearSVM


def _with_supported(estimator, **params):
    """Set the ``params`` that ``estimator`` has, ignore the others."""
    known = estimator.get_params(deep=False)
    return estimator.set_params(**{k: v for k, v in params.items() if k in known})


def _warm_up(estimator, X, y):
    """Fit a clone once on a few rows so the timed fit pays no first-call costs."""
    from sklearn.base import clone

    small = clone(estimator)
    _with_supported(small, max_iter=1, verbose=0, early_stopping=False)
    rows = np.concatenate([np.flatnonzero(y == c)[:3] for c in np.unique(y)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        small.fit(X[rows], y[rows])


def _timed_fit(estimator, X, y):
    start = time.perf_counter()
    estimator.fit(X, y)
    return time.perf_counter() - start


def _epochs_run(estimator):
    n_iter = getattr(estimator, "n_iter_", None)
    if n_iter is None:
        return None
    return int(np.max(n_iter))


def _curve(label, estimator, loss_name, linestyle="-"):
    loss = getattr(estimator, "loss_curve_", None)
    if loss is None:
        return None
    return {
        "label": label, "loss": list(loss), "loss_name": loss_name,
        "validation": getattr(estimator, "validation_scores_", None),
        "linestyle": linestyle,
    }


def format_table(rows, *, title=None):
    """The fixed-width comparison table: sknumpynet and scikit-learn side by side.

    Parameters
    ----------
    rows : list of dict
        As :attr:`DemoResult.rows`.
    title : str, default=None
        A line printed above the table.

    Returns
    -------
    table : str
    """
    by_key = {(r["model"], r["library"]): r for r in rows}
    models = list(dict.fromkeys(r["model"] for r in rows))

    def cells(row):
        if row is None or row.get("accuracy") is None:
            return f"{'n/a':>9}  {'':>8}  {'':>6}"
        epochs = "" if row.get("epochs") is None else str(row["epochs"])
        return f"{row['accuracy']:>9.4f}  {row['fit_seconds']:>8.2f}  {epochs:>6}"

    group = f"{'accuracy':>9}  {'fit (s)':>8}  {'epochs':>6}"
    width = len(group)
    lines = []
    if title:
        lines.append(title)
    lines.append(f"{'':<12}  {'sknumpynet':^{width}}    {'scikit-learn':^{width}}")
    lines.append(f"{'model':<12}  {group}    {group}")
    lines.append("-" * len(lines[-1]))
    for model in models:
        ours = by_key.get((model, "sknumpynet"))
        theirs = by_key.get((model, "scikit-learn"))
        lines.append(f"{model:<12}  {cells(ours)}    {cells(theirs)}")
    pairs = "; ".join(
        f"{model}: "
        + " vs ".join(by_key[(model, lib)]["estimator"]
                      for lib in ("sknumpynet", "scikit-learn") if (model, lib) in by_key)
        for model in models
    )
    lines.append(f"({pairs})")
    lines.extend(_verdicts(by_key, models))
    return "\n".join(lines)


#: Why scikit-learn can win a row, by model group and column.
_WHY = {
    ("MLP", "accuracy"): "the two MLPs start from different random weights and batches, "
                         "and early stopping keeps a different epoch; other --seed values "
                         "show the spread",
    ("MLP", "fit"): "on data this small each epoch's fixed costs weigh more than its "
                    "arithmetic",
    ("linear SVM", "accuracy"): "LinearSVC also penalises its intercept, LinearSVM does "
                                "not, so their optima differ",
    ("linear SVM", "fit"): "liblinear's coordinate descent, compiled, is quick on small "
                           "dense data",
}


def _verdicts(by_key, models):
    """One line per row and column scikit-learn wins, saying so and why."""
    lines = []
    for model in models:
        ours = by_key.get((model, "sknumpynet"))
        theirs = by_key.get((model, "scikit-learn"))
        if not ours or not theirs or None in (ours.get("accuracy"), theirs.get("accuracy")):
            continue
        # a win shows in the numbers the table prints (0.02 s against 0.02 s is a tie)
        if round(theirs["accuracy"], 4) > round(ours["accuracy"], 4):
            lines.append(f"scikit-learn wins {model} on accuracy ({theirs['accuracy']:.4f} "
                         f"against {ours['accuracy']:.4f}): {_WHY[(model, 'accuracy')]}.")
        if round(theirs["fit_seconds"], 2) < round(ours["fit_seconds"], 2):
            lines.append(f"scikit-learn wins {model} on fit time ({theirs['fit_seconds']:.2f} s "
                         f"against {ours['fit_seconds']:.2f} s): {_WHY[(model, 'fit')]}.")
    return lines


def _grid_indices(y_true, y_pred, n, rng):
    """Up to ``n`` random test indices, a quarter of them mistakes when there are any.

    Mistakes are over-represented on purpose (they are the instructive ones);
    the figure's title says so.
    """
    wrong = np.flatnonzero(y_true != y_pred)
    right = np.flatnonzero(y_true == y_pred)
    n = min(n, len(y_true))
    n_wrong = min(len(wrong), n // 4)
    chosen = np.concatenate([
        rng.choice(wrong, size=n_wrong, replace=False),
        rng.choice(right, size=min(n - n_wrong, len(right)), replace=False),
    ]).astype(int)
    return np.sort(chosen)


def _two_d(X, method, seed):
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(X)
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    perplexity = float(min(30.0, max(2.0, (len(X) - 1) / 3.5)))
    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    # One OpenMP thread: for a thousand points it is as fast as several, and
    # on a busy machine spinning OpenMP threads make t-SNE 10-20 times slower.
    with threadpool_limits(limits=1, user_api="openmp"):
        return tsne.fit_transform(np.asarray(X, dtype=np.float32))


def _say(stream, message):
    if stream is not None:
        print(message, file=stream, flush=True)


def machine_load(n_threads=None):
    """How busy the machine is, before timing: load average against free cores.

    Parameters
    ----------
    n_threads : int or None, default=None
        The BLAS threads a fit will use; None means one per core.

    Returns
    -------
    load : dict
        ``load_average`` (the 1-minute load average, None where the platform
        has none), ``cpu_count``, ``threads`` and ``busy``: True when fewer
        cores are idle than the fit wants threads, so that the timings measure
        the other processes as much as the models.
    """
    cpu_count = os.cpu_count() or 1
    threads = cpu_count if n_threads is None else int(n_threads)
    try:
        load_average = float(os.getloadavg()[0])
    except (AttributeError, OSError):  # Windows has no load average
        return {"load_average": None, "cpu_count": cpu_count, "threads": threads,
                "busy": False}
    busy = cpu_count - load_average < threads - 0.5
    return {"load_average": load_average, "cpu_count": cpu_count, "threads": threads,
            "busy": bool(busy)}


def busy_note(load):
    """The line printed under the timing table about the machine's load.

    Parameters
    ----------
    load : dict
        As returned by :func:`machine_load`.

    Returns
    -------
    note : str
    """
    if load["load_average"] is None:
        return "(load average unknown on this platform: timings assume an idle machine)"
    where = (f"load average {load['load_average']:.2f} on {load['cpu_count']} cores, "
             f"{load['threads']} BLAS thread(s) per fit")
    if not load["busy"]:
        return f"Machine idle enough for these timings ({where})."
    advice = "when it is idle" if load["threads"] <= 1 else "when it is idle, or with --n-threads 1"
    return (f"NOTE: the machine was busy while timing ({where}): the fit times measure "
            f"other processes too. Rerun {advice}.")


def _settings(dataset, epochs, max_samples, hidden, seed, map_method, n_threads):
    defaults = DATASETS[dataset]
    return {
        "dataset": dataset,
        "epochs": defaults["epochs"] if epochs is None else int(epochs),
        "max_samples": defaults["max_samples"] if max_samples is None else int(max_samples),
        "seed": seed,
        "hidden_layer_sizes": list(defaults["hidden"] if hidden is None else hidden),
        "map": map_method,
        "n_threads": n_threads,
    }


def split_sizes(dataset, max_samples):
    """The samples the demo trains on, validates on (early stopping) and tests on.

    As :func:`load_dataset` and scikit-learn's ``train_test_split`` count them
    (a fractional test size rounds up), without loading anything.

    Parameters
    ----------
    dataset : {"digits", "fashion-mnist", "mnist"}
    max_samples : int or None

    Returns
    -------
    sizes : dict
        ``train`` (after the validation samples are held out), ``validation``
        and ``test``.
    """
    n_train, n_test = DATASETS[dataset]["n_samples"]
    if n_test is None:  # digits: at most max_samples, then split 75 / 25
        n_all = n_train if max_samples is None else min(max_samples, n_train)
        n_test = math.ceil(DIGITS_TEST_FRACTION * n_all)
        n_train = n_all - n_test
    elif max_samples is not None:
        n_train, n_test = min(max_samples, n_train), min(max_samples, n_test)
    n_validation = math.ceil(VALIDATION_FRACTION * n_train)
    return {"train": n_train - n_validation, "validation": n_validation, "test": n_test}


def _sizes_fit(sizes):
    return min(sizes.values()) >= N_CLASSES


def check_settings(settings):
    """Refuse, before any work, sizes the demo cannot train with.

    Parameters
    ----------
    settings : dict
        As made by :func:`run_demo`: ``dataset``, ``max_samples`` and
        ``hidden_layer_sizes``.

    Raises
    ------
    DemoError
        If ``max_samples`` leaves a split (training, early-stopping validation
        or test) with fewer samples than classes, or the hidden layers need
        more memory than the machine has; the message names the option.
    """
    from ._mlp import check_network_memory

    dataset, max_samples = settings["dataset"], settings["max_samples"]
    sizes = split_sizes(dataset, max_samples)
    if not _sizes_fit(sizes):
        smallest = next(n for n in range(N_CLASSES, 10**6)
                        if _sizes_fit(split_sizes(dataset, n)))
        raise DemoError(
            f"--max-samples {max_samples} is too small for {dataset}: it leaves "
            f"{sizes['train']} training, {sizes['validation']} validation and "
            f"{sizes['test']} test samples, and each needs at least one per class "
            f"({N_CLASSES}); use --max-samples {smallest} or more"
        )
    try:
        check_network_memory(DATASETS[dataset]["n_features"],
                             settings["hidden_layer_sizes"], N_CLASSES, np.float32,
                             "adam", False)
    except ValueError as exc:
        raise DemoError(f"--hidden: {_first_line(exc)}") from None


def _verbosity(progress):
    """2 (a progress bar) on a terminal with tqdm installed, else 0: no epoch lines in logs."""
    from ._epoch_hooks import _is_terminal

    if not progress or not _is_terminal(sys.stderr):
        return 0
    return 2 if importlib.util.find_spec("tqdm") is not None else 0


def _full_batch(estimator, X):
    """Whether ``estimator`` fits ``X`` with a full-batch solver (iterations, not epochs)."""
    if type(estimator).__name__ == "LinearSVC":
        return True
    full_batch = getattr(estimator, "_full_batch", None)
    return bool(full_batch is not None and full_batch(X, False))


def _plan(settings, verbose):
    """(model group, library, estimator name, estimator), each with its good defaults.

    The MLPs share their architecture, epochs and early stopping; the linear
    SVMs run their defaults, each its full-batch solver to the optimum where the
    data is small enough.
    """
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier
    from sklearn.svm import LinearSVC

    from . import MLPClassifier

    hidden, seed = tuple(settings["hidden_layer_sizes"]), settings["seed"]
    common = {"max_iter": settings["epochs"], "random_state": seed, "early_stopping": True,
              "validation_fraction": VALIDATION_FRACTION}
    ours = {"n_threads": settings["n_threads"], "verbose": verbose}
    mlp = MLPClassifier(hidden_layer_sizes=hidden, **ours, **common)
    svm_cls = linear_svm_class()
    svm = None
    if svm_cls is not None:
        svm = _with_supported(svm_cls(), random_state=seed, **ours)
    return [
        ("MLP", "sknumpynet", "MLPClassifier", mlp),
        ("MLP", "scikit-learn", "MLPClassifier",
         SkMLPClassifier(hidden_layer_sizes=hidden, **common)),
        ("linear SVM", "sknumpynet", "LinearSVM", svm),
        ("linear SVM", "scikit-learn", "LinearSVC", LinearSVC(random_state=seed)),
    ]


def _train_one(row, estimator, data, scaled, settings, stream):
    """Warm up, time one fit, score it; fills ``row`` and returns the fitted model.

    ``scaled`` holds ``(X_train, X_test)``, the pixels scaled to [0, 1].
    """
    from sklearn.metrics import accuracy_score
    from threadpoolctl import threadpool_limits

    X_fit, X_eval = scaled
    y_train = data["y_train"]
    full_batch = _full_batch(estimator, X_fit)
    # the same BLAS thread cap for scikit-learn as for sknumpynet's n_threads
    with threadpool_limits(limits=settings["n_threads"], user_api="blas"):
        _warm_up(estimator, X_fit, y_train)
        what = f"{row['library']} {row['estimator']}"
        if not full_batch:
            what += f" for up to {settings['epochs']} epochs"
        elif row["library"] == "sknumpynet":
            what += " (its default full-batch solver)"
        _say(stream, f"Training {what} ...")
        seconds = _timed_fit(estimator, X_fit, y_train)
        accuracy = float(accuracy_score(data["y_test"], estimator.predict(X_eval)))
    row.update(accuracy=accuracy, fit_seconds=seconds,
               epochs=None if full_batch else _epochs_run(estimator))
    ran = "" if row["epochs"] is None else f"{row['epochs']} epochs in "
    _say(stream, f"  done: {ran}{seconds:.2f} s, test accuracy {accuracy:.4f}")
    return estimator


def train_models(data, settings, *, progress=True, stream=None):
    """Fit the four models on the same split and time each fit.

    Parameters
    ----------
    data : dict
        As returned by :func:`load_dataset`.
    settings : dict
        ``epochs``, ``hidden_layer_sizes``, ``seed`` and ``n_threads`` (the
        BLAS threads of every fit, None for no cap).
    progress : bool, default=True
        Show a progress bar while the sknumpynet models train.
    stream : file-like or None, default=None
        Where the messages go; None keeps quiet.

    Returns
    -------
    rows : list of dict
        As :attr:`DemoResult.rows`.
    fitted : dict
        The fitted estimators by ``(model group, library)``; None for a model
        this version does not have.
    """
    from sklearn.exceptions import ConvergenceWarning

    rows, fitted = [], {}
    # scaled once, for every model
    scaled = (scale_pixels(data["X_train"], data["max_value"]),
              scale_pixels(data["X_test"], data["max_value"]))
    with warnings.catch_warnings():
        # the demo trains for few epochs on purpose; the table says how many ran
        warnings.simplefilter("ignore", ConvergenceWarning)
        for group, library, name, estimator in _plan(settings, _verbosity(progress)):
            row = {"model": group, "library": library, "estimator": name,
                   "accuracy": None, "fit_seconds": None, "epochs": None}
            rows.append(row)
            fitted[(group, library)] = None
            if estimator is None:
                _say(stream, f"{library} {name}: not available in this version, skipped")
                continue
            fitted[(group, library)] = _train_one(row, estimator, data, scaled, settings,
                                                  stream)
    return rows, fitted


def _plot_curves(fitted, X_train, tag, path):
    from . import _plotting as plotting

    curves = [_curve("sknumpynet MLPClassifier", fitted[("MLP", "sknumpynet")],
                     "cross-entropy")]
    svm = fitted.get(("linear SVM", "sknumpynet"))
    if svm is not None and not _full_batch(svm, X_train):  # epochs, not solver steps
        curves.append(_curve("sknumpynet LinearSVM", svm, "squared hinge"))
    curves.append(_curve("scikit-learn MLPClassifier", fitted[("MLP", "scikit-learn")],
                         "cross-entropy", linestyle="--"))
    return plotting.plot_learning_curves(
        [c for c in curves if c is not None], path,
        title=f"Learning curves ({tag}; validation: 10% held out)",
    )


def _plot_predictions(data, true_idx, pred_idx, rng, path):
    from . import _plotting as plotting

    index = _grid_indices(true_idx, pred_idx, GRID_IMAGES, rng)
    images = np.asarray(data["X_test"]).reshape((-1,) + data["image_shape"])
    n_wrong = int((true_idx[index] != pred_idx[index]).sum())
    n_errors = int((true_idx != pred_idx).sum())
    return plotting.plot_prediction_grid(
        images[index], true_idx[index], pred_idx[index], data["class_names"], path,
        title=f"sknumpynet MLPClassifier on {len(index)} random test images: {n_wrong} "
              f"mistakes shown on purpose (up to a quarter), of {n_errors} in "
              f"{len(true_idx)} test images",
    )


def _plot_maps(data, model, true_idx, settings, rng, path, stream):
    from . import _plotting as plotting

    map_method, seed = settings["map"], settings["seed"]
    X_test = data["X_test"]
    _say(stream, f"Drawing the 2-D maps ({map_method}) ...")
    sample = np.sort(rng.choice(len(X_test), size=min(MAP_SAMPLES, len(X_test)),
                                replace=False))
    pixels = scale_pixels(X_test[sample], data["max_value"])
    embeddings = model.transform(pixels)
    method = "t-SNE" if map_method == "tsne" else "PCA"
    return plotting.plot_embedding_maps(
        [
            (f"{method} of raw pixels ({X_test.shape[1]} dims)",
             _two_d(pixels, map_method, seed)),
            (f"{method} of MLP embeddings (last hidden layer, {embeddings.shape[1]} dims)",
             _two_d(embeddings, map_method, seed)),
        ],
        true_idx[sample], data["class_names"], path,
        title=f"{len(sample)} test images of {settings['dataset']}, coloured by true class",
    )


def plot_figures(data, fitted, settings, out, *, y_pred=None, stream=None):
    """Draw the demo's four figures into ``out``.

    Parameters
    ----------
    data : dict
        As returned by :func:`load_dataset`.
    fitted : dict
        As returned by :func:`train_models`.
    settings : dict
        ``dataset``, ``seed`` and ``map`` ("tsne" or "pca").
    out : pathlib.Path
        An existing folder.
    y_pred : ndarray of shape (n_test_samples,), default=None
        sknumpynet's MLPClassifier's predictions on ``data["X_test"]``, when
        already at hand; predicted here when None.
    stream : file-like or None, default=None
        Where the messages go; None keeps quiet.

    Returns
    -------
    files : dict of str to pathlib.Path
        ``learning_curves``, ``predictions``, ``confusion_matrix``, ``embeddings``.
    """
    from sklearn.metrics import confusion_matrix

    from . import _plotting as plotting

    model = net = fitted[("MLP", "sknumpynet")]
    y_test = data["y_test"]
    if y_pred is None:
        y_pred = model.predict(scale_pixels(data["X_test"], data["max_value"]))
    label_index = {c: i for i, c in enumerate(net.classes_)}
    true_idx = np.array([label_index[c] for c in y_test])
    pred_idx = np.array([label_index[c] for c in y_pred])
    rng = np.random.default_rng(settings["seed"])
    tag = f"{settings['dataset']}, {len(data['y_train'])} training samples"
    files = {"learning_curves": _plot_curves(fitted, data["X_train"], tag,
                                             out / "learning_curves.png")}
    files["predictions"] = _plot_predictions(data, true_idx, pred_idx, rng,
                                             out / "predictions.png")
    files["confusion_matrix"] = plotting.plot_confusion_matrix(
        confusion_matrix(y_test, y_pred, labels=net.classes_), data["class_names"],
        out / "confusion_matrix.png",
        title=f"sknumpynet MLPClassifier, {settings['dataset']} test set",
    )
    files["embeddings"] = _plot_maps(data, model, true_idx, settings, rng,
                                     out / "embeddings.png", stream)
    return files


def save_outputs(fitted, rows, settings, load, out):
    """Write the fitted models (:func:`sknumpynet.save`) and ``results.json`` into ``out``.

    Parameters
    ----------
    fitted : dict
        As returned by :func:`train_models`.
    rows : list of dict
        As :attr:`DemoResult.rows`.
    settings : dict
        Saved as the ``settings`` of ``results.json``.
    load : dict
        As returned by :func:`machine_load`; saved as ``machine``.
    out : pathlib.Path
        An existing folder.

    Returns
    -------
    files : dict of str to pathlib.Path
        ``model``, ``linear_svm`` (when this version has it) and ``results``.
    """
    from .io import save

    files = {"model": out / "model.skn"}
    save(fitted[("MLP", "sknumpynet")], files["model"])
    if fitted.get(("linear SVM", "sknumpynet")) is not None:
        files["linear_svm"] = out / "linear_svm.skn"
        save(fitted[("linear SVM", "sknumpynet")], files["linear_svm"])
    files["results"] = out / "results.json"
    report = {"settings": settings, "machine": load, "results": rows}
    files["results"].write_text(json.dumps(report, indent=2) + "\n")
    return files


def load_hint(path, max_value):
    """How to load the saved model and what it takes: the demo's last lines."""
    return (f"Load the MLP (a file that runs no code when loaded) and predict, in Python:\n"
            f"  import sknumpynet\n"
            f"  model = sknumpynet.load({os.fspath(path)!r})\n"
            f"  model.predict(pixels / {max_value:g})  # pixel values 0-{max_value:g}, "
            "scaled to [0, 1] as in training")


def _new_folders(path):
    """The topmost folder of ``path`` that does not exist yet, in a list (empty if none)."""
    if path is None:
        return []
    path = Path(path).expanduser().absolute()
    if path.exists():
        return []
    while not path.parent.exists():
        path = path.parent
    return [path]


def _remove_empty_trees(folders):
    """Remove each folder and the empty folders under it; never a file, nor a folder holding one."""
    for top in folders:
        if not top.is_dir():
            continue
        for folder, _, _ in sorted(os.walk(top), key=lambda entry: -len(entry[0])):
            try:
                os.rmdir(folder)
            except OSError:  # not empty: something else lives there now
                pass


def _prepare(dataset, out):
    if dataset not in DATASETS:
        raise DemoError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    if importlib.util.find_spec("matplotlib") is None:
        raise DemoError(
            'the demo draws its figures with matplotlib: pip install ".[demo]" '
            "from a clone of the repository, or pip install matplotlib"
        )
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"cannot create the output folder {out}: {_first_line(exc)}") from exc
    _check_writable(out)
    return out


#: The files the demo writes into its output folder.
OUTPUT_NAMES = ("learning_curves.png", "predictions.png", "confusion_matrix.png",
                "embeddings.png", "model.skn", "linear_svm.skn", "results.json")


def _check_writable(out):
    """Write and remove a probe file, so a read-only folder fails before training."""
    import tempfile

    try:
        handle, probe = tempfile.mkstemp(prefix=".sknumpynet-probe-", dir=out)
        os.close(handle)
        os.remove(probe)
    except OSError as exc:
        raise DemoError(f"cannot write to the output folder {out}: {_first_line(exc)}") from None
    for name in OUTPUT_NAMES:
        path = out / name
        if path.exists() and not os.access(path, os.W_OK):
            raise DemoError(f"cannot overwrite {path}: the file is read-only")


def run_demo(
    dataset="digits",
    *,
    epochs=None,
    out="sknumpynet-demo",
    data_home=None,
    max_samples=None,
    seed=0,
    hidden=None,
    map_method="tsne",
    progress=True,
    n_threads=None,
    stream=sys.stdout,
):
    """Train, compare, draw and save; see the module docstring for the outputs.

    Parameters
    ----------
    dataset : {"digits", "fashion-mnist", "mnist"}, default="digits"
    epochs : int, default=None
        Most epochs of the sknumpynet models and of scikit-learn's MLP; None
        uses the data set's default (30 for digits, 15 otherwise).
    out : str or os.PathLike, default="sknumpynet-demo"
        The output folder, created if needed.
    data_home : str or os.PathLike, default=None
        Passed to the Fashion-MNIST and MNIST fetchers.
    max_samples : int, default=None
        At most this many training and test samples; None uses the data set's
        default (all of digits, 20,000 otherwise).
    seed : int, default=0
        Seeds the split, the subsampling, the models and the maps.
    hidden : tuple of int, default=None
        The MLPs' hidden layer sizes; None uses the data set's default.
    map_method : {"tsne", "pca"}, default="tsne"
        How the 2-D maps are made.
    progress : bool, default=True
        Show a progress bar while the sknumpynet models train.
    n_threads : int or None, default=None
        BLAS threads of every fit, sknumpynet's and scikit-learn's; None
        leaves the BLAS default (one per core).
    stream : file-like or None, default=sys.stdout
        Where messages and the table go; None keeps quiet.

    Returns
    -------
    result : DemoResult

    Raises
    ------
    DemoError
        If the data cannot be loaded or the output folder cannot be written.
    """
    if dataset not in DATASETS:
        raise DemoError(f"unknown data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    settings = _settings(dataset, epochs, max_samples, hidden, seed, map_method, n_threads)
    check_settings(settings)
    new_folders = _new_folders(out) + _new_folders(data_home)
    out = _prepare(dataset, out)
    try:
        data = load_dataset(dataset, data_home=data_home,
                            max_samples=settings["max_samples"], seed=seed)
    except DemoError:
        _remove_empty_trees(new_folders)  # a failed download leaves no folders behind
        raise
    y_train, y_test = data["y_train"], data["y_test"]
    _say(stream, f"Data: {DATASETS[dataset]['title']}, {len(y_train)} training and "
                 f"{len(y_test)} test samples, {data['X_train'].shape[1]} pixels, "
                 f"{len(data['class_names'])} classes")
    settings.update(n_train=int(len(y_train)), n_test=int(len(y_test)))

    load = machine_load(n_threads)  # before the fits add their own load
    rows, fitted = train_models(data, settings, progress=progress, stream=stream)
    model = fitted[("MLP", "sknumpynet")]
    result = DemoResult(dataset=dataset, rows=rows, X_test=data["X_test"], y_test=y_test,
                        y_pred=model.predict(scale_pixels(data["X_test"],
                                                          data["max_value"])))
    _say(stream, "")
    _say(stream, format_table(rows, title=f"Test accuracy and fit time on {dataset} "
                                          f"({len(y_test)} test samples)"))
    _say(stream, busy_note(load))
    _say(stream, "")

    result.files.update(plot_figures(data, fitted, settings, out, y_pred=result.y_pred,
                                     stream=stream))
    result.files.update(save_outputs(fitted, rows, settings, load, out))
    _say(stream, f"Wrote to {out}/:")
    for path in result.files.values():
        _say(stream, f"  {path.name}")
    _say(stream, load_hint(out / "model.skn", data["max_value"]))
    return result
