"""Property-based tests (hypothesis): layers, fitted classifiers, pickling.

For random shapes and finite inputs every layer's forward pass is finite and
its backward pass agrees with central finite differences in float64
(``sknumpynet.nn.check_module_gradients``, an independent reference); for
random small data sets a fitted classifier predicts labels from ``classes_``
with probabilities in [0, 1] that sum to 1; a pickle round trip changes no
prediction by a single bit. The example counts are bounded to keep the file
fast; ``database=None`` leaves no ``.hypothesis`` folder behind.
"""

import pickle
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import sknumpynet
from sknumpynet import MLPClassifier, MLPRegressor, nn

HAS_SVM = hasattr(sknumpynet, "LinearSVM")

FAST = settings(max_examples=25, deadline=None, database=None)
SEEDS = st.integers(0, 2**32 - 1)

# -- layers ------------------------------------------------------------------------------

#: layers whose backward needs a training-mode forward (they keep their input only then)
TRAINING_ONLY = {"Linear", "Linear-no-bias", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax",
                 "Sequential"}
LAYERS = sorted(TRAINING_ONLY | {"Identity", "Dropout", "BatchNorm1d"})


def build_layer(kind, n_in, n_out, rng, dtype=np.float64):
    """A layer mapping n_in features to n_out (element-wise layers keep n_in)."""
    if kind == "Linear":
        return nn.Linear(n_in, n_out, rng=rng, dtype=dtype)
    if kind == "Linear-no-bias":
        return nn.Linear(n_in, n_out, bias=False, rng=rng, dtype=dtype)
    if kind == "ReLU":
        return nn.ReLU()
    if kind == "LeakyReLU":
        return nn.LeakyReLU(0.1)
    if kind == "Sigmoid":
        return nn.Sigmoid()
    if kind == "Tanh":
        return nn.Tanh()
    if kind == "Softmax":
        return nn.Softmax()
    if kind == "Identity":
        return nn.Identity()
    if kind == "Dropout":
        return nn.Dropout(0.3, rng=rng)
    if kind == "BatchNorm1d":
        bn = nn.BatchNorm1d(n_in, dtype=dtype)
        # non-trivial scale, shift and running statistics
        bn.gamma.value[...] = rng.uniform(0.5, 2.0, n_in)
        bn.beta.value[...] = rng.standard_normal(n_in)
        bn.running_mean[...] = rng.standard_normal(n_in)
        bn.running_var[...] = rng.uniform(0.5, 2.0, n_in)
        return bn
    if kind == "Sequential":
        return nn.Sequential(
            nn.Linear(n_in, 5, rng=rng, dtype=dtype), nn.BatchNorm1d(5, dtype=dtype),
            nn.Tanh(), nn.Dropout(0.2, rng=rng), nn.Linear(5, n_out, rng=rng, dtype=dtype),
        )
    raise ValueError(kind)


PER_LAYER = settings(max_examples=12, deadline=None, database=None)


@pytest.mark.parametrize("kind", LAYERS)
@PER_LAYER
@given(
    n_samples=st.integers(3, 6),
    n_in=st.integers(1, 5),
    n_out=st.integers(1, 4),
    seed=SEEDS,
    scale=st.sampled_from([0.1, 1.0, 3.0]),
    training=st.booleans(),
    constant_column=st.booleans(),
)
def test_layer_backward_matches_finite_differences(
    kind, n_samples, n_in, n_out, seed, scale, training, constant_column
):
    rng = np.random.default_rng(seed)
    module = build_layer(kind, n_in, n_out, rng)
    module.train(training or kind in TRAINING_ONLY)
    x = rng.standard_normal((n_samples, n_in))
    x = np.where(np.abs(x) < 0.05, np.copysign(0.05, x), x) * scale  # off ReLU's kink
    if constant_column and n_in > 1:
        # a zero-variance feature for BatchNorm1d (with every feature constant the
        # finite differences only measure rounding, amplified by 1 / sqrt(eps))
        x[:, 0] = x[0, 0]
    out = module.forward(x.copy())
    assert np.isfinite(out).all()
    nn.check_module_gradients(module, x, np.random.default_rng(seed + 1), tol=1e-6)


def test_gradients_of_linear_then_batchnorm():
    """The block MLPClassifier(batch_norm=True) builds. In training mode BatchNorm1d
    removes the batch mean, so the Linear bias gets a gradient of exactly zero."""
    rng = np.random.default_rng(0)
    block = nn.Sequential(nn.Linear(3, 5, rng=rng, dtype=np.float64),
                          nn.BatchNorm1d(5, dtype=np.float64))
    x = rng.standard_normal((8, 3))
    block.forward(x.copy())
    block.backward(rng.standard_normal((8, 5)))
    assert np.abs(block[0].bias.grad).max() < 1e-12
    nn.check_module_gradients(block, x, np.random.default_rng(1))


def test_gradients_of_batchnorm_on_a_zero_variance_feature():
    """A constant feature normalises to zero, so gamma's gradient is exactly zero."""
    bn = nn.BatchNorm1d(1, dtype=np.float64)
    x = np.full((3, 1), 0.1)  # its mean rounds to 0.10000000000000002
    out = bn.forward(x.copy())
    assert np.isfinite(out).all()
    nn.check_module_gradients(bn, x, np.random.default_rng(0))


def finite_arrays(max_magnitude=None):
    """2-D float32 or float64 arrays of finite values (any finite value by default)."""

    @st.composite
    def strategy(draw):
        dtype = draw(st.sampled_from([np.float32, np.float64]))
        width = 32 if dtype == np.float32 else 64
        bound = {} if max_magnitude is None else {"min_value": -max_magnitude,
                                                  "max_value": max_magnitude}
        elements = st.floats(allow_nan=False, allow_infinity=False, width=width, **bound)
        shape = draw(array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6))
        return draw(arrays(dtype, shape, elements=elements))

    return strategy()


