"""docs/architecture.rst describes the package as it is: its modules and its import layers."""

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "sknumpynet"
PAGE = (REPO / "docs" / "architecture.rst").read_text(encoding="utf-8")

#: The layers of the page's "Which way the imports run", top first: a module
#: imports from its own layer or the ones above, never below.
LAYERS = [
    {"nn"},
    {"_compat", "_runtime", "_array_api"},
    {"_training", "_epoch_hooks"},
    {"_base", "_classifier"},
    {"_mlp", "_tabular", "_tabular_data", "_linear_svm"},
    {"io", "onnx", "_onnx_tabular"},
    {"__init__", "_demo", "__main__"},
]
#: Modules that import nothing from the package.
LEAVES = {"datasets", "_plotting", "_tabular_data"}
ESTIMATORS = {"_mlp", "_tabular", "_linear_svm"}


def unit(path):
    """The page's name for a module: its first component under sknumpynet/."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def imported_units(path):
    """The units of sknumpynet a module imports (anywhere in it, lazy imports too)."""
    package = ["sknumpynet", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module == "sknumpynet":  # from . import nn
                found |= {f"sknumpynet.{a.name}" for a in node.names}
            elif module.startswith("sknumpynet."):
                found.add(module)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("sknumpynet.")}
    return {name.split(".")[1] for name in found if "." in name}


def layer_of(name):
    return next((i for i, layer in enumerate(LAYERS) if name in layer), None)


def test_every_module_of_the_package_is_on_the_page():
    block = PAGE.split("The modules\n-----------")[1].split("Which way")[0]
    for path in sorted(PACKAGE.glob("*.py")) + sorted(PACKAGE.glob("nn/*.py")):
        if path.stem == "_svm" and "Where :class:" in path.read_text():
            continue  # a shim re-exporting the _linear_svm package's names for old pickles
        assert re.search(rf"\b{re.escape(path.name)}\b", block), f"{path} is not on the page"
    for path in sorted((PACKAGE / "_linear_svm").glob("*.py")):
        if path.stem != "__init__":
            assert f"``{path.name}``" in block, f"{path} is not on the page"
    for name in re.findall(r"^\s+(\w+\.py)\s", block, re.M):
        assert list(PACKAGE.rglob(name)), f"the page names {name}, which does not exist"


def test_imports_run_the_way_the_page_says():
    for layer in LAYERS:
        for name in layer:
            assert name in PAGE, name
    for path in sorted(PACKAGE.rglob("*.py")):
        me = unit(path) if path.parent != PACKAGE or path.stem != "__init__" else "__init__"
        if me == "_svm":
            me = "_linear_svm"
        imports = imported_units(path) - {me}
        if me in LEAVES:
            assert not imports, f"{path} imports {imports}; the page says it imports nothing"
        if me in ESTIMATORS:
            assert not imports & ESTIMATORS, f"{path} imports another estimator: {imports}"
        mine = layer_of(me)
        if mine is None:
            continue  # datasets, _plotting: leaves, checked above
        for other in imports:
            theirs = layer_of(other)
            assert theirs is None or theirs <= mine, (
                f"{path.relative_to(REPO)} imports {other}, which the page puts below it"
            )


def test_imported_units_reads_relative_imports():
    # the checker itself: one level up from nn/, and "from . import nn"
    assert imported_units(PACKAGE / "_base.py") >= {"nn", "_training", "_epoch_hooks"}
    assert "nn" in imported_units(PACKAGE / "nn" / "layers.py")
