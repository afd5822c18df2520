"""``.. md-table:: path``: a benchmark's markdown table as a real table.

The benchmarks write their tables as pipe-markdown (``| a | b |``), which
README-style readers and the tests read; this directive turns one into a
docutils table, so the HTML pages show a table that fits the page, not a
text block that scrolls sideways. Columns aligned right in the markdown
(``---:``) are aligned right here too. Text after the table (a note, a
bullet list) follows it as reStructuredText, its `code` as ``code``.
"""

import re
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


def parse(text):
    """Header, alignments ("left"/"right") and rows of a pipe-markdown table."""
    lines = _split(text)[0]
    if len(lines) < 2:
        raise ValueError("not a markdown table: fewer than two '|' lines")
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    header, rule, rows = cells[0], cells[1], cells[2:]
    if not all(re.fullmatch(r":?-{3,}:?", c) for c in rule) or len(rule) != len(header):
        raise ValueError(f"the second line is not the alignment row of the header: {lines[1]}")
    align = ["right" if c.endswith(":") and not c.startswith(":") else "left" for c in rule]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells, the header {len(header)}")
    return header, align, rows


def _split(text):
    """The table (the first run of ``|`` lines, stripped) and the lines after it."""
    lines = text.splitlines()
    table = [line.strip().startswith("|") for line in lines]
    start = table.index(True) if True in table else len(lines)
    if any(line.strip() for line in lines[:start]):
        raise ValueError("text before the table")
    end = table.index(False, start) if False in table[start:] else len(lines)
    return [line.strip() for line in lines[start:end]], lines[end:]


def trailing(text):
    """The lines after the table, markdown's `code` made reStructuredText's ``code``."""
    return [re.sub(r"(?<!`)`([^`]+)`(?!`)", r"``\1``", line) for line in _split(text)[1]]


def _cell(text, align, bold):
    entry = nodes.entry()
    para = nodes.paragraph()
    if align == "right":
        entry["classes"].append("text-right")
    text = text.replace("**", "")
    para += nodes.strong(text=text) if bold else nodes.Text(text)
    entry += para
    return entry


def build(header, align, rows):
    """A docutils table node."""
    table = nodes.table(classes=["md-table"])
    group = nodes.tgroup(cols=len(header))
    table += group
    for _ in header:
        group += nodes.colspec(colwidth=1)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for text, a in zip(header, align):
        row += _cell(text, a, bold=False)
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        for text, a in zip(cells, align):
            row += _cell(text, a, bold=text.startswith("**") and text.endswith("**"))
        body += row
    return table


class MarkdownTable(Directive):
    required_arguments = 1
    has_content = False

    def run(self):
        env = self.state.document.settings.env
        _, path = env.relfn2path(self.arguments[0])
        env.note_dependency(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
            header, align, rows = parse(text)
        except (OSError, ValueError) as exc:
            raise self.error(f"md-table {self.arguments[0]}: {exc}") from None
        result = [build(header, align, rows)]
        after = trailing(text)
        if after:
            container = nodes.container()
            self.state.nested_parse(StringList(after, path), 0, container)
            result += container.children
        return result


def setup(app):
    app.add_directive("md-table", MarkdownTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
