"""ONNX export (sknumpynet.onnx): each estimator and option in a Pipeline, run in onnxruntime.

The reference is the fitted Pipeline itself: onnxruntime must give the same
labels exactly, and probabilities, regression outputs and embeddings within
1e-5 (float32 models and inputs; a float64 case checks the double graph).
"""

import textwrap
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

skl2onnx = pytest.importorskip("skl2onnx")
ort = pytest.importorskip("onnxruntime")

import sknumpynet.onnx  # noqa: E402,F401  (registers the converters)
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ATOL = 1e-5


def _data(n_classes=3, dtype=np.float32, n=240):
    X, y = make_classification(
        n, 6, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=1
    )
    X = X * [1, 10, 0.1, 1, 5, 1] + 3  # the scaler has work to do
    return X.astype(dtype), y


def _run(pipe, X, options=None):
    est = pipe[-1]
    onx = skl2onnx.to_onnx(pipe, X[:1], options={id(est): options} if options else None)
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, {sess.get_inputs()[0].name: X})))


def _check_classifier(pipe, X, out, proba=True):
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    if proba:
        np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "logistic", "identity"])
def test_mlp_classifier_every_activation(activation):
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (9, 7), activation=activation, max_iter=30, random_state=0)).fit(X, y)
    _check_classifier(pipe, X, _run(pipe, X, {"zipmap": False}))


def test_mlp_classifier_batch_norm_folded_and_dropout_identity():
    X, y = _data()
    est = MLPClassifier((9, 7), activation=["leaky_relu", "tanh"], batch_norm=True,
                        dropout=[0.3, 0.2], max_iter=30, random_state=0)
    pipe = make_pipeline(StandardScaler(), est).fit(X, y)
    bn = est.network_[0][1]
    assert not np.allclose(bn.running_mean, 0) and not np.allclose(bn.running_var, 1)
    _check_classifier(pipe, X, _run(pipe, X, {"zipmap": False}))
    # eps at its default (1e-5) moves the outputs by less than ATOL: a folding
    # that dropped it passed. With a large eps the graph must follow it.
    before = pipe.predict_proba(X)
    for block in est.network_[:-1]:
        block[1].eps = 0.5
    assert np.abs(pipe.predict_proba(X) - before).max() > 100 * ATOL
    _check_classifier(pipe, X, _run(pipe, X, {"zipmap": False}))


@pytest.mark.parametrize("labels", ["int", "str", "bool", "float"])
def test_mlp_classifier_binary_labels(labels):
    X, y = _data(n_classes=2)
    y = {"int": y * 5 - 2, "str": np.array(["no", "yes"])[y], "bool": y == 1,
         "float": y * 2.0}[labels]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (8,), max_iter=30, random_state=0)).fit(X, y)
    out = _run(pipe, X, {"zipmap": False})
    _check_classifier(pipe, X, out)
    assert out["probabilities"].shape == (len(X), 2)


def test_mlp_classifier_multilabel():
    X, y = _data()
    Y = np.c_[y == 0, y == 2, X[:, 0] > 3].astype(int)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (8,), max_iter=30, random_state=0)).fit(X, Y)
    out = _run(pipe, X)  # zipmap does not apply to independent labels
    assert out["label"].shape == Y.shape
    _check_classifier(pipe, X, out)


def test_zipmap_default_and_columns():
    X, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (8,), max_iter=30, random_state=0)).fit(X, labels)
    proba = pipe.predict_proba(X)
    out = _run(pipe, X)
    np.testing.assert_array_equal(out["output_label"], pipe.predict(X))
    zipped = np.array([[row[c] for c in pipe.classes_] for row in out["output_probability"]])
    np.testing.assert_allclose(zipped, proba, rtol=0, atol=ATOL)
    out = _run(pipe, X, {"zipmap": "columns"})
    columns = np.column_stack([out[f"s{c}"] for c in pipe.classes_])  # skl2onnx's names
    np.testing.assert_allclose(columns, proba, rtol=0, atol=ATOL)


