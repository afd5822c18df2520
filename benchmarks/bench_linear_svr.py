"""LinearSVR against scikit-learn's LinearSVR: fit time, test R^2 and objective.

Data: diabetes (scikit-learn's) and the regression tables of the shared
tabular folder (servo, house_prices, nmes1988_visits, cps1988_wage). Text
columns are one-hot encoded, numeric ones standardised (fitted on the training
part), the target standardised (cps1988_wage's skewed wage first logged); 75%
of the rows train, 25% test (``random_state=0``).

For both losses (``"epsilon_insensitive"``, ``"squared_epsilon_insensitive"``)
with ``C=1`` and ``epsilon=0`` (both libraries' defaults), fits
``sknumpynet.LinearSVR`` and ``sklearn.svm.LinearSVR`` ``--repeats`` times,
interleaved, on one BLAS thread, and reports the median fit time, the test R^2,
and each model's objective on the training part::

    F(w, b) = 0.5 ||w||^2 + C sum_i loss(y_i - x_i @ w - b)

with the intercept unpenalised (LinearSVR's; scikit-learn's liblinear
penalises its intercept through ``intercept_scaling``, so it minimises
``F + 0.5 b^2``: its weights are scored with ``F`` all the same), beside
``F`` at a tight solve (sknumpynet's own full-batch solver with
``tol=1e-10``). scikit-learn's fits that end with a ConvergenceWarning are
flagged.

Usage::

    python benchmarks/bench_linear_svr.py [--tabular DIR] [--repeats 3]
        [--out benchmarks/results/linear_svr.json]

The tables are read from ``--tabular``, else ``$SKNUMPYNET_TABULAR_DATA``, else
``../shared/data/tabular`` relative to the repository root; a missing table is
skipped with a note (the package itself never reads that folder).
"""

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import sklearn
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVR as SklearnLinearSVR
from threadpoolctl import threadpool_limits

import sknumpynet
from sknumpynet import LinearSVR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed_fit  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_TABULAR = REPO_ROOT / ".." / "shared" / "data" / "tabular"
TABLES = ("servo", "house_prices", "nmes1988_visits", "cps1988_wage")
LOGGED_TARGETS = ("cps1988_wage",)
LOSSES = ("epsilon_insensitive", "squared_epsilon_insensitive")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tabular", default=None, help="folder of the shared tabular CSVs")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved fits of every model (median time)"
    )
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    parser.add_argument(
        "--out", default=str(REPO_ROOT / "benchmarks" / "results" / "linear_svr.json")
    )
    return parser.parse_args(argv)


def datasets(folder):
    """``{name: (X, y)}``: diabetes, then the tables found in ``folder``."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    found = {"diabetes": (X, y.to_numpy(dtype=np.float64))}
    for name in TABLES:
        path = Path(folder) / f"{name}.csv"
        if not path.exists():
            print(f"note: {path} not found, {name} skipped", flush=True)
            continue
        frame = pd.read_csv(path)
        y = frame.pop("target").to_numpy(dtype=np.float64)
        found[name] = (frame, np.log(y) if name in LOGGED_TARGETS else y)
    return found


def prepare(X, y):
    """Train and test arrays: one-hot text columns, standardised numbers and target."""
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    text = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
    numbers = [c for c in X.columns if c not in text]
    columns = make_column_transformer(
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), text),
        (StandardScaler(), numbers),
    )
    X_train, X_test = columns.fit_transform(X_train), columns.transform(X_test)
    mean, scale = y_train.mean(), y_train.std()
    return X_train, X_test, (y_train - mean) / scale, (y_test - mean) / scale


def objective(model, X, y, C, loss):
    """``0.5 ||w||^2 + C sum_i loss_i`` at ``model``'s weights, the intercept unpenalised."""
    w = np.ravel(model.coef_).astype(np.float64)
    residual = np.abs(y - X @ w - float(np.ravel(model.intercept_)[0]))
    excess = np.maximum(residual - model.epsilon, 0.0)
    return float(0.5 * w @ w + C * np.sum(excess**2 if loss.startswith("squared") else excess))


