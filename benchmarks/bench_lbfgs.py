"""solver="lbfgs": sknumpynet's MLPs against scikit-learn's, side by side in one run.

Digits and breast_cancer (classification, test accuracy) and diabetes
(regression, test R^2), standardized, one hidden layer of 64 units, the same
``alpha``, ``max_iter`` and ``tol`` for both; every fit repeated ``--repeats``
times, interleaved (ours, theirs, ours, theirs, ...), median wall time. Both
minimise the same objective (the mean loss plus ``alpha / (2 n) ||W||^2``) with
scipy's L-BFGS-B, so the final training loss is printed beside the score.

    python benchmarks/bench_lbfgs.py [--repeats 5] [--out benchmarks/results]

Writes ``lbfgs.json``.
"""

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sknumpynet import MLPClassifier, MLPRegressor

REPO = Path(__file__).resolve().parents[1]
#: name: (loader, ours, scikit-learn's, alpha); diabetes' 331 training rows are
#: overfitted by 64 units unless the penalty is strong
DATASETS = {
    "digits": (load_digits, MLPClassifier, SkMLPClassifier, 1e-4),
    "breast_cancer": (load_breast_cancer, MLPClassifier, SkMLPClassifier, 1e-4),
    "diabetes": (load_diabetes, MLPRegressor, SkMLPRegressor, 10.0),
}


def split(loader):
    X, y = loader(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    if loader is load_diabetes:  # scale the target too, so alpha means the same
        y_mean, y_std = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - y_mean) / y_std, (y_test - y_mean) / y_std
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def timed_fit(cls, X, y, max_iter, alpha):
    model = cls(hidden_layer_sizes=(64,), solver="lbfgs", alpha=alpha, max_iter=max_iter,
                tol=1e-4, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
    return model, seconds, any(issubclass(w.category, ConvergenceWarning) for w in caught)


def run(name, repeats, max_iter):
    loader, ours, theirs, alpha = DATASETS[name]
    X_train, X_test, y_train, y_test = split(loader)
    times = {"sknumpynet": [], "scikit-learn": []}
    models = {}
    for _ in range(repeats):
        for system, cls in (("sknumpynet", ours), ("scikit-learn", theirs)):
            model, seconds, warned = timed_fit(cls, X_train, y_train, max_iter, alpha)
            times[system].append(seconds)
            models[system] = (model, warned)
    rows = []
    for system, (model, warned) in models.items():
        rows.append({
            "dataset": name, "system": system, "median_seconds": statistics.median(times[system]),
            "seconds": times[system], "n_iter": int(model.n_iter_),
            "train_loss": float(model.loss_), "test_score": float(model.score(X_test, y_test)),
            "convergence_warning": warned,
        })
    ours_time = rows[0]["median_seconds"]
    for row in rows:
        row["time_ratio_to_sknumpynet"] = row["median_seconds"] / ours_time
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--max-iter", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    args = parser.parse_args(argv)
    rows = []
    with threadpool_limits(args.threads, "blas"):
        for name in DATASETS:
            rows.extend(run(name, args.repeats, args.max_iter))
    print(f"solver='lbfgs', 64 hidden units, max_iter={args.max_iter}, {args.threads} BLAS "
          f"thread(s), median of {args.repeats} interleaved fits")
    print(f"{'dataset':14s} {'system':13s} {'seconds':>8s} {'ratio':>6s} {'n_iter':>6s} "
          f"{'train loss':>11s} {'test score':>10s}  warning")
    for r in rows:
        print(f"{r['dataset']:14s} {r['system']:13s} {r['median_seconds']:8.3f} "
              f"{r['time_ratio_to_sknumpynet']:6.2f} {r['n_iter']:6d} {r['train_loss']:11.5f} "
              f"{r['test_score']:10.4f}  {'yes' if r['convergence_warning'] else 'no'}")
    print("ratio: time over sknumpynet's (>1: slower); test score: accuracy, or R^2 (diabetes)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "lbfgs.json").write_text(json.dumps({"results": rows}, indent=2))
    print(f"wrote {out / 'lbfgs.json'}")


if __name__ == "__main__":
    main()
