"""A parallel search with the default ``n_threads`` against the same search with ``n_threads=1``.

``GridSearchCV(MLPClassifier(), n_jobs=2)`` on scikit-learn's digits (standardised),
under joblib's threading backend (fits share one process and its BLAS pool) and its
loky backend (worker processes, which joblib starts with ``cpu_count // n_jobs``
BLAS threads). Variants, interleaved in every repeat (``RUNS``):

- ``default``: ``n_threads=None``, the rule of ``sknumpynet._runtime.blas_threads``
  (worker-thread fits share the cores);
- ``n_threads=1``: the reference the default must stay within 10% of;
- ``default, old rule``: ``n_threads=None`` leaving the BLAS as it is, as before
  (what the default did: every fit may use all BLAS threads).

Usage::

    python benchmarks/bench_search.py [--repeats 5] [--out benchmarks/results/search.json]

prints the medians and the ratio of each variant to ``n_threads=1``, and writes JSON.
``refit=False`` times the parallel phase, which the rule governs; ``refit=True``
adds the refit of the best model in the main thread, where ``n_threads=None``
leaves the BLAS as it is (on a loaded machine a multi-threaded BLAS can make that
single fit many times slower than one thread: the benchmark shows it, the rule
does not change it).
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import joblib
import numpy as np
import sklearn
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_info

import sknumpynet
from sknumpynet import MLPClassifier, _base, _runtime

REPO = Path(__file__).resolve().parents[1]
GRID = {"hidden_layer_sizes": [(64,), (128,)], "alpha": [1e-4, 1e-2]}
VARIANTS = ("default", "n_threads=1", "default, old rule")
#: (backend, variant, refit): the parallel phase alone (refit=False) is what the
#: rule governs; with refit=True the best model is refitted in the main thread,
#: where n_threads=None leaves the BLAS as it is.
RUNS = [
    ("threading", "default", False), ("threading", "n_threads=1", False),
    ("threading", "default, old rule", False),
    ("loky", "default", False), ("loky", "n_threads=1", False),
    ("threading", "default", True), ("threading", "n_threads=1", True),
]


def old_rule(n_threads):
    """What ``n_threads=None`` did before: leave the BLAS as it is, in any thread."""
    return contextlib.nullcontext() if n_threads is None else _runtime.limit_blas(n_threads)


def search_seconds(backend, variant, refit, X, y, max_iter):
    n_threads = 1 if variant == "n_threads=1" else None
    estimator = MLPClassifier(max_iter=max_iter, random_state=0, n_threads=n_threads)
    search = GridSearchCV(estimator, GRID, cv=3, n_jobs=2, refit=refit)
    rule = _base.blas_threads
    if variant == "default, old rule":
        _base.blas_threads = old_rule  # read by the fits in this process (threading)
    try:
        with joblib.parallel_config(backend=backend), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            search.fit(X, y)
            return time.perf_counter() - start, float(search.best_score_)
    finally:
        _base.blas_threads = rule


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=30)
    parser.add_argument("--runs", default=None,
                        help="indices into RUNS to do, comma separated (default: all)")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "search.json"))
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    runs = RUNS if args.runs is None else [RUNS[int(i)] for i in args.runs.split(",")]
    times = {key: [] for key in runs}
    scores = {}
    for b in {r[0] for r in runs}:  # warm-up: loky workers started, imports done
        search_seconds(b, "n_threads=1", False, X[:300], y[:300], 2)
    for _ in range(args.repeats):  # interleaved: a burst of load hits every variant
        for key in runs:
            seconds, scores[key] = search_seconds(*key, X, y, args.max_iter)
            times[key].append(seconds)

    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    print(f"GridSearchCV(MLPClassifier(max_iter={args.max_iter}), {len(GRID)}-parameter grid "
          f"of 4, cv=3, n_jobs=2) on digits; {joblib.cpu_count()} CPUs, BLAS threads {blas}; "
          f"median of {args.repeats} interleaved repeats")
    header = (f"{'backend':<11}{'variant':<20}{'refit':>6}{'median s':>10}"
              f"{'x n_threads=1':>15}{'best cv':>9}")
    print(header)
    print("-" * len(header))
    rows = []
    for key in runs:
        backend, variant, refit = key
        median = statistics.median(times[key])
        reference = times.get((backend, "n_threads=1", refit))
        ratio = median / statistics.median(reference) if reference else float("nan")
        rows.append({"backend": backend, "variant": variant, "refit": refit,
                     "seconds": times[key], "median_seconds": median,
                     "ratio_to_n_threads_1": ratio, "best_cv_score": scores[key]})
        print(f"{backend:<11}{variant:<20}{refit!s:>6}{median:>10.2f}{ratio:>15.2f}"
              f"{scores[key]:>9.4f}")
    report = {
        "benchmark": "bench_search", "arguments": vars(args), "grid": repr(GRID),
        "results": rows, "blas_threads": blas, "cpus": joblib.cpu_count(),
        "versions": {"sknumpynet": sknumpynet.__version__, "scikit-learn": sklearn.__version__,
                     "joblib": joblib.__version__, "numpy": np.__version__},
        "machine": {"platform": platform.platform(), "load_average": list(os.getloadavg())},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
