"""LinearSVM against scikit-learn's LinearSVC and SGDClassifier on Fashion-MNIST, same loss.

All the models minimise the same objective on the same data (pixels / 255 as
float32; 60,000 training and 10,000 test images), chosen by ``--loss`` and
``--multi-class`` (default: the hinge, one-vs-rest, what ``LinearSVC(loss=
"hinge")`` and ``SGDClassifier(loss="hinge")`` minimise):

- ``LinearSVM(C, loss, multi_class)``, its solver chosen by ``solver="auto"``
  (on all of Fashion-MNIST: Adam; ``--solver`` overrides);
- ``LinearSVC(C, loss, multi_class)``, liblinear's exact solver (one-vs-rest,
  or Crammer-Singer with the hinge only; left out for Weston-Watkins, which
  liblinear has not);
- ``SGDClassifier(loss)``, one-vs-rest plain SGD (left out otherwise), run
  for as many epochs as LinearSVM took (``tol=None``), with ``alpha = 1 /
  (C n)`` so that it minimises the same objective (``--sgd-alpha default``
  keeps its 1e-4).

Every model is pinned to one BLAS thread by default (liblinear and SGD are
single-threaded): the comparison is of algorithms, not of core counts. The fits
run ``--repeats`` times, interleaved (A B C A B C ...), with the same
``random_state``: the fit time is the median, the models (and so accuracy and
objective) are those of the first repeat.

Beside each model's test accuracy, its objective on the training data: the one
they all minimise, computed by LinearSVM's own objective object
(``sknumpynet._linear_svm.objective.LinearObjective``)::

    F(W, b) = 0.5 * ||W||^2 + C * sum_i loss_i(x_i @ W + b)

with the intercept ``b`` not penalised (``LinearSVC`` penalises it through
``intercept_scaling``, so it minimises ``F + 0.5 ||b||^2``: its intercept is
scored here like ours). Lower is better; the model that reaches the lowest
``F`` solved the shared problem best. ``SGDClassifier``'s own objective is
``F / (C n)`` with the matched alpha.

Usage::

    python benchmarks/bench_linear_svm.py [--data DIR] [--max-samples N] [--repeats 3]
        [--loss hinge] [--multi-class ovr] [--skip-linearsvc]
        [--out benchmarks/results/linear_svm.json]

The data folder is ``--data``, else ``$SKNUMPYNET_TEST_FASHION_MNIST``, else
``../shared/data/fashion-mnist`` relative to the repository root; nothing is
downloaded.
"""

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np
import sklearn
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

import sknumpynet
from sknumpynet import LinearSVM
from sknumpynet._linear_svm.losses import MulticlassHinge
from sknumpynet._linear_svm.objective import LinearObjective
from sknumpynet.datasets import fetch_fashion_mnist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed_fit  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT / ".." / "shared" / "data" / "fashion-mnist"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--skip-linearsvc", action="store_true",
                        help="leave LinearSVC out (it takes about two minutes on all data)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation (default 1)")
    parser.add_argument("--loss", default="hinge", choices=["hinge", "squared_hinge"],
                        help="the loss every model minimises (default: hinge)")
    parser.add_argument("--multi-class", default="ovr",
                        choices=["crammer_singer", "weston_watkins", "ovr"],
                        help="the multiclass form every model minimises (default: ovr)")
    parser.add_argument("--solver", default="auto", help="LinearSVM's solver (default auto)")
    parser.add_argument("--sgd-alpha", default="matched",
                        help="SGDClassifier alpha: 'matched' = 1/(C n), 'default' = 1e-4, "
                             "or a number")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for every model (default 1)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved fits of every model (median time)")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results" /
                                             "linear_svm.json"),
                        help="write the results as JSON here")
    return parser.parse_args(argv)


def load(data_dir, max_samples):
    """Fashion-MNIST as float32 in [0, 1]."""
    X_train, y_train = fetch_fashion_mnist(
        data_dir, subset="train", download_if_missing=False, return_X_y=True
    )
    X_test, y_test = fetch_fashion_mnist(
        data_dir, subset="test", download_if_missing=False, return_X_y=True
    )
    if max_samples is not None:
        X_train, y_train = X_train[:max_samples], y_train[:max_samples]
    scale = np.float32(1 / 255)
    return X_train.astype(np.float32) * scale, y_train, X_test.astype(np.float32) * scale, y_test


def svm_objective(W, b, X, y_index, C, kind, loss):
    """``0.5 ||W||^2 + C * sum_i loss_i(x_i @ W + b)``, the intercept unpenalised.

    Computed by LinearSVM's objective object, the one its solvers minimise.

    Parameters
    ----------
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    X : ndarray of shape (n_samples, n_features)
    y_index : ndarray of int of shape (n_samples,)
        Class index of each row.
    C : float
    kind : {"ovr", "crammer_singer", "weston_watkins"}
    loss : {"hinge", "squared_hinge"}

    Returns
    -------
    value : float
    """
    W = np.asarray(W, dtype=np.float64)
    terms = MulticlassHinge(y_index, W.shape[1], kind, loss == "squared_hinge")
    objective = LinearObjective(X, terms, None, C=C)
    return objective.exact(objective.packing.pack(W, np.asarray(b, dtype=np.float64)))


def weights_of(estimator):
    """``(W, b)`` of shape (n_features, n_classes), (n_classes,) of any of the models."""
    return np.asarray(estimator.coef_).T, np.asarray(estimator.intercept_)


