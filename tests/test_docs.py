"""The documentation builds with warnings as errors, and its code runs.

``test_sphinx_build`` runs the documented build command,

    python -m sphinx -W --keep-going -b html docs docs/_build/html

into a temporary folder, so CI fails on any Sphinx or numpydoc warning: a
docstring numpydoc cannot parse or that fails the validation checks set in
docs/conf.py, a broken reference, a page left out of the table of contents.
"""

import html as html_module
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from snippets import run_snippet

REPO_ROOT = Path(__file__).resolve().parents[1]
DOCS = REPO_ROOT / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory):
    """The documentation, built once for this module as the documented command builds it."""
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("sphinx_gallery")
    pytest.importorskip("pydata_sphinx_theme")
    pytest.importorskip("matplotlib")
    tmp = tmp_path_factory.mktemp("docs")
    out = tmp / "html"
    env = {k: v for k, v in os.environ.items() if k != "SKNUMPYNET_EXAMPLES"}  # small settings
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
         "-d", str(tmp / "doctrees"), str(DOCS), str(out),
         # sphinx-gallery keeps docs/auto_examples between builds and skips the
         # examples it ran before: run them all, so that their outputs are fresh
         "-D", "sphinx_gallery_conf.run_stale_examples=1"],
        capture_output=True, text=True, timeout=900, cwd=REPO_ROOT, env=env,
    )
    problems = "\n".join(
        line for line in (result.stderr + result.stdout).splitlines()
        if "WARNING" in line or "ERROR" in line or line.startswith("  ")
    )
    assert result.returncode == 0, f"the documentation build failed:\n{problems}\n{result.stderr}"
    (tmp / "build.log").write_text(result.stdout + result.stderr, encoding="utf-8")
    return out


def page_text(path):
    """The visible text of an HTML page, tags stripped and entities decoded."""
    return html_module.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


def content_images(page):
    """The figures a page shows: <img> sources under _images/, not theme icons."""
    return re.findall(r'<img [^>]*src="(?:\.\./)*(_images/[^"]+\.png)"',
                      page.read_text(encoding="utf-8"))


def test_sphinx_build(html):
    for page in ("index", "install", "quickstart", "estimators", "engine", "embeddings",
                 "datasets", "cli", "performance", "scaling", "reliability", "monitoring",
                 "coming_from_sklearn", "deploying", "auto_examples/index", "api"):
        assert (html / f"{page}.html").is_file(), page

    api = "".join(p.read_text(encoding="utf-8") for p in (html / "api").glob("*.html"))
    for name in ("sknumpynet.MLPClassifier", "sknumpynet.MLPRegressor", "sknumpynet.LinearSVM",
                 "sknumpynet.nn.Linear", "sknumpynet.nn.Adam", "sknumpynet.nn.SoftmaxCrossEntropy",
                 "sknumpynet.nn.check_module_gradients", "sknumpynet.datasets.fetch_fashion_mnist",
                 "sknumpynet.MLPClassifier.transform"):
        assert f'id="{name}"' in api, f"{name} is missing from the API reference"


def test_left_sidebar_lists_the_user_guide_on_every_page(html):
    # pydata-sphinx-theme's own section navigation shows only the children of
    # the current top-level page: empty on every user-guide page, all top-level
    guide = re.findall(r"^   (\w+)$", (DOCS / "index.rst").read_text(), re.M)
    assert "quickstart" in guide and "reliability" in guide
    for page in ("quickstart.html", "reliability.html", "auto_examples/01_engine_by_hand.html",
                 "api/nn.html"):
        text = (html / page).read_text(encoding="utf-8")
        nav = re.search(r'<nav class="bd-docs-nav bd-links".*?</nav>', text, re.S)
        assert nav, f"{page} has no left sidebar"
        links = {Path(h).stem for h in re.findall(r'href="([^"#]+)\.html"', nav[0])}
        missing = set(guide) - links - {Path(page).stem}
        assert not missing, f"{page}'s sidebar does not link to {sorted(missing)}"


def test_index_shows_a_figure_with_alt_text(html):
    text = (html / "index.html").read_text(encoding="utf-8")
    images = re.findall(r"<img [^>]*>", text)
    shown = [i for i in images if "_images/" in i]
    assert shown, "the index page shows no figure"
    for image in shown:
        src = re.search(r'src="([^"]+)"', image)[1]
        assert (html / src).stat().st_size > 10_000, src
        alt = re.search(r'alt="([^"]*)"', image)
        assert alt and len(alt[1]) > 40, f"{src} has no alt text worth the name"


EXAMPLES = sorted(p.stem for p in (DOCS / "examples").glob("[0-9][0-9]_*.py"))


