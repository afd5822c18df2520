"""Models on real tables: sknumpynet's estimators against scikit-learn's and others.

The panel: every CSV in ``--data`` (``../shared/data/tabular`` next to the
repository, or the folder named by ``SKNUMPYNET_TABULAR_DATA``; target column
``target``, categorical columns as text, missing values as empty fields) plus
scikit-learn's iris, wine, breast_cancer, digits and diabetes. For each table
and seed ``s`` (``--seeds``, 5 by default) a 75/25 split with ``random_state=s``
(stratified for classification), and each model fitted as a user would, with
``random_state=s`` where it has one:

``tabular``
    sknumpynet's TabularMLPClassifier / TabularMLPRegressor, defaults, on the
    DataFrame as read.
``sknumpynet``
    sknumpynet's MLPClassifier / MLPRegressor, defaults, in the standard
    pipeline below.
``sklearn``
    scikit-learn's MLPClassifier / MLPRegressor, defaults, in the same pipeline:
    the reference of the "wins" and "relative error" rows.
``hgb``
    HistGradientBoostingClassifier / Regressor, defaults, with native
    categoricals (text columns as ``category`` dtype,
    ``categorical_features="from_dtype"``).
``linear``
    LogisticRegression(max_iter=1000) / RidgeCV in the same pipeline.
``realmlp``
    pytabkit's RealMLP_TD_S_Classifier / Regressor, defaults, on the CPU (text
    columns as ``category`` dtype), where ``import pytabkit`` works.

The standard pipeline is a ColumnTransformer: numeric columns
SimpleImputer(median) + StandardScaler, the others SimpleImputer(most_frequent)
+ OneHotEncoder(handle_unknown="ignore"). A model that raises (pytabkit refuses
missing values, a model that is not installed) is recorded as a failure for that
table and seed. The score is accuracy (classification) or R^2 (regression) on
the test part; the fit time is recorded in seconds and in seconds per 1,000
training rows, with ``--n-threads`` BLAS (and torch) threads, 1 by default so
that timings compare.

Split panel. To choose methods honestly the panel is cut in two halves: half A
(glass, sonar, vehicle, ionosphere, servo, house_prices, iris, wine,
breast_cancer) is the one looked at while choosing; half B (letter, hmda_deny,
cps1988_wage, pima, soybean, house_votes, nmes1988_visits, digits, diabetes) is
held out and only confirms. The summary rows are printed for A, B and all
(``--split-panel`` prints the halves; ``--half A`` runs one of them).

Output: a markdown table (the mean score of each model over the seeds per table,
the best bold, "fail" where every seed failed; then per half the mean rank, the
wins-ties-losses against scikit-learn's MLP, the mean error relative to
scikit-learn's MLP (1 - accuracy, and 1 - R^2) and the median seconds per 1,000
training rows), a JSON of every per-seed result (``--out``), and a figure
(``--figure``, docs/figures/tabular_benchmark.png). ``--from-json`` re-prints
the table and redraws the figure from a saved JSON without fitting.

Usage::

    python benchmarks/bench_tabular.py [--tables glass sonar] [--models sknumpynet sklearn]
        [--seeds 5] [--half A] [--out benchmarks/results/tabular.json] [--n-threads 1]
    python benchmarks/bench_tabular.py --from-json benchmarks/results/tabular.json
"""

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = os.environ.get(
    "SKNUMPYNET_TABULAR_DATA", str(REPO.parent / "shared" / "data" / "tabular")
)
DEFAULT_OUT = REPO / "benchmarks" / "results" / "tabular.json"
DEFAULT_FIGURE = REPO / "docs" / "figures" / "tabular_benchmark.png"

HALF_A = ("glass", "sonar", "vehicle", "ionosphere", "servo", "house_prices", "iris", "wine",
          "breast_cancer")
HALF_B = ("letter", "hmda_deny", "cps1988_wage", "pima", "soybean", "house_votes",
          "nmes1988_visits", "digits", "diabetes")
SKLEARN_TABLES = ("iris", "wine", "breast_cancer", "digits", "diabetes")
#: tables whose numeric target is a quantity, not a class label
REGRESSION = {"servo", "house_prices", "nmes1988_visits", "cps1988_wage", "diabetes"}

