"""Small frictions a newcomer met (issue 23 item 4): each error says what to do."""

import re
from pathlib import Path

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import sknumpynet
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor, TabularMLPClassifier


def test_linear_svm_predict_proba_says_to_set_probability():
    svm = LinearSVM()
    with pytest.raises(AttributeError, match=r"has no attribute 'predict_proba': it needs "
                                             r"probability=True; set it and fit again"):
        svm.predict_proba([[0.0]])
    with pytest.raises(AttributeError, match="probability=True"):
        svm.predict_log_proba([[0.0]])
    assert not hasattr(svm, "predict_proba")  # introspection still sees no method
    assert hasattr(LinearSVM(probability=True), "predict_proba")
    assert "Calibrated probability" in LinearSVM.predict_proba.__doc__


def test_saving_a_pipeline_points_to_skops(tmp_path):
    pipeline = make_pipeline(StandardScaler(), LinearSVM())
    with pytest.raises(TypeError) as caught:
        sknumpynet.save(pipeline, tmp_path / "model.skn")
    message = str(caught.value)
    assert "skops.io.dump(" in message
    assert "trusted=sknumpynet.io.trusted_types()" in message
    assert not (tmp_path / "model.skn").exists()


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor, LinearSVM, TabularMLPClassifier])
def test_html_repr_links_to_sknumpynet_docs(cls):
    from sklearn.utils import estimator_html_repr

    from sknumpynet._base import DOCS_URL

    link = f"{DOCS_URL}api/estimators.html#sknumpynet.{cls.__name__}"
    assert cls()._get_doc_link() == link
    assert re.search(rf'href="{re.escape(link)}"', estimator_html_repr(cls()))
    # the anchor is the one Sphinx gives the class in docs/api/estimators.rst
    api = Path(__file__).resolve().parents[1] / "docs" / "api" / "estimators.rst"
    assert f".. autoclass:: {cls.__name__}\n" in api.read_text()


REPO = Path(__file__).resolve().parents[1]


def test_progress_extra_brings_what_the_monitoring_page_uses():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", req)[0] for req in extras["progress"]}
    assert {"tqdm", "rich"} <= names  # verbose=2's bar; sklearn.callback.ProgressBar
    page = (REPO / "docs" / "monitoring.rst").read_text()
    assert "ProgressBar()" in page and '".[progress]"' in page


def test_monitoring_page_shows_the_code_of_its_plots():
    # conf.py hides plot sources by default; the ScoringMonitor block defines
    # the variables the next blocks use, so the reader must see it
    page = (REPO / "docs" / "monitoring.rst").read_text()
    plots = page.split(".. plot::")[1:]
    assert plots
    for plot in plots:
        options = plot.split("\n\n")[0]
        assert ":include-source: true" in options, options


def test_invscaling_is_documented_as_decaying_with_samples_seen():
    from sknumpynet import nn

    schedule = nn.InverseScalingLR(1.0, power_t=0.5)
    schedule.step(n_steps=99)  # one epoch of 99 samples, as the estimators step it
    assert schedule.lr == pytest.approx(0.1)
    for cls in (MLPClassifier, LinearSVM):
        assert "(epoch + 1) ** power_t" not in cls.__doc__
        assert "samples seen" in " ".join(cls.__doc__.split())
    assert "(epoch + 1) ** power_t" not in (REPO / "docs" / "estimators.rst").read_text()
