"""ONNX export of the tabular estimators: preprocessing and network in the graph."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

pd = pytest.importorskip("pandas")
ort = pytest.importorskip("onnxruntime")
skl2onnx = pytest.importorskip("skl2onnx")
pytest.importorskip("sknumpynet.onnx")

from skl2onnx.common.data_types import FloatTensorType  # noqa: E402

from sknumpynet import TabularMLPClassifier, TabularMLPRegressor  # noqa: E402

FAST = {"hidden_layer_sizes": (16, 8), "max_iter": 15, "random_state": 0}


def _table(n=240, seed=0):
    """Numbers with gaps, a one-hot, a +-1 and an embedded text column, and int codes."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "size": np.where(rng.random(n) < 0.15, np.nan, rng.normal(size=n)),
        "weight": rng.normal(2.0, 3.0, size=n),
        "colour": rng.choice(["red", "green", "blue"], n),
        "member": rng.choice(["yes", "no"], n),
        "city": rng.choice([f"city{i}" for i in range(12)], n),
        "rooms": rng.integers(1, 6, n),
    })
    signal = np.nan_to_num(X["size"]) + (X["colour"] == "red") + (X["city"] < "city5")
    return X, signal.to_numpy() + 0.3 * rng.normal(size=n)


def _feeds(X):
    """One (n, 1) array per column, text as str, as onnxruntime takes a DataFrame's."""
    feeds = {}
    for c in X.columns:
        a = X[[c]].to_numpy()
        feeds[c] = a.astype(str) if a.dtype == object else a
    return feeds


def _run(model, X, sample, **options):
    onx = skl2onnx.to_onnx(model, sample, options={id(model): options} if options else None)
    return ort.InferenceSession(onx.SerializeToString()).run(None, _feeds(X))


def _unseen(X):
    """Rows with categories the fit never saw, and a missing number."""
    X = X.copy()
    X.loc[X.index[0], "colour"] = "purple"
    X.loc[X.index[1], "city"] = "elsewhere"
    X.loc[X.index[2], "member"] = "maybe"
    X.loc[X.index[3], "size"] = np.nan
    return X


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_graph_predicts_as_the_model(n_classes):
    X, signal = _table()
    y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
    clf = TabularMLPClassifier(**FAST).fit(X, y)
    test = _unseen(X)
    label, proba = _run(clf, test, X[:1], zipmap=False)
    np.testing.assert_allclose(proba, clf.predict_proba(test), atol=1e-5)
    np.testing.assert_array_equal(label, clf.predict(test))


def test_regressor_graph_undoes_the_target_scaling():
    X, signal = _table()
    y = 1000.0 + 250.0 * signal  # far from standardised: y_mean_ and y_scale_ matter
    reg = TabularMLPRegressor(**FAST).fit(X, y)
    test = _unseen(X)
    (out,) = _run(reg, test, X[:1])
    np.testing.assert_allclose(out.ravel(), reg.predict(test), rtol=1e-5)