def test_nocl_gives_class_indices():
    X, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    pipe = make_pipeline(StandardScaler(), LinearSVM(max_iter=20, random_state=0))
    pipe.fit(X, labels)
    out = _run(pipe, X, {"zipmap": False, "nocl": True})
    expected = np.searchsorted(pipe.classes_, pipe.predict(X))
    np.testing.assert_array_equal(out["label"], expected)
    assert out["label"].dtype == np.int64


@pytest.mark.parametrize("layer", [-1, 0, "all"])
@pytest.mark.parametrize("estimator", ["classifier", "regressor"])
def test_embeddings_output(layer, estimator):
    X, y = _data()
    cls = MLPClassifier if estimator == "classifier" else MLPRegressor
    target = y if estimator == "classifier" else X[:, :2] @ [1.0, -2.0]
    est = cls(hidden_layer_sizes=(7, 5), batch_norm=True, dropout=0.1, embedding_layer=layer,
              max_iter=20, random_state=0)
    pipe = make_pipeline(StandardScaler(), est).fit(X, target)
    options = {"embeddings": True}
    if estimator == "classifier":
        options["zipmap"] = False
    out = _run(pipe, X, options)
    np.testing.assert_allclose(out["embeddings"], pipe.transform(X), rtol=0, atol=ATOL)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_mlp_regressor(n_outputs):
    X, _ = _data()
    Y = np.column_stack([X[:, 0] - X[:, 1] / 10, X[:, 2] * 10, X[:, 3]])[:, :n_outputs]
    pipe = make_pipeline(StandardScaler(), MLPRegressor(
        hidden_layer_sizes=(8, 6), activation="tanh", batch_norm=True, max_iter=30,
        random_state=0))
    pipe.fit(X, Y.ravel() if n_outputs == 1 else Y)
    out = _run(pipe, X)["variable"]
    assert out.shape == (len(X), n_outputs)
    np.testing.assert_allclose(out.reshape(pipe.predict(X).shape), pipe.predict(X),
                               rtol=0, atol=ATOL)


@pytest.mark.parametrize("loss", ["poisson", "huber", "absolute_error", "quantile"])
def test_mlp_regressor_losses(loss):
    X, _ = _data()
    y = np.random.default_rng(0).poisson(np.exp(0.5 + (X[:, 0] - 3) / 4))
    pipe = make_pipeline(StandardScaler(), MLPRegressor(
        loss, hidden_layer_sizes=(8,), max_iter=30, random_state=0)).fit(X, y)
    out = _run(pipe, X)["variable"].ravel()
    predicted = pipe.predict(X)
    if loss == "poisson":  # the network outputs the log of the mean
        assert not np.allclose(predicted, pipe[-1]._forward(pipe[0].transform(X)).ravel())
    np.testing.assert_allclose(out, predicted, rtol=1e-6, atol=ATOL)


@pytest.mark.parametrize("multi_class", ["ovr", "crammer_singer", "weston_watkins"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("probability", [False, True])
def test_linear_svm(multi_class, n_classes, probability):
    X, y = _data(n_classes)
    est = LinearSVM(multi_class=multi_class, probability=probability, max_iter=20,
                    random_state=0)
    pipe = make_pipeline(StandardScaler(), est).fit(X, np.array(["p", "q", "r"])[y])
    out = _run(pipe, X, {"zipmap": False})
    _check_classifier(pipe, X, out, proba=probability)
    scores = pipe.decision_function(X)
    if n_classes == 2:
        scores = np.column_stack([-scores, scores])
    expected = pipe.predict_proba(X) if probability else scores
    np.testing.assert_allclose(out["probabilities"], expected, rtol=0, atol=ATOL)
    if probability:  # raw_scores: the decision function instead
        raw = _run(pipe, X, {"zipmap": False, "raw_scores": True})["probabilities"]
        np.testing.assert_allclose(raw, scores, rtol=0, atol=ATOL)


def test_linear_svm_uniform_probabilities_at_infinite_temperature():
    X, y = _data()
    pipe = make_pipeline(StandardScaler(), LinearSVM(probability=True, max_iter=5,
                                                     random_state=0)).fit(X, y)
    pipe[-1].calibration_temperature_ = np.inf
    out = _run(pipe, X, {"zipmap": False})
    np.testing.assert_allclose(out["probabilities"], 1 / 3, rtol=0, atol=ATOL)
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), rtol=0, atol=ATOL)