ELEMENTWISE = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Identity"]


@pytest.mark.parametrize("kind", ELEMENTWISE)
@PER_LAYER
@given(x=finite_arrays(), seed=SEEDS)
def test_activation_forward_and_backward_finite_for_any_finite_input(kind, x, seed):
    rng = np.random.default_rng(seed)
    module = build_layer(kind, x.shape[1], x.shape[1], rng)
    module.train()
    with np.errstate(over="ignore"):  # finiteness is the point, not warnings
        out = module.forward(x.copy())
        grad = module.backward(rng.uniform(-1, 1, x.shape).astype(x.dtype))
    assert np.isfinite(out).all()
    assert np.isfinite(grad).all()
    if kind in ("Sigmoid", "Softmax"):
        assert ((out >= 0) & (out <= 1)).all()
    if kind == "Softmax":
        np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", ["Linear", "BatchNorm1d", "Dropout", "Sequential"])
@PER_LAYER
@given(
    x=finite_arrays(max_magnitude=1e4),
    n_out=st.integers(1, 4),
    seed=SEEDS,
    training=st.booleans(),
)
def test_scaling_layer_forward_finite(kind, x, n_out, seed, training):
    """Layers that scale their input (inverted dropout by 1 / (1 - p)) on bounded input."""
    if training and x.shape[0] < 2 and kind in ("BatchNorm1d", "Sequential"):
        x = np.vstack([x, x])  # batch statistics need two rows
    rng = np.random.default_rng(seed)
    module = build_layer(kind, x.shape[1], n_out, rng, dtype=x.dtype)
    module.train(training)
    out = module.forward(x.copy())
    assert out.dtype == x.dtype
    assert np.isfinite(out).all()
    if training:
        grad = module.backward(rng.uniform(-1, 1, out.shape).astype(x.dtype))
        if grad is not None:
            assert np.isfinite(grad).all()
        assert all(np.isfinite(p.grad).all() for p in module.parameters())


# -- fitted estimators -----------------------------------------------------------------------

LABEL_SETS = {
    "int": np.array([0, 1, 2, 3]),
    "negative": np.array([-5, 3, 11, 40]),
    "str": np.array(["cat", "dog", "eel", "fox"]),
    "float": np.array([-1.0, 0.0, 2.0, 1e3]),  # integral: 2.5 is "continuous"
}
CLASSIFIER_KINDS = ["mlp", "mlp-bn-dropout"] + (["svm", "svm-proba"] if HAS_SVM else [])


def make_classifier(kind, seed):
    common = dict(random_state=seed, n_threads=1, max_iter=5)
    if kind == "mlp":
        return MLPClassifier(hidden_layer_sizes=(5,), learning_rate_init=0.05, **common)
    if kind == "mlp-bn-dropout":
        return MLPClassifier(hidden_layer_sizes=(5, 3), batch_norm=True, dropout=0.2,
                             learning_rate_init=0.05, **common)
    return sknumpynet.LinearSVM(probability=kind == "svm-proba", learning_rate_init=0.05,
                                **common)


@st.composite
def classification_data(draw):
    n_classes = draw(st.integers(2, 4))
    n_samples = draw(st.integers(3 * n_classes, 30))
    n_features = draw(st.integers(1, 4))
    rng = np.random.default_rng(draw(SEEDS))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    scale = draw(st.sampled_from([1e-3, 1.0, 100.0]))
    X = (rng.standard_normal((n_samples, n_features)) * scale).astype(dtype)
    index = rng.permutation(np.arange(n_samples) % n_classes)  # every class present
    labels = LABEL_SETS[draw(st.sampled_from(sorted(LABEL_SETS)))][:n_classes]
    return X, labels[index]


def fit_quietly(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning after 5 epochs, by design
        return est.fit(X, y)


@FAST
@given(data=classification_data(), kind=st.sampled_from(CLASSIFIER_KINDS), seed=SEEDS)
def test_classifier_predicts_known_labels_and_probabilities(data, kind, seed):
    X, y = data
    est = fit_quietly(make_classifier(kind, seed), X, y)
    np.testing.assert_array_equal(est.classes_, np.unique(y))
    predicted = est.predict(X)
    assert predicted.shape == y.shape
    assert np.isin(predicted, est.classes_).all()
    if hasattr(est, "predict_proba"):
        proba = est.predict_proba(X)
        assert proba.shape == (len(y), len(est.classes_))
        assert np.isfinite(proba).all()
        assert ((proba >= 0) & (proba <= 1)).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
        log_proba = est.predict_log_proba(X)
        assert not np.isnan(log_proba).any() and (log_proba <= 0).all()


@FAST
@given(
    data=classification_data(),
    kind=st.sampled_from(CLASSIFIER_KINDS + ["regressor"]),
    seed=SEEDS,
)
def test_pickle_round_trip_preserves_predictions_exactly(data, kind, seed):
    X, y = data
    if kind == "regressor":
        est = MLPRegressor(hidden_layer_sizes=(5,), random_state=seed, n_threads=1, max_iter=5)
        y = np.random.default_rng(seed).standard_normal(len(y))
    else:
        est = make_classifier(kind, seed)
    est = fit_quietly(est, X, y)
    loaded = pickle.loads(pickle.dumps(est))
    for name in ("predict", "predict_proba", "predict_log_proba", "decision_function",
                 "transform"):
        if hasattr(est, name):
            expected, got = getattr(est, name)(X), getattr(loaded, name)(X)
            assert got.dtype == expected.dtype, name
            np.testing.assert_array_equal(got, expected, err_msg=name)

