"""MLPRegressor(loss="quantile", quantile=[...]): one output per quantile, never crossing."""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import d2_pinball_score, mean_pinball_loss
from sklearn.utils._param_validation import InvalidParameterError

from sknumpynet import MLPRegressor, load, save

QUANTILES = [0.1, 0.5, 0.9]


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def heteroscedastic(n, seed):
    """y = x + noise whose scale grows with |x|: the quantile bands widen away from 0."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 1))
    y = X[:, 0] + rng.standard_normal(n) * (0.2 + 0.5 * np.abs(X[:, 0]))
    return X, y


@pytest.fixture(scope="module")
def fitted():
    # all 200 epochs: stopped by the default rule after 20-40 epochs, the median's
    # coverage is anywhere in 0.46-0.54 by random_state (0-4); after 200, 0.49-0.53
    X, y = heteroscedastic(3000, 0)
    return MLPRegressor(loss="quantile", quantile=QUANTILES, hidden_layer_sizes=(32,),
                        max_iter=200, learning_rate_init=0.01, n_iter_no_change=200,
                        random_state=0).fit(X, y)


def _reg(**params):
    defaults = dict(loss="quantile", quantile=QUANTILES, hidden_layer_sizes=(8,), max_iter=5,
                    random_state=0)
    return MLPRegressor(**{**defaults, **params})


def _crossing(reg):
    """Make the raw outputs cross: the output biases in decreasing order."""
    reg.intercepts_ = reg.intercepts_[:-1] + [np.array([3.0, 0.0, -3.0])]
    return reg


def test_one_output_per_quantile_and_coverage(fitted):
    X, y = heteroscedastic(4000, 1)
    predicted = fitted.predict(X)
    assert predicted.shape == (4000, 3) and fitted.n_outputs_ == 3
    assert_array_equal(fitted.quantiles_, QUANTILES)
    coverage = (y[:, None] <= predicted).mean(axis=0)
    np.testing.assert_allclose(coverage, QUANTILES, atol=0.03)
    # heteroscedastic: the 10-90% band is wider at |x| = 2 than at x = 0
    width = np.diff(fitted.predict(np.array([[0.0], [1.9], [-1.9]]))[:, [0, 2]], axis=1)[:, 0]
    assert width[1] > 2 * width[0] and width[2] > 2 * width[0]


def test_predictions_never_cross_on_random_data():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((200, 4)), rng.standard_normal(200)
    reg = _crossing(_reg().fit(X, y))
    far = rng.standard_normal((500, 4)) * 50
    raw = reg._forward(far)
    assert (np.diff(raw, axis=1) < 0).any()  # the network's outputs do cross
    predicted = reg.predict(far)
    assert (np.diff(predicted, axis=1) >= 0).all()
    assert_array_equal(predicted, np.sort(raw, axis=1))


def test_sorting_never_increases_the_pinball_loss():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((300, 4)), rng.standard_normal(300) * 3
    reg = _crossing(_reg().fit(X, y))
    raw, predicted = reg._forward(X), reg.predict(X)
    for row in range(len(y)):
        before = sum(mean_pinball_loss(y[[row]], raw[[row], k], alpha=q)
                     for k, q in enumerate(QUANTILES))
        after = sum(mean_pinball_loss(y[[row]], predicted[[row], k], alpha=q)
                    for k, q in enumerate(QUANTILES))
        assert after <= before + 1e-12


def test_score_is_the_mean_d2_pinball_score(fitted):
    X, y = heteroscedastic(500, 2)
    w = np.random.default_rng(0).uniform(0.5, 2.0, 500)
    predicted = fitted.predict(X)
    expected = np.mean([d2_pinball_score(y, predicted[:, k], alpha=q, sample_weight=w)
                        for k, q in enumerate(QUANTILES)])
    assert fitted.score(X, y, sample_weight=w) == pytest.approx(expected, rel=1e-12)
    assert 0.2 < fitted.score(X, y) < 1


def test_early_stopping_watches_the_score_on_x_val():
    X, y = heteroscedastic(800, 3)
    reg = _reg(early_stopping=True, max_iter=100, tol=0.0, n_iter_no_change=5,
               learning_rate_init=0.01).fit(X[:600], y[:600], X_val=X[600:], y_val=y[600:])
    assert reg.best_validation_score_ == pytest.approx(reg.score(X[600:], y[600:]))
    pinball = np.mean([mean_pinball_loss(y[600:], reg._forward(X[600:])[:, k], alpha=q)
                       for k, q in enumerate(QUANTILES)])
    best = int(np.argmax(reg.validation_scores_))
    assert reg.validation_loss_curve_[best] == pytest.approx(pinball, rel=1e-9)
    split = _reg(early_stopping=True, max_iter=3).fit(X, y)  # the internal split works too
    assert len(split.validation_scores_) == 3


def test_a_scalar_quantile_is_unchanged():
    X, y = heteroscedastic(300, 4)
    scalar = _reg(quantile=0.3).fit(X, y)
    single = _reg(quantile=[0.3]).fit(X, y)
    assert scalar.quantiles_ is None and scalar.predict(X).shape == (300,)
    assert_array_equal(single.predict(X)[:, 0], scalar.predict(X))
    assert scalar.loss_curve_ == single.loss_curve_
    assert scalar.score(X, y) != single.score(X, y)  # R^2 against the D^2 pinball score


def test_several_targets_with_several_quantiles_are_refused():
    X, y = heteroscedastic(100, 5)
    with pytest.raises(ValueError, match=r"y must be 1-D, got shape \(100, 2\)"):
        _reg().fit(X, np.column_stack([y, y]))
    single_column = _reg().fit(X, y.reshape(-1, 1))  # one column is one target
    assert single_column.predict(X).shape == (100, 3)


@pytest.mark.parametrize("quantile", [[0.5, 0.1], [0.1, 0.1], [0.0, 0.5], [0.5, 1.0], [],
                                      [[0.1, 0.5]], [0.1, float("nan")], ["a", "b"]])
def test_bad_quantile_lists_are_refused(quantile):
    X, y = heteroscedastic(50, 6)
    with pytest.raises(ValueError, match="strictly increasing"):
        _reg(quantile=quantile).fit(X, y)


def test_quantile_parameter_is_validated():
    X, y = heteroscedastic(50, 6)
    with pytest.raises(InvalidParameterError, match="quantile"):
        _reg(quantile="0.5").fit(X, y)
    # other losses ignore the quantiles
    assert _reg(loss="squared_error").fit(X, y).predict(X).shape == (50,)


def test_warm_start_refuses_another_number_of_quantiles():
    X, y = heteroscedastic(100, 7)
    reg = _reg().fit(X, y)
    with pytest.raises(ValueError, match="outputs"):
        reg.set_params(warm_start=True, quantile=[0.25, 0.75]).fit(X, y)
    assert_array_equal(reg.quantiles_, QUANTILES)


def test_save_and_load(tmp_path):
    X, y = heteroscedastic(100, 8)
    reg = _crossing(_reg().fit(X, y))
    save(reg, tmp_path / "q.skn")
    loaded = load(tmp_path / "q.skn")
    assert_array_equal(loaded.quantiles_, reg.quantiles_)
    assert loaded.quantile == QUANTILES
    assert_array_equal(loaded.predict(X), reg.predict(X))


def test_onnx_sorts_as_predict():
    skl2onnx = pytest.importorskip("skl2onnx")
    ort = pytest.importorskip("onnxruntime")
    import sknumpynet.onnx  # noqa: F401  (registers the converters)

    X, y = heteroscedastic(200, 9)
    X = X.astype(np.float32)
    reg = _crossing(_reg().fit(X, y))
    onx = skl2onnx.to_onnx(reg, X[:1])
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    out = sess.run(None, {sess.get_inputs()[0].name: X})[0]
    assert (np.diff(reg._forward(X), axis=1) < 0).any()
    np.testing.assert_allclose(out, reg.predict(X), rtol=0, atol=1e-6)
    with pytest.raises(RuntimeError, match="target_opset >= 11"):
        skl2onnx.to_onnx(reg, X[:1], target_opset=10)
