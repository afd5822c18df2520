"""An adversarial battery (issue 14): what a user trying to break the package would try.

Property-based tests (hypothesis) draw shapes, dtypes, label types, non-finite
values and parameter values for the three estimators; faults are injected in
subprocesses (SIGINT and SIGTERM during fit, an address-space limit set with
``resource.setrlimit``) and into files (truncated and corrupted IDX files).
Every case expects either a working model (finite outputs, bit-for-bit
repeatable) or a ValueError whose message says what was wrong.

The cases for the estimator core's items of issue 14 (1, 2, 5, 6, 10) were
written as strict xfails before the core landed, and pass with it.

Data are tiny and hypothesis runs few examples, so that the whole file stays
well under a minute on two cores.
"""

import gzip
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone, is_classifier
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning

from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor
from sknumpynet.datasets import load_idx, write_idx

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning", "ignore::UserWarning"
)
FEW = settings(max_examples=20, deadline=None,
               suppress_health_check=[HealthCheck.function_scoped_fixture])

POSIX = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and rlimits")


def mlp_classifier(**params):
    return MLPClassifier(**{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0,
                            "learning_rate_init": 0.01, **params})


def mlp_regressor(**params):
    return MLPRegressor(**{"hidden_layer_sizes": (4,), "max_iter": 3, "random_state": 0,
                           "learning_rate_init": 0.01, **params})


def linear_svm(**params):
    return LinearSVM(**{"max_iter": 3, "random_state": 0, **params})


FACTORIES = {"MLPClassifier": mlp_classifier, "MLPRegressor": mlp_regressor,
             "LinearSVM": linear_svm}
ESTIMATORS = [pytest.param(f, id=name) for name, f in FACTORIES.items()]
estimator_names = st.sampled_from(sorted(FACTORIES))


def make_target(est, rng, n, n_classes=3):
    if is_classifier(est):
        y = np.arange(n) % n_classes  # every class present, at least twice when n >= 6
        return rng.permutation(y)
    return rng.standard_normal(n)


def assert_works(est, X, y):
    """Fit, then every output is finite, of the right shape, and repeatable."""
    est.fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (X.shape[0],)
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    elif not is_classifier(est):
        assert np.isfinite(pred).all()
    again = clone(est).fit(X, y).predict(X)
    np.testing.assert_array_equal(pred, again)


# -- shapes ----------------------------------------------------------------------------


@FEW
@given(name=estimator_names, n_samples=st.integers(6, 40), n_features=st.integers(1, 7),
       seed=st.integers(0, 2**16))
def test_any_small_shape_trains_and_predicts(name, n_samples, n_features, seed):
    rng = np.random.default_rng(seed)
    est = FACTORIES[name]()
    X = rng.standard_normal((n_samples, n_features))
    assert_works(est, X, make_target(est, rng, n_samples))


@pytest.mark.parametrize("factory", ESTIMATORS)
@pytest.mark.parametrize(("shape", "message"), [
    ((0, 3), r"Found array with 0 sample\(s\)"),
    ((6, 0), r"Found array with 0 feature\(s\)"),
    ((6,), r"Expected 2D array, got 1D array"),
    ((6, 2, 2), r"Found array with dim 3"),
])
def test_degenerate_shapes_are_refused(factory, shape, message):
    est = factory()
    X = np.ones(shape)
    y = make_target(est, np.random.default_rng(0), shape[0])
    with pytest.raises(ValueError, match=message):
        est.fit(X, y)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_predict_with_another_number_of_features(factory):
    rng = np.random.default_rng(0)
    est = factory()
    est.fit(rng.standard_normal((12, 3)), make_target(est, rng, 12))
    with pytest.raises(ValueError, match=r"X has 4 features, but \w+ is expecting 3 features"):
        est.predict(rng.standard_normal((5, 4)))


# -- dtypes of X -----------------------------------------------------------------------


@FEW
@given(name=estimator_names,
       dtype=st.sampled_from(["float16", "float32", "float64", "int8", "int32", "int64",
                              "uint8", "bool"]),
       seed=st.integers(0, 2**16))
