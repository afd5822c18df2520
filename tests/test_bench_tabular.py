"""The tabular benchmark's aggregation, on a hand-made list of results (nothing is fitted)."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_tabular.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_tabular", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def record(table, task, model, seed, score, seconds=1.0):
    return {"table": table, "task": task, "model": model, "seed": seed, "score": score,
            "fit_seconds": None if score is None else seconds, "n_train": 1000,
            "s_per_1000_rows": None if score is None else seconds,
            "error": "ValueError: x" if score is None else None}


def results():
    rows = []
    # glass (half A, classification): means sknumpynet 0.7, sklearn 0.8, hgb 0.9
    for seed, (a, b, c) in enumerate([(0.6, 0.8, 0.9), (0.8, 0.8, 0.9)]):
        rows += [record("glass", "classification", "sknumpynet", seed, a, 2.0),
                 record("glass", "classification", "sklearn", seed, b, 4.0),
                 record("glass", "classification", "hgb", seed, c, 1.0)]
    # servo (half A, regression): sknumpynet 0.5 (one failed seed), sklearn 0.5, hgb fails
    rows += [record("servo", "regression", "sknumpynet", 0, 0.5, 2.0),
             record("servo", "regression", "sknumpynet", 1, None),
             record("servo", "regression", "sklearn", 0, 0.4, 6.0),
             record("servo", "regression", "sklearn", 1, 0.6, 6.0),
             record("servo", "regression", "hgb", 0, None),
             record("servo", "regression", "hgb", 1, None)]
    # pima (half B): sknumpynet beats sklearn
    rows += [record("pima", "classification", "sknumpynet", 0, 0.8, 3.0),
             record("pima", "classification", "sklearn", 0, 0.75, 5.0),
             record("pima", "classification", "hgb", 0, 0.7, 1.0)]
    return rows


def test_ranks_share_ties_and_put_failures_last(bench):
    ranks = bench.table_ranks({"a": 0.5, "b": 0.9, "c": 0.5, "d": None, "e": None})
    assert ranks == {"b": 1.0, "a": 2.5, "c": 2.5, "d": 4.5, "e": 4.5}


def test_aggregate_means_ranks_wins_and_relative_errors(bench):
    summary = bench.aggregate(results(), ["sknumpynet", "sklearn", "hgb"])
    assert summary["tables"] == ["glass", "servo", "pima"]
    assert summary["means"]["glass"] == pytest.approx(
        {"sknumpynet": 0.7, "sklearn": 0.8, "hgb": 0.9})
    assert summary["means"]["servo"]["sknumpynet"] == 0.5  # the failed seed left out
    assert summary["means"]["servo"]["hgb"] is None
    assert summary["failures"] == {"servo": {"sknumpynet": 1, "hgb": 2}}

    a, b, every = (summary["groups"][g] for g in ("A", "B", "all"))
    assert a["tables"] == ["glass", "servo"] and b["tables"] == ["pima"]
    # glass: hgb 1, sklearn 2, sknumpynet 3; servo: a tie at 1.5, hgb failed: 3
    assert a["mean_rank"] == {"sknumpynet": 2.25, "sklearn": 1.75, "hgb": 2.0}
    assert b["mean_rank"] == {"sknumpynet": 1.0, "sklearn": 2.0, "hgb": 3.0}
    assert every["mean_rank"]["sknumpynet"] == pytest.approx((3 + 1.5 + 1) / 3)
    assert a["wins"]["sknumpynet"] == {"wins": 0, "ties": 1, "losses": 1}
    assert a["wins"]["hgb"] == {"wins": 1, "ties": 0, "losses": 0}  # servo not compared
    assert every["wins"]["sknumpynet"] == {"wins": 1, "ties": 1, "losses": 1}
    # classification error over the reference's: glass 0.3 / 0.2, pima 0.2 / 0.25
    assert a["relative_error"]["sknumpynet"] == pytest.approx(1.5)
    assert every["relative_error"]["sknumpynet"] == pytest.approx((1.5 + 0.8) / 2)
    assert a["relative_regression_error"]["sknumpynet"] == pytest.approx(1.0)
    assert a["relative_regression_error"]["hgb"] is None
    assert a["median_s_per_1000_rows"] == {"sknumpynet": 2.0, "sklearn": 5.0, "hgb": 1.0}


def test_markdown_bolds_the_best_and_marks_failures(bench):
    text = bench.format_markdown(bench.aggregate(results(), ["sknumpynet", "sklearn", "hgb"]))
    assert "| glass | acc | A | 0.700 | 0.800 | **0.900** |" in text
    assert "| servo | R² | A | **0.500*** | **0.500** | fail |" in text
    assert "| wins-ties-losses vs scikit-learn MLP (all) | | | 1-1-1 | - | 1-0-1 |" in text


def test_from_json_reprints_without_fitting(bench, tmp_path, capsys):
    saved = tmp_path / "results.json"
    saved.write_text(json.dumps({"models": ["sknumpynet", "sklearn", "hgb"],
                                 "results": results()}))
    figure = tmp_path / "figure.png"
    summary = bench.main(["--from-json", str(saved), "--figure", str(figure)])
    assert summary["groups"]["B"]["mean_rank"]["sknumpynet"] == 1.0
    assert "mean rank (A)" in capsys.readouterr().out
    assert figure.stat().st_size > 0
