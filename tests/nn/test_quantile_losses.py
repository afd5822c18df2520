"""QuantileLoss with several quantiles: one output column per quantile, a shared target."""

import numpy as np
import pytest
from sklearn.metrics import mean_pinball_loss

from sknumpynet.nn import QuantileLoss, check_loss_gradients

from .reference import central_difference

QUANTILES = [(0.1, 0.5, 0.9), (0.05, 0.95), (0.3,)]


def shared_target_problem(n, k, rng, kink_distance=1e-3):
    """Scores (n, k) and a 1-D target whose residuals keep away from the kink at 0."""
    for _ in range(1000):
        scores = rng.standard_normal((n, k)) * 1.5
        target = rng.standard_normal(n) * 1.5
        if np.min(np.abs(scores - target[:, None])) > kink_distance:
            return scores, target
    raise RuntimeError("could not draw residuals away from the kink")


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 6, 9])
@pytest.mark.parametrize("quantiles", QUANTILES, ids=str)
def test_several_quantiles_gradients(quantiles, n, seed, use_weights):
    rng = np.random.default_rng(seed)
    loss = QuantileLoss(quantile=quantiles)
    scores, target = shared_target_problem(n, len(quantiles), rng)
    w = rng.uniform(0.1, 3.0, n) if use_weights else None
    assert check_loss_gradients(loss, scores, target, w) < 1e-6
    # an independent central difference, with a random upstream scale
    c = rng.uniform(0.3, 3.0) * rng.choice([-1.0, 1.0])
    numeric = central_difference(lambda: c * loss(scores, target, w), scores)
    loss(scores, target, w)
    np.testing.assert_allclose(c * loss.backward(), numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("use_weights", [False, True])
@pytest.mark.parametrize("target_columns", [0, 1, 3])
def test_value_is_the_mean_pinball_loss_over_the_quantiles(target_columns, use_weights):
    rng = np.random.default_rng(4)
    quantiles = (0.1, 0.5, 0.83)
    scores = rng.standard_normal((30, 3))
    y = rng.standard_normal(30) if target_columns == 0 else rng.standard_normal((30, 1))
    if target_columns == 3:
        y = rng.standard_normal((30, 3))  # a target per column: each its own quantile
    w = rng.uniform(0.1, 2.0, 30) if use_weights else None
    columns = [y.reshape(30, -1)[:, min(k, y.reshape(30, -1).shape[1] - 1)] for k in range(3)]
    expected = np.mean([
        mean_pinball_loss(columns[k], scores[:, k], sample_weight=w, alpha=q)
        for k, q in enumerate(quantiles)
    ])
    assert QuantileLoss(quantile=quantiles)(scores, y, w) == pytest.approx(expected, rel=1e-12)


def test_by_hand():
    # quantiles 0.2 and 0.8 of y = 1 predicted at 0 and 2: residuals y - s = 1, -1
    loss = QuantileLoss(quantile=[0.2, 0.8])
    assert loss(np.array([[0.0, 2.0]]), np.array([1.0])) == pytest.approx((0.2 + 0.2) / 2)
    np.testing.assert_allclose(loss.backward(), [[-0.2 / 2, 0.2 / 2]])


def test_scalar_quantile_is_unchanged():
    loss = QuantileLoss(0.7)
    assert loss.quantile == 0.7 and repr(loss) == "QuantileLoss(quantile=0.7)"
    assert repr(QuantileLoss([0.1, 0.9])) == "QuantileLoss(quantile=(0.1, 0.9))"


@pytest.mark.parametrize(
    "quantile, match",
    [([0.1, 1.0], "quantile"), ([], "1-D sequence"), ([[0.1, 0.5]], "1-D sequence"),
     ([0.5, "0.9"], "quantile")],
)
def test_bad_quantile_sequences_are_refused(quantile, match):
    with pytest.raises(ValueError, match=match):
        QuantileLoss(quantile=quantile)


def test_scores_need_one_column_per_quantile():
    loss = QuantileLoss(quantile=[0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match="3 quantiles but the scores have 2 columns"):
        loss(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="target shape"):
        loss(np.zeros((4, 3)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        loss(np.zeros((2, 3)), np.array([0.0, np.nan]))
