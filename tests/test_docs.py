"""The documentation builds with warnings as errors, and its code runs.

``test_sphinx_build`` runs the documented build command,

    python -m sphinx -W --keep-going -b html docs docs/_build/html

into a temporary folder, so CI fails on any Sphinx or numpydoc warning: a
docstring numpydoc cannot parse or that fails the validation checks set in
docs/conf.py, a broken reference, a page left out of the table of contents.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"


def test_sphinx_build(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    html = tmp_path / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(html)],
        capture_output=True, text=True, timeout=600, cwd=REPO_ROOT,
    )
    problems = "\n".join(
        line for line in (result.stderr + result.stdout).splitlines()
        if "WARNING" in line or "ERROR" in line or line.startswith("  ")
    )
    assert result.returncode == 0, f"the documentation build failed:\n{problems}\n{result.stderr}"
    for page in ("index", "install", "quickstart", "estimators", "engine", "embeddings",
                 "datasets", "cli", "performance", "scaling", "reliability", "examples",
                 "api"):
        assert (html / f"{page}.html").is_file(), page

    api = "".join(p.read_text(encoding="utf-8") for p in (html / "api").glob("*.html"))
    for name in ("sknumpynet.MLPClassifier", "sknumpynet.MLPRegressor", "sknumpynet.LinearSVM",
                 "sknumpynet.nn.Linear", "sknumpynet.nn.Adam", "sknumpynet.nn.SoftmaxCrossEntropy",
                 "sknumpynet.nn.check_module_gradients", "sknumpynet.datasets.fetch_fashion_mnist",
                 "sknumpynet.MLPClassifier.transform"):
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"


def test_api_reference_lists_every_public_name():
    import sknumpynet
    import sknumpynet.datasets
    import sknumpynet.nn

    text = (DOCS / "api.rst").read_text() + "".join(
        p.read_text() for p in (DOCS / "api").glob("*.rst")
    )
    modules = {"sknumpynet": sknumpynet, "sknumpynet.nn": sknumpynet.nn,
               "sknumpynet.datasets": sknumpynet.datasets}
    for module_name, module in modules.items():
        for name in module.__all__:
            if name.startswith("__"):
                continue
            assert re.search(rf"\b{re.escape(name)}\b", text), f"{module_name}.{name}"


def test_build_command_is_documented():
    command = "python -m sphinx -W --keep-going -b html docs docs/_build/html"
    assert command in (DOCS / "index.rst").read_text()


def test_every_page_is_in_a_toctree():
    index = (DOCS / "index.rst").read_text()
    for page in DOCS.glob("*.rst"):
        if page.stem != "index":
            assert f"\n   {page.stem}\n" in index, f"{page.name} is not in index.rst's toctree"


def python_blocks(page):
    """The ``.. code-block:: python`` blocks of a page, dedented."""
    blocks = []
    lines = (DOCS / page).read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 2  # the directive and the blank line after it
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            blocks.append("\n".join(body).strip() + "\n")
        else:
            i += 1
    return blocks


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("page", ["quickstart.rst", "engine.rst", "reliability.rst"])
def test_code_in_the_guide_runs(page, tmp_path, monkeypatch):
    """The guide's Python blocks run in order, in one namespace, as a reader would."""
    monkeypatch.chdir(tmp_path)  # the quick start saves a model file
    blocks = python_blocks(page)
    assert blocks
    namespace = {}
    for block in blocks:
        exec(compile(block, f"{page} block", "exec"), namespace)


def test_readme_examples_run():
    # README's Python blocks, in order, as one script (n_jobs=1 keeps it light)
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3, "README lost its examples"
    code = "\n".join(blocks).replace("n_jobs=2", "n_jobs=1")
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["embeddings"].shape == (len(namespace["X_test"]), 64)
    assert namespace["search"].best_score_ > 0.9
