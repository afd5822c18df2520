"""No function in the package is over 80 lines of code (docstrings, comments
and blank lines not counted).
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sknumpynet"
MODULES = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py"))
LIMIT = 80


def code_lines(source):
    """Line numbers holding code: not blank, not only a comment, not a docstring."""
    tree = ast.parse(source)
    docstring_lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant
            ) and isinstance(body[0].value.value, str):
                docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    lines = set()
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                        tokenize.DEDENT, tokenize.ENDMARKER):
            continue
        lines.update(range(tok.start[0], tok.end[0] + 1))
    return lines - docstring_lines


def function_lengths(source):
    """(name, lines of code) of every function, nested ones counted in their parent too."""
    code = code_lines(source)
    return [
        (node.name, sum(1 for n in range(node.lineno, node.end_lineno + 1) if n in code))
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]


def test_counter_ignores_docstrings_and_comments():
    source = 'def f(x):\n    """Doc.\n\n    More.\n    """\n    # why\n\n    return (x +\n  1)\n'
    assert function_lengths(source) == [("f", 3)]  # def, return, continuation


@pytest.mark.parametrize("module", MODULES)
def test_no_function_over_80_lines_of_code(module):
    source = (PACKAGE / module).read_text(encoding="utf-8")
    long = [(name, n) for name, n in function_lengths(source) if n > LIMIT]
    assert not long, f"{module}: functions over {LIMIT} lines of code: {long}"
