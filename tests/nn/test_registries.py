"""The engine's registries: one table per kind, read by the estimators and io."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sknumpynet import MLPClassifier, MLPRegressor, TabularMLPClassifier, nn
from sknumpynet import io as skio


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_every_activation_builds_and_keeps_its_inplace_option(name):
    act = nn.get_activation(name, inplace=True)
    assert type(act) is nn.ACTIVATIONS[name]
    x = np.random.default_rng(0).normal(size=(4, 3))
    out = act.forward(x.copy())
    assert out.shape == x.shape
    if name != "identity":
        assert act.inplace is True


@pytest.mark.parametrize(
    "get, registry",
    [(nn.get_activation, nn.ACTIVATIONS), (nn.get_loss, nn.LOSSES)],
)
def test_unknown_names_are_errors_listing_the_choices(get, registry):
    with pytest.raises(ValueError, match="Unknown .*'nope'.*choose one of") as info:
        get("nope")
    for name in registry:
        assert repr(name) in str(info.value)


def test_unknown_optimizer_and_schedule_names_are_errors():
    p = nn.Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="Unknown optimizer 'adamw'.*'nadam'"):
        nn.get_optimizer("adamw", [p], lr=0.1)
    with pytest.raises(ValueError, match="Unknown schedule 'step'.*'coslog'"):
        nn.get_schedule("step", 0.1)


@pytest.mark.parametrize("name", sorted(nn.OPTIMIZERS))
def test_n_state_arrays_bounds_what_the_optimizer_keeps(name):
    """The memory estimate reads n_state_arrays: it must count the real state."""
    params = [nn.Parameter(np.ones((5, 4))), nn.Parameter(np.ones(4))]
    kwargs = {"momentum": 0.9} if name == "sgd" else {}
    opt = nn.get_optimizer(name, params, lr=0.1, **kwargs)
    assert type(opt) is nn.OPTIMIZERS[name]
    n_values = sum(p.value.size for p in params)
    state_values = sum(a.size for a in opt.state_arrays())
    assert state_values == opt.n_state_arrays * n_values


def test_losses_carry_their_inverse_link_and_target_range():
    scores = np.array([[-1.0], [0.0], [2.0]])
    assert nn.LOSSES["poisson"].link == "exp"
    np.testing.assert_allclose(nn.LOSSES["poisson"].inverse_link(scores), np.exp(scores))
    for name in ("squared_error", "absolute_error", "huber", "quantile"):
        assert nn.LOSSES[name].link == "identity"
        assert nn.LOSSES[name].target_min is None
        assert nn.LOSSES[name].inverse_link(scores) is scores
    assert nn.LOSSES["poisson"].target_min == 0.0
    with pytest.raises(ValueError, match="non-negative"):
        nn.get_loss("poisson")(np.zeros((2, 1)), np.array([1.0, -1.0]))


def test_regressor_predicts_through_the_fitted_loss_link():
    """A Poisson fit's out_activation_ is its loss's link, and predict applies it."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = rng.poisson(np.exp(0.5 * X[:, 0] + 1)).astype(float)
    reg = MLPRegressor(hidden_layer_sizes=(8,), loss="poisson", max_iter=50, random_state=0)
    reg.fit(X, y)
    assert reg.out_activation_ == nn.PoissonLoss.link
    scores = reg.network_.forward(X.astype(reg.coefs_[0].dtype))
    np.testing.assert_allclose(reg.predict(X), np.exp(scores).ravel(), rtol=1e-6)


@pytest.mark.parametrize("name", sorted(nn.ACTIVATIONS))
def test_every_registered_activation_saves_and_loads(tmp_path, name):
    """Each activation, in the estimator that offers it, round-trips through io."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array([0, 1] * 20)
    if name in ("selu", "mish", "gelu", "silu"):
        est = TabularMLPClassifier((4,), activation=name, max_iter=3, random_state=0)
    else:
        est = MLPClassifier(hidden_layer_sizes=(4,), activation=name, max_iter=3,
                            random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    assert any(type(m) is nn.ACTIVATIONS[name] for m in est.network_.modules())
    path = tmp_path / "m.skn"
    skio.save(est, path)
    np.testing.assert_array_equal(skio.load(path).predict_proba(X), est.predict_proba(X))

