"""LinearSVM against scikit-learn's LinearSVC and SGDClassifier on Fashion-MNIST.

All three minimise a hinge-loss linear SVM on the same data (pixels / 255 as
float32; 60,000 training and 10,000 test images):

- ``LinearSVM()`` with its defaults (Crammer-Singer hinge, Adam, adaptive
  learning rate), ``C=1``;
- ``LinearSVC(C=1, loss="hinge")``, liblinear's exact one-vs-rest solver;
- ``SGDClassifier(loss="hinge")``, one-vs-rest plain SGD, run for as many
  epochs as LinearSVM took (``tol=None``), with ``alpha = 1 / (C n)`` so that
  it minimises the same objective (``--sgd-alpha default`` keeps its 1e-4).

Every model is pinned to one BLAS thread by default (liblinear and SGD are
single-threaded): the comparison is of algorithms, not of core counts.

Usage::

    python benchmarks/bench_linear_svm.py [--data DIR] [--max-samples N]
        [--skip-linearsvc] [--out results.json]

The data folder is ``--data``, else ``$SKNUMPYNET_TEST_FASHION_MNIST``, else
``../shared/data/fashion-mnist`` relative to the repository root; nothing is
downloaded.
"""

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

import sknumpynet
from sknumpynet import LinearSVM
from sknumpynet.datasets import fetch_fashion_mnist

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
    parser.add_argument("--multi-class", default="crammer_singer",
                        choices=["crammer_singer", "weston_watkins", "ovr"],
                        help="LinearSVM's multi_class (default: its default)")
    parser.add_argument("--sgd-alpha", default="matched",
                        help="SGDClassifier alpha: 'matched' = 1/(C n), 'default' = 1e-4, "
                             "or a number")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads for every model (default 1)")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the results as JSON here")
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


def timed_fit(estimator, X, y):
    """Fit, and return the seconds and whether a ConvergenceWarning was raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, converged


def run(args):
    data_dir = args.data or os.environ.get("SKNUMPYNET_TEST_FASHION_MNIST") or DEFAULT_DATA
    X_train, y_train, X_test, y_test = load(data_dir, args.max_samples)
    n = X_train.shape[0]
    print(f"Fashion-MNIST: {n} training, {X_test.shape[0]} test images, "
          f"{X_train.shape[1]} features; C = {args.C}; {args.threads} BLAS thread(s)",
          flush=True)
    results = []

    def record(name, estimator, epochs_of):
        with threadpool_limits(limits=args.threads, user_api="blas"):
            seconds, converged = timed_fit(estimator, X_train, y_train)
            accuracy = float(estimator.score(X_test, y_test))
        row = {"model": name, "fit_seconds": seconds, "test_accuracy": accuracy,
               "epochs": epochs_of(estimator), "converged": converged,
               "params": {k: repr(v) for k, v in estimator.get_params().items()}}
        results.append(row)
        print(f"  {name}: {accuracy:.4f} test accuracy in {seconds:.2f} s "
              f"({row['epochs']} epochs{'' if converged else ', not converged'})", flush=True)
        return estimator

    svm = record(
        "LinearSVM",
        LinearSVM(C=args.C, multi_class=args.multi_class, random_state=args.random_state),
        lambda e: int(e.n_iter_),
    )
    if not args.skip_linearsvc:
        record("LinearSVC", LinearSVC(C=args.C, loss="hinge", random_state=args.random_state),
               lambda e: None if np.ndim(e.n_iter_) else int(e.n_iter_))
    if args.sgd_alpha == "matched":
        alpha = 1.0 / (args.C * n)
    elif args.sgd_alpha == "default":
        alpha = 1e-4
    else:
        alpha = float(args.sgd_alpha)
    record(
        "SGDClassifier",
        SGDClassifier(loss="hinge", alpha=alpha, max_iter=svm.n_iter_, tol=None,
                      random_state=args.random_state),
        lambda e: int(e.n_iter_),
    )
    return results


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
              f"{'time / LinearSVM':>18}{'acc - LinearSVM':>17}")
    print()
    print(header)
    print("-" * len(header))
    for r in results:
        epochs = "-" if r["epochs"] is None else str(r["epochs"])
        print(f"{r['model']:<15}{epochs:>8}{r['fit_seconds']:>10.2f}{r['test_accuracy']:>10.4f}"
              f"{r['time_vs_LinearSVM']:>18.2f}{r['accuracy_minus_LinearSVM']:>+17.4f}")


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
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