def test_every_example_is_a_gallery_page_with_figures_output_and_download(html):
    assert len(EXAMPLES) == 5
    index = (html / "auto_examples" / "index.html").read_text(encoding="utf-8")
    for name in EXAMPLES:
        page = html / "auto_examples" / f"{name}.html"
        assert page.is_file(), name
        text = page.read_text(encoding="utf-8")
        assert f"sphx_glr_{name}_thumb.png" in index, f"{name} has no thumbnail"
        assert re.search(rf'href="[^"]*_downloads/\w+/{name}\.py"', text), f"{name}: no download"
        assert "sphx-glr-script-out" in text, f"{name} shows no printed output"
        images = content_images(page)
        assert images and all((html / i).stat().st_size > 10_000 for i in images), name


def test_user_guide_pages_show_figures(html):
    shown = {}
    for page in sorted(html.glob("*.html")) + sorted((html / "auto_examples").glob("*.html")):
        images = content_images(page)
        for image in images:
            data = (html / image).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, image
        if images:
            shown[page.stem] = images
    for page in ("estimators", "embeddings", "engine", "performance"):
        assert page in shown, f"{page} shows no figure"
    assert sum(len(v) for v in shown.values()) >= 8 and len(shown) >= 4, shown


def numbers_after(text, label):
    """Every number printed after ``label`` (its spaces match any run of spaces)."""
    pattern = r"\s+".join(map(re.escape, label.split())) + r"\s*([-+]?\d+\.\d+(?:e[-+]\d+)?)"
    return [float(v) for v in re.findall(pattern, text)]


def test_example_engine_by_hand_checks_every_layer_and_trains(html):
    text = page_text(html / "auto_examples" / "01_engine_by_hand.html")
    layers = re.findall(r"layer (\d) (Linear|ReLU)\s+max relative error (\S+)", text)
    assert [(int(i), kind) for i, kind, _ in layers] == [
        (0, "Linear"), (1, "ReLU"), (2, "Linear"), (3, "ReLU"), (4, "Linear")]
    errors = [float(e) for *_, e in layers] + numbers_after(text, "whole network max relative "
                                                                  "error") \
        + numbers_after(text, "softmax cross-entropy max relative error")
    assert len(errors) == 7 and max(errors) < 1e-6, errors
    match = re.search(r"backward ([-+]\d\.\d+), central difference ([-+]\d\.\d+)", text)
    assert match and abs(float(match[1]) - float(match[2])) < 1e-6
    assert "plain SGD, lr=0.1:" in text and "Adam, lr=0.001:" in text
    assert numbers_after(text, "test accuracy of the Adam-trained network:")[0] > 0.5
    # the sentence after the loss curves names the optimizer whose loss ended lower,
    # from the same numbers the epochs printed (not a claim fixed in advance)
    sgd, adam = (numbers_after(text.split(label)[1], "mean loss")
                 for label in ("plain SGD, lr=0.1:", "Adam, lr=0.001:"))
    verdict = re.search(r"lower training loss in epoch (\d+): (plain SGD|Adam) "
                        r"\((\d\.\d+) against (\d\.\d+)\)", text)
    assert verdict, "example 1 no longer says which optimizer ended lower"
    epochs = int(verdict[1])
    sgd_last, adam_last = sgd[epochs - 1], adam[epochs - 1]
    assert verdict[2] == ("Adam" if adam_last < sgd_last else "plain SGD")
    assert {float(verdict[3]), float(verdict[4])} == {sgd_last, adam_last}
    # 500 test images mapped (fewer when the digits fallback has fewer): 64 features each
    shape = re.search(r"hidden activations: (\d+) images x (\d+) features", text)
    assert shape and 100 <= int(shape[1]) <= 500 and int(shape[2]) == 64, shape


def test_other_examples_report_what_they_should(html):
    pages = {name: page_text(html / "auto_examples" / f"{name}.html") for name in EXAMPLES}
    curves = pages["02_learning_curves_fashion_mnist"]
    assert 0.5 < numbers_after(curves, "test accuracy:")[0] <= 1.0
    embeddings = pages["03_embeddings"]
    assert "embeddings: 64 features" in embeddings
    pixels = numbers_after(embeddings, "from raw pixels:")
    learned = numbers_after(embeddings, "from embeddings:")
    assert len(pixels) == len(learned) == 1 and 0.5 < pixels[0] < learned[0] <= 1.0
    search = pages["04_grid_search"]
    assert "16 fits (2-fold cross-validation of 8 settings)" in search
    assert 0.5 < numbers_after(search, "refitted best model")[0] <= 1.0
    svm = pages["05_linear_svm_comparison"]
    for name in ("sknumpynet LinearSVM", "scikit-learn LinearSVC", "scikit-learn SGDClassifier"):
        row = re.search(re.escape(name) + r"\s+([01]\.\d{4})\s+([01]\.\d{4})\s+(\d+\.\d\d)", svm)
        assert row and 0.5 < float(row[1]) <= 1.0, name


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


