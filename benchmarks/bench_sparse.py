"""LinearSVM and MLPClassifier against scikit-learn on sparse text-like data.

The data is the deterministic synthetic bag-of-words set of
``benchmarks/_sparse_data.py``: 40,000 rows x 25,000 features, about 0.3%
non-zero, 8 classes, CSR float32, rows L2-normalised; the first 32,000 rows
train, the last 8,000 test. Every model runs on one BLAS thread; ``--repeats``
fits each (interleaved), and the fit time reported is the median. Reported:
fit seconds, test accuracy, ratios to the reference of the same family.

Linear models, against ``LinearSVC()``: ``LinearSVM()`` (defaults: the
full-batch Newton solver, which ``solver="auto"`` picks for large sparse data
with the squared hinge), ``LinearSVM(solver="adam")`` (the minibatch solver,
``--skip-adam`` leaves it out) and ``SGDClassifier()``.

Networks, against scikit-learn's ``MLPClassifier``: both with one hidden layer
of 64 ReLU units, Adam, batch 200, ``alpha=1e-4`` and ``--mlp-epochs`` (10)
epochs (``tol=0``: every fit runs them all), ``random_state=0``.

Usage::

    python benchmarks/bench_sparse.py [--repeats 3] [--skip-linearsvc] [--skip-adam]
        [--skip-mlp] [--mlp-epochs 10] [--out results.json]
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
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.svm import LinearSVC
from threadpoolctl import threadpool_limits

from sknumpynet import LinearSVM, MLPClassifier

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _sparse_data import make_bag_of_words  # noqa: E402


def models(args):
    """``{name: (reference name, factory)}`` of the models this run fits."""
    mlp = dict(hidden_layer_sizes=(64,), batch_size=200, alpha=1e-4, max_iter=args.mlp_epochs,
               tol=0.0, n_iter_no_change=args.mlp_epochs + 1, random_state=0)
    table = {
        "LinearSVM()": ("LinearSVC()", lambda: LinearSVM(random_state=0)),
        "LinearSVM(solver='adam')": ("LinearSVC()",
                                     lambda: LinearSVM(solver="adam", random_state=0)),
        "LinearSVC()": ("LinearSVC()", LinearSVC),
        "SGDClassifier()": ("LinearSVC()", lambda: SGDClassifier(random_state=0)),
        "MLPClassifier (sknumpynet)": ("MLPClassifier (scikit-learn)",
                                       lambda: MLPClassifier(**mlp)),
        "MLPClassifier (scikit-learn)": ("MLPClassifier (scikit-learn)",
                                         lambda: SkMLPClassifier(**mlp)),
    }
    skip = {"LinearSVC()": args.skip_linearsvc, "LinearSVM(solver='adam')": args.skip_adam,
            "MLPClassifier (sknumpynet)": args.skip_mlp,
            "MLPClassifier (scikit-learn)": args.skip_mlp}
    return {name: entry for name, entry in table.items() if not skip.get(name)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3,
                        help="interleaved fits of every model; the median time is reported")
    parser.add_argument("--skip-linearsvc", action="store_true")
    parser.add_argument("--skip-adam", action="store_true")
    parser.add_argument("--skip-mlp", action="store_true")
    parser.add_argument("--mlp-epochs", type=int, default=10)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    X, y = make_bag_of_words()
    X_train, y_train, X_test, y_test = X[:32_000], y[:32_000], X[32_000:], y[32_000:]
    table = models(args)
    times = {n: [] for n in table}
    scores, warned = {}, {}
    with threadpool_limits(1):
        for _ in range(args.repeats):
            for name, (_, factory) in table.items():  # interleaved
                model = factory()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X_train, y_train)
                    times[name].append(time.perf_counter() - start)
                warned[name] = any(issubclass(w.category, ConvergenceWarning) for w in caught)
                scores[name] = float(model.score(X_test, y_test))
                print(f"  {name}: {times[name][-1]:.2f} s, test accuracy {scores[name]:.4f}",
                      flush=True)
    results = {"benchmark": "bench_sparse", "arguments": vars(args),
               "data": {"n_train": 32_000, "n_test": 8_000, "n_features": X.shape[1],
                        "nnz_per_row": X.nnz / X.shape[0], "n_classes": 8}, "models": []}
    print(f"{'model':30s} {'seconds':>8s} {'test acc':>8s} {'reference':>30s} "
          f"{'ref time / time':>15s} {'acc - ref acc':>13s}")
    for name, (reference, _) in table.items():
        seconds = float(np.median(times[name]))
        ref = float(np.median(times[reference])) if reference in times else None
        speedup = ref / seconds if ref else None
        gap = scores[name] - scores[reference] if reference in scores else None
        results["models"].append({"model": name, "seconds": seconds, "all_seconds": times[name],
                                  "test_accuracy": scores[name], "reference": reference,
                                  "speedup_vs_reference": speedup,
                                  "accuracy_minus_reference": gap,
                                  "convergence_warning": warned[name]})
        print(f"{name:30s} {seconds:8.2f} {scores[name]:8.4f} {reference:>30s} "
              f"{'' if speedup is None else f'{speedup:15.2f}'} "
              f"{'' if gap is None else f'{gap:+13.4f}'}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=2)
    return results


if __name__ == "__main__":
    main()
