"""Wall time of one hyperparameter search: n_jobs=1, loky n_jobs=2, a 2-worker Dask cluster.

Workload: ``GridSearchCV`` of an ``MLPClassifier`` over 8 candidates (two
widths x two L2 penalties x two learning rates) with 3-fold CV, that is 24 fits,
on a Fashion-MNIST subset (pixels / 255 as float32) or, with ``--dataset
digits``, on scikit-learn's digits. Every fit has the same ``random_state``, so
all the configurations must find the same ``cv_results_``; the table says
whether they did. Run::

    python benchmarks/bench_distributed.py --data ../shared/data/fashion-mnist

The configurations, all on this machine:

- ``n_jobs=1``: the search in this process, one fit after another.
- ``loky n_jobs=2``: joblib's default process pool. joblib starts each worker
  with ``cpu_count() // n_jobs`` BLAS threads.
- ``dask``: a ``LocalCluster`` of 2 worker processes with 1 thread each on
  127.0.0.1, the data scattered once (``scatter=[X, y]``); the cluster's start-up
  is timed apart.
- With ``--threads-study`` (slow), the same search with the estimators'
  ``n_threads=None``: ``n_jobs=1`` with the BLAS default, and loky with
  ``inner_max_num_threads=cpu_count()``, i.e. n_jobs x cpu_count BLAS threads
  (oversubscribed), without and with the estimator's ``n_threads=1``.

The main rows use ``n_threads=1`` (the scaling guide's recipe). The
configurations are timed in turn, ``--repeats`` rounds, and each row shows its
best round, so that a change in the machine's load hits all rows alike (the
slow ``n_threads=None`` rows run in the first round only). Before each timed
search a warm-up starts the worker processes and imports sknumpynet in them.
The wall time includes the refit of the best candidate on all the data, which
runs in this process after the parallel part (its own column): it bounds the
speedup below the number of workers. The pickle size of a fitted
784-256-128-10 classifier is printed at the end.
"""

import argparse
import contextlib
import importlib
import os
import pickle
import platform
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np
import threadpoolctl
from sklearn.model_selection import GridSearchCV

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = os.environ.get(
    "SKNUMPYNET_TEST_FASHION_MNIST", str(REPO.parent / "shared" / "data" / "fashion-mnist")
)
GRID = {
    "hidden_layer_sizes": [(64,), (128,)],
    "alpha": [1e-4, 1e-2],
    "learning_rate_init": [1e-3, 3e-3],
}
CV = 3


def load(dataset, data, n_samples, seed=0):
    """A stratified subset of ``n_samples`` rows, float32 in [0, 1]."""
    if dataset == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        X = X / 16.0
    else:
        from sknumpynet.datasets import fetch_fashion_mnist

        X, y = fetch_fashion_mnist(data, return_X_y=True, download_if_missing=False)
        X = X / 255.0
    if n_samples < len(y):
        from sklearn.model_selection import train_test_split

        X, _, y, _ = train_test_split(
            X, y, train_size=n_samples, stratify=y, random_state=seed
        )
    return np.ascontiguousarray(X, dtype=np.float32), np.asarray(y)


def blas_threads():
    return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]


@dataclass
class Config:
    """One way of running the search, and its timings."""

    label: str
    blas: str  # BLAS threads, as "processes x threads"
    n_jobs: int
    n_threads: int | None
    context: object = contextlib.nullcontext  # () -> context manager around the fit
    warm_up: object = None  # () -> None, run before each timed search
    slow: bool = False
    seconds: list = field(default_factory=list)
    search: object = None

    def run(self, X, y, max_iter):
        from sknumpynet import MLPClassifier

        if self.warm_up is not None:
            self.warm_up()
        estimator = MLPClassifier(max_iter=max_iter, random_state=0, n_threads=self.n_threads)
        search = GridSearchCV(estimator, GRID, cv=CV, n_jobs=self.n_jobs, error_score="raise")
        with self.context():
            start = time.perf_counter()
            search.fit(X, y)
            self.seconds.append(time.perf_counter() - start)
        if self.seconds[-1] == min(self.seconds):
            self.search = search  # the timings of the best round
        print(f"  {self.label:<56} {self.seconds[-1]:7.2f} s", flush=True)


def loky(n_jobs, **config):
    """A context running joblib's loky pool with ``config``, and its warm-up."""

    def context():
        return joblib.parallel_config(backend="loky", **config)

    def warm_up():
        with context():
            joblib.Parallel(n_jobs=n_jobs)(
                joblib.delayed(importlib.import_module)("sknumpynet") for _ in range(n_jobs)
            )

    return context, warm_up


def local_configs(threads_study):
    n_cpu = os.cpu_count()
    default_context, default_warm = loky(2)
    configs = [
        Config("n_jobs=1", "1", 1, 1),
        Config("loky n_jobs=2", "2 x 1", 2, 1, default_context, default_warm),
    ]
    if threads_study:
        over_context, over_warm = loky(2, inner_max_num_threads=n_cpu)
        configs += [
            Config("n_jobs=1, n_threads=None", str(max(blas_threads() or [1])), 1, None,
                   slow=True),
            Config(f"loky n_jobs=2, inner_max_num_threads={n_cpu}, n_threads=None",
                   f"2 x {n_cpu}", 2, None, over_context, over_warm, slow=True),
            Config(f"loky n_jobs=2, inner_max_num_threads={n_cpu}, n_threads=1",
                   "2 x 1", 2, 1, over_context, over_warm),
        ]
    return configs


