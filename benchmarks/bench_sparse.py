"""LinearSVM against LinearSVC and SGDClassifier on sparse text-like data.

The data is the deterministic synthetic bag-of-words set of
``benchmarks/_sparse_data.py``: 40,000 rows x 25,000 features, about 0.3%
non-zero, 8 classes, CSR float32, rows L2-normalised; the first 32,000 rows
train, the last 8,000 test. Every model runs on one BLAS thread; one fit each
(``--repeats`` for more, interleaved, medians). Reported: fit seconds, test
accuracy, ratios to ``LinearSVC()``.

Models: ``LinearSVM()`` (defaults: ``solver="auto"``, which is Adam for sparse
data), ``LinearSVM(solver="lbfgs", multi_class="ovr", loss="squared_hinge")``
(the full-batch Newton solver on LinearSVC's default loss), ``LinearSVC()`` and
``SGDClassifier()``.

Usage::

    python benchmarks/bench_sparse.py [--repeats 1] [--skip-linearsvc] [--out results.json]
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sknumpynet import LinearSVM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sparse_data import make_bag_of_words  # noqa: E402

MODELS = {
    "LinearSVM()": lambda: LinearSVM(random_state=0),
    "LinearSVM(lbfgs, ovr, squared_hinge)": lambda: LinearSVM(
        solver="lbfgs", multi_class="ovr", loss="squared_hinge"),
    "LinearSVC()": lambda: LinearSVC(),
    "SGDClassifier()": lambda: SGDClassifier(random_state=0),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--skip-linearsvc", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    X, y = make_bag_of_words()
    X_train, y_train, X_test, y_test = X[:32_000], y[:32_000], X[32_000:], y[32_000:]
    names = [n for n in MODELS if not (args.skip_linearsvc and n == "LinearSVC()")]
    times = {n: [] for n in names}
    scores, warned = {}, {}
    with threadpool_limits(1):
        for _ in range(args.repeats):
            for name in names:  # interleaved
                model = MODELS[name]()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    times[name].append(time.perf_counter() - start)
                warned[name] = any(issubclass(w.category, ConvergenceWarning) for w in caught)
                scores[name] = float(model.score(X_test, y_test))
                print(f"  {name}: {times[name][-1]:.2f} s, test accuracy {scores[name]:.4f}",
                      flush=True)
    ref = float(np.median(times["LinearSVC()"])) if "LinearSVC()" in times else None
    results = {"data": {"n_train": 32_000, "n_test": 8_000, "n_features": X.shape[1],
                        "nnz_per_row": X.nnz / X.shape[0], "n_classes": 8}, "models": []}
    print(f"{'model':40s} {'seconds':>8s} {'test acc':>8s} {'svc time / time':>15s}")
    for name in names:
        seconds = float(np.median(times[name]))
        speedup = ref / seconds if ref else None
        results["models"].append({"model": name, "seconds": seconds,
                                  "test_accuracy": scores[name],
                                  "speedup_vs_linearsvc": speedup,
                                  "convergence_warning": warned[name]})
        print(f"{name:40s} {seconds:8.2f} {scores[name]:8.4f} "
              f"{'' if speedup is None else f'{speedup:15.2f}'}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
