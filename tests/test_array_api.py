"""``sklearn.set_config(array_api_dispatch=True)``: torch and array_api_strict inputs.

The estimators compute with numpy: such arrays are converted on entry, with a
one-line warning per call, and the results are those of the same numpy input
bit for bit; an array numpy cannot read is refused with a ValueError naming
the option. scikit-learn's dispatch needs ``SCIPY_ARRAY_API=1`` before scipy is
imported, so the scenarios run in a fresh interpreter that reports in JSON.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

ESTIMATORS = [
    "MLPClassifier", "MLPRegressor", "LinearSVM", "LinearSVR", "TabularMLPClassifier",
    "TabularMLPRegressor",
]
# array_api_strict is in the test extra; torch is not (too big): its cases skip without it
INSTALLED = [name for name in ("torch", "array_api_strict") if importlib.util.find_spec(name)]
needs_torch = pytest.mark.skipif("torch" not in INSTALLED, reason="torch is not installed")
LIBRARIES = [
    pytest.param(name, marks=pytest.mark.skipif(name not in INSTALLED,
                                                 reason=f"{name} is not installed"))
    for name in ("torch", "array_api_strict")
]

_SCENARIOS = r"""
import json, warnings
import numpy as np
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

try:
    sklearn.set_config(array_api_dispatch=True)
except Exception as exc:  # an old scipy or scikit-learn
    print(json.dumps({"skip": f"array_api_dispatch unavailable: {exc}"}))
    raise SystemExit(0)
sklearn.set_config(array_api_dispatch=False)

import importlib
import sknumpynet

LIBS = {}
for lib in ("torch", "array_api_strict"):
    try:
        LIBS[lib] = importlib.import_module(lib).asarray
    except ImportError:
        pass

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 4))
y_class = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(np.int64)
y_reg = X @ np.array([1.0, -2.0, 0.5, 0.0])
ESTIMATORS = {
    "MLPClassifier": dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
    "MLPRegressor": dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
    "LinearSVM": dict(random_state=0),
    "LinearSVR": dict(random_state=0),
    "TabularMLPClassifier": dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
    "TabularMLPRegressor": dict(hidden_layer_sizes=(8,), max_iter=3, random_state=0),
}


def ours(caught):
    return [str(w.message) for w in caught if "computes with numpy" in str(w.message)]