MODELS = ("tabular", "sknumpynet", "sklearn", "hgb", "linear", "realmlp")
REFERENCE = "sklearn"
LABELS = {
    "tabular": "sknumpynet Tabular", "sknumpynet": "sknumpynet MLP",
    "sklearn": "scikit-learn MLP", "hgb": "HistGB", "linear": "linear",
    "realmlp": "pytabkit RealMLP",
}


def half_of(table):
    """"A", "B", or None for a table outside the split panel."""
    return "A" if table in HALF_A else "B" if table in HALF_B else None


# -- data ---------------------------------------------------------------------------


def _guess_task(name, y):
    if name in REGRESSION:
        return "regression"
    if y.dtype.kind == "f" and not np.allclose(y.dropna(), np.round(y.dropna())):
        return "regression"
    if y.dtype.kind in "iuf" and y.nunique() > 30:
        return "regression"
    return "classification"


def load_table(name, data):
    """``(X, y, task)`` of a table: a DataFrame, a Series and "classification" or "regression"."""
    import pandas as pd

    if name in SKLEARN_TABLES:
        import sklearn.datasets

        bunch = getattr(sklearn.datasets, f"load_{name}")(as_frame=True)
        X, y = bunch.data, bunch.target
    else:
        X = pd.read_csv(Path(data) / f"{name}.csv")
        y = X.pop("target")
    return X, y, _guess_task(name, y)


def table_names(data):
    """Every CSV of the folder, then scikit-learn's tables."""
    folder = Path(data)
    csvs = sorted(p.stem for p in folder.glob("*.csv")) if folder.is_dir() else []
    if not csvs:
        warnings.warn(f"No CSV tables in {folder}: only scikit-learn's tables run.")
    return csvs + [t for t in SKLEARN_TABLES if t not in csvs]


def as_categories(X):
    """Text and boolean columns as ``category`` dtype (what HGB and pytabkit read)."""
    X = X.copy()
    for column in X.columns:
        if X[column].dtype.kind not in "iuf":
            X[column] = X[column].astype("category")
    return X


# -- models -------------------------------------------------------------------------


def standard_pipeline(estimator):
    """Impute + scale the numeric columns, impute + one-hot the others, then ``estimator``."""
    from sklearn.compose import ColumnTransformer, make_column_selector
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    categorical = make_pipeline(SimpleImputer(strategy="most_frequent"),
                                OneHotEncoder(handle_unknown="ignore"))
    columns = ColumnTransformer([
        ("numeric", numeric, make_column_selector(dtype_include="number")),
        ("categorical", categorical, make_column_selector(dtype_exclude="number")),
    ])
    return make_pipeline(columns, estimator)


def _estimator(model, classification, seed, n_threads):
    """The bare estimator of a model (before any pipeline), with ``random_state=seed``."""
    if model == "tabular":
        import sknumpynet

        name = "TabularMLPClassifier" if classification else "TabularMLPRegressor"
        return getattr(sknumpynet, name)(random_state=seed)
    if model == "sknumpynet":
        from sknumpynet import MLPClassifier, MLPRegressor

        return (MLPClassifier if classification else MLPRegressor)(random_state=seed)
    if model == "sklearn":
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        return (MLPClassifier if classification else MLPRegressor)(random_state=seed)
    if model == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier as C
        from sklearn.ensemble import HistGradientBoostingRegressor as R

        return (C if classification else R)(categorical_features="from_dtype", random_state=seed)
    if model == "linear":
        from sklearn.linear_model import LogisticRegression, RidgeCV

        return LogisticRegression(max_iter=1000) if classification else RidgeCV()
    if model == "realmlp":
        from pytabkit import RealMLP_TD_S_Classifier, RealMLP_TD_S_Regressor

        cls = RealMLP_TD_S_Classifier if classification else RealMLP_TD_S_Regressor
        return cls(device="cpu", random_state=seed, n_threads=n_threads)
    raise ValueError(f"Unknown model {model!r}; choose from {MODELS}.")


def make_model(model, classification, seed, n_threads=1):
    """``(estimator, prepare)``: what a user would fit, and how it wants the DataFrame."""
    estimator = _estimator(model, classification, seed, n_threads)
    if model in ("sknumpynet", "sklearn", "linear"):
        return standard_pipeline(estimator), None
    if model in ("hgb", "realmlp"):
        return estimator, as_categories
    return estimator, None