def test_real_dtypes_of_X_train(name, dtype, seed):
    rng = np.random.default_rng(seed)
    est = FACTORIES[name]()
    X = (rng.standard_normal((15, 3)) * 3).astype(dtype)
    assert_works(est, X, make_target(est, rng, 15))
    expected = np.float32 if dtype == "float32" else np.float64
    assert all(w.dtype == expected for w in est.network_.state_arrays())


@pytest.mark.parametrize("factory", ESTIMATORS)
@pytest.mark.parametrize(("make_X", "error", "message"), [
    pytest.param(lambda X: X.astype(np.complex128) + 1j, ValueError,
                 "Complex data not supported", id="complex"),
    pytest.param(lambda X: np.where(X > 0, "a", "b").astype(object), ValueError,
                 "could not convert string to float: '[ab]'", id="object-str"),
    pytest.param(lambda X: np.where(X > 0, "a", "b"), ValueError,
                 "could not convert string to float", id="unicode"),
])
def test_dtypes_that_are_not_numbers_are_refused(factory, make_X, error, message):
    rng = np.random.default_rng(0)
    est = factory()
    X = make_X(rng.standard_normal((12, 3)) * 100)
    with pytest.raises(error, match=message):
        est.fit(X, make_target(est, rng, 12))


def test_float16_input_of_a_float32_model_predicts_in_float32():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3)).astype(np.float32)
    est = mlp_regressor().fit(X, X[:, 0])
    pred16 = est.predict(X.astype(np.float16))
    assert np.isfinite(pred16).all()
    np.testing.assert_allclose(pred16, est.predict(X.astype(np.float16).astype(np.float32)))


# -- label types -----------------------------------------------------------------------

LABELS = {
    "int": [3, 7, 11],
    "negative_int": [-2, 0, 5],
    "str": ["cat", "dog", "émeu"],
    "bool": [True, False, True],
    "float": [-1.0, 2.0, 3.0],  # integral: non-integral floats are "continuous" targets
}


@FEW
@given(name=st.sampled_from(["MLPClassifier", "LinearSVM"]), kind=st.sampled_from(sorted(LABELS)),
       as_object=st.booleans(), seed=st.integers(0, 2**16))
def test_labels_of_one_type_train(name, kind, as_object, seed):
    rng = np.random.default_rng(seed)
    # scikit-learn reads an object array of numbers as an "unknown" target (refused,
    # as by its own classifiers): only strings come in object arrays here
    values = np.array(LABELS[kind], dtype=object if as_object and kind == "str" else None)
    index = rng.permutation(np.arange(18) % 3)
    y = values[index]
    est = FACTORIES[name]()
    assert_works(est, rng.standard_normal((18, 3)), y)
    assert set(est.classes_.tolist()) == set(values.tolist())
    assert set(est.predict(rng.standard_normal((5, 3))).tolist()) <= set(values.tolist())


@FEW
@given(name=st.sampled_from(["MLPClassifier", "LinearSVM"]),
       pair=st.sampled_from([(1, "a"), ("a", None), (2.5, "b"), (True, "x"), ((1,), 2)]),
       probability=st.booleans(), seed=st.integers(0, 2**16))
def test_labels_mixing_types_are_refused(name, pair, probability, seed):
    rng = np.random.default_rng(seed)
    y = np.empty(12, dtype=object)
    y[:] = [pair[i % 2] for i in rng.permutation(12)]
    params = {"probability": probability} if name == "LinearSVM" else {}
    est = FACTORIES[name](**params)
    with pytest.raises(ValueError, match=r"^y mixes labels of types .*: class labels must be"):
        est.fit(rng.standard_normal((12, 2)), y)
    assert not hasattr(est, "classes_")


# -- non-finite values -----------------------------------------------------------------


@FEW
@given(name=estimator_names, where=st.sampled_from(["X", "y", "sample_weight"]),
       value=st.sampled_from([np.nan, np.inf, -np.inf]), seed=st.integers(0, 2**16))
