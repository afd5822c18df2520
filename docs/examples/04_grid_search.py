"""Hyperparameter search: GridSearchCV over an MLPClassifier in a Pipeline.

sknumpynet's estimators are scikit-learn estimators, so model selection works
as usual: the Pipeline scales the pixels inside each cross-validation fold,
GridSearchCV tries every combination of the grid (parameters of a step are
named ``<step>__<parameter>``), refits the best one on the whole training set,
and its ``cv_results_`` become a table. Runs on scikit-learn's digits::

    python docs/examples/04_grid_search.py
"""

import argparse
import time
import warnings

from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknumpynet import MLPClassifier

PARAM_GRID = {
    "mlp__hidden_layer_sizes": [(64,), (128, 64)],
    "mlp__alpha": [1e-4, 1e-2],
    "mlp__dropout": [0.0, 0.2],
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40, help="epochs per fit (default: 40)")
    parser.add_argument("--cv", type=int, default=3, help="cross-validation folds (default: 3)")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="fits run in parallel (default: one at a time)")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="use at most this many of the 1797 digits (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def results_table(cv_results, params):
    """The search's results as a fixed-width text table, best first."""
    columns = [name.split("__", 1)[1] for name in params]
    header = (f"{'rank':>4}  {'mean accuracy':>13}  {'std':>6}  {'fit (s)':>7}  "
              + "  ".join(f"{c:<18}" for c in columns))
    lines = [header, "-" * len(header.rstrip())]
    order = sorted(range(len(cv_results["rank_test_score"])),
                   key=lambda i: cv_results["rank_test_score"][i])
    for i in order:
        values = "  ".join(f"{cv_results['param_' + p][i]!s:<18}" for p in params)
        lines.append(
            f"{cv_results['rank_test_score'][i]:>4}  {cv_results['mean_test_score'][i]:>13.4f}  "
            f"{cv_results['std_test_score'][i]:>6.4f}  {cv_results['mean_fit_time'][i]:>7.2f}  "
            f"{values}".rstrip()
        )
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    X, y = load_digits(return_X_y=True)
    if args.max_samples:
        X, y = X[: args.max_samples], y[: args.max_samples]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )

    pipeline = Pipeline([
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(max_iter=args.epochs, random_state=args.seed)),
    ])
    search = GridSearchCV(pipeline, PARAM_GRID, cv=args.cv, n_jobs=args.n_jobs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a fixed number of epochs
        search.fit(X_train, y_train)
    n_fits = len(search.cv_results_["params"]) * args.cv
    print(f"{n_fits} fits ({args.cv}-fold cross-validation of "
          f"{len(search.cv_results_['params'])} settings) in "
          f"{time.perf_counter() - start:.1f} s\n")
    print(results_table(search.cv_results_, list(PARAM_GRID)))
    print(f"\nbest: {search.best_params_}")
    print(f"cross-validated accuracy {search.best_score_:.4f}; "
          f"test accuracy of the refitted best model {search.score(X_test, y_test):.4f}")
    return search


if __name__ == "__main__":
    main()
