"""The examples' format, and the documented benchmark command on a few rows.

The examples themselves run in the documentation build (sphinx-gallery), at
their small default settings; tests/test_docs.py checks what their pages
print and draw. The benchmark reads Fashion-MNIST from the folder named by
``SKNUMPYNET_TEST_FASHION_MNIST``, else ``../shared/data/fashion-mnist`` next
to the repository, and is skipped when neither exists.
"""

import ast
import json
import os
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


def test_every_example_is_in_sphinx_gallery_format():
    # the docs build runs each one and tests/test_docs.py checks what its
    # gallery page prints and draws; here only the file format
    names = sorted(p.name for p in EXAMPLES.glob("*.py"))
    assert names == [
        "01_engine_by_hand.py", "02_learning_curves_fashion_mnist.py", "03_embeddings.py",
        "04_grid_search.py", "05_linear_svm_comparison.py",
    ]
    for name in names:
        source = (EXAMPLES / name).read_text(encoding="utf-8")
        docstring = ast.get_docstring(ast.parse(source), clean=False)
        lines = docstring.strip("\n").splitlines()
        assert len(lines) > 2 and set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0]), name
        assert source.count("\n# %%\n") >= 2, f"{name} has fewer than two cells"
        assert 'os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"' in source, name


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
    report = json.loads((tmp_path / "mlp.json").read_text())
    systems = {r["system"]: r for r in report["results"]}
    assert set(systems) == {"sknumpynet", "sklearn"}
    for r in systems.values():
        assert len(r["runs"]) == 2 and all(run["epoch_seconds"] > 0 for run in r["runs"])
        # 600 rows, 2 epochs: 0.63 and 0.60 seen, chance is 0.1
        assert r["median_epoch_seconds"] > 0 and 0.45 < r["mean_test_accuracy"] <= 1
        assert r["predict_rows_per_s"] > 0
    assert systems["sknumpynet"]["time_ratio_to_sknumpynet"] == 1.0
    assert report["gemm_floor_seconds"] > 0 and report["gflop_per_epoch"] == pytest.approx(
        6 * 600 * (784 * 256 + 256 * 128 + 128 * 10) / 1e9
    )
    assert "the GEMM floor" in result.stdout and "median of 2 interleaved runs" in result.stdout
