"""Tests of the learning-rate schedules, against values computed by hand."""

import math
from pathlib import Path

import pytest

from sknumpynet import LinearSVM, MLPClassifier
from sknumpynet.nn import (
    ConstantLR,
    CosineLR,
    InverseScalingLR,
    Plateau,
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


def test_reduce_on_plateau_divides_by_five_when_bad_epochs_exceed_patience():
    # scikit-learn's rule: an epoch above best - tol is bad; more than
    # `patience` bad epochs in a row multiply the rate by 0.2 and restart the count
    schedule = ReduceLROnPlateau(1.0, patience=2, tol=1e-4)
    losses = [
        1.0,  # improves on inf                           -> 1
        0.5,  # improves                                  -> 1
        0.5,  # 1st bad epoch                             -> 1
        0.49995,  # better, but by less than tol: 2nd bad -> 1
        0.4,  # improves                                  -> 1
        0.45,  # 1st bad                                  -> 1
        0.3,  # improves: the count restarts              -> 1
        0.3,  # 1st bad                                   -> 1
        0.3,  # 2nd bad                                   -> 1
        0.3,  # 3rd bad: more than 2                      -> 0.2
        0.3,  # 1st bad after the cut                     -> 0.2
        0.3,  # 2nd bad                                   -> 0.2
        0.3,  # 3rd bad                                   -> 0.04
    ]
    lrs = [schedule.step(loss) for loss in losses]
    expected = [1, 1, 1, 1, 1, 1, 1, 1, 1, 0.2, 0.2, 0.2, 0.04]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert schedule.plateau.best == 0.3


def test_reduce_on_plateau_patience_three_and_custom_factor():
    schedule = ReduceLROnPlateau(0.9, factor=0.5, patience=3)
    lrs = [schedule.step(1.0) for _ in range(9)]
    # first epoch improves on inf; bad epochs 1..4 -> halve; 1..4 -> halve
    assert lrs == pytest.approx([0.9, 0.9, 0.9, 0.9, 0.45, 0.45, 0.45, 0.45, 0.225])


def test_reduce_on_plateau_stalls_at_min_lr_as_scikit_learn():
    # scikit-learn divides while the rate is above 1e-6 (it may go below) and
    # stops at the next plateau
    schedule = ReduceLROnPlateau(1e-5, patience=0, min_lr=1e-6)
    assert schedule.reduce() and schedule.lr == pytest.approx(2e-6)
    assert schedule.reduce() and schedule.lr == pytest.approx(4e-7)
    assert schedule.stalled
    assert not schedule.reduce() and schedule.lr == pytest.approx(4e-7)


def test_reduce_on_plateau_without_a_loss_only_reduces_on_demand():
    schedule = ReduceLROnPlateau(0.1, patience=0)
    assert [schedule.step() for _ in range(5)] == [0.1] * 5
    assert schedule.reduce() and schedule.lr == pytest.approx(0.02)


def test_plateau_counts_like_scikit_learn_and_never_plateaus_with_infinite_patience():
    plateau = Plateau(patience=1, tol=0.1)
    for value, count in [(1.0, 0), (0.95, 1), (0.85, 0), (0.85, 1), (0.9, 2)]:
        plateau.update(value)
        assert plateau.count == count
    assert plateau.reached and plateau.best == 0.85
    endless = Plateau(patience=math.inf)
    for _ in range(100):
        endless.update(1.0)
    assert not endless.reached


def test_inverse_scaling_counts_steps_from_t0():
    schedule = InverseScalingLR(0.1, power_t=0.5, t0=99)  # a resumed fit
    assert schedule.lr == pytest.approx(0.01)
    assert schedule.step(n_steps=300) == pytest.approx(0.1 / 20)


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
     ("adaptive", ReduceLROnPlateau, {"min_lr": 1e-5}), ("cosine", CosineLR, {"t_max": 10})],
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


# -- invscaling as the estimators step it and document it -------------------------------


REPO = Path(__file__).resolve().parents[2]


def test_invscaling_is_documented_as_decaying_with_samples_seen():
    """Issue 23 item 4 (a newcomer's friction)."""
    from sknumpynet import nn

    schedule = nn.InverseScalingLR(1.0, power_t=0.5)
    schedule.step(n_steps=99)  # one epoch of 99 samples, as the estimators step it
    assert schedule.lr == pytest.approx(0.1)
    for cls in (MLPClassifier, LinearSVM):
        assert "(epoch + 1) ** power_t" not in cls.__doc__
        assert "samples seen" in " ".join(cls.__doc__.split())
    assert "(epoch + 1) ** power_t" not in (REPO / "docs" / "estimators.rst").read_text()
