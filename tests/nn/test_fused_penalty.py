"""The L2 gradient added in the optimizer's blocked pass (``step(penalty.fused(scale))``).

It must be ``penalty.backward(scale)`` then ``step()`` bit for bit, whatever
the blocks and wherever the penalised parameters fall in them, with the
formula still only in ``L2Penalty`` (the optimizer is told where, not what).
"""

import numpy as np
import pytest

from sknumpynet.nn import L2Penalty, Parameter

from .test_optimizers import CASES

SHAPES = [(4, 3), (3,), (2, 5), (5,), (1, 1)]
DECAY = [True, False, True, False, True]  # weights and biases interleaved, as in a network


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
