"""The performance page's tables are what the benchmarks' JSON says (benchmarks/perf_tables.py)."""

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "perf_tables.py"


def _load():
    spec = importlib.util.spec_from_file_location("perf_tables", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


perf_tables = _load()
PRESENT = [
    name
    for name, (source, _) in perf_tables.TABLES.items()
    if (perf_tables.RESULTS / source).exists()
]


@pytest.mark.parametrize("name", PRESENT)
def test_each_table_is_its_json_now(name):
    path = perf_tables.RESULTS / f"{name}.md"
    assert path.exists(), f"run python benchmarks/perf_tables.py to write {path.name}"
    assert path.read_text() == perf_tables.render(name), (
        f"{path.name} is stale: run python benchmarks/perf_tables.py"
    )


def test_the_performance_page_shows_every_table():
    page = (REPO / "docs" / "performance.rst").read_text()
    for name in PRESENT:
        assert f".. md-table:: ../benchmarks/results/{name}.md" in page, name


def test_a_table_follows_its_json(tmp_path):
    """Change a number in the JSON and the table changes with it."""
    report = json.loads((perf_tables.RESULTS / "mlp.json").read_text())
    (tmp_path / "mlp.json").write_text(json.dumps(report))
    before = perf_tables.render("mlp", tmp_path)
    report["results"][0]["median_epoch_seconds"] = 123.456
    (tmp_path / "mlp.json").write_text(json.dumps(report))
    after = perf_tables.render("mlp", tmp_path)
    assert "123.456" in after and "123.456" not in before