#: A printed claim: ``print(...)  # about 0.976`` (or ``# 0.237``) at a line's end.
CLAIM = re.compile(r"\bprint\(.*#\s*(?:about\s+)?(-?[0-9][0-9,]*(?:\.[0-9]+)?)\s*$")
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?")


def claim_tolerance(claimed):
    """±0.01 for scores and accuracies (numbers up to 1), else ±5% of the claim."""
    return 0.01 if abs(claimed) <= 1 else 0.05 * abs(claimed)


def printed_claims(code):
    """{line number: claimed number} of the ``print`` lines that say what they print."""
    claims = {}
    for number, line in enumerate(code.splitlines(), start=1):
        match = CLAIM.search(line)
        if match:
            claims[number] = float(match.group(1).replace(",", ""))
    return claims


def check_claims(code, printed, name):
    """Each claimed number against the first number its ``print`` line printed."""
    for line, claimed in printed_claims(code).items():
        assert line in printed, f"{name} line {line} claims {claimed} but printed nothing"
        found = NUMBER.search(printed[line])
        assert found, f"{name} line {line} claims {claimed}, printed {printed[line]!r}"
        value = float(found.group())
        assert abs(value - claimed) <= claim_tolerance(claimed), (
            f"{name} line {line} says about {claimed}, the code prints {value} "
            f"(tolerance {claim_tolerance(claimed):g})"
        )


def run_quietly(code, name):
    """Run ``code`` in a fresh namespace; fail on any warning it raises or a printed
    number that is not what a ``# about X`` comment on its line says."""
    namespace, printed, caught = run_snippet(code, name)
    shown = [f"{w.category.__name__}: {w.message}" for w in caught]
    assert not shown, f"{name} printed {len(shown)} warnings, the first: {shown[0]}"
    check_claims(code, printed, name)
    return namespace


def test_run_quietly_fails_on_a_claim_the_code_does_not_print():
    run_quietly("x = 0.9755\nprint(round(x, 3))  # about 0.976\n", "snippet")
    with pytest.raises(AssertionError, match="says about 0.98, the code prints 0.962"):
        run_quietly("print(0.962)  # about 0.98\n", "snippet")
    with pytest.raises(AssertionError, match="printed nothing"):
        run_quietly("if False:\n    print(1)  # 0.5\n", "snippet")
    assert printed_claims("print(a)  # about 22\nprint(b)\nprint(c)  # 1,500\n") == {
        1: 22.0, 3: 1500.0}


#: The pages whose Python blocks the tests run (README.md runs on its own).
RUN_PAGES = ["quickstart.rst", "engine.rst", "reliability.rst"]


def test_every_printed_claim_is_on_a_page_the_tests_run():
    for page in sorted(DOCS.glob("*.rst")):
        if printed_claims("\n".join(python_blocks(page.name))):
            assert page.name in RUN_PAGES, f"{page.name} claims numbers no test checks"


@pytest.mark.parametrize("page", RUN_PAGES)
def test_code_in_the_guide_runs_without_warnings(page, tmp_path, monkeypatch):
    """The guide's Python blocks run in order, in one namespace, as a reader would."""
    monkeypatch.chdir(tmp_path)  # the quick start saves a model file
    blocks = python_blocks(page)
    assert blocks
    run_quietly("\n".join(blocks), f"{page} blocks")


def test_docs_build_prints_no_python_warning(html):
    # a figure's code or an example that warns prints "file:line: XWarning: ..."
    # into the build's output (ConvergenceWarning from too few epochs, say)
    log = (html.parent / "build.log").read_text(encoding="utf-8")
    shown = re.findall(r"^\S+:\d+: \w*Warning: .*$", log, re.M)
    assert not shown, f"the docs build printed {len(shown)} warnings, the first: {shown[0]}"


def plot_code(page):
    """The code of a page's ``.. plot::`` directives (their content, not a file), dedented."""
    text = (DOCS / page).read_text()
    bodies = re.findall(r"^\.\. plot::\n(?:   :.*\n)*\n((?:   .*\n|\n)+)", text, re.M)
    return "\n".join("\n".join(line[3:] for line in body.splitlines()) for body in bodies)