def make_models(args, n, sgd_epochs):
    """The models to compare, by name (``sgd_epochs``: LinearSVM's epoch count)."""
    if args.sgd_alpha == "matched":
        alpha = 1.0 / (args.C * n)
    elif args.sgd_alpha == "default":
        alpha = 1e-4
    else:
        alpha = float(args.sgd_alpha)
    models = {
        "LinearSVM": lambda: LinearSVM(C=args.C, loss=args.loss, multi_class=args.multi_class,
                                       solver=args.solver, random_state=args.random_state),
    }
    # liblinear: one-vs-rest, or Crammer-Singer with the plain hinge (its only form)
    if args.multi_class == "ovr" or (args.multi_class, args.loss) == ("crammer_singer", "hinge"):
        models["LinearSVC"] = lambda: LinearSVC(
            C=args.C, loss=args.loss, multi_class=args.multi_class,
            random_state=args.random_state)
    if args.multi_class == "ovr":
        models["SGDClassifier"] = lambda: SGDClassifier(
            loss=args.loss, alpha=alpha, max_iter=sgd_epochs, tol=None,
            random_state=args.random_state)
    if args.skip_linearsvc:
        models.pop("LinearSVC", None)
    return models


def epochs_of(estimator):
    n_iter = estimator.n_iter_
    return int(np.max(n_iter)) if np.ndim(n_iter) else int(n_iter)


def run(args):
    data_dir = args.data or os.environ.get("SKNUMPYNET_TEST_FASHION_MNIST") or DEFAULT_DATA
    X_train, y_train, X_test, y_test = load(data_dir, args.max_samples)
    n = X_train.shape[0]
    print(f"Fashion-MNIST: {n} training, {X_test.shape[0]} test images, "
          f"{X_train.shape[1]} features; C = {args.C}, loss = {args.loss}, multi_class = "
          f"{args.multi_class}; {args.threads} BLAS thread(s); {args.repeats} interleaved "
          "repeats", flush=True)
    seconds, fitted, converged, sgd_epochs = {}, {}, {}, None
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for repeat in range(args.repeats):
            for name in make_models(args, n, sgd_epochs):
                estimator = make_models(args, n, sgd_epochs)[name]()  # SGD: LinearSVM's epochs
                t, ok = timed_fit(estimator, X_train, y_train)
                seconds.setdefault(name, []).append(t)
                if repeat == 0:
                    fitted[name], converged[name] = estimator, ok
                if name == "LinearSVM" and sgd_epochs is None:
                    sgd_epochs = int(estimator.n_iter_)
                print(f"  repeat {repeat}: {name} {t:.2f} s", flush=True)
        return [describe(name, est, seconds[name], converged[name], args,
                         X_train, y_train, X_test, y_test)
                for name, est in fitted.items()]


def describe(name, estimator, seconds, converged, args, X_train, y_train, X_test, y_test):
    """One model's row: median fit time, accuracy and both objectives."""
    W, b = weights_of(estimator)
    y_index = np.searchsorted(estimator.classes_, y_train)
    return {
        "model": name, "fit_seconds": statistics.median(seconds), "all_fit_seconds": seconds,
        "test_accuracy": float(estimator.score(X_test, y_test)),
        "train_accuracy": float(estimator.score(X_train, y_train)),
        "objective": svm_objective(W, b, X_train, y_index, args.C, args.multi_class, args.loss),
        "objective_of": f"loss={args.loss}, multi_class={args.multi_class}",
        "epochs": epochs_of(estimator), "converged": converged,
        "params": {k: repr(v) for k, v in estimator.get_params().items()},
    }


def add_ratios(results):
    """Fit-time ratios and accuracy differences of every model against the others."""
    by_name = {r["model"]: r for r in results}
    svm = by_name["LinearSVM"]
    for r in results:
        r["time_vs_LinearSVM"] = r["fit_seconds"] / svm["fit_seconds"]
        r["accuracy_minus_LinearSVM"] = r["test_accuracy"] - svm["test_accuracy"]
    ratios = {}
    for other in ("LinearSVC", "SGDClassifier"):
        if other in by_name:
            ratios[f"LinearSVM_time_fraction_of_{other}"] = (
                svm["fit_seconds"] / by_name[other]["fit_seconds"]
            )
            ratios[f"LinearSVM_accuracy_minus_{other}"] = (
                svm["test_accuracy"] - by_name[other]["test_accuracy"]
            )
    return ratios


def print_table(results):
    header = (f"{'model':<15}{'epochs':>8}{'fit (s)':>10}{'test acc':>10}"
              f"{'objective F':>14}{'time / LinearSVM':>18}{'acc - LinearSVM':>17}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        epochs = str(r["epochs"]) + ("" if r["converged"] else "*")
        print(f"{r['model']:<15}{epochs:>8}{r['fit_seconds']:>10.2f}{r['test_accuracy']:>10.4f}"
              f"{r['objective']:>14.1f}"
              f"{r['time_vs_LinearSVM']:>18.2f}{r['accuracy_minus_LinearSVM']:>+17.4f}")
    print(f"fit (s): median over the repeats; F: the shared objective "
          f"({results[0]['objective_of']}) on the training data (lower is better); "
          "*: stopped by its iteration limit "
          "(ConvergenceWarning)")


def main(argv=None):
    args = parse_args(argv)
    results = run(args)
    ratios = add_ratios(results)
    print_table(results)
    for name, value in ratios.items():
        print(f"{name}: {value:.4f}")
    if args.out:
        report = {
            "benchmark": "bench_linear_svm",
            "arguments": vars(args),
            "results": results,
            "ratios": ratios,
            "versions": {"sknumpynet": sknumpynet.__version__, "scikit-learn": sklearn.__version__,
                         "numpy": np.__version__, "python": sys.version.split()[0]},
            "machine": {"platform": platform.platform(), "cpus": os.cpu_count(),
                        "load_average": list(os.getloadavg())},
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
