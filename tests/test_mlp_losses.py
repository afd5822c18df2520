"""MLPRegressor's ``loss`` parameter: what each loss fits, and scikit-learn's conventions.

Each loss is checked against an independent reference: the statistic it is
known to estimate (mean, median, quantile), scikit-learn's Poisson GLM, or
scikit-learn's own estimator checks.
"""

import warnings

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import PoissonRegressor
from sklearn.metrics import mean_poisson_deviance, r2_score
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknumpynet import MLPRegressor, nn

LOSSES = ["squared_error", "poisson", "absolute_error", "huber", "quantile"]


def _reg(**params):
    base = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, max_iter=300,
                random_state=0, n_threads=1)
    base.update(params)
    return MLPRegressor(**base)


def _fit_quietly(est, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.filterwarnings("ignore", "Got batch_size", UserWarning)
        return est.fit(X, y, **kw)


def _location_problem(rng, n=600):
    """A constant input: the best prediction is a statistic of y alone (skewed y)."""
    X = np.ones((n, 1))
    y = rng.exponential(2.0, n)
    return X, y


def test_loss_is_scikit_learns_first_positional_parameter():
    # as sklearn 1.9.1's MLPRegressor(loss="squared_error", hidden_layer_sizes=..., ...)
    est = MLPRegressor("poisson", (7,), "tanh")
    assert (est.loss, est.hidden_layer_sizes, est.activation) == ("poisson", (7,), "tanh")
    params = MLPRegressor().get_params()
    assert params["loss"] == "squared_error"
    assert params["huber_delta"] == 1.0 and params["quantile"] == 0.5


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("squared_error", nn.MSELoss),
        ("poisson", nn.PoissonLoss),
        ("absolute_error", nn.AbsoluteErrorLoss),
        ("huber", nn.HuberLoss),
        ("quantile", nn.QuantileLoss),
    ],
)
def test_make_loss_chooses_the_engine_loss(loss, expected):
    est = MLPRegressor(loss=loss, huber_delta=0.25, quantile=0.8)
    made = est._make_loss({})
    assert type(made) is expected
    if loss == "huber":
        assert made.delta == 0.25
    if loss == "quantile":
        assert made.quantile == 0.8


@pytest.mark.parametrize(
    "params, name",
    [({"loss": "l1"}, "loss"), ({"loss": "huber", "huber_delta": 0.0}, "huber_delta"),
     ({"huber_delta": -1.0}, "huber_delta"), ({"quantile": 0.0}, "quantile"),
     ({"quantile": 1.0}, "quantile"), ({"quantile": 1.5}, "quantile")],
)
def test_bad_loss_parameters_are_refused(params, name):
    X, y = np.random.default_rng(0).standard_normal((20, 2)), np.arange(20.0)
    with pytest.raises(InvalidParameterError, match=f"'{name}' parameter"):
        MLPRegressor(**params).fit(X, y)


def test_poisson_refuses_negative_targets_and_stays_unfitted():
    X = np.random.default_rng(0).standard_normal((20, 2))
    y = np.arange(20.0) - 1.0
    est = MLPRegressor(loss="poisson")
    with pytest.raises(ValueError, match=r"loss='poisson' requires non-negative y"):
        est.fit(X, y)
    assert not hasattr(est, "network_")
    # zeros are fine: counts
    _fit_quietly(_reg(loss="poisson", max_iter=5), X, np.abs(y) * (y > 3))


def test_poisson_predicts_exp_of_the_network_output():
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 1, (200, 2))
    y = rng.poisson(np.exp(1 + X[:, 0])).astype(float)
    est = _fit_quietly(_reg(loss="poisson", max_iter=50), X, y)
    assert est.out_activation_ == "exp"
    raw = est.network_.forward(X)
    assert_allclose(est.predict(X), np.exp(raw[:, 0]), rtol=1e-12)
    assert (est.predict(X) > 0).all()
    # score is R^2 of the predicted means, as scikit-learn's MLPRegressor
    assert est.score(X, y) == pytest.approx(r2_score(y, np.exp(raw[:, 0])), rel=1e-12)
    assert _fit_quietly(_reg(max_iter=5), X, y).out_activation_ == "identity"


def test_poisson_matches_scikit_learns_poisson_glm():
    # one identity hidden unit: the network is a linear model with a log link,
    # so it should reach the Poisson GLM's optimum (as sklearn's own test, with adam)
    rng = np.random.default_rng(0)
    X = np.linspace(0, 1, 200).reshape(-1, 1)
    y = rng.poisson(np.exp(X[:, 0] + 1)).astype(float)
    glm = PoissonRegressor(alpha=0, tol=1e-10).fit(X, y)
    est = _fit_quietly(
        _reg(loss="poisson", hidden_layer_sizes=(1,), activation="identity", alpha=0.0,
             max_iter=2000, tol=1e-9, n_iter_no_change=50, learning_rate_init=0.01,
             batch_size=200, shuffle=False),
        X, y,
    )
    ours = mean_poisson_deviance(y, est.predict(X))
    best = mean_poisson_deviance(y, glm.predict(X))
    assert ours == pytest.approx(best, rel=1e-3)
    assert_allclose(est.predict(X), glm.predict(X), rtol=2e-2)


