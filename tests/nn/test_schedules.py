"""Tests of the learning-rate schedules, against values computed by hand."""

import math

import pytest

from sknumpynet.nn import (
    ConstantLR,
    CosineLR,
    InverseScalingLR,
    ReduceLROnPlateau,
    get_schedule,
)


def test_constant():
    schedule = ConstantLR(0.05)
    assert schedule.lr == 0.05
    assert [schedule.step(loss) for loss in [1.0, 2.0, None, 0.5]] == [0.05] * 4
    assert schedule.epoch == 4
    assert not schedule.stalled


def test_inverse_scaling():
    schedule = InverseScalingLR(0.1, power_t=0.5)
    lrs = [schedule.step() for _ in range(8)]
    # lr / (e + 1) ** 0.5 for e = 1 .. 8
    expected = [0.1 / math.sqrt(2), 0.1 / math.sqrt(3), 0.05, 0.1 / math.sqrt(5),
                0.1 / math.sqrt(6), 0.1 / math.sqrt(7), 0.1 / math.sqrt(8), 0.1 / 3]
    assert lrs == pytest.approx(expected, rel=1e-14)
    linear = InverseScalingLR(1.0, power_t=1.0)
    assert [linear.step() for _ in range(3)] == pytest.approx([1 / 2, 1 / 3, 1 / 4])
    assert [InverseScalingLR(0.3, power_t=0).step() for _ in range(2)] == [0.3, 0.3]


def test_reduce_on_plateau_divides_by_five_after_patience_bad_epochs():
    schedule = ReduceLROnPlateau(1.0, patience=2, tol=1e-4)
    losses = [
        1.0,  # improves on inf                          -> 1
        0.5,  # improves                                  -> 1
        0.5,  # 1st bad epoch                             -> 1
        0.49995,  # better, but by less than tol: 2nd bad -> 0.2
        0.4,  # improves                                  -> 0.2
        0.45,  # 1st bad                                  -> 0.2
        0.3,  # improves: the count restarts              -> 0.2
        0.3,  # 1st bad                                   -> 0.2
        0.3,  # 2nd bad                                   -> 0.04
        0.3,  # 1st bad after the cut                     -> 0.04
        0.3,  # 2nd bad                                   -> 0.008
    ]
    lrs = [schedule.step(loss) for loss in losses]
    expected = [1, 1, 1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.04, 0.04, 0.008]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert schedule.best_loss == 0.3


def test_reduce_on_plateau_patience_three_and_custom_factor():
    schedule = ReduceLROnPlateau(0.9, factor=0.5, patience=3)
    lrs = [schedule.step(1.0) for _ in range(7)]
    # first epoch improves on inf; then bad epochs 1, 2, 3 -> halve; 1, 2, 3 -> halve
    assert lrs == pytest.approx([0.9, 0.9, 0.9, 0.45, 0.45, 0.45, 0.225])


def test_reduce_on_plateau_stops_at_min_lr():
    schedule = ReduceLROnPlateau(1e-5, patience=1, min_lr=1e-6)
    lrs = [schedule.step(1.0) for _ in range(4)]
    assert lrs == pytest.approx([1e-5, 2e-6, 1e-6, 1e-6])
    assert schedule.stalled


def test_reduce_on_plateau_needs_the_loss():
    with pytest.raises(ValueError, match="loss"):
        ReduceLROnPlateau(0.1).step()


def test_cosine_hand_computed():
    schedule = CosineLR(1.0, t_max=4)
    lrs = [schedule.step() for _ in range(6)]
    # (1 + cos(pi e / 4)) / 2 for e = 1..4, then held at the minimum
    expected = [(1 + math.sqrt(0.5)) / 2, 0.5, (1 - math.sqrt(0.5)) / 2, 0.0, 0.0, 0.0]
    assert lrs == pytest.approx(expected, abs=1e-15)


def test_cosine_with_min_lr():
    schedule = CosineLR(0.1, t_max=2, min_lr=0.02)
    assert [schedule.step() for _ in range(3)] == pytest.approx([0.06, 0.02, 0.02], abs=1e-15)


@pytest.mark.parametrize(
    "name, cls, kwargs",
    [("constant", ConstantLR, {}), ("invscaling", InverseScalingLR, {"power_t": 0.25}),
     ("adaptive", ReduceLROnPlateau, {"patience": 5}), ("cosine", CosineLR, {"t_max": 10})],
)
def test_get_schedule(name, cls, kwargs):
    schedule = get_schedule(name, 0.01, **kwargs)
    assert type(schedule) is cls
    assert schedule.lr == 0.01
    for key, value in kwargs.items():
        assert getattr(schedule, key) == value
    assert "lr=0.01" in repr(schedule)


def test_get_schedule_unknown_name():
    with pytest.raises(ValueError, match="Unknown schedule 'linear'"):
        get_schedule("linear", 0.1)


@pytest.mark.parametrize("lr", [0, -1.0, float("nan")])
def test_bad_lr_raises(lr):
    for cls in (ConstantLR, InverseScalingLR, ReduceLROnPlateau):
        with pytest.raises(ValueError, match="lr"):
            cls(lr)
    with pytest.raises(ValueError, match="lr"):
        CosineLR(lr, t_max=3)


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="power_t"):
        InverseScalingLR(0.1, power_t=-0.5)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(0.1, factor=1.0)
    with pytest.raises(ValueError, match="factor"):
        ReduceLROnPlateau(0.1, factor=0.0)
    with pytest.raises(ValueError, match="t_max"):
        CosineLR(0.1, t_max=0)
