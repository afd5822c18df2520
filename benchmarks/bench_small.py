"""LinearSVM with its defaults against LinearSVC on small standardized data sets.

For iris, wine, breast_cancer and digits (StandardScaler), for ``multi_class``
in {"ovr", "crammer_singer"} and both losses, fits ``LinearSVM(multi_class=...,
loss=...)`` and ``LinearSVC(multi_class=..., loss=...)`` ``--repeats`` times,
interleaved, and reports median fit times, their ratio, training accuracies,
ConvergenceWarnings, and LinearSVM's objective against a tight full-batch solve
of the same objective (``tol=1e-9``). Single-row ``decision_function`` latency
(median over ``--latency-calls`` calls) is measured on digits. Every model runs
on one BLAS thread.

Usage::

    python benchmarks/bench_small.py [--repeats 5] [--out results.json]
"""

import argparse
import json
import time
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sknumpynet import LinearSVM
from sknumpynet._linear_solvers import solve_full_batch

DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}


def timed_fit(model, X, y):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    warned = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, warned


def one_setting(X, y, multi_class, loss, repeats):
    ours_t, theirs_t, ours_warn, theirs_warn = [], [], False, False
    for _ in range(repeats):  # interleaved, so that load drifts hit both alike
        ours = LinearSVM(multi_class=multi_class, loss=loss)
        seconds, warned = timed_fit(ours, X, y)
        ours_t.append(seconds)
        ours_warn |= warned
        theirs = LinearSVC(multi_class=multi_class, loss=loss)
        seconds, warned = timed_fit(theirs, X, y)
        theirs_t.append(seconds)
        theirs_warn |= warned
    y_index = np.searchsorted(ours.classes_, y)
    tight = solve_full_batch(X, y_index, None, C=1.0, kind=multi_class,
                             squared=loss == "squared_hinge", tol=1e-9, max_iter=20_000)
    return {
        "multi_class": multi_class, "loss": loss,
        "linearsvm_seconds": float(np.median(ours_t)),
        "linearsvc_seconds": float(np.median(theirs_t)),
        "time_ratio": float(np.median(ours_t) / np.median(theirs_t)),
        "linearsvm_objective": float(ours.objective_),
        "tight_objective": float(tight.objective),
        "objective_ratio": float(ours.objective_ / tight.objective),
        "linearsvm_train_accuracy": float(ours.score(X, y)),
        "linearsvc_train_accuracy": float(theirs.score(X, y)),
        "linearsvm_convergence_warning": bool(ours_warn),
        "linearsvc_convergence_warning": bool(theirs_warn),
        "linearsvm_n_iter": int(ours.n_iter_),
    }


def latency(X, y, calls):
    """Median seconds of one-row decision_function and predict, ours and theirs."""
    ours = LinearSVM(multi_class="ovr", loss="squared_hinge").fit(X, y)
    theirs = LinearSVC().fit(X, y)
    row = X[:1]
    out = {}
    for name, method in [("decision_function", "decision_function"), ("predict", "predict")]:
        a, b = [], []
        for _ in range(calls):
            start = time.perf_counter()
            getattr(ours, method)(row)
            a.append(time.perf_counter() - start)
            start = time.perf_counter()
            getattr(theirs, method)(row)
            b.append(time.perf_counter() - start)
        out[name] = {"linearsvm_us": 1e6 * float(np.median(a)),
                     "linearsvc_us": 1e6 * float(np.median(b)),
                     "ratio": float(np.median(a) / np.median(b))}
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-calls", type=int, default=2000)
    parser.add_argument("--datasets", nargs="*", default=list(DATASETS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    results = {"fits": [], "latency": None}
    print(f"{'data':14s} {'multi_class':15s} {'loss':14s} {'ours ms':>8s} {'svc ms':>8s} "
          f"{'ratio':>6s} {'obj/tight':>9s} {'acc':>6s} {'svc acc':>7s} warn(ours,svc)")
    with threadpool_limits(1):
        for name in args.datasets:
            X, y = DATASETS[name](return_X_y=True)
            X = StandardScaler().fit_transform(X)
            for multi_class in ("ovr", "crammer_singer"):
                for loss in ("hinge", "squared_hinge"):
                    r = {"dataset": name, **one_setting(X, y, multi_class, loss, args.repeats)}
                    results["fits"].append(r)
                    print(f"{name:14s} {multi_class:15s} {loss:14s} "
                          f"{1e3 * r['linearsvm_seconds']:8.1f} "
                          f"{1e3 * r['linearsvc_seconds']:8.1f} {r['time_ratio']:6.2f} "
                          f"{r['objective_ratio']:9.5f} {r['linearsvm_train_accuracy']:6.4f} "
                          f"{r['linearsvc_train_accuracy']:7.4f} "
                          f"{r['linearsvm_convergence_warning']},"
                          f"{r['linearsvc_convergence_warning']}", flush=True)
        X, y = load_digits(return_X_y=True)
        results["latency"] = latency(StandardScaler().fit_transform(X), y, args.latency_calls)
    for method, r in results["latency"].items():
        print(f"one-row {method}: LinearSVM {r['linearsvm_us']:.1f} us, LinearSVC "
              f"{r['linearsvc_us']:.1f} us, ratio {r['ratio']:.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