def one_setting(name, data, loss, args):
    X_train, X_test, y_train, y_test = data
    factories = {
        "sknumpynet": lambda: LinearSVR(C=args.C, loss=loss),
        "scikit-learn": lambda: SklearnLinearSVR(C=args.C, loss=loss, random_state=0),
    }
    seconds, fitted, converged = {k: [] for k in factories}, {}, {}
    for _ in range(args.repeats):  # interleaved, so that load drifts hit both alike
        for key, make in factories.items():
            model = make()
            t, ok = timed_fit(model, X_train, y_train)
            seconds[key].append(t)
            fitted[key], converged[key] = model, ok
    tight = LinearSVR(C=args.C, loss=loss, tol=1e-10, max_iter=20_000).fit(X_train, y_train)
    row = {
        "dataset": name,
        "loss": loss,
        "n_train": X_train.shape[0],
        "n_features": X_train.shape[1],
        "tight_objective": objective(tight, X_train, y_train, args.C, loss),
    }
    for key, model in fitted.items():
        row[key] = {
            "fit_seconds": statistics.median(seconds[key]),
            "all_fit_seconds": seconds[key],
            "test_r2": float(model.score(X_test, y_test)),
            "objective": objective(model, X_train, y_train, args.C, loss),
            "converged": converged[key],
        }
        row[key]["objective_ratio"] = row[key]["objective"] / row["tight_objective"]
    row["r2_difference"] = row["sknumpynet"]["test_r2"] - row["scikit-learn"]["test_r2"]
    row["time_ratio"] = row["sknumpynet"]["fit_seconds"] / row["scikit-learn"]["fit_seconds"]
    return row


def print_row(r):
    ours, theirs = r["sknumpynet"], r["scikit-learn"]
    print(
        f"{r['dataset']:16s} {r['loss'][:12]:12s} {1e3 * ours['fit_seconds']:9.1f} "
        f"{1e3 * theirs['fit_seconds']:9.1f}{'' if theirs['converged'] else '*':1s} "
        f"{ours['test_r2']:8.4f} {theirs['test_r2']:8.4f} {ours['objective_ratio']:9.5f} "
        f"{theirs['objective_ratio']:9.5f}",
        flush=True,
    )


def main(argv=None):
    args = parse_args(argv)
    folder = args.tabular or os.environ.get("SKNUMPYNET_TABULAR_DATA") or DEFAULT_TABULAR
    print(
        f"{'data':16s} {'loss':12s} {'ours ms':>9s} {'sklearn ms':>10s} {'ours R2':>8s} "
        f"{'skl R2':>8s} {'F/tight':>9s} {'skl F/t':>9s}"
    )
    results = []
    with threadpool_limits(limits=args.threads, user_api="blas"):
        for name, (X, y) in datasets(folder).items():
            data = prepare(X, y)
            for loss in LOSSES:
                results.append(one_setting(name, data, loss, args))
                print_row(results[-1])
    print(
        "ms: median fit time; R2: test R^2; F/tight: objective on the training part over "
        "a tight solve's; *: scikit-learn's fit ended with a ConvergenceWarning"
    )
    if args.out:
        report = {
            "benchmark": "bench_linear_svr",
            "arguments": {**vars(args), "tabular": str(folder)},
            "results": results,
            "max_abs_r2_difference": max(abs(r["r2_difference"]) for r in results),
            "versions": {
                "sknumpynet": sknumpynet.__version__,
                "scikit-learn": sklearn.__version__,
                "numpy": np.__version__,
                "python": sys.version.split()[0],
            },
            "machine": {
                "platform": platform.platform(),
                "cpus": os.cpu_count(),
                "load_average": list(os.getloadavg()),
            },
        }
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=2))
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
