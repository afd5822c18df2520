"""Run every script in docs/examples/ on small settings, each in a subprocess.

The Fashion-MNIST examples read the files from the folder named by
``SKNUMPYNET_TEST_FASHION_MNIST``, else ``../shared/data/fashion-mnist`` next
to the repository, and are skipped when neither exists. The accuracy the
examples reach at their full settings is not asserted here (the settings are
far too small); only that they run and report what they should.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = REPO_ROOT / "docs" / "examples"


def fashion_mnist_dir():
    folder = os.environ.get("SKNUMPYNET_TEST_FASHION_MNIST")
    folder = Path(folder) if folder else REPO_ROOT.parent / "shared" / "data" / "fashion-mnist"
    if not (folder / "t10k-labels-idx1-ubyte.gz").exists() and not (
        folder / "t10k-labels-idx1-ubyte"
    ).exists():
        pytest.skip(f"Fashion-MNIST files not found in {folder}")
    return folder


def run_example(name, *args, timeout=300):
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, cwd=REPO_ROOT, env=env,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def accuracies(text, label):
    """Every float printed after ``label``."""
    return [float(v) for v in re.findall(re.escape(label) + r"\s*([01]\.\d+)", text)]


def assert_png(path):
    assert path.is_file(), path
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 10_000


def test_every_example_is_tested():
    tested = {
        "01_engine_by_hand.py", "02_learning_curves_fashion_mnist.py", "03_embeddings.py",
        "04_grid_search.py", "05_linear_svm_comparison.py",
    }
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_engine_by_hand():
    out = run_example("01_engine_by_hand.py", "--epochs", 3, "--max-samples", 600)
    match = re.search(r"backward ([-+]\d\.\d+), central difference ([-+]\d\.\d+)", out)
    assert match and abs(float(match[1]) - float(match[2])) < 1e-6
    errors = re.search(r"network max relative error (\S+), loss (\S+)", out)
    assert float(errors[1]) < 1e-6 and float(errors[2]) < 1e-6
    assert accuracies(out, "test accuracy")[-1] > 0.5


def test_learning_curves_fashion_mnist(tmp_path):
    data = fashion_mnist_dir()
    out = run_example("02_learning_curves_fashion_mnist.py", "--data", data,
                      "--max-samples", 1500, "--epochs", 3, "--out", tmp_path, "--quiet")
    assert "1500 training and 1500 test images" in out
    assert 0.0 < accuracies(out, "test accuracy:")[0] <= 1.0
    assert_png(tmp_path / "learning_curves_fashion_mnist.png")


def test_embeddings(tmp_path):
    out = run_example("03_embeddings.py", "--n-images", 300, "--epochs", 10, "--out", tmp_path)
    assert "embeddings: 64 features" in out
    pixels = accuracies(out, "from raw pixels:")
    embeddings = accuracies(out, "from embeddings:")
    assert len(pixels) == len(embeddings) == 1
    assert 0.5 < pixels[0] <= 1.0 and 0.5 < embeddings[0] <= 1.0
    assert_png(tmp_path / "embeddings_tsne.png")


def test_grid_search():
    out = run_example("04_grid_search.py", "--epochs", 3, "--cv", 2, "--max-samples", 400)
    assert "16 fits (2-fold cross-validation of 8 settings)" in out
    table = out.split("\n\n")[1].splitlines()
    assert table[0].split()[:4] == ["rank", "mean", "accuracy", "std"]
    assert len(table) == 2 + 8  # header, rule, one row per setting
    assert "best: {" in out
    assert 0.0 <= accuracies(out, "refitted best model")[0] <= 1.0


def test_linear_svm_comparison():
    data = fashion_mnist_dir()
    out = run_example("05_linear_svm_comparison.py", "--data", data, "--max-samples", 1000,
                      "--max-test-samples", 1000, "--epochs", 3)
    for name in ("sknumpynet LinearSVM", "scikit-learn LinearSVC",
                 "scikit-learn SGDClassifier"):
        row = [line for line in out.splitlines() if line.startswith(name + " ")]
        assert len(row) == 1, name
        test_acc, train_acc, seconds = map(float, row[0][len(name):].split())
        assert 0.0 <= test_acc <= 1.0 and 0.0 <= train_acc <= 1.0 and seconds >= 0


def test_mlp_benchmark_runs_and_reports_every_system(tmp_path):
    # the documented benchmark command, on a few rows: it runs, interleaves
    # the repeats and writes its report (timings are not asserted: shared machine)
    folder = fashion_mnist_dir()
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_mlp.py"), "--data", str(folder),
         "--max-samples", "600", "--epochs", "2", "--predict-rows", "3000", "--repeats", "2",
         "--systems", "sknumpynet,sklearn", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=REPO_ROOT,
        env=dict(os.environ, MPLBACKEND="Agg"),
    )
    assert result.returncode == 0, result.stderr
    report = json.loads((tmp_path / "bench_mlp.json").read_text())
    systems = {r["system"]: r for r in report["results"]}
    assert set(systems) == {"sknumpynet", "sklearn"}
    for r in systems.values():
        assert len(r["runs"]) == 2 and len(r["epoch_seconds"]) == 2
        # 600 rows, 2 epochs: 0.63 and 0.60 seen, chance is 0.1
        assert r["median_epoch_seconds"] > 0 and 0.45 < r["test_accuracy"] <= 1
        assert r["predict_rows_per_s"] > 0
    assert systems["sknumpynet"]["time_ratio_to_sknumpynet"] == 1.0
    assert report["gemm_floor_seconds"] > 0 and report["gflop_per_epoch"] == pytest.approx(
        6 * 600 * (784 * 256 + 256 * 128 + 128 * 10) / 1e9
    )
    assert "the GEMM floor" in result.stdout and "median of 2 interleaved runs" in result.stdout
