"""The recipes of docs/tools.rst run as printed, each after the page's setup block.

Each section's Python blocks are taken from the page verbatim and run in a fresh
namespace after the first block (the data every recipe uses), in a temporary
folder. A warning fails the recipe, except a library's notice about its own
code (``upstream_notice``); a ``print`` whose line ends in ``# True`` must print
True. A recipe whose tool is not installed is skipped, naming the tool: optuna,
imbalanced-learn, skops and skl2onnx are in the ``test`` extra; MLflow and SHAP
are only in the ``tools`` extra (see ``HEAVY``).
"""

import importlib.util
import re
import sys
from pathlib import Path

import pytest
from snippets import run_snippet

PAGE = Path(__file__).resolve().parents[1] / "docs" / "tools.rst"

#: Tools left out of the ``test`` extra, with the reason the skip gives.
HEAVY = {
    "mlflow": "mlflow is not in the test extra (a fresh install is about 850 MB and 100 "
    "packages, about a minute); install it with .[tools] to run this recipe",
    "shap": "shap is not in the test extra (it needs Python >= 3.11 and numpy >= 2 and "
    "brings numba and llvmlite, about 210 MB, whose numpy cap would hold CI's "
    "numpy back); install it with .[tools] to run this recipe",
}


def sections():
    """{section title: [its ``.. code-block:: python`` bodies, dedented]}, in page order."""
    lines = PAGE.read_text(encoding="utf-8").splitlines()
    found, title, i = {}, "setup", 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i] and re.fullmatch(r"-{3,}", lines[i + 1]):
            title = lines[i]
        elif lines[i].strip() == ".. code-block:: python":
            i += 2  # the directive and the blank line after it
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            found.setdefault(title, []).append("\n".join(body).strip() + "\n")
            continue
        i += 1
    return found


def imported_modules(code):
    """The top-level package names a block imports."""
    names = re.findall(r"^(?:from|import)\s+([A-Za-z_]\w*)", code, re.M)
    return sorted(set(names))


def upstream_notice(caught):
    """Whether a warning is a tool's notice about its own code, not about the recipe.

    Deprecation notices raised inside an installed library other than
    sknumpynet (sqlalchemy's inside MLflow's tracking store, matplotlib's inside
    shap, optuna's about the ``optuna.terminator`` module that
    ``OptunaSearchCV`` uses), and optuna's
    ``ExperimentalWarning`` (it marks ``OptunaSearchCV`` experimental). Anything
    sknumpynet warns (a ``ConvergenceWarning``, say) is not one.
    """
    category = caught.category
    if (category.__module__, category.__name__) == ("optuna.exceptions", "ExperimentalWarning"):
        return True
    path = Path(caught.filename).parts
    return (
        issubclass(category, (DeprecationWarning, PendingDeprecationWarning, FutureWarning))
        and "site-packages" in path
        and "sknumpynet" not in path
    )


def run_recipe(code, name):
    """Run ``code`` in a fresh namespace; fail on a warning that is not an upstream
    notice, or on a ``print(...)  # True`` line that printed something else."""
    namespace, printed, caught = run_snippet(code, name)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not upstream_notice(w)]
    assert not shown, f"{name} printed {len(shown)} warnings, the first: {shown[0]}"
    for number, line in enumerate(code.splitlines(), start=1):
        if re.search(r"\bprint\(.*#\s*True\s*$", line):
            assert printed.get(number) == "True", f"{name} line {number}: {printed.get(number)}"
    return namespace


SECTIONS = sections()
RECIPES = [title for title in SECTIONS if title != "setup"]


def test_page_has_a_tested_recipe_for_every_tool():
    assert len(SECTIONS["setup"]) == 1
    assert RECIPES == [
        "MLflow",
        "Optuna: pruning through ``partial_fit``",
        "SHAP",
        "imbalanced-learn",
        "skops",
        "ONNX",
    ]
    text = PAGE.read_text(encoding="utf-8")
    assert "skops_trusted_types=sknumpynet.io.trusted_types()" in text
    assert "HyperbandSearchCV" in text and "enable_pruning=True" in text
    index = (PAGE.parent / "index.rst").read_text(encoding="utf-8")
    assert "\n   tools\n" in index


def test_tools_extra_installs_every_tool_of_the_page():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extras = tomllib.loads((PAGE.parents[1] / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    names = {re.split(r"[<>=\[ ;]", req)[0].lower() for req in extras["tools"]}
    assert {
        "mlflow",
        "optuna",
        "optuna-integration",
        "shap",
        "imbalanced-learn",
        "skops",
        "skl2onnx",
        "onnxruntime",
    } <= names
    tested = {re.split(r"[<>=\[ ;]", req)[0].lower() for req in extras["test"]}
    # every tool is either tested in CI or named in HEAVY with the reason it is not
    assert names - tested <= set(HEAVY)


@pytest.mark.parametrize("title", RECIPES)
def test_recipe_runs_as_printed(title, tmp_path, monkeypatch):
    code = "\n".join(SECTIONS[title])
    for module in imported_modules(code):
        if importlib.util.find_spec(module) is None:
            pytest.skip(HEAVY.get(module, f"{module} is not installed"))
    monkeypatch.chdir(tmp_path)  # MLflow's store, skops' file
    setup = SECTIONS["setup"][0]
    namespace = run_recipe(setup + "\n" + code, f"tools.rst {title}")
    assert namespace["X_test"].shape[1] == 64


def test_run_recipe_fails_on_sknumpynet_warnings_and_false_claims():
    with pytest.raises(AssertionError, match="ConvergenceWarning"):
        run_recipe(
            "from sknumpynet import MLPClassifier\n"
            "MLPClassifier(max_iter=1).fit([[0.0], [1.0]], [0, 1])\n",
            "snippet",
        )
    with pytest.raises(AssertionError, match="line 1: False"):
        run_recipe("print(1 == 2)  # True\n", "snippet")
    with pytest.raises(AssertionError, match="UserWarning"):
        run_recipe("import warnings\nwarnings.warn('loud')\n", "snippet")
    # a library's deprecation notice about its own internals passes; the same from
    # the recipe's own line, or from sknumpynet, does not
    library = str(Path(sys.prefix, "lib", "site-packages", "lib", "store.py"))
    notice = "import warnings\nwarnings.warn_explicit('old', DeprecationWarning, {!r}, 3)\n"
    run_recipe(notice.format(library), "snippet")
    for origin in ("snippet", library.replace("lib/store.py", "sknumpynet/io.py")):
        with pytest.raises(AssertionError, match="DeprecationWarning"):
            run_recipe(notice.format(origin), "snippet")
