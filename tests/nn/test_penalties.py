"""L2Penalty (sknumpynet/nn/penalties.py): its value, its gradient, and the fused path.

The value is checked against a hand computation; the gradient ``backward``
adds against central differences of the value, in float64, on top of random
gradients already in ``grad`` (as a network's backward leaves them), with a
random ``scale`` (the upstream factor) and blocks that cut the parameters.

The fused path, the L2 gradient added in the optimizer's blocked pass
(``step(penalty.fused(scale))``), must be ``penalty.backward(scale)`` then
``step()`` bit for bit, whatever the blocks and wherever the penalised
parameters fall in them, with the formula still only in ``L2Penalty`` (the
optimizer is told where, not what).
"""

import numpy as np
import pytest

from sknumpynet.nn import L2Penalty, Parameter

from .reference import central_difference
from .test_optimizers import CASES

SHAPES = [(4, 3), (3,), (2, 5), (5,), (1, 1)]
DECAY = [True, False, True, False, True]  # weights and biases interleaved, as in a network


# -- value and gradient ------------------------------------------------------------------


def test_value_by_hand():
    weight = Parameter(np.array([[1.0, -2.0], [3.0, 0.5]]))
    bias = Parameter(np.array([10.0, -7.0]), decay=False)  # not penalised
    vector = Parameter(np.array([2.0]))
    penalty = L2Penalty([weight, bias, vector], alpha=0.4)
    # 0.5 * alpha * scale * (1 + 4 + 9 + 0.25 + 4) = 0.5 * 0.4 * 18.25 = 3.65
    assert penalty.value() == pytest.approx(3.65, rel=1e-15)
    assert penalty.value(scale=0.25) == pytest.approx(3.65 * 0.25, rel=1e-15)
    assert penalty.params == [weight, vector]
    assert L2Penalty([weight], alpha=0.0).value() == 0.0


def _random_params(rng, order="C"):
    shapes, decay = [(4, 3), (3,), (2, 5), (5,), (1, 1)], [True, False, True, False, True]
    params = [
        Parameter(np.asarray(rng.standard_normal(s), order=order), decay=d)
        for s, d in zip(shapes, decay)
    ]
    for p in params:
        p.grad[...] = rng.standard_normal(p.value.shape)  # the network's gradient, already there
    return params


@pytest.mark.parametrize("block_size", [65536, 7, 1])
@pytest.mark.parametrize("order", ["C", "F"])  # F: the rare non-contiguous path
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_backward_adds_the_gradient_of_the_value(block_size, order, seed, monkeypatch):
    monkeypatch.setattr(L2Penalty, "block_size", block_size)
    rng = np.random.default_rng(seed)
    params = _random_params(rng, order)
    upstream = [p.grad.copy() for p in params]
    scale = float(rng.uniform(0.1, 2.0))
    penalty = L2Penalty(params, alpha=0.7)
    penalty.backward(scale)
    for p, before in zip(params, upstream):
        added = p.grad - before
        if not p.decay:
            np.testing.assert_array_equal(p.grad, before)  # an unpenalised parameter: nothing
            continue
        expected = central_difference(lambda: penalty.value(scale), p.value)
        np.testing.assert_allclose(added, expected, rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(added, 0.7 * scale * p.value, rtol=1e-12, atol=1e-15)


def test_alpha_must_be_finite_and_non_negative():
    params = [Parameter(np.ones(2))]
    for alpha in (-0.1, np.nan, np.inf):
        with pytest.raises(ValueError, match="alpha must be a finite non-negative number"):
            L2Penalty(params, alpha=alpha)


# -- the fused path ----------------------------------------------------------------------


def _run(name, block_size, fused, monkeypatch, scales=(0.3, 0.01, 0.5, 0.2)):
    cls, hyper = CASES[name]
    monkeypatch.setattr(cls, "block_size", block_size)
    rng = np.random.default_rng(3)
    params = [Parameter(rng.standard_normal(s), decay=d) for s, d in zip(SHAPES, DECAY)]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in scales]
    opt = cls(params, **hyper)
    penalty = L2Penalty(params, alpha=0.7)
    for scale, step_grads in zip(scales, grads):
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        if fused:
            opt.step(penalty.fused(scale))
        else:
            penalty.backward(scale)
            opt.step()
    return np.concatenate([p.value.ravel() for p in params] + [p.grad.ravel() for p in params])


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("block_size", [65536, 7, 1])  # one block; blocks cutting parameters
def test_fused_step_is_backward_then_step_bit_for_bit(name, block_size, monkeypatch):
    fused = _run(name, block_size, True, monkeypatch)
    apart = _run(name, block_size, False, monkeypatch)
    np.testing.assert_array_equal(fused, apart)
    # and the penalty did something: without it the steps differ
    plain = _run(name, block_size, True, monkeypatch, scales=(0.0, 0.0, 0.0, 0.0))
    assert not np.array_equal(fused, plain)


def test_a_zero_penalty_fuses_to_nothing():
    params = [Parameter(np.ones(3))]
    assert L2Penalty(params, alpha=0.0).fused(1.0) is None
    assert L2Penalty(params, alpha=1.0).fused(0.0) is None


def test_a_gradient_for_parameters_the_optimizer_does_not_update_is_refused():
    cls, hyper = CASES["adam"]
    mine, other = Parameter(np.ones(3)), Parameter(np.ones(2))
    opt = cls([mine], **hyper)
    with pytest.raises(ValueError, match="does not update"):
        opt.step(L2Penalty([other], alpha=1.0).fused(1.0))
    assert opt.t == 0 and np.array_equal(mine.value, np.ones(3))  # refused before any change