def test_non_finite_values_anywhere_are_refused(name, where, value, seed):
    rng = np.random.default_rng(seed)
    est = FACTORIES[name]()
    X = rng.standard_normal((12, 3))
    y = make_target(est, rng, 12).astype(np.float64)
    sw = np.ones(12)
    target = {"X": X, "y": y, "sample_weight": sw}[where]
    target.flat[rng.integers(target.size)] = value
    what = "NaN" if np.isnan(value) else "infinity"
    label = {"X": "Input X", "y": "Input y", "sample_weight": "sample_weight"}[where]
    message = f"{label} contains {what}" if where != "sample_weight" else "sample_weight"
    with pytest.raises(ValueError, match=message):
        est.fit(X, y, sample_weight=sw)
    assert not hasattr(est, "n_features_in_")


@pytest.mark.parametrize("factory", ESTIMATORS)
@pytest.mark.parametrize(("sample_weight", "message"), [
    (-np.ones(12), "Negative values in data passed to `sample_weight`"),
    (np.zeros(12), "Sample weights must contain at least one non-zero number"),
    (np.ones(11), r"sample_weight.shape == \(11,\), expected \(12,\)"),
    (np.ones((12, 2)), "Sample weights must be 1D array or scalar"),
])
def test_bad_sample_weights_are_refused(factory, sample_weight, message):
    rng = np.random.default_rng(0)
    est = factory()
    with pytest.raises(ValueError, match=message):
        est.fit(rng.standard_normal((12, 3)), make_target(est, rng, 12),
                sample_weight=sample_weight)


@pytest.mark.parametrize("factory", ESTIMATORS)
def test_predict_on_non_finite_X_is_refused(factory):
    rng = np.random.default_rng(0)
    est = factory()
    est.fit(rng.standard_normal((12, 3)), make_target(est, rng, 12))
    X = rng.standard_normal((4, 3))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        est.predict(X)


# -- parameter values ------------------------------------------------------------------

BAD_PARAMS = [
    ("MLPClassifier", "hidden_layer_sizes", (0,)),
    ("MLPClassifier", "hidden_layer_sizes", (4, -1)),
    ("MLPClassifier", "dropout", 1.0),
    ("MLPClassifier", "alpha", -1e-4),
    ("MLPClassifier", "activation", "softplus"),
    ("MLPRegressor", "learning_rate_init", 0.0),
    ("MLPRegressor", "max_iter", 0),
    ("MLPRegressor", "batch_size", 0),
    ("MLPRegressor", "validation_fraction", 1.0),
    ("MLPRegressor", "solver", "newton"),
    ("MLPRegressor", "beta_2", 1.5),
    ("LinearSVM", "C", 0.0),
    ("LinearSVM", "C", -1.0),
    ("LinearSVM", "loss", "log"),
    ("LinearSVM", "multi_class", "ovo"),
    ("LinearSVM", "class_weight", "auto"),
    ("LinearSVM", "tol", -1.0),
    ("LinearSVM", "n_iter_no_change", 0),
]


@FEW
@given(case=st.sampled_from(BAD_PARAMS), seed=st.integers(0, 2**16))
def test_bad_parameter_values_name_the_parameter(case, seed):
    name, param, value = case
    rng = np.random.default_rng(seed)
    est = FACTORIES[name](**{param: value})
    with pytest.raises(ValueError) as info:
        est.fit(rng.standard_normal((12, 3)), make_target(est, rng, 12))
    assert param in str(info.value)
    assert not hasattr(est, "n_features_in_")