def test_numeric_matrix_is_one_input_and_float64_computes_in_float64():
    X, signal = _table()
    M = X[["size", "weight", "rooms"]].to_numpy(np.float64)
    reg = TabularMLPRegressor(**FAST).fit(M, signal)
    onx = skl2onnx.to_onnx(reg, M[:1])
    (out,) = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": M})
    assert out.dtype == np.float64
    np.testing.assert_allclose(out.ravel(), reg.predict(M), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("activation", ["selu", "mish", "gelu", "silu", "relu"])
def test_every_activation_of_the_recipe_exports(activation):
    X, signal = _table(n=120)
    M = X[["size", "weight"]].to_numpy(np.float32)
    reg = TabularMLPRegressor(activation=activation, **FAST).fit(M, signal)
    onx = skl2onnx.to_onnx(reg, M[:1])
    (out,) = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": M})
    np.testing.assert_allclose(out.ravel(), reg.predict(M), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_periodic_embeddings_export(dtype):
    """numeric_embedding="pbld": Gather, cos and a per-column MatMul in the graph."""
    X, signal = _table()
    y = signal > np.median(signal)
    clf = TabularMLPClassifier(numeric_embedding="pbld", **FAST).fit(X, y)
    test = _unseen(X)
    label, proba = _run(clf, test, X[:1], zipmap=False)
    np.testing.assert_allclose(proba, clf.predict_proba(test), atol=1e-5)
    np.testing.assert_array_equal(label, clf.predict(test))
    M = X[["size", "weight", "rooms"]].to_numpy(dtype)
    reg = TabularMLPRegressor(numeric_embedding="pbld", **FAST).fit(M, signal)
    (out,) = ort.InferenceSession(skl2onnx.to_onnx(reg, M[:1]).SerializeToString()).run(
        None, {"X": M})
    np.testing.assert_allclose(out.ravel(), reg.predict(M), rtol=1e-5, atol=1e-5)


def test_embeddings_output_is_transform():
    X, signal = _table()
    reg = TabularMLPRegressor(embedding_layer=0, **FAST).fit(X, signal)
    _, emb = _run(reg, X, X[:1], embeddings=True)
    np.testing.assert_allclose(emb, reg.transform(X), atol=1e-5)


def test_the_encoded_input_embedding_does_not_export():
    X, signal = _table(n=80)
    reg = TabularMLPRegressor(embedding_layer="input", **FAST).fit(X, signal)
    with pytest.raises(ValueError, match="embedding_layer='input'"):
        _run(reg, X, X[:1], embeddings=True)


def test_text_column_given_as_numbers_is_an_error_naming_it():
    X, signal = _table(n=80)
    reg = TabularMLPRegressor(**FAST).fit(X, signal)
    types = [(c, FloatTensorType([None, 1])) for c in X.columns]
    with pytest.raises(ValueError, match="'colour' is numeric, but the model fitted it as text"):
        skl2onnx.to_onnx(reg, initial_types=types)


def test_wrong_number_of_inputs_is_an_error():
    X, signal = _table(n=80)
    reg = TabularMLPRegressor(**FAST).fit(X, signal)
    with pytest.raises(ValueError, match="tables of 6 columns.*got 2 inputs"):
        skl2onnx.to_onnx(reg, X[["size", "weight"]][:1])


def test_numeric_categorical_codes_match_as_numbers():
    """Integer codes declared categorical are matched as numbers in the graph."""
    X, signal = _table()
    M = X[["weight", "rooms"]].to_numpy(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg = TabularMLPRegressor(categorical_features=[1], **FAST).fit(M, signal)
    assert reg.column_plan_.categorical == [1]
    test = M.copy()
    test[0, 1] = 99.0  # an unseen code
    onx = skl2onnx.to_onnx(reg, M[:1])
    (out,) = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": test})
    np.testing.assert_allclose(out.ravel(), reg.predict(test), rtol=1e-5, atol=1e-5)


def test_large_integer_ids_stay_apart():
    """IDs above 2**24 (float32's exact integers) are different categories in the graph
    too, and a value near a category is unknown, as in Python."""
    rng = np.random.default_rng(0)
    ids = rng.choice(np.arange(100_000_000, 100_000_040), 200)
    X = pd.DataFrame({"a": rng.normal(size=200), "store": ids})
    reg = TabularMLPRegressor(categorical_features=["store"], **FAST).fit(X, ids % 7.0)
    assert len(reg.column_plan_.categories[0]) > 30  # embedded, not one-hot
    (out,) = _run(reg, X, X[:1])
    np.testing.assert_allclose(out.ravel(), reg.predict(X), rtol=1e-5, atol=1e-5)
    near = pd.DataFrame({"a": [0.0, 0.0], "store": [100_000_001.0, 100_000_001.25]})
    (out,) = _run(reg, near, X[:1].astype({"store": float}))
    np.testing.assert_allclose(out.ravel(), reg.predict(near), rtol=1e-5, atol=1e-5)


def test_inputs_are_matched_by_column_name():
    X, signal = _table(n=80)
    reg = TabularMLPRegressor(**FAST).fit(X, signal)
    reordered = X[list(reversed(X.columns))]
    (out,) = _run(reg, reordered, reordered[:1])
    np.testing.assert_allclose(out.ravel(), reg.predict(X), rtol=1e-5, atol=1e-5)
    renamed = X.rename(columns={"size": "length"})
    with pytest.raises(ValueError, match=r"missing \['size'\]"):
        skl2onnx.to_onnx(reg, renamed[:1])


def test_inputs_named_by_hand_are_taken_in_column_order():
    X, signal = _table(n=80)
    M = X[["size", "rooms"]]
    reg = TabularMLPRegressor(**FAST).fit(M, signal)
    types = [("in0", FloatTensorType([None, 1])), ("in1", FloatTensorType([None, 1]))]
    onx = skl2onnx.to_onnx(reg, initial_types=types)
    feeds = {"in0": M[["size"]].to_numpy(np.float32),
             "in1": M[["rooms"]].to_numpy(np.float32)}
    (out,) = ort.InferenceSession(onx.SerializeToString()).run(None, feeds)
    np.testing.assert_allclose(out.ravel(), reg.predict(M), rtol=1e-5, atol=1e-5)


def test_categories_equal_as_numbers_refuse_a_numeric_input():
    """True and 1 are two categories as text, one number: a numeric input cannot
    tell them apart, so the converter says so instead of summing their codes."""
    X = pd.DataFrame({"a": np.linspace(0, 1, 60), "c": np.array([True, 1, 5] * 20, object)})
    reg = TabularMLPRegressor(categorical_features=["c"], **FAST).fit(X, np.arange(60.0))
    types = [("a", FloatTensorType([None, 1])), ("c", FloatTensorType([None, 1]))]
    with pytest.raises(ValueError, match="not distinct as numbers"):
        skl2onnx.to_onnx(reg, initial_types=types)


def test_an_opset_without_float64_equal_is_refused_clearly():
    X, signal = _table(n=60)
    reg = TabularMLPRegressor(**FAST).fit(X[["size"]], signal)
    with pytest.raises(ValueError, match="target_opset >= 12"):
        skl2onnx.to_onnx(reg, X[["size"]][:1], target_opset=11)
