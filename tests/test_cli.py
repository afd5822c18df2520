"""Tests for the command line, ``python -m sknumpynet``, and the demo it runs."""

import json
import subprocess
import sys

import joblib
import numpy as np
import pytest

from sknumpynet.__main__ import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FIGURES = ["learning_curves.png", "predictions.png", "confusion_matrix.png", "embeddings.png"]


def run_cli(*args, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "sknumpynet", *args],
        capture_output=True, text=True, timeout=timeout,
    )


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_help_lists_the_demo_command():
    result = run_cli("--help")
    assert result.returncode == 0
    assert "usage: sknumpynet" in result.stdout
    assert "demo" in result.stdout
    assert result.stderr == ""


def test_demo_help_explains_every_option():
    result = run_cli("demo", "--help")
    assert result.returncode == 0
    for option in ("--dataset", "--epochs", "--out", "--data-home", "--max-samples", "--seed"):
        assert option in result.stdout
    for choice in ("digits", "fashion-mnist", "mnist"):
        assert choice in result.stdout
    assert "learning_curves.png" in result.stdout


def test_version(capsys):
    from sknumpynet import __version__

    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["demo", "--dataset", "cifar"], "invalid choice: 'cifar'"),
        (["demo", "--epochs", "-3"], "--epochs: must be a positive integer"),
        (["demo", "--epochs", "0"], "--epochs: must be a positive integer"),
        (["demo", "--epochs", "many"], "--epochs: expected a positive integer"),
        (["demo", "--max-samples", "5"], "--max-samples: must be at least 20"),
        (["demo", "--hidden", "64,x"], "--hidden: expected comma-separated"),
        (["demo", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["train"], "invalid choice: 'train'"),
        ([], "missing command"),
    ],
)
def test_bad_arguments_give_one_line_error(args, fragment, capsys):
    status = main(args)
    captured = capsys.readouterr()
    assert status == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("sknumpynet")
    assert "error:" in lines[0]
    assert fragment in lines[0]


def test_bad_arguments_exit_non_zero_in_a_subprocess():
    result = run_cli("demo", "--epochs", "-1")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--epochs" in result.stderr
    assert "Traceback" not in result.stderr


def test_unavailable_data_is_a_one_line_error(tmp_path, monkeypatch, capsys):
    pytest.importorskip("matplotlib")
    from sknumpynet import datasets

    # no folder holds the files and every download fails at once
    monkeypatch.setenv("SKNUMPYNET_DATA", str(tmp_path / "nothing"))
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path / "sklearn-cache"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", {"fashion-mnist": [], "mnist": []})
    monkeypatch.setattr(datasets, "MIRRORS", {"fashion-mnist": ["http://127.0.0.1:9/"],
                                              "mnist": ["http://127.0.0.1:9/"]})
    status = main(["demo", "--dataset", "fashion-mnist", "--data-home", str(tmp_path / "d"),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("sknumpynet demo: error: could not load Fashion-MNIST")
    assert "--data-home" in err


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One short demo on digits, in-process, shared by the tests below."""
    pytest.importorskip("matplotlib")
    from sknumpynet._demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    result = run_demo("digits", epochs=3, out=out, progress=False, stream=None)
    return out, result


def test_demo_writes_valid_pngs(demo_run):
    out, result = demo_run
    for name in FIGURES:
        path = out / name
        assert path.is_file(), name
        width, height = png_size(path)
        assert width >= 400 and height >= 300, (name, width, height)
        assert path.stat().st_size > 10_000, name  # not a blank canvas
    assert {p.name for k, p in result.files.items() if p.suffix == ".png"} == set(FIGURES)


def test_demo_model_loads_and_predicts_the_same(demo_run):
    out, result = demo_run
    model = joblib.load(out / "model.joblib")
    np.testing.assert_array_equal(model.predict(result.X_test), result.y_pred)
    accuracy = np.mean(model.predict(result.X_test) == result.y_test)
    assert accuracy > 0.5  # three epochs on digits already learn a lot
    saved = json.loads((out / "results.json").read_text())
    ours = [r for r in saved["results"]
            if r["library"] == "sknumpynet" and r["estimator"] == "MLPClassifier"]
    assert ours[0]["accuracy"] == pytest.approx(accuracy)
    assert saved["settings"]["epochs"] == 3


def test_demo_compares_with_scikit_learn(demo_run):
    _, result = demo_run
    pairs = {(r["model"], r["library"]) for r in result.rows}
    assert pairs == {("MLP", "sknumpynet"), ("MLP", "scikit-learn"),
                     ("linear SVM", "sknumpynet"), ("linear SVM", "scikit-learn")}
    for row in result.rows:
        if row["accuracy"] is not None:
            assert 0.0 <= row["accuracy"] <= 1.0
            assert row["fit_seconds"] > 0


def test_table_has_fixed_width_columns():
    from sknumpynet._demo import format_table

    rows = [
        {"model": "MLP", "library": "sknumpynet", "estimator": "MLPClassifier",
         "accuracy": 0.97, "fit_seconds": 1.5, "epochs": 30},
        {"model": "MLP", "library": "scikit-learn", "estimator": "MLPClassifier",
         "accuracy": 0.965, "fit_seconds": 12.25, "epochs": 27},
        {"model": "linear SVM", "library": "sknumpynet", "estimator": "LinearSVM",
         "accuracy": None, "fit_seconds": None, "epochs": None},
        {"model": "linear SVM", "library": "scikit-learn", "estimator": "LinearSVC",
         "accuracy": 0.96, "fit_seconds": 0.05, "epochs": None},
    ]
    lines = format_table(rows).splitlines()
    body = lines[1:5]  # the column header, the rule and the two model rows
    assert len({len(line.rstrip()) for line in body[:2]}) == 1
    header = lines[1]
    mlp = lines[3]
    # each accuracy ends under the right end of its header
    first = header.index("accuracy") + len("accuracy")
    assert mlp[first - 6:first] == "0.9700"
    second = header.index("accuracy", first) + len("accuracy")
    assert mlp[second - 6:second] == "0.9650"
    assert "n/a" in lines[4]


def test_demo_command_end_to_end(tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo out"
    result = run_cli("demo", "--dataset", "digits", "--epochs", "3", "--out", str(out),
                     "--map", "pca", timeout=300)
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "scikit-learn" in result.stdout
    for name in FIGURES + ["model.joblib", "results.json"]:
        assert (out / name).is_file(), name
    for name in FIGURES:
        png_size(out / name)