@pytest.mark.parametrize(
    "params, statistic",
    [
        ({"loss": "squared_error"}, np.mean),
        ({"loss": "absolute_error"}, np.median),
        ({"loss": "quantile", "quantile": 0.1}, lambda y: np.quantile(y, 0.1)),
        ({"loss": "quantile", "quantile": 0.9}, lambda y: np.quantile(y, 0.9)),
    ],
    ids=["mean", "median", "q10", "q90"],
)
def test_each_loss_fits_its_statistic(params, statistic):
    X, y = _location_problem(np.random.default_rng(2))
    est = _fit_quietly(
        _reg(**params, hidden_layer_sizes=(2,), alpha=0.0, max_iter=1000, tol=0.0,
             n_iter_no_change=1000, learning_rate_init=0.01),
        X, y,
    )
    prediction = est.predict(X[:1])[0]
    # the mean, median and 10%/90% quantiles of Exp(2) are 2, 1.39, 0.21, 4.6:
    # 0.05 separates each from the others by far
    assert prediction == pytest.approx(statistic(y), abs=0.05)


def test_huber_is_robust_to_outliers_where_squared_error_is_not():
    rng = np.random.default_rng(3)
    X = np.ones((500, 1))
    y = rng.normal(0.0, 0.5, 500)
    y[:25] = 100.0  # 5% gross outliers pull the mean to about 5
    # full batches and no early stop: the fits converge (within 0.001 for random_state
    # 0-5), where minibatches that share out the outliers differently leave the
    # squared error's last iterate anywhere within about 0.4 of the mean
    fits = {
        loss: _fit_quietly(
            _reg(loss=loss, hidden_layer_sizes=(2,), alpha=0.0, max_iter=400, batch_size=500,
                 tol=0.0, n_iter_no_change=1000, learning_rate_init=0.05),
            X, y,
        ).predict(X[:1])[0]
        for loss in ("squared_error", "huber")
    }
    assert fits["squared_error"] == pytest.approx(y.mean(), abs=0.1)
    # Huber's estimate solves sum clip(y - m, -1, 1) = 0: find m by bisection
    low, high = -1.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2
        low, high = (mid, high) if np.clip(y - mid, -1, 1).sum() > 0 else (low, mid)
    assert fits["huber"] == pytest.approx(low, abs=0.05)
    assert abs(fits["huber"]) < 0.3


@pytest.mark.parametrize("loss", LOSSES)
def test_sample_weight_equals_repetition_for_every_loss(loss):
    rng = np.random.default_rng(4)
    X = rng.uniform(0, 1, (30, 2))
    y = rng.poisson(2.0, 30).astype(float)
    w = rng.integers(0, 3, 30)
    params = dict(loss=loss, shuffle=False, batch_size=1000, max_iter=20)
    weighted = _fit_quietly(_reg(**params), X, y, sample_weight=w.astype(float))
    repeated = _fit_quietly(_reg(**params), np.repeat(X, w, axis=0), np.repeat(y, w))
    assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-6)


def test_diverging_fit_with_early_stopping_warns_instead_of_crashing():
    # scikit-learn issue 29504: r2_score used to raise on the overflowing predictions
    X = np.random.default_rng(5).uniform(0, 8, (150, 4))
    y = X @ np.array([1.0, -2.0, 3.0, 0.5])
    est = MLPRegressor(hidden_layer_sizes=(100,), activation="identity", solver="sgd",
                       learning_rate_init=1.0, max_iter=20, early_stopping=True,
                       random_state=0, n_threads=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.warns(ConvergenceWarning, match="diverged"):
            est.fit(X, y)
    assert all(isinstance(v, float) for v in est.validation_scores_)


def test_non_finite_validation_predictions_score_nan():
    est = MLPRegressor(loss="poisson")
    est.loss = "poisson"
    network = nn.Sequential(nn.Linear(1, 1, rng=np.random.default_rng(0), dtype=np.float64))
    network.eval()
    network[0].bias.value[:] = 1e4  # exp overflows
    X = np.ones((3, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score = est._validation_score(network.forward(X), np.ones((3, 1)), None)
    assert np.isnan(score)


def _expected_failed_checks(estimator):
    if estimator.loss != "poisson":
        return {}
    # this check draws y from make_regression without honouring the positive_only
    # tag (unlike check_regressors_train), and poisson refuses negative y
    return {"check_regressor_multioutput": "gives negative y to a positive_only regressor"}


@parametrize_with_checks(
    [
        _reg(loss="poisson", hidden_layer_sizes=(16,), max_iter=200),
        _reg(loss="absolute_error", max_iter=100),
        _reg(loss="huber", huber_delta=0.5, max_iter=100),
        _reg(loss="quantile", quantile=0.5, max_iter=100),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_checks_for_each_loss(estimator, check):
    check(estimator)
