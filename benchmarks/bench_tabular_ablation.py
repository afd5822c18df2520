"""Ablation of the tabular recipe: each ingredient of TabularMLP's defaults taken out in turn.

Each variant is ``TabularMLPClassifier``/``TabularMLPRegressor`` with one
parameter changed from the published RealMLP-TD-S default (or, for
``pbld``, one ingredient of the fuller RealMLP-TD added); the table gives
the mean test score per table (accuracy or R^2, means over seeds of 75/25
splits, the same splits as ``bench_tabular.py``) and, per variant, the mean
change against the full recipe, the number of tables it loses on, and fit
seconds. Run on half A (the tables looked at while building) by default;
``--half B`` confirms on the held-out half.

    python benchmarks/bench_tabular_ablation.py --half A --seeds 3

``--variants pbld --add-to results/tabular_ablation_A.json`` adds one variant
to an earlier run (the recipe is fitted again and must score the same).
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_tabular import DEFAULT_DATA, half_of, load_table, table_names  # noqa: E402

#: name -> (parameters changed from the defaults, what is taken out)
VARIANTS = {
    "recipe": ({}, "RealMLP-TD-S as published (the defaults)"),
    "pbld": ({"numeric_embedding": "pbld"},
             "added: RealMLP-TD's periodic embeddings of the numeric columns"),
    "no_ntk": ({"parametrization": "standard"}, "standard parametrisation, He init"),
    "relu": ({"activation": "relu"}, "ReLU instead of SELU / Mish"),
    "no_scale_lr": ({"scale_lr_factor": 1.0}, "scale layer at the base rate (not 6x)"),
    "no_smoothing": ({"label_smoothing": 0.0}, "no label smoothing (classification)"),
    "constant_lr": ({"lr_schedule": "constant", "learning_rate_init": 0.01},
                    "constant rate 0.01 instead of coslog4"),
    "beta2_999": ({"beta_2": 0.999}, "Adam beta_2 0.999 instead of 0.95"),
    "last_epoch": ({"early_stopping": False}, "last epoch on all rows, no best-epoch choice"),
    "bag5": ({}, "added: 5 networks, each fitted on 4 of 5 folds of the training rows with "
                 "the fifth as X_val (its best epoch), their predictions averaged"),
}
#: variants that are cross-fitted ensembles of the recipe: number of folds
CROSS_FIT = {"bag5": 5}


def cross_fit(cls, X, y, folds, seed, classification, **params):
    """``folds`` members, member j fitted on every fold but the j-th, which is its X_val.

    Every training row trains all members but one and picks one member's best
    epoch, where a single network holds a fifth of the rows out for that.

    Returns
    -------
    members : list of fitted estimators
    """
    from sklearn.model_selection import KFold, StratifiedKFold

    split = (StratifiedKFold if classification else KFold)(folds, shuffle=True,
                                                           random_state=seed)
    rows = X.iloc if hasattr(X, "iloc") else X
    y = np.asarray(y)
    return [
        cls(random_state=seed * folds + j, n_threads=1, **params).fit(
            rows[fit], y[fit], X_val=rows[val], y_val=y[val])
        for j, (fit, val) in enumerate(split.split(np.zeros(len(y)), y))
    ]


def ensemble_score(members, X, y, classification):
    """Accuracy of the averaged probabilities, or R^2 of the averaged predictions."""
    from sklearn.metrics import accuracy_score, r2_score

    if classification:
        classes = members[0].classes_
        if any(not np.array_equal(m.classes_, classes) for m in members):
            raise ValueError("A fold lacks a class: the members' classes differ.")
        mean = np.mean([m.predict_proba(X) for m in members], axis=0)
        return float(accuracy_score(y, classes[mean.argmax(axis=1)]))
    return float(r2_score(y, np.mean([m.predict(X) for m in members], axis=0)))


def fit_score(X, y, task, params, seed, folds=None):
    """Test score and fit seconds of one variant (``folds``: cross-fitted) on one 75/25 split."""
    from sklearn.model_selection import train_test_split

    from sknumpynet import TabularMLPClassifier, TabularMLPRegressor

    classification = task == "classification"
    cls = TabularMLPClassifier if classification else TabularMLPRegressor
    if not classification:
        params = {k: v for k, v in params.items() if k != "label_smoothing"}
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.25, random_state=seed, stratify=y if classification else None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        if folds:
            members = cross_fit(cls, X_tr, y_tr, folds, seed, classification, **params)
            seconds = time.perf_counter() - start
            return ensemble_score(members, X_te, np.asarray(y_te), classification), seconds
        model = cls(random_state=seed, n_threads=1, **params).fit(X_tr, y_tr)
        seconds = time.perf_counter() - start
    return float(model.score(X_te, y_te)), seconds


def run(tables, variants, seeds, data, log=print):
    results = []
    for table in tables:
        X, y, task = load_table(table, data)
        for seed in range(seeds):
            for name in variants:
                params = VARIANTS[name][0]
                if name == "no_smoothing" and task != "classification":
                    continue
                score, seconds = fit_score(X, y, task, params, seed, CROSS_FIT.get(name))
                results.append({"table": table, "task": task, "variant": name, "seed": seed,
                                "score": score, "fit_seconds": seconds})
                log(f"{table:14s} seed {seed} {name:13s} {score:.4f} {seconds:6.2f}s", flush=True)
    return results


def add_variants(earlier, new):
    """``earlier``'s results with ``new``'s variants (other than the recipe) in their place.

    The recipe must score the same on every split in both: the same code, so
    the variants compare with the same baseline.
    """
    base = {(r["table"], r["seed"]): r["score"] for r in earlier if r["variant"] == "recipe"}
    for r in new:
        if r["variant"] == "recipe" and base.get((r["table"], r["seed"])) != r["score"]:
            raise ValueError(
                f"The recipe scores {r['score']} on {r['table']} seed {r['seed']}, the earlier "
                f"run {base.get((r['table'], r['seed']))}: the code changed, rerun every variant."
            )
    added = {r["variant"] for r in new} - {"recipe"}
    return [r for r in earlier if r["variant"] not in added] + [
        r for r in new if r["variant"] in added]


def summarise(results, variants):
    """Markdown: mean score per table and variant, then mean change vs the recipe."""
    tables = list(dict.fromkeys(r["table"] for r in results))
    mean = {(t, v): np.mean([r["score"] for r in results if r["table"] == t
                             and r["variant"] == v] or [np.nan])
            for t in tables for v in variants}
    lines = ["| table | " + " | ".join(variants) + " |",
             "|---|" + "---:|" * len(variants)]
    for t in tables:
        lines.append(f"| {t} | " + " | ".join(
            "" if np.isnan(mean[t, v]) else f"{mean[t, v]:.3f}" for v in variants) + " |")
    change, losses, secs = [], [], []
    for v in variants:
        deltas = [mean[t, v] - mean[t, "recipe"] for t in tables if not np.isnan(mean[t, v])]
        change.append(f"{np.mean(deltas):+.4f}")
        losses.append(f"{sum(d < 0 for d in deltas)}/{len(deltas)}")
        secs.append(f"{np.mean([r['fit_seconds'] for r in results if r['variant'] == v]):.2f}")
    lines.append("| mean change vs recipe | " + " | ".join(change) + " |")
    lines.append("| tables worse than recipe | " + " | ".join(losses) + " |")
    lines.append("| mean fit seconds | " + " | ".join(secs) + " |")
    legend = [f"- `{v}`: {VARIANTS[v][1]}" for v in variants]
    return "\n".join(lines + [""] + legend)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--half", choices=("A", "B"), default="A")
    parser.add_argument("--tables", nargs="*", default=None)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None, help="JSON of every per-seed result")
    parser.add_argument("--from-json", default=None)
    parser.add_argument("--markdown", default=None, help="also write the table to this file")
    parser.add_argument("--add-to", default=None,
                        help="a JSON of an earlier run: add this run's variants to it, after "
                        "checking that the recipe scores the same on every split")
    args = parser.parse_args(argv)
    variants = ["recipe"] + [v for v in args.variants if v != "recipe"]
    if args.from_json:
        results = json.loads(Path(args.from_json).read_text())["results"]
    else:
        from threadpoolctl import threadpool_limits

        tables = args.tables or [t for t in table_names(args.data) if half_of(t) == args.half]
        with threadpool_limits(1):
            results = run(tables, variants, args.seeds, args.data)
        if args.out:
            Path(args.out).write_text(json.dumps({"results": results}, indent=1))
        if args.add_to:
            results = add_variants(json.loads(Path(args.add_to).read_text())["results"], results)
            Path(args.add_to).write_text(json.dumps({"results": results}, indent=1))
            present = {r["variant"] for r in results}
            variants = [v for v in VARIANTS if v in present]
    table = summarise(results, variants)
    print(table)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")


if __name__ == "__main__":
    main()