def _n_iter(estimator):
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    n_iter = getattr(final, "n_iter_", None)
    return int(np.max(n_iter)) if n_iter is not None else None


def run_one(table, X, y, task, model, seed, n_threads=1):
    """One model on one split: a result record (score None and the error on a failure)."""
    from sklearn.model_selection import train_test_split

    classification = task == "classification"
    record = {"table": table, "task": task, "half": half_of(table), "model": model,
              "seed": seed, "score": None, "fit_seconds": None, "n_train": None,
              "s_per_1000_rows": None, "n_iter": None, "error": None}
    try:
        estimator, prepare = make_model(model, classification, seed, n_threads)
        Xm = prepare(X) if prepare else X
        X_train, X_test, y_train, y_test = train_test_split(
            Xm, y, test_size=0.25, random_state=seed, stratify=y if classification else None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            estimator.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            score = float(estimator.score(X_test, y_test))
    except Exception as exc:  # a failure of this model on this table, recorded
        record["error"] = f"{type(exc).__name__}: {str(exc)[:300]}"
        return record
    record.update(score=score, fit_seconds=seconds, n_train=len(y_train),
                  s_per_1000_rows=1000.0 * seconds / len(y_train), n_iter=_n_iter(estimator))
    return record


# -- aggregation --------------------------------------------------------------------


def _mean_scores(results, models):
    """{table: {model: mean score over the successful seeds, or None}} and task per table."""
    scores, tasks = {}, {}
    for r in results:
        if r["model"] not in models:
            continue
        tasks[r["table"]] = r["task"]
        scores.setdefault(r["table"], {}).setdefault(r["model"], [])
        if r["score"] is not None:
            scores[r["table"]][r["model"]].append(r["score"])
    means = {t: {m: float(np.mean(s)) if s else None for m, s in by.items()}
             for t, by in scores.items()}
    return means, tasks


def table_ranks(scores):
    """Ranks of the models on one table (1 = best score, ties share the mean rank).

    Models without a score (every seed failed) share the ranks after all others.
    """
    ordered = sorted(scores, key=lambda m: (scores[m] is None, -(scores[m] or 0.0)))
    ranks, i = {}, 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and scores[ordered[j + 1]] == scores[ordered[i]]:
            j += 1
        for m in ordered[i:j + 1]:
            ranks[m] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def _summary(tables, means, tasks, models, results):
    """Mean rank, wins against the reference, relative errors, median s/1000 rows."""
    ranks = [table_ranks({m: means[t].get(m) for m in models}) for t in tables]
    out = {"tables": list(tables), "mean_rank": {}, "wins": {}, "relative_error": {},
           "relative_regression_error": {}, "median_s_per_1000_rows": {}}
    for m in models:
        out["mean_rank"][m] = float(np.mean([r[m] for r in ranks])) if ranks else None
        wins = ties = losses = 0
        rel = {"classification": [], "regression": []}
        for t in tables:
            a, ref = means[t].get(m), means[t].get(REFERENCE)
            if a is None or ref is None:
                continue
            wins, ties, losses = (wins + (a > ref), ties + (a == ref), losses + (a < ref))
            if 1.0 - ref > 0:
                rel[tasks[t]].append((1.0 - a) / (1.0 - ref))
        out["wins"][m] = {"wins": int(wins), "ties": int(ties), "losses": int(losses)}
        for key, task in (("relative_error", "classification"),
                          ("relative_regression_error", "regression")):
            out[key][m] = float(np.mean(rel[task])) if rel[task] else None
        times = [r["s_per_1000_rows"] for r in results if r["model"] == m
                 and r["table"] in tables and r["s_per_1000_rows"] is not None]
        out["median_s_per_1000_rows"][m] = float(np.median(times)) if times else None
    return out


def aggregate(results, models=None):
    """Per-table mean scores and, for half A, half B and all, the summary rows.

    Parameters
    ----------
    results : list of dict
        Per-seed records as :func:`run_one` makes them (``table``, ``task``,
        ``model``, ``score`` (None on a failure), ``s_per_1000_rows``, ...).
    models : sequence of str, default=None
        The models to compare, in column order; None: those in ``results``.

    Returns
    -------
    summary : dict
        ``models``, ``means`` ({table: {model: mean score or None}}), ``tasks``,
        ``failures`` ({table: {model: failed seeds}}) and ``groups`` ({"A", "B",
        "all"} present: mean_rank, wins (wins, ties, losses against scikit-learn's
        MLP), relative_error (mean over the classification tables of the model's
        1 - accuracy over the reference's), relative_regression_error (the same
        with 1 - R^2), median_s_per_1000_rows).
    """
    if models is None:
        present = {r["model"] for r in results}
        models = [m for m in MODELS if m in present] + sorted(present - set(MODELS))
    models = list(models)
    means, tasks = _mean_scores(results, models)
    failures = {}
    for r in results:
        if r["score"] is None and r["model"] in models:
            failures.setdefault(r["table"], {}).setdefault(r["model"], 0)
            failures[r["table"]][r["model"]] += 1
    order = [t for t in HALF_A + HALF_B if t in means] + sorted(
        t for t in means if half_of(t) is None)
    groups = {}
    for name, members in (("A", HALF_A), ("B", HALF_B), ("all", order)):
        tables = [t for t in order if t in members]
        if tables:
            groups[name] = _summary(tables, means, tasks, models, results)
    return {"models": models, "tables": order, "means": means, "tasks": tasks,
            "failures": failures, "groups": groups}


def _cell(value, best, failed):
    if value is None:
        return "fail"
    text = f"{value:.3f}" + ("*" if failed else "")
    return f"**{text}**" if best else text


def format_markdown(summary):
    """The markdown table of :func:`aggregate`'s summary."""
    models = summary["models"]
    lines = ["| table | task | half | " + " | ".join(LABELS.get(m, m) for m in models) + " |",
             "|---|---|---|" + "---:|" * len(models)]
    for t in summary["tables"]:
        row = summary["means"][t]
        scored = [row.get(m) for m in models if row.get(m) is not None]
        best = max(scored) if scored else None
        failed = summary["failures"].get(t, {})
        cells = [_cell(row.get(m), row.get(m) == best, failed.get(m)) for m in models]
        task = "acc" if summary["tasks"][t] == "classification" else "R²"
        lines.append(f"| {t} | {task} | {half_of(t) or '-'} | " + " | ".join(cells) + " |")
    for g, s in summary["groups"].items():
        rows = {
            f"mean rank ({g})": {m: _fmt(s["mean_rank"][m], 2) for m in models},
            f"wins-ties-losses vs scikit-learn MLP ({g})": {
                m: "-" if m == REFERENCE else "{wins}-{ties}-{losses}".format(**s["wins"][m])
                for m in models},
            f"mean classification error relative to scikit-learn's MLP ({g})": {
                m: _fmt(s["relative_error"][m], 3) for m in models},
            f"mean 1 - R² relative to scikit-learn's MLP ({g})": {
                m: _fmt(s["relative_regression_error"][m], 3) for m in models},
            f"median s per 1,000 rows ({g})": {
                m: _fmt(s["median_s_per_1000_rows"][m], 3) for m in models},
        }
        for label, cells in rows.items():
            lines.append(f"| {label} | | | " + " | ".join(cells[m] for m in models) + " |")
    lines.append("")
    lines.append("Scores are means over the seeds; * marks a mean over fewer seeds (some "
                 "failed); a model that failed on every seed ranks last on that table.")
    return "\n".join(lines)


def _fmt(value, digits):
    return "-" if value is None else f"{value:.{digits}f}"


#: score differences drawn beyond this are clipped to it in the figure
DIFF_CLIP = 0.15


def plot(summary, path):
    """Mean rank per model and half; each table's score minus scikit-learn MLP's."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models, groups = summary["models"], summary["groups"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 0.28 * len(summary["tables"]) + 3))
    width = 0.8 / max(1, len(groups))
    for k, (g, s) in enumerate(groups.items()):
        values = [s["mean_rank"][m] if s["mean_rank"][m] is not None else np.nan for m in models]
        left.barh(np.arange(len(models)) + k * width, values, height=width, label=f"half {g}"
                  if g != "all" else "all tables")
    left.set_yticks(np.arange(len(models)) + width * (len(groups) - 1) / 2,
                    [LABELS.get(m, m) for m in models])
    left.invert_yaxis()
    left.set_xlabel("mean rank over tables (lower is better)")
    left.legend(fontsize=8)
    tables = summary["tables"]
    for m in (m for m in models if m != REFERENCE):
        diffs = np.array([_diff(summary["means"][t], m) for t in tables])
        # beyond +-CLIP (scikit-learn's MLP on an unscaled target loses by R^2 7):
        # drawn at the edge with the value written beside it
        shown = np.clip(diffs, -DIFF_CLIP, DIFF_CLIP)
        line, = right.plot(shown, np.arange(len(tables)), "o", label=LABELS.get(m, m),
                           alpha=0.8)
        for i in np.flatnonzero(np.abs(diffs) > DIFF_CLIP):
            right.annotate(f"{diffs[i]:+.1f}", (shown[i], i), fontsize=7, color=line.get_color(),
                           xytext=(-22 if diffs[i] > 0 else 4, 3), textcoords="offset points")
    right.axvline(0.0, color="k", lw=0.8)
    right.set_yticks(np.arange(len(tables)),
                     [f"{t} ({half_of(t) or '-'})" for t in tables], fontsize=8)
    right.invert_yaxis()
    right.set_xlabel("score - scikit-learn MLP's score (accuracy or R², mean over seeds)")
    right.set_xlim(-DIFF_CLIP * 1.1, DIFF_CLIP * 1.1)
    right.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _diff(row, model):
    a, ref = row.get(model), row.get(REFERENCE)
    return np.nan if a is None or ref is None else a - ref


# -- command line -------------------------------------------------------------------


def _limits(n_threads, models):
    from threadpoolctl import threadpool_limits

    if "realmlp" in models:
        try:
            import torch

            torch.set_num_threads(n_threads)
        except ImportError:
            pass
    return threadpool_limits(n_threads)


def run(tables, models, seeds, data, n_threads=1, log=print, save=None):
    """Fit every model on every table and seed; the list of per-seed records.

    ``save(results)``, if given, is called after every table, so that an
    interrupted run keeps what it finished.
    """
    results = []
    with _limits(n_threads, models):
        for table in tables:
            if save is not None and results:
                save(results)
            X, y, task = load_table(table, data)
            for seed in range(seeds):
                for model in models:
                    r = run_one(table, X, y, task, model, seed, n_threads)
                    results.append(r)
                    log(f"{table:16s} seed {seed} {model:11s} "
                        + (f"{r['score']:.4f} {r['fit_seconds']:7.2f}s n_iter={r['n_iter']}"
                           if r["error"] is None else f"FAILED {r['error'][:90]}"), flush=True)
    return results


def _parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA, help="folder of the CSV tables")
    parser.add_argument("--tables", nargs="*", default=None, help="subset of tables by name")
    parser.add_argument("--half", choices=("A", "B"), default=None,
                        help="only the tables of this half of the split panel")
    parser.add_argument("--models", nargs="*", default=list(MODELS), choices=MODELS)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--n-threads", type=int, default=1)
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="JSON of every per-seed result")
    parser.add_argument("--figure", default=str(DEFAULT_FIGURE))
    parser.add_argument("--markdown", default=None,
                        help="also write the table to this file (the docs include it)")
    parser.add_argument("--from-json", default=None,
                        help="re-print the table and redraw the figure from this JSON")
    parser.add_argument("--split-panel", action="store_true",
                        help="print the two halves of the panel and exit")
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.split_panel:
        print("half A (used while choosing):", ", ".join(HALF_A))
        print("half B (held out, confirm only):", ", ".join(HALF_B))
        return None
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        results, models = saved["results"], saved.get("models")
    else:
        tables = args.tables or table_names(args.data)
        if args.half:
            tables = [t for t in tables if half_of(t) == args.half]
        models = args.models
        def save(results):
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                with open(args.out, "w") as f:
                    json.dump({"models": models, "seeds": args.seeds,
                               "n_threads": args.n_threads, "results": results}, f, indent=1)

        results = run(tables, models, args.seeds, args.data, args.n_threads, save=save)
        save(results)
    summary = aggregate(results, models)
    table = format_markdown(summary)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    if args.figure:
        plot(summary, args.figure)
    return summary


if __name__ == "__main__":
    main()