def test_float64_graph():
    X, y = _data(dtype=np.float64)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(
        (8,), batch_norm=True, max_iter=30, random_state=0)).fit(X, y)
    out = _run(pipe, X, {"zipmap": False})
    assert out["probabilities"].dtype == np.float64
    np.testing.assert_array_equal(out["label"], pipe.predict(X))
    np.testing.assert_allclose(out["probabilities"], pipe.predict_proba(X), rtol=0, atol=1e-12)


def _python_blocks(path):
    """The ``.. code-block:: python`` blocks of a page, dedented."""
    blocks, lines, i = [], path.read_text().splitlines(), 0
    while i < len(lines):
        if lines[i].strip() == ".. code-block:: python":
            i += 2  # the directive and the blank line after it
            body = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
                body.append(lines[i])
                i += 1
            blocks.append(textwrap.dedent("\n".join(body)))
        else:
            i += 1
    return blocks


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_deploying_page_runs(tmp_path, monkeypatch):
    """docs/deploying.rst's Python blocks run in order, in one namespace."""
    pytest.importorskip("skops")
    monkeypatch.chdir(tmp_path)  # the page saves model files
    page = Path(__file__).resolve().parents[1] / "docs" / "deploying.rst"
    blocks = _python_blocks(page)
    assert len(blocks) == 4
    namespace = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"deploying.rst block {i}", "exec"), namespace)
    assert (tmp_path / "digits.skn").is_file() and (tmp_path / "digits.skops").is_file()


# -- issue 21 items 12, 13 ------------------------------------------------------------


@pytest.mark.parametrize("estimator", [MLPClassifier((4,), max_iter=5, random_state=0),
                                       LinearSVM(max_iter=5, random_state=0)])
def test_uint64_labels_beyond_int64_are_refused_not_wrapped(estimator):
    """Hashed ids above 2**63 were exported as negative int64 labels, silently."""
    X, y = _data(n_classes=2)
    big = np.array([2**63 + 5, 2**64 - 1], dtype=np.uint64)[y]
    estimator.fit(X, big)
    for options in (None, {"zipmap": False}):
        with pytest.raises(ValueError, match=r"not int64 values .*nocl=True"):
            _run(make_pipeline(estimator), X, options)
    out = _run(make_pipeline(estimator), X, {"zipmap": False, "nocl": True})
    np.testing.assert_array_equal(estimator.classes_[out["label"]], estimator.predict(X))
    small = np.array([3, 2**63 - 1], dtype=np.uint64)[y]  # int64 holds these: exported
    out = _run(make_pipeline(estimator.fit(X, small)), X, {"zipmap": False})
    np.testing.assert_array_equal(out["label"], estimator.predict(X).astype(np.int64))


@pytest.mark.parametrize("estimator", [MLPClassifier(), MLPRegressor(), LinearSVM(),
                                       LinearSVM(probability=True)])
def test_exporting_an_unfitted_model_is_not_fitted_error(estimator):
    from sklearn.exceptions import NotFittedError

    X, _ = _data()
    with pytest.raises(NotFittedError, match="not fitted"):
        skl2onnx.to_onnx(estimator, X[:1])
    with pytest.raises(NotFittedError, match="not fitted"):
        skl2onnx.to_onnx(make_pipeline(StandardScaler().fit(X), estimator), X[:1])
