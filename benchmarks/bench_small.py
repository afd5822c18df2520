"""LinearSVM against LinearSVC on small standardized data sets, on equal problems.

For iris, wine, breast_cancer and digits (StandardScaler), for the problems
both solve (one-vs-rest with either loss, Crammer-Singer with the hinge: see
``PROBLEMS``) with or without an intercept,
fits ``LinearSVM(multi_class=..., loss=...)`` and ``LinearSVC(...)`` with the
same settings ``--repeats`` times, interleaved, and reports median fit times,
their ratio, training accuracies, ConvergenceWarnings, and each model's
objective against a tight full-batch solve of the same objective
(``tol=1e-9``). Single-row ``decision_function`` latency (median over
``--latency-calls`` calls) is measured on digits. Every model runs on one BLAS
thread.

The problems are made equal where the two libraries differ:

- The intercept. ``LinearSVM`` minimises ``0.5 ||W||^2 + C sum_i loss_i``
  with an unpenalised intercept ``b``. liblinear has no intercept: it appends a
  constant feature of value ``intercept_scaling`` to every row, so its
  intercept ``b = intercept_scaling * w_b`` is penalised by ``0.5 w_b^2 =
  0.5 (b / intercept_scaling)^2``. Without an intercept (``fit_intercept=
  False``) the two problems are exactly equal; with one, ``LinearSVC`` gets
  ``intercept_scaling=INTERCEPT_SCALING`` (100), which shrinks that penalty
  10,000-fold (at some cost to its conditioning). Every objective here is
  LinearSVM's, intercept unpenalised, whichever model's weights it scores.
- ``tol``. ``LinearSVM``'s full-batch solvers stop when the largest entry of
  the gradient of the mean-form objective falls below ``tol`` times its value
  at the start (Newton: and half the Newton decrement below ``tol`` times the
  starting objective; L-BFGS: or 10 iterations gain less than ``tol``
  relatively). liblinear's dual coordinate descent (``dual=True``, what
  ``"auto"`` picks here) stops when the projected gradient of the dual
  problem, max minus min over the coordinates, falls below ``tol`` times its
  value at the first pass; the primal solvers (``dual=False``) when the primal
  gradient's norm falls below ``tol`` times its starting norm (scaled by the
  class balance). The same ``tol=1e-4`` therefore means different distances
  to the optimum: the objective ratios to the tight solve are what compare.
  (The tight solve of the plain hinge ends on a hinge smoothed by
  ``MU_FINAL=1e-3``, so liblinear may land a few 1e-5 below it.)

Usage::

    python benchmarks/bench_small.py [--repeats 5] [--out results.json]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sknumpynet import LinearSVM
from sknumpynet._linear_svm.full_batch import solve_full_batch
from sknumpynet._linear_svm.losses import MulticlassHinge
from sknumpynet._linear_svm.objective import LinearObjective

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed_fit  # noqa: E402

DATASETS = {"iris": load_iris, "wine": load_wine, "breast_cancer": load_breast_cancer,
            "digits": load_digits}

#: LinearSVC's intercept_scaling when both fit an intercept (see the module docstring).
INTERCEPT_SCALING = 100.0

#: (multi_class, loss) pairs both libraries solve: liblinear's Crammer-Singer is
#: the plain hinge only (LinearSVC ignores ``loss`` with it).
PROBLEMS = [("ovr", "hinge"), ("ovr", "squared_hinge"), ("crammer_singer", "hinge")]


def columns(coef, intercept, kind):
    """``(W, b)`` in LinearSVM's layout from ``coef_`` and ``intercept_``.

    Two classes with Crammer-Singer train two columns whose difference is
    ``coef_``; at the optimum they are ``-coef_ / 2`` and ``coef_ / 2``.
    """
    W, b = np.asarray(coef, dtype=np.float64).T, np.asarray(intercept, dtype=np.float64)
    if kind == "crammer_singer" and W.shape[1] == 1:
        return np.hstack([-W / 2, W / 2]), np.r_[-b / 2, b / 2]
    return W, b


def objective(model, X, y_index, kind, loss):
    """LinearSVM's objective (intercept unpenalised, C=1) at ``model``'s weights."""
    W, b = columns(model.coef_, model.intercept_, kind)
    terms = MulticlassHinge(y_index, W.shape[1], kind, loss == "squared_hinge")
    problem = LinearObjective(X, terms, None, C=1.0)
    return problem.exact(problem.packing.pack(W, b))


def one_setting(X, y, multi_class, loss, fit_intercept, repeats):
    ours_t, theirs_t, ours_warn, theirs_warn = [], [], False, False
    scaling = dict(intercept_scaling=INTERCEPT_SCALING) if fit_intercept else {}
    for _ in range(repeats):  # interleaved, so that load drifts hit both alike
        ours = LinearSVM(multi_class=multi_class, loss=loss, fit_intercept=fit_intercept)
        seconds, converged = timed_fit(ours, X, y)
        ours_t.append(seconds)
        ours_warn |= not converged
        theirs = LinearSVC(multi_class=multi_class, loss=loss, fit_intercept=fit_intercept,
                           **scaling)
        seconds, converged = timed_fit(theirs, X, y)
        theirs_t.append(seconds)
        theirs_warn |= not converged
    y_index = np.searchsorted(ours.classes_, y)
    tight = solve_full_batch(X, y_index, None, C=1.0, kind=multi_class,
                             squared=loss == "squared_hinge", fit_intercept=fit_intercept,
                             tol=1e-9, max_iter=20_000)
    theirs_objective = objective(theirs, X, y_index, multi_class, loss)
    return {
        "multi_class": multi_class, "loss": loss, "fit_intercept": fit_intercept,
        "linearsvc_intercept_scaling": INTERCEPT_SCALING if fit_intercept else None,
        "linearsvm_seconds": float(np.median(ours_t)),
        "linearsvc_seconds": float(np.median(theirs_t)),
        "time_ratio": float(np.median(ours_t) / np.median(theirs_t)),
        "linearsvm_objective": float(ours.objective_),
        "linearsvc_objective": float(theirs_objective),
        "tight_objective": float(tight.objective),
        "objective_ratio": float(ours.objective_ / tight.objective),
        "linearsvc_objective_ratio": float(theirs_objective / tight.objective),
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
    print(f"{'data':14s} {'multi_class':15s} {'loss':14s} {'b':1s} {'ours ms':>8s} "
          f"{'svc ms':>8s} {'ratio':>6s} {'obj/tight':>9s} {'svc/tight':>9s} {'acc':>6s} "
          f"{'svc acc':>7s} warn(ours,svc)")
    with threadpool_limits(1):
        for name in args.datasets:
            X, y = DATASETS[name](return_X_y=True)
            X = StandardScaler().fit_transform(X)
            settings = [(m, loss, b) for m, loss in PROBLEMS for b in (False, True)]
            for multi_class, loss, fit_intercept in settings:
                r = {"dataset": name,
                     **one_setting(X, y, multi_class, loss, fit_intercept, args.repeats)}
                results["fits"].append(r)
                print(f"{name:14s} {multi_class:15s} {loss:14s} {'yn'[not fit_intercept]} "
                      f"{1e3 * r['linearsvm_seconds']:8.1f} "
                      f"{1e3 * r['linearsvc_seconds']:8.1f} {r['time_ratio']:6.2f} "
                      f"{r['objective_ratio']:9.5f} {r['linearsvc_objective_ratio']:9.5f} "
                      f"{r['linearsvm_train_accuracy']:6.4f} "
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