def call(method, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = method(*args, **kwargs)
    return result, ours(caught)


def same(a, b):
    return type(a) is type(b) and bool(np.array_equal(a, b))


report = {}
for name, params in ESTIMATORS.items():
    est = getattr(sknumpynet, name)(**params)
    y = y_class if is_classifier(est) else y_reg
    methods = [m for m in ("predict", "transform", "predict_proba", "decision_function")
               if hasattr(est, m)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = clone(est).fit(X, y)
        expected = {m: getattr(ref, m)(X) for m in methods}
        expected["score"] = ref.score(X, y)
    for lib, asarray in LIBS.items():
        Xa, ya = asarray(X), asarray(y)
        entry = {}
        with sklearn.config_context(array_api_dispatch=True):
            fitted, entry["fit"] = call(clone(est).fit, Xa, ya)
            for m in methods:
                out, warned = call(getattr(fitted, m), Xa)
                entry[m] = [same(out, expected[m]), warned]
            score, warned = call(fitted.score, Xa, ya)
            entry["score"] = [score == expected["score"], warned]
            _, entry["fit_X_val"] = call(clone(est).fit, Xa, ya, X_val=Xa, y_val=ya)
            try:  # scikit-learn's own step, which some releases fail on some libraries
                StandardScaler().fit_transform(Xa)
            except Exception as exc:
                entry["pipeline_predict_type"] = f"skip: StandardScaler fails: {exc}"
            else:
                pipe, _ = call(make_pipeline(StandardScaler(), clone(est)).fit, Xa, ya)
                out, _ = call(pipe.predict, Xa)
                entry["pipeline_predict_type"] = type(out).__name__
        # without dispatch: scikit-learn's own conversion, no warning (torch reads as numpy)
        if lib == "torch":
            _, entry["fit_without_dispatch"] = call(clone(est).fit, Xa, ya)
        report[f"{name}-{lib}"] = entry

if "torch" in LIBS:
    import torch

    with sklearn.config_context(array_api_dispatch=True):
        est = sknumpynet.MLPClassifier(max_iter=2, random_state=0)
        try:
            est.fit(torch.asarray(X, requires_grad=True), y_class)
            report["refused"] = None
        except ValueError as exc:
            report["refused"] = [str(exc), hasattr(est, "n_iter_")]
print(json.dumps(report))
"""


@pytest.fixture(scope="module")
def report():
    if not INSTALLED:
        pytest.skip("neither torch nor array_api_strict is installed")
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _SCENARIOS], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if "skip" in result:
        pytest.skip(result["skip"])
    return result


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_fit_converts_with_one_warning_line(report, estimator, library):
    (message,) = report[f"{estimator}-{library}"]["fit"]
    assert message == (
        f"{estimator} computes with numpy: X, y ({library}) converted to numpy arrays; "
        "array_api_dispatch=True does not apply to sknumpynet's estimators."
    )
    assert "\n" not in message
    (message,) = report[f"{estimator}-{library}"]["fit_X_val"]
    assert "X, y, X_val, y_val" in message


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_outputs_are_those_of_numpy_input(report, estimator, library):
    entry = report[f"{estimator}-{library}"]
    methods = [m for m in ("predict", "transform", "predict_proba", "decision_function", "score")
               if m in entry]
    assert "predict" in methods and "score" in methods
    for method in methods:
        equal, warned = entry[method]
        assert equal, f"{method} differs from the numpy input's (or is not a numpy array)"
        assert len(warned) == 1 and warned[0].startswith(f"{estimator} computes with numpy: X")


@pytest.mark.parametrize("library", LIBRARIES)
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_pipeline_after_an_array_api_step_returns_numpy(report, estimator, library):
    # StandardScaler returns the library's arrays under dispatch; the estimator takes them
    result = report[f"{estimator}-{library}"]["pipeline_predict_type"]
    if result.startswith("skip: "):
        pytest.skip(result[len("skip: "):])
    assert result == "ndarray"


@needs_torch
@pytest.mark.parametrize("estimator", ESTIMATORS)
def test_no_warning_without_dispatch(report, estimator):
    assert report[f"{estimator}-torch"]["fit_without_dispatch"] == []


@needs_torch
def test_an_array_numpy_cannot_read_is_refused_naming_the_option(report):
    message, fitted = report["refused"]
    assert message.startswith("MLPClassifier computes with numpy on the CPU and could not "
                              "convert X, a torch array on device cpu")
    assert "array_api_dispatch=True" in message and "tensor.detach().cpu()" in message
    assert not fitted  # nothing half-done


# -- in this interpreter, with the option read as on: arrays no library here provides ----------


class _DeviceArray:
    """An array-API array on a device numpy cannot read (as a CUDA tensor)."""

    device = "cuda:0"

    def __array_namespace__(self, api_version=None):
        raise AssertionError("not used")

    def __dlpack__(self, **kwargs):
        raise BufferError("DLPack export to CPU is not supported on cuda:0")

    def __array__(self, dtype=None, copy=None):
        raise TypeError("can't convert cuda:0 device type tensor to numpy")


@pytest.fixture
def dispatch_on(monkeypatch):
    from sknumpynet import _array_api

    monkeypatch.setattr(_array_api, "get_config", lambda: {"array_api_dispatch": True})


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_a_gpu_array_is_refused_and_the_fitted_model_is_kept(dispatch_on):
    import numpy as np

    from sknumpynet import MLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 2)), rng.normal(size=30)
    model = MLPRegressor(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=5, random_state=0)
    model.fit(X, y)
    before = model.predict(X)
    with pytest.raises(ValueError) as error:
        model.fit(_DeviceArray(), y)
    message = str(error.value)
    assert message.startswith("MLPRegressor computes with numpy on the CPU and could not convert "
                              "X, a ")  # then the array's module: where this file is imported from
    assert "array on device cuda:0 (TypeError: can't convert cuda:0 device type" in message
    assert "array_api_dispatch=True" in message and "\n" not in message
    with pytest.raises(ValueError, match="could not convert X"):
        model.predict(_DeviceArray())
    np.testing.assert_array_equal(model.predict(X), before)


def test_tables_lists_and_sparse_matrices_pass_untouched(dispatch_on):
    import warnings

    import numpy as np
    import scipy.sparse as sp

    from sknumpynet._array_api import numpy_inputs

    pd = pytest.importorskip("pandas")
    X = np.eye(3)
    inputs = dict(a=X, b=pd.DataFrame(X), c=sp.csr_matrix(X), d=X.tolist(), e=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = numpy_inputs(object(), **inputs)
    assert all(o is i for o, i in zip(out, inputs.values()))