@FEW
@given(
    name=estimator_names,
    solver=st.sampled_from(["sgd", "rmsprop", "adam", "nadam"]),
    learning_rate=st.sampled_from(["constant", "invscaling", "adaptive", "cosine"]),
    batch_size=st.one_of(st.just("auto"), st.integers(1, 30)),
    early_stopping=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_any_valid_parameters_train_repeatably(name, solver, learning_rate, batch_size,
                                               early_stopping, seed):
    rng = np.random.default_rng(seed)
    est = FACTORIES[name](solver=solver, learning_rate=learning_rate, batch_size=batch_size,
                          early_stopping=early_stopping, random_state=seed)
    X = rng.standard_normal((24, 3))
    assert_works(est, X, make_target(est, rng, 24))


@FEW
@given(name=st.sampled_from(["MLPClassifier", "MLPRegressor"]),
       sizes=st.lists(st.integers(1, 6), min_size=0, max_size=3),
       activation=st.sampled_from(["relu", "leaky_relu", "tanh", "logistic", "identity"]),
       batch_norm=st.booleans(), dropout=st.sampled_from([0.0, 0.3]),
       seed=st.integers(0, 2**16))
def test_any_valid_architecture_trains(name, sizes, activation, batch_norm, dropout, seed):
    rng = np.random.default_rng(seed)
    est = FACTORIES[name](hidden_layer_sizes=tuple(sizes), activation=activation,
                          batch_norm=batch_norm, dropout=dropout)
    X = rng.standard_normal((16, 3))
    assert_works(est, X, make_target(est, rng, 16))
    assert len(est.coefs_) == len(sizes) + 1


# -- the estimator core's items of issue 14 (1, 2, 5, 6, 10) ----------------------------

X_IRIS, Y_IRIS = load_iris(return_X_y=True)


def test_finite_divergence_is_rolled_back_and_warned():
    est = MLPRegressor(solver="sgd", learning_rate_init=1, activation="identity", max_iter=5,
                       random_state=0)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X_IRIS[:, :3], X_IRIS[:, 3])
    assert np.isfinite(est.predict(X_IRIS[:, :3])).all()


def test_huge_uniform_sample_weight_in_float32_is_scale_free():
    X = X_IRIS.astype(np.float32)
    est = mlp_classifier(max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # no divergence reported
        warnings.filterwarnings("ignore", "Stochastic optimizer", ConvergenceWarning)
        heavy = clone(est).fit(X, Y_IRIS, sample_weight=np.full(len(X), 1e37))
    plain = clone(est).fit(X, Y_IRIS, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(heavy.predict_proba(X), plain.predict_proba(X), rtol=1e-4)


@pytest.mark.parametrize(("param", "value"), [("hidden_layer_sizes", (7,)),
                                              ("activation", "tanh"), ("batch_norm", True)])
def test_warm_start_after_reshaping_parameters_refuses_or_rebuilds(param, value):
    est = mlp_classifier(warm_start=True).fit(X_IRIS, Y_IRIS)
    est.set_params(**{param: value})
    try:
        est.fit(X_IRIS, Y_IRIS)
    except ValueError as error:
        assert param in str(error)
        return
    fresh = mlp_classifier(**{param: value}).fit(X_IRIS, Y_IRIS)
    assert [c.shape for c in est.coefs_] == [c.shape for c in fresh.coefs_]
    assert repr(est.network_) == repr(fresh.network_)


def test_batch_norm_with_a_huge_constant_column_predicts_as_it_trained():
    X = np.hstack([X_IRIS, np.full((len(X_IRIS), 1), 1e15)])
    est = mlp_classifier(hidden_layer_sizes=(16,), batch_norm=True, max_iter=60,
                         learning_rate_init=0.02)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X, Y_IRIS)
    warned = any("batch" in str(w.message).lower() for w in caught)
    assert warned or est.score(X, Y_IRIS) > 0.8


def test_ctrl_c_keeps_the_last_epoch_and_restarts_the_optimizer(monkeypatch):
    """Ctrl-C keeps the weights of the last completed epoch exactly; the
    optimizer's moments restart (issue 25: a copy of them would make a fit 8
    copies of its parameters), so a following partial_fit equals a twin's whose
    optimizer restarted after that epoch."""
    from sknumpynet._training import Trainer

    est = mlp_classifier(batch_size=50, max_iter=3, shuffle=False)
    twin = clone(est).set_params(max_iter=2)
    original = Trainer.train_batch
    calls = []

    def train_batch(self, *args, **kwargs):  # Ctrl-C in the second batch of epoch 3
        calls.append(1)
        if len(calls) == 8:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Trainer, "train_batch", train_batch)
    est.fit(X_IRIS, Y_IRIS)
    monkeypatch.setattr(Trainer, "train_batch", original)
    twin.fit(X_IRIS, Y_IRIS)
    for a, b in zip(est.coefs_, twin.coefs_):
        np.testing.assert_array_equal(a, b)  # the weights of epoch 2
    assert est.n_iter_ == twin.n_iter_ == 2 and est.loss_curve_ == twin.loss_curve_
    assert est._optimizer.t == 0 and twin._optimizer.t > 0
    twin._optimizer.restart()
    est.partial_fit(X_IRIS, Y_IRIS)
    twin.partial_fit(X_IRIS, Y_IRIS)
    for a, b in zip(est.coefs_, twin.coefs_):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_in_partial_fit_keeps_the_moments_of_the_earlier_calls(monkeypatch):
    """A partial_fit is one epoch: Ctrl-C in it goes back to the estimator as it
    was, moments included (taken from the estimator's own optimizer, which the
    call leaves untouched, not from a copy)."""
    from sknumpynet._training import Trainer

    est = mlp_classifier(batch_size=50, max_iter=2, shuffle=False).fit(X_IRIS, Y_IRIS)
    twin = clone(est).fit(X_IRIS, Y_IRIS)
    moments = [a.copy() for a in est._optimizer._state.values()]
    steps = est._optimizer.t
    assert steps > 0 and all(m.any() for m in moments)
    original = Trainer.train_batch

    def train_batch(self, *args, **kwargs):  # Ctrl-C after the first batch's step
        original(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "train_batch", train_batch)
    with pytest.warns(UserWarning, match="interrupted"):
        est.partial_fit(X_IRIS, Y_IRIS)
    monkeypatch.setattr(Trainer, "train_batch", original)
    assert est._optimizer.t == steps
    for kept, before in zip(est._optimizer._state.values(), moments):
        np.testing.assert_array_equal(kept, before)
    est.partial_fit(X_IRIS, Y_IRIS)
    twin.partial_fit(X_IRIS, Y_IRIS)
    for a, b in zip(est.coefs_, twin.coefs_):
        np.testing.assert_array_equal(a, b)