@pytest.mark.parametrize("page", ["deploying.rst", "monitoring.rst"])
def test_deploying_and_monitoring_code_runs_without_warnings(page, tmp_path, monkeypatch):
    """Their figures' code and Python blocks, in order, fit without a ConvergenceWarning."""
    for module in {"deploying.rst": ("skops", "skl2onnx", "onnxruntime"),
                   "monitoring.rst": ("rich",)}[page]:
        pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)  # the deploying page saves model files
    monkeypatch.setenv("MPLBACKEND", "Agg")
    code = plot_code(page) + "\n" + "\n".join(python_blocks(page))
    assert "MLPClassifier(" in code
    run_quietly(code, f"{page} code")


def test_readme_examples_run_without_warnings():
    # README's Python blocks, in order, as one script; n_jobs=1 keeps it light
    # and keeps every fit in this process, where its warnings are recorded
    text = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 3, "README lost its examples"
    code = "\n".join(blocks)
    assert "n_jobs=2" in code
    namespace = run_quietly(code.replace("n_jobs=2", "n_jobs=1"), "README.md")
    assert namespace["embeddings"].shape == (len(namespace["X_test"]), 64)
    assert namespace["search"].best_score_ > 0.9


def test_run_quietly_fails_on_a_warning():
    with pytest.raises(AssertionError, match="UserWarning: loud"):
        run_quietly("import warnings\nwarnings.warn('loud')", "snippet")


def test_install_lines_are_from_a_clone():
    # the package is not on PyPI: 'pip install "sknumpynet[...]"' fails
    for path in [REPO_ROOT / "README.md", *DOCS.glob("*.rst"), *DOCS.glob("examples/*"),
                 *(REPO_ROOT / "sknumpynet").glob("*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"pip install \S*sknumpynet\[", text), path


def _bench(path):
    import json

    return json.loads((REPO_ROOT / path).read_text())


def test_readme_performance_numbers_are_the_benchmarks():
    """Each timing the README prints is the one in the benchmark JSON it names."""
    readme = " ".join((REPO_ROOT / "README.md").read_text(encoding="utf-8").split())
    expected = []
    inference = _bench("benchmarks/results/inference.json")["results"]
    ours, theirs, onnx = (inference[k]["single_row"]["median_us"]
                          for k in ("sknumpynet", "scikit-learn", "sknumpynet ONNX (onnxruntime)"))
    expected += [f"takes {ours:.0f} us against scikit-learn's {theirs:.0f} us",
                 f"{onnx:.0f} us through the ONNX export"]
    sparse = {m["model"]: m for m in _bench("benchmarks/results/sparse.json")["models"]}
    svm, svc = sparse["LinearSVM()"], sparse["LinearSVC()"]
    expected.append(f"fits in {svm['seconds']:.2f} s against `LinearSVC`'s "
                    f"{svc['seconds']:.2f} s, {svm['speedup_vs_reference']:.1f}x faster")
    fashion = _bench("docs/benchmarks/bench_linear_svm.json")["results"]
    expected.append(f"in {fashion[0]['fit_seconds']:.1f} s instead of "
                    f"{fashion[1]['fit_seconds']:.0f} s")
    expected.append(f"({fashion[0]['test_accuracy']:.4f} against "
                    f"{fashion[1]['test_accuracy']:.4f})")
    for row in _bench("benchmarks/results/mlp.json")["results"]:
        expected.append(f"| {row['median_epoch_seconds']:.3f} |")
        expected.append(f"| {row['mean_test_accuracy']:.4f} | {row['predict_rows_per_s']:,.0f} |")
    for text in expected:
        assert text in readme, f"README.md should say {text!r} (from the benchmark JSON)"
    # the test suite's time is measured nowhere the tests can read: no number
    assert not re.search(r"suite takes about [0-9]", readme)


# -- the pages a newcomer reads first ---------------------------------------------------


REPO = REPO_ROOT


def test_progress_extra_brings_what_the_monitoring_page_uses():
    """Issue 23 item 4 (a newcomer's friction)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", req)[0] for req in extras["progress"]}
    assert {"tqdm", "rich"} <= names  # verbose=2's bar; sklearn.callback.ProgressBar
    page = (REPO / "docs" / "monitoring.rst").read_text()
    assert "ProgressBar()" in page and '".[progress]"' in page


def test_monitoring_page_shows_the_code_of_its_plots():
    """Issue 23 item 4 (a newcomer's friction)."""
    # conf.py hides plot sources by default; the ScoringMonitor block defines
    # the variables the next blocks use, so the reader must see it
    page = (REPO / "docs" / "monitoring.rst").read_text()
    plots = page.split(".. plot::")[1:]
    assert plots
    for plot in plots:
        options = plot.split("\n\n")[0]
        assert ":include-source: true" in options, options
