"""Per-parameter learning-rate multipliers (Parameter.lr_scale) and AdamW's decoupled decay.

Checked against hand-computed steps and the plain per-parameter reference of
``tests/nn/reference.py``, which applies the published rules one parameter at
a time in float64.
"""

import math
import pickle

import numpy as np
import pytest

from sknumpynet.nn import SGD, Adam, Nadam, Optimizer, Parameter, RMSProp

from .reference import optimizer_reference

CASES = {
    "sgd": (SGD, {"lr": 0.1}),
    "momentum": (SGD, {"lr": 0.1, "momentum": 0.9}),
    "nesterov": (SGD, {"lr": 0.1, "momentum": 0.8, "nesterov": True}),
    "rmsprop": (RMSProp, {"lr": 0.01, "rho": 0.8, "eps": 1e-3}),
    "adam": (Adam, {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}),
    "nadam": (Nadam, {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}),
}
SHAPES = [(2, 3), (3,), (1, 1), (4,)]


def reference_name(name):
    return "momentum" if name == "nesterov" else name


def make_params(lr_scales, decay=None, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    decay = [True] * len(SHAPES) if decay is None else decay
    return [
        Parameter(rng.standard_normal(s).astype(dtype), decay=d, lr_scale=sc)
        for s, d, sc in zip(SHAPES, decay, lr_scales)
    ]


def gradients(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(n_steps)]


def run(opt, params, grads_per_step):
    for grads in grads_per_step:
        for p, g in zip(params, grads):
            p.grad[...] = g
        opt.step()


# ---------------------------------------------------------------- Parameter


def test_parameter_lr_scale_default_repr_and_pickle():
    p = Parameter(np.zeros(3))
    assert p.lr_scale == 1.0 and "lr_scale" not in repr(p)
    q = Parameter(np.zeros(3), decay=False, lr_scale=0.25)
    assert repr(q).endswith("decay=False, lr_scale=0.25)")
    loaded = pickle.loads(pickle.dumps(q))
    assert loaded.lr_scale == 0.25 and loaded.decay is False


def test_parameter_pickled_before_lr_scale_loads_with_one():
    p = Parameter.__new__(Parameter)
    p.__setstate__({"value": np.ones(2), "decay": False})  # the old pickled state
    assert p.lr_scale == 1.0 and not p.decay


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "2", True, None])
def test_parameter_rejects_a_bad_lr_scale(bad):
    with pytest.raises(ValueError, match="lr_scale"):
        Parameter(np.zeros(2), lr_scale=bad)


# ------------------------------------------------------------------ lr_scale


@pytest.mark.parametrize("name", CASES)
def test_lr_scales_match_the_per_parameter_reference(name):
    cls, hyper = CASES[name]
    scales = [0.5, 1.0, 3.0, 0.0]
    params = make_params(scales)
    start = [p.value.copy() for p in params]
    grads = gradients(4)
    opt = cls(params, **hyper)
    run(opt, params, grads)
    expected = optimizer_reference(reference_name(name), hyper, start, grads, lr_scales=scales)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(params[3].value, start[3])  # lr_scale 0 freezes


@pytest.mark.parametrize("name", CASES)
def test_lr_scales_across_several_blocks(name, monkeypatch):
    monkeypatch.setattr(Optimizer, "block_size", 4)  # blocks cut through parameters
    cls, hyper = CASES[name]
    scales = [2.0, 0.1, 1.0, 0.7]
    params = make_params(scales)
    start = [p.value.copy() for p in params]
    grads = gradients(3)
    opt = cls(params, **hyper)
    assert len(opt._blocks) > 2
    run(opt, params, grads)
    expected = optimizer_reference(reference_name(name), hyper, start, grads, lr_scales=scales)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", CASES)
def test_unit_lr_scales_take_the_fast_path_bit_for_bit(name):
    cls, hyper = CASES[name]
    grads = gradients(3)
    plain = make_params([1.0] * 4)
    opt = cls(plain, **hyper)
    assert all(b.lr_scale is None for b in opt._blocks)
    if isinstance(opt, Adam):
        assert all(b.weight_decay is None for b in opt._blocks)
    run(opt, plain, grads)
    # the same run with a multiplier array of ones is the same arithmetic plus
    # a multiplication by one: equal bit for bit
    scaled = make_params([1.0] * 4)
    other = cls(scaled, **hyper)
    other._set_block_arrays("lr_scale", np.ones_like(other._w))
    other._packed_settings = other._settings()
    run(other, scaled, grads)
    for a, b in zip(plain, scaled):
        np.testing.assert_array_equal(a.value, b.value)


def test_sgd_step_hand_computed():
    w = Parameter(np.array([1.0, -2.0]), lr_scale=0.5)
    b = Parameter(np.array([3.0]), lr_scale=4.0)
    opt = SGD([w, b], lr=0.1)
    w.grad[...] = [2.0, -1.0]
    b.grad[...] = [0.25]
    opt.step()
    np.testing.assert_allclose(w.value, [1.0 - 0.05 * 2.0, -2.0 + 0.05 * 1.0], rtol=1e-15)
    np.testing.assert_allclose(b.value, [3.0 - 0.4 * 0.25], rtol=1e-15)


