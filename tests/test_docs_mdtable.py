"""docs/_ext/mdtable.py: the benchmarks' markdown tables become real tables in the docs."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs" / "_ext"))
pytest.importorskip("docutils")
import mdtable  # noqa: E402

TABLE = """| model | s | acc |
|---|---:|---:|
| **ours** | 1.5 | 0.9 |
| theirs | 3.0 | 0.8 |

- `recipe`: the defaults
"""


def test_header_alignment_rows_and_the_text_after():
    header, align, rows = mdtable.parse(TABLE)
    assert header == ["model", "s", "acc"]
    assert align == ["left", "right", "right"]
    assert rows == [["**ours**", "1.5", "0.9"], ["theirs", "3.0", "0.8"]]
    assert mdtable.trailing(TABLE) == ["", "- ``recipe``: the defaults"]


def test_a_row_of_the_wrong_width_is_an_error():
    with pytest.raises(ValueError, match="a row has 2 cells, the header 3"):
        mdtable.parse("| a | b | c |\n|---|---|---|\n| 1 | 2 |\n")


def test_the_table_node_has_every_cell_and_bold_winners():
    table = mdtable.build(*mdtable.parse(TABLE))
    text = table.astext()
    for cell in ("model", "ours", "1.5", "theirs", "0.8"):
        assert cell in text
    assert "**" not in text
    assert len(list(table.findall(lambda n: n.tagname == "strong"))) == 1


@pytest.mark.parametrize("name", ["tabular", "mlp", "memory"])
def test_every_results_table_parses(name):
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / f"{name}.md"
    header, align, rows = mdtable.parse(path.read_text())
    assert rows and all(len(r) == len(header) for r in rows)


@pytest.mark.parametrize("text, message", [
    ("| a | b |\n| 1 | 2 |\n| 3 | 4 |\n", "not the alignment row"),
    ("intro\n| a |\n|---|\n| 1 |\n", "text before the table"),
])
def test_a_malformed_table_is_an_error_not_a_lost_row(text, message):
    with pytest.raises(ValueError, match=message):
        mdtable.parse(text)


def test_a_second_table_is_text_after_the_first():
    header, _, rows = mdtable.parse("| a |\n|---|\n| 1 |\n\n| b |\n|---|\n| 2 |\n")
    assert header == ["a"] and rows == [["1"]]