@contextlib.contextmanager
def dask_config(X, y):
    """Start a 2-worker LocalCluster; yield its Config (None without distributed)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print('  dask: distributed is not installed (pip install ".[distributed]" from the clone)')
        yield None, None
        return
    environ = dict(os.environ)  # the nanny writes *_NUM_THREADS=1 into this process
    try:
        start = time.perf_counter()
        with (
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=":0", silence_logs=50,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.wait_for_workers(2)
            client.run(importlib.import_module, "sknumpynet")
            startup = time.perf_counter() - start
            yield Config(
                "dask LocalCluster 2 workers x 1 thread, scatter", "2 x 1", -1, 1,
                lambda: joblib.parallel_backend("dask", scatter=[X, y]),
            ), startup
    finally:
        os.environ.clear()
        os.environ.update(environ)


def print_table(configs, startup):
    base = configs[0]
    base_time = min(base.seconds)
    scores = base.search.cv_results_["mean_test_score"]
    header = ("Configuration", "BLAS threads", "Wall (s)", "Refit (s)", "Speedup",
              "Mean fit (s)", "Busy workers", "Same cv_results_")
    lines = []
    for config in configs:
        results = config.search.cv_results_
        same = (
            "yes" if np.array_equal(results["mean_test_score"], scores)
            else f"no (max diff {np.max(np.abs(results['mean_test_score'] - scores)):.1e})"
        )
        best, refit = min(config.seconds), config.search.refit_time_
        work = CV * np.sum(results["mean_fit_time"] + results["mean_score_time"])
        lines.append((
            config.label, config.blas, f"{best:.2f}", f"{refit:.2f}", f"{base_time / best:.2f}",
            f"{np.mean(results['mean_fit_time']):.3f}", f"{work / (best - refit):.2f}", same,
        ))
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines)]
    rule = "  ".join("=" * w for w in widths)
    print()
    print(rule)
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    print(rule)
    for line in lines:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip())
    print(rule)
    print("Refit: the final fit of the best candidate on all the rows, in this process.")
    print("Mean fit: one CV fit's time as measured inside the worker (CPU contention")
    print("shows here). Busy workers: the fits' and scorings' summed time over the wall")
    print("time of the parallel part; n_jobs at best. All of the best round.")
    if startup is not None:
        print(f"Dask cluster start-up (not in the wall times above): {startup:.1f} s")
    print(f"best_params_ (n_jobs=1): {base.search.best_params_}")


def pickle_sizes():
    """Pickled bytes of a 784-256-128-10 MLPClassifier fitted one epoch on random data."""
    from sknumpynet import MLPClassifier

    rng = np.random.default_rng(0)
    print("\nPickle of a fitted 784-256-128-10 MLPClassifier (one epoch, protocol 5):")
    for solver in ("adam", "sgd"):
        for dtype in (np.float32, np.float64):
            X = rng.standard_normal((2000, 784)).astype(dtype)
            y = np.arange(2000) % 10
            clf = MLPClassifier((256, 128), solver=solver, max_iter=1, random_state=0)
            clf.fit(X, y)
            params = sum(p.value.nbytes for p in clf.network_.parameters())
            size = len(pickle.dumps(clf, protocol=5))
            print(f"  {solver:>4} {np.dtype(dtype).name}: {size:>9,} bytes = "
                  f"{size / params:.2f} x the {params:,} parameter bytes")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=["fashion-mnist", "digits"],
                        default="fashion-mnist")
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--n-samples", type=int, default=2400)
    parser.add_argument("--max-iter", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads-study", action="store_true",
                        help="also time n_threads=None and an oversubscribed loky pool")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--no-pickle", action="store_true")
    args = parser.parse_args(argv)

    warnings.simplefilter("ignore")  # ConvergenceWarning of the short fits
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # ... and in the worker processes
    X, y = load(args.dataset, args.data, args.n_samples)
    print(f"{args.dataset}: X {X.shape} {X.dtype}; grid of "
          f"{int(np.prod([len(v) for v in GRID.values()]))} candidates x {CV} folds; "
          f"max_iter={args.max_iter}")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f}; BLAS threads by default {blas_threads()}; "
          f"python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"joblib {joblib.__version__}")
    configs = local_configs(args.threads_study)
    with (
        contextlib.nullcontext((None, None)) if args.no_dask else dask_config(X, y)
    ) as (dask, startup):
        if dask is not None:
            configs.append(dask)
        for round_ in range(args.repeats):
            print(f"round {round_ + 1} (load average {os.getloadavg()[0]:.1f})")
            for config in configs:
                if round_ == 0 or not config.slow:
                    config.run(X, y, args.max_iter)
    print_table(configs, startup)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if not args.no_pickle:
        pickle_sizes()


if __name__ == "__main__":
    main()