# -- faults in subprocesses: signals and memory limits ---------------------------------

_LONG_FIT = textwrap.dedent("""
    import sys, warnings
    import numpy as np
    from sknumpynet import LinearSVM, MLPClassifier
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 20))
    y = (X[:, 0] > 0).astype(int)
    LONG = dict(max_iter=100000, tol=0.0, n_iter_no_change=100000, batch_size=50,
                random_state=0)
    est = eval(sys.argv[1])
    print("fitting", flush=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            est.fit(X, y)
        except KeyboardInterrupt:
            print("KeyboardInterrupt fitted=%s" % hasattr(est, "network_"), flush=True)
            sys.exit(0)
    print("warnings:", [str(w.message)[:60] for w in caught], flush=True)
    print("n_iter=%d finite=%s accuracy=%.2f" % (
        est.n_iter_, np.isfinite(est.predict_proba(X)).all(), est.score(X, y)), flush=True)
""")


def _start_long_fit(estimator="MLPClassifier(hidden_layer_sizes=(32,), **LONG)"):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", _LONG_FIT, estimator],
                            stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "fitting\n"
    time.sleep(1.5)  # a few epochs in
    return proc


@POSIX
@pytest.mark.parametrize("estimator", [
    "MLPClassifier(hidden_layer_sizes=(32,), **LONG)",
    "MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, **LONG)",
    "LinearSVM(probability=True, solver='adam', learning_rate='constant', **LONG)",
])
def test_sigint_during_fit_in_a_subprocess_keeps_a_working_model(estimator):
    proc = _start_long_fit(estimator)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert "Training interrupted during epoch" in out
    n_iter, finite, accuracy = (part.split("=")[1] for part in out.splitlines()[-1].split())
    assert int(n_iter) >= 1 and finite == "True" and float(accuracy) > 0.8


@POSIX
def test_sigterm_during_fit_is_not_swallowed():
    proc = _start_long_fit()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGTERM


@POSIX
def test_idx_file_promising_gigabytes_under_an_address_space_limit(tmp_path):
    """A gzip file whose header promises 4 GiB, read under a 2 GiB RLIMIT_AS:
    a MemoryError naming the file, not a crash, even with the deflate bound lifted."""
    path = tmp_path / "four-gib.idx.gz"
    path.write_bytes(gzip.compress(bytes([0, 0, 8, 2]) + np.array([2**16, 2**16], ">u4")
                                   .tobytes()))
    code = textwrap.dedent(f"""
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from sknumpynet import datasets
        datasets._MAX_DEFLATE_RATIO = 2**40
        try:
            datasets.load_idx({str(path)!r})
        except MemoryError as exc:
            print("MemoryError:", exc)
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"MemoryError: {path}: not enough memory for the "
                                    "4294967296-byte payload")


# -- truncated and corrupted IDX files ---------------------------------------------------


@pytest.fixture(scope="module")
def idx_bytes(tmp_path_factory):
    array = np.random.default_rng(0).integers(0, 256, (6, 7, 5), dtype=np.uint8)
    folder = tmp_path_factory.mktemp("idx")
    write_idx(folder / "a.idx.gz", array)
    write_idx(folder / "a.idx", array)
    return array, (folder / "a.idx.gz").read_bytes(), (folder / "a.idx").read_bytes()


@FEW
@given(compressed=st.booleans(), fraction=st.floats(0, 1, exclude_max=True))
def test_truncated_idx_files_are_refused_naming_the_file(tmp_path_factory, idx_bytes,
                                                         compressed, fraction):
    _, gz, raw = idx_bytes
    data = gz if compressed else raw
    path = tmp_path_factory.mktemp("cut") / "cut.idx"
    path.write_bytes(data[: int(fraction * len(data))])
    with pytest.raises(ValueError, match=f"^{path}: "):
        load_idx(path)


@FEW
@given(position=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_flipped_bit_in_a_gzip_idx_file_never_passes_unnoticed(tmp_path_factory, idx_bytes,
                                                                  position, bit):
    """Either a ValueError naming the file, or (a bit of the gzip header's
    timestamp, flags or OS byte) exactly the original array."""
    array, gz, _ = idx_bytes
    data = bytearray(gz)
    position %= len(data)
    data[position] ^= 1 << bit
    path = tmp_path_factory.mktemp("flip") / "flip.idx.gz"
    path.write_bytes(bytes(data))
    try:
        loaded = load_idx(path)
    except ValueError as error:
        assert str(error).startswith(f"{path}: ")
        return
    np.testing.assert_array_equal(loaded, array)


@FEW
@given(extra=st.binary(min_size=1, max_size=64))
def test_junk_after_an_idx_payload_is_refused(tmp_path_factory, idx_bytes, extra):
    _, _, raw = idx_bytes
    path = tmp_path_factory.mktemp("junk") / "junk.idx"
    path.write_bytes(raw + extra)
    with pytest.raises(ValueError, match=f"over-long payload.*found {210 + len(extra)}$"):
        load_idx(path)


@POSIX
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_a_signal_during_saving_leaves_a_loadable_file(tmp_path, sig):
    """A process saving two models in turn to one path is killed at a random moment:
    the file is always one of the two models, whole, and no temporary file stays
    behind that a later save would trip over."""
    code = textwrap.dedent(f"""
        import numpy as np
        from sknumpynet import MLPClassifier
        from sknumpynet.io import save
        rng = np.random.default_rng(0)
        X = rng.standard_normal((200, 200))
        y = (X[:, 0] > 0).astype(int)
        models = [MLPClassifier(hidden_layer_sizes=(1024,), max_iter=1, random_state=s).fit(X, y)
                  for s in (0, 1)]
        np.save({str(tmp_path / "X.npy")!r}, X)
        for i, m in enumerate(models):
            save(m, {str(tmp_path / "model")!r} + str(i) + ".skn")
        print("saving", flush=True)
        i = 0
        while True:
            save(models[i % 2], {str(tmp_path / "target.skn")!r})
            i += 1
    """)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stdout.readline() == "saving\n", proc.stderr.read()[-2000:]
    time.sleep(0.5 + np.random.default_rng().random())
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert proc.returncode == -sig
    from sknumpynet.io import load

    X = np.load(tmp_path / "X.npy")
    got = load(tmp_path / "target.skn").predict_proba(X)
    expected = [load(tmp_path / f"model{i}.skn").predict_proba(X) for i in (0, 1)]
    assert any(np.array_equal(got, e) for e in expected)