def test_changing_lr_scale_after_construction_takes_effect():
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.5)
    p.grad[...] = 1.0
    opt.step()
    assert p.value[0] == 0.5
    p.lr_scale = 0.5
    opt.step()
    assert p.value[0] == 0.25
    p.lr_scale = 1.0
    opt.step()
    assert p.value[0] == -0.25 and opt._blocks[0].lr_scale is None


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lr_scale_keeps_the_dtype(dtype):
    params = make_params([0.5, 2.0, 1.0, 1.0], dtype=dtype)
    opt = Adam(params, lr=0.01, weight_decay=0.1)
    run(opt, params, gradients(2))
    assert all(p.value.dtype == dtype and np.isfinite(p.value).all() for p in params)
    assert opt._blocks[0].lr_scale.dtype == dtype


# ------------------------------------------------------ decoupled weight decay


def test_adamw_first_step_hand_computed():
    # first step: m_hat = g, v_hat = g**2, so the Adam step is lr * g / (|g| + eps)
    w = Parameter(np.array([1.0, -2.0]), lr_scale=2.0)
    b = Parameter(np.array([0.5]), decay=False)
    opt = Adam([w, b], lr=0.01, epsilon=1e-8, weight_decay=0.1)
    w.grad[...] = [0.5, -4.0]
    b.grad[...] = [2.0]
    opt.step()
    lr, s = 0.01, 2.0
    expected_w = [
        1.0 - s * lr * (0.5 / (0.5 + 1e-8)) - s * lr * 0.1 * 1.0,
        -2.0 + s * lr * (4.0 / (4.0 + 1e-8)) + s * lr * 0.1 * 2.0,
    ]
    np.testing.assert_allclose(w.value, expected_w, rtol=1e-14)
    np.testing.assert_allclose(b.value, [0.5 - lr * 2.0 / (2.0 + 1e-8)], rtol=1e-14)


@pytest.mark.parametrize("name", ["adam", "nadam"])
def test_decoupled_weight_decay_matches_the_reference(name):
    cls, hyper = CASES[name]
    scales, decay = [1.0, 0.5, 3.0, 1.0], [True, False, True, True]
    params = make_params(scales, decay)
    start = [p.value.copy() for p in params]
    grads = gradients(4)
    opt = cls(params, **hyper, weight_decay=0.2)
    run(opt, params, grads)
    expected = optimizer_reference(
        name, hyper, start, grads, lr_scales=scales, decay=decay, weight_decay=0.2
    )
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", [Adam, Nadam])
def test_zero_gradient_leaves_only_the_decay(cls):
    p = Parameter(np.array([2.0, -1.0]))
    opt = cls([p], lr=0.1, weight_decay=0.5)
    opt.step()  # grad is zero: m = v = 0 and the Adam step is 0
    np.testing.assert_allclose(p.value, [2.0 * 0.95, -1.0 * 0.95], rtol=1e-15)


def test_weight_decay_property_repr_and_validation():
    opt = Adam([Parameter(np.zeros(2))], lr=0.1, weight_decay=0.01)
    assert opt.weight_decay == opt.decoupled_weight_decay == 0.01
    assert "weight_decay=0.01" in repr(opt)
    assert "weight_decay" not in repr(Adam([Parameter(np.zeros(2))]))
    opt.weight_decay = 0.0
    opt.step()
    assert opt._blocks[0].weight_decay is None  # the setting is read on every step
    with pytest.raises(ValueError, match="weight_decay"):
        Adam([Parameter(np.zeros(2))], weight_decay=-1.0)
    with pytest.raises(ValueError, match="weight_decay"):
        opt.weight_decay = math.nan


def test_weight_decay_survives_a_pickle():
    p = Parameter(np.array([1.0, 2.0]), lr_scale=0.5)
    opt = Nadam([p], lr=0.1, weight_decay=0.3)
    p.grad[...] = [0.1, -0.2]
    opt.step()
    clone_p, clone = pickle.loads(pickle.dumps((p, opt)))
    assert clone.weight_decay == 0.3 and clone.params[0].lr_scale == 0.5
    for param, o in ((p, opt), (clone_p, clone)):
        param.grad[...] = [0.3, 0.4]
        o.step()
    np.testing.assert_array_equal(clone_p.value, p.value)


def test_a_legacy_pickled_weight_decay_loads_as_no_decoupled_decay():
    # format 2 pickles carried an L2 "weight_decay" in the optimizer's state,
    # now nn.L2Penalty's: it must not turn into a decoupled decay
    p = Parameter(np.array([1.0, 2.0]))
    state = Adam([p], lr=0.1).__getstate__()
    del state["decoupled_weight_decay"]  # as an Adam of that time
    state["weight_decay"] = 0.5
    old = Adam.__new__(Adam)
    old.__setstate__(state)
    assert old.weight_decay == 0.0 and "weight_decay" not in vars(old)
    old.step()  # zero gradient, no decay: nothing moves
    np.testing.assert_array_equal(p.value, [1.0, 2.0])
