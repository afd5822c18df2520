"""Tests of RealMLP's per-step schedules CosLogLR ("coslog4") and FlatCosLR ("flat_cos")."""

import math

import numpy as np
import pytest

from sknumpynet.nn import Adam, CosLogLR, FlatCosLR, Parameter, get_schedule


def test_coslog4_at_hand_computed_points():
    # lr * (0.5 - 0.5 cos(2 pi log2(1 + 15 t))), 16 steps: t = step / 16
    schedule = CosLogLR(2.0, total_steps=16)
    assert schedule.lr == 0.0  # t = 0: cos(0) = 1
    rates = [schedule.lr] + [schedule.step() for _ in range(17)]
    # t = 1/15 * (2**k - 1) ends cycle k: the cycles end at steps 16/15 * (1, 3, 7, 15)
    # t = 1/16: log2(1 + 15/16) = log2(31/16)
    assert rates[1] == pytest.approx(2.0 * (0.5 - 0.5 * math.cos(2 * math.pi
                                                                 * math.log2(31 / 16))), rel=1e-14)
    # t = 1/2: log2(8.5)
    assert rates[8] == pytest.approx(1.0 - math.cos(2 * math.pi * math.log2(8.5)), rel=1e-14)
    assert rates[16] == pytest.approx(0.0, abs=1e-14)  # t = 1: log2(16) = 4 cycles
    assert rates[17] == rates[16]  # held at t = 1 past the end
    assert schedule.t == 17 and max(rates) <= 2.0


def test_coslog_other_cycle_counts_and_peaks():
    schedule = CosLogLR(1.0, total_steps=2 * 7, n_cycles=3)  # log2(1 + 7 t)
    rates = [schedule.lr] + [schedule.step() for _ in range(14)]
    # peaks at half cycles: log2(1 + 7 t) = 0.5  =>  t = (sqrt(2) - 1) / 7
    t = np.arange(15) / 14
    expected = 0.5 - 0.5 * np.cos(2 * np.pi * np.log2(1 + 7 * t))
    np.testing.assert_allclose(rates, expected, rtol=1e-13, atol=1e-15)
    # t = 1/7 ends cycle 1 (log2(2) = 1): step 2 of 14
    assert rates[2] == pytest.approx(0.0, abs=1e-15)


def test_flat_cos_at_hand_computed_points():
    schedule = FlatCosLR(0.5, total_steps=8)
    rates = [schedule.lr] + [schedule.step() for _ in range(9)]
    # flat up to t < 1/2 (steps 0..3), then 0.5 + 0.5 cos(pi (2t - 1))
    assert rates[:4] == [0.5] * 4
    assert rates[4] == 0.5  # t = 1/2: cos(0) = 1
    assert rates[5] == pytest.approx(0.5 * (0.5 + 0.5 * math.cos(math.pi / 4)), rel=1e-14)
    assert rates[6] == pytest.approx(0.25, rel=1e-14)  # t = 3/4: cos(pi/2) = 0
    assert rates[8] == pytest.approx(0.0, abs=1e-16)
    assert rates[9] == rates[8]


def test_n_steps_advances_several_steps_at_once():
    a, b = CosLogLR(1.0, 100), CosLogLR(1.0, 100)
    for _ in range(30):
        a.step()
    assert b.step(n_steps=30) == a.lr and b.t == 30
    f = FlatCosLR(1.0, 10)
    assert f.step(loss=3.0, n_steps=7) == pytest.approx(0.5 + 0.5 * math.cos(math.pi * 0.4))


def test_registered_names_repr_and_validation():
    schedule = get_schedule("coslog", 0.1, total_steps=50)
    assert isinstance(schedule, CosLogLR) and schedule.n_cycles == 4
    assert isinstance(get_schedule("flat_cos", 0.1, total_steps=5), FlatCosLR)
    assert repr(schedule) == "CosLogLR(lr=0.1, total_steps=50, n_cycles=4)"
    assert repr(FlatCosLR(0.2, 3)) == "FlatCosLR(lr=0.2, total_steps=3)"
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="total_steps"):
            CosLogLR(0.1, bad)
        with pytest.raises(ValueError, match="total_steps"):
            FlatCosLR(0.1, bad)
    with pytest.raises(ValueError, match="n_cycles"):
        CosLogLR(0.1, 10, n_cycles=0)
    with pytest.raises(ValueError, match="lr"):
        CosLogLR(0.0, 10)


def test_adam_steps_with_the_zero_rate_of_step_zero():
    # coslog's first rate is 0: Adam's moments move, the weights do not
    p = Parameter(np.array([1.0, -1.0]))
    schedule = CosLogLR(0.1, total_steps=10)
    opt = Adam([p], lr=0.1, weight_decay=0.01)
    opt.lr = schedule.lr
    p.grad[...] = [0.5, 0.25]
    opt.step()
    np.testing.assert_array_equal(p.value, [1.0, -1.0])
    assert opt._state["m"].any()
    opt.lr = schedule.step()
    opt.step()
    assert (p.value != [1.0, -1.0]).all()
