"""Tests of SGD (plain, momentum, Nesterov), Momentum, RMSProp, Adam and Nadam.

The expected values are computed here, in float64, straight from the update
formulas written in each optimizer's docstring (bias corrections and all),
not from the rearranged forms the implementation uses.
"""

import math
import pickle

import numpy as np
import pytest

from sknumpynet.nn import (
    SGD,
    Adam,
    L2Penalty,
    Linear,
    Momentum,
    Nadam,
    Parameter,
    ReLU,
    RMSProp,
    Sequential,
    pack_parameters,
)

CASES = {
    "sgd": (SGD, {"lr": 0.1}),
    "sgd_momentum": (SGD, {"lr": 0.1, "momentum": 0.9}),
    "sgd_nesterov": (SGD, {"lr": 0.1, "momentum": 0.8, "nesterov": True}),
    "momentum": (Momentum, {"lr": 0.05}),  # momentum=0.9 by default
    "rmsprop": (RMSProp, {"lr": 0.01, "rho": 0.8, "eps": 1e-3}),
    "adam": (Adam, {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}),
    "nadam": (Nadam, {"lr": 0.01, "beta_1": 0.8, "beta_2": 0.9, "epsilon": 1e-3}),
}
SHAPES = [(2, 3), (3,), (1, 1)]


def reference_run(name, hyper, values, grads_per_step, weight_decay, lrs=None, decay=None):
    """Apply the docstring update rules, parameter by parameter, in float64.

    ``weight_decay`` is a float or one float per step; ``decay`` one bool per
    parameter (all True by default): whether the weight decay applies to it.
    """
    w = [np.array(v, dtype=np.float64) for v in values]
    state = [{} for _ in w]
    decay = [True] * len(w) if decay is None else decay
    for t, grads in enumerate(grads_per_step, start=1):
        lr = hyper["lr"] if lrs is None else lrs[t - 1]
        wd = weight_decay if np.isscalar(weight_decay) else weight_decay[t - 1]
        for i, (wi, st) in enumerate(zip(w, state)):
            g = grads[i] + (wd * wi if decay[i] else 0.0)  # coupled L2
            if name == "sgd":
                w[i] = wi - lr * g
            elif name in ("sgd_momentum", "momentum", "sgd_nesterov"):
                mu = hyper.get("momentum", 0.9)
                v = mu * st.get("v", 0.0) + g
                st["v"] = v
                if hyper.get("nesterov", False):
                    w[i] = wi - lr * (g + mu * v)
                else:
                    w[i] = wi - lr * v
            elif name == "rmsprop":
                rho, eps = hyper["rho"], hyper["eps"]
                s = rho * st.get("s", 0.0) + (1 - rho) * g**2
                st["s"] = s
                w[i] = wi - lr * g / (np.sqrt(s) + eps)
            elif name in ("adam", "nadam"):
                b1, b2, eps = hyper["beta_1"], hyper["beta_2"], hyper["epsilon"]
                m = b1 * st.get("m", 0.0) + (1 - b1) * g
                v = b2 * st.get("v", 0.0) + (1 - b2) * g**2
                st["m"], st["v"] = m, v
                v_hat = v / (1 - b2**t)
                if name == "adam":
                    m_hat = m / (1 - b1**t)
                else:
                    m_hat = b1 * m / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
                w[i] = wi - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def make_params(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [Parameter(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def gradient_sequence(n_steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s) for s in SHAPES] for _ in range(n_steps)]


def run(opt, params, grads_per_step, lrs=None):
    for step, grads in enumerate(grads_per_step):
        if lrs is not None:
            opt.lr = lrs[step]
        for p, g in zip(params, grads):
            p.grad[...] = g  # in place: the gradient lives in the packed buffer
        opt.step()


@pytest.mark.parametrize("name", CASES)
def test_steps_match_the_docstring_formula(name):
    cls, hyper = CASES[name]
    params = make_params()
    start = [p.value.copy() for p in params]
    grads = gradient_sequence(3)
    opt = cls(params, **hyper)
    for n_steps in (1, 2, 3):
        run(opt, params, grads[n_steps - 1 : n_steps])
        expected = reference_run(name, hyper, start, grads[:n_steps], 0.0)
        for p, e in zip(params, expected):
            np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)
        assert opt.t == n_steps
    # the steps actually moved every parameter
    assert all(not np.allclose(p.value, s) for p, s in zip(params, start))


@pytest.mark.parametrize("name", CASES)
def test_restart_steps_as_a_fresh_optimizer_from_the_current_weights(name):
    cls, hyper = CASES[name]
    params = make_params()
    grads = gradient_sequence(4)
    opt = cls(params, **hyper)
    run(opt, params, grads[:2])
    opt.restart(lr=hyper["lr"] / 2)
    assert opt.t == 0 and opt.lr == hyper["lr"] / 2
    middle = [p.value.copy() for p in params]
    run(opt, params, grads[2:])
    # the formula from step 1 again (bias corrections and all), at the new rate
    expected = reference_run(name, {**hyper, "lr": hyper["lr"] / 2}, middle, grads[2:], 0.0)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)
    opt.restart()
    assert opt.lr == hyper["lr"] / 2  # None keeps the rate
    with pytest.raises(ValueError, match="lr"):
        opt.restart(lr=-1.0)
    other = Adam(make_params()[:1], lr=0.1)  # fewer parameters (and Adam's two moments)
    with pytest.raises(ValueError, match="same kind"):
        opt.restart(like=other)


@pytest.mark.parametrize("name", CASES)
def test_restart_like_another_takes_its_step_count_and_state(name):
    cls, hyper = CASES[name]
    params, twin_params = make_params(), make_params()
    grads = gradient_sequence(3)
    opt, twin = cls(params, **hyper), cls(twin_params, **hyper)
    run(twin, twin_params, grads[:2])
    run(opt, params, grads[:1])
    opt.restart(like=twin)
    assert opt.t == twin.t == 2
    for name_, array in opt._state.items():
        np.testing.assert_array_equal(array, twin._state[name_])
        assert array is not twin._state[name_]
    for p, q in zip(params, twin_params):  # parameters left alone: bring them level
        p.value[...] = q.value
    run(opt, params, grads[2:])
    run(twin, twin_params, grads[2:])
    for p, q in zip(params, twin_params):
        np.testing.assert_array_equal(p.value, q.value)


@pytest.mark.parametrize("name", CASES)
def test_l2_penalty_then_step_skips_undecayed_parameters_and_may_change(name):
    # a bias-like parameter (decay=False) between two decayed ones, and a
    # penalty scale that changes between steps (as the trainer's per-batch L2):
    # L2Penalty.backward then the optimizer's step is the coupled weight decay
    # of the reference
    cls, hyper = CASES[name]
    decay = [True, False, True]
    params = [Parameter(p.value, decay=d) for p, d in zip(make_params(), decay)]
    start = [p.value.copy() for p in params]
    grads = gradient_sequence(3)
    weight_decays = [0.1, 0.02, 0.3]
    opt = cls(params, **hyper)
    penalty = L2Penalty(params, alpha=1.0)
    for wd, step_grads in zip(weight_decays, grads):
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        penalty.backward(scale=wd)
        opt.step()
    expected = reference_run(name, hyper, start, grads, weight_decays, decay=decay)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)
    # and the decay really was skipped: decaying everything gives another result
    everything = reference_run(name, hyper, start, grads, weight_decays)
    assert not np.allclose(params[1].value, everything[1])


@pytest.mark.parametrize("name", ["sgd_momentum", "rmsprop", "adam", "nadam"])
def test_state_of_zero_gradients_is_flushed_instead_of_turning_subnormal(name, monkeypatch):
    # one gradient, then exact zeros: the state decays geometrically through
    # float32's subnormals (slow arithmetic) unless flushed to zero
    cls, hyper = CASES[name]
    tiny = np.finfo(np.float32).tiny

    def subnormal(opt):
        state = np.concatenate(list(opt._state.values()))
        return bool(((state != 0) & (np.abs(state) < tiny)).any())

    runs = []
    for flush_every in (64, 10**9):
        monkeypatch.setattr(cls, "flush_every", flush_every)
        params = [Parameter(np.ones(3, np.float32)), Parameter(np.ones(2, np.float32))]
        opt = cls(params, **hyper)
        seen = []
        for step in range(1000):
            params[0].grad[...] = 1e-3 if step == 0 else 0.0
            params[1].grad[...] = np.cos(step)  # never zero: its state stays normal
            opt.step()
            seen.append(subnormal(opt))
        runs.append((opt, params, seen))
    (flushed, params, seen), (unflushed, twin_params, twin_seen) = runs
    assert any(twin_seen)  # the hazard is real
    assert not any(seen[63::64])  # none left right after a flush
    for name_ in flushed._state:  # normal state values are left exactly alone
        np.testing.assert_array_equal(flushed._state[name_][3:], unflushed._state[name_][3:])
    for p, q in zip(params, twin_params):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-6)


@pytest.mark.parametrize("name", CASES)
def test_learning_rate_changes_between_steps_are_used(name):
    cls, hyper = CASES[name]
    params = make_params()
    start = [p.value.copy() for p in params]
    grads = gradient_sequence(3)
    lrs = [hyper["lr"], hyper["lr"] / 4, hyper["lr"] * 3]
    run(cls(params, **hyper), params, grads, lrs)
    expected = reference_run(name, hyper, start, grads, 0.0, lrs)
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.value, e, rtol=1e-12, atol=1e-14)


def test_scalar_steps_hand_computed():
    # SGD with momentum 0.9, lr 0.1, gradients 0.5 then 0.25:
    # v1 = 0.5, w1 = 1 - 0.05 = 0.95; v2 = 0.45 + 0.25 = 0.7, w2 = 0.95 - 0.07 = 0.88
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9)
    p.grad[...] = 0.5
    opt.step()
    assert p.value[0] == pytest.approx(0.95, abs=1e-15)
    p.grad[...] = 0.25
    opt.step()
    assert p.value[0] == pytest.approx(0.88, abs=1e-15)
    # Nesterov, same numbers: w1 = 1 - 0.1 (0.5 + 0.45) = 0.905;
    # v2 = 0.7, w2 = 0.905 - 0.1 (0.25 + 0.63) = 0.817
    p = Parameter(np.array([1.0]))
    opt = SGD([p], lr=0.1, momentum=0.9, nesterov=True)
    p.grad[...] = 0.5
    opt.step()
    assert p.value[0] == pytest.approx(0.905, abs=1e-15)
    p.grad[...] = 0.25
    opt.step()
    assert p.value[0] == pytest.approx(0.817, abs=1e-15)
    # Adam's first step is lr * g / (|g| + epsilon): about lr * sign(g)
    p = Parameter(np.array([1.0, 1.0]))
    opt = Adam([p], lr=0.1, epsilon=1e-8)
    p.grad[...] = [0.5, -4.0]
    opt.step()
    np.testing.assert_allclose(p.value, [1 - 0.1 * 0.5 / (0.5 + 1e-8), 1 + 0.1 * 4 / (4 + 1e-8)],
                               rtol=1e-15)
    # RMSProp's first step is lr * g / (sqrt(1 - rho) |g| + eps)
    p = Parameter(np.array([2.0]))
    opt = RMSProp([p], lr=0.01, rho=0.9, eps=1e-8)
    p.grad[...] = 3.0
    opt.step()
    assert p.value[0] == pytest.approx(2.0 - 0.01 * 3.0 / (math.sqrt(0.1) * 3.0 + 1e-8), abs=1e-15)


@pytest.mark.parametrize("name", ["sgd_momentum", "sgd_nesterov", "momentum"])
def test_momentum_is_carried_across_steps(name):
    cls, hyper = CASES[name]
    p = Parameter(np.array([0.0]))
    opt = cls([p], **hyper)
    p.grad[...] = 1.0
    opt.step()
    after_first = p.value.copy()
    p.grad[...] = 0.0  # no gradient: only the velocity moves the weight
    opt.step()
    mu = hyper.get("momentum", 0.9)
    moved = p.value[0] - after_first[0]
    expected = -hyper["lr"] * mu * mu if hyper.get("nesterov") else -hyper["lr"] * mu
    assert moved == pytest.approx(expected, rel=1e-12)


def test_plain_sgd_with_zero_gradient_does_not_move():
    params = make_params()
    start = [p.value.copy() for p in params]
    SGD(params, lr=0.5).step()
    for p, s in zip(params, start):
        np.testing.assert_array_equal(p.value, s)


@pytest.mark.parametrize("name", CASES)
def test_parameters_are_packed_in_one_buffer_and_values_kept(name):
    cls, hyper = CASES[name]
    rng = np.random.default_rng(0)
    net = Sequential(Linear(3, 4, rng=rng, dtype=np.float64), ReLU(),
                     Linear(4, 2, rng=rng, dtype=np.float64))
    net[0].bias.value[...] = rng.standard_normal(4)
    params = net.parameters()
    before = [p.value.copy() for p in params]
    x = rng.standard_normal((5, 3))
    out_before = net(x)

    opt = cls(params, **hyper)

    # packed in the network's order
    ordered = [net[0].weight, net[0].bias, net[2].weight, net[2].bias]
    flat_value, flat_grad = pack_parameters(ordered)  # returns the existing buffers
    assert flat_value.size == sum(b.size for b in before)
    for p, b in zip(params, before):
        assert np.shares_memory(p.value, flat_value)
        assert np.shares_memory(p.grad, flat_grad)
        np.testing.assert_array_equal(p.value, b)
    np.testing.assert_array_equal(net(x), out_before)
    # backward writes into the shared gradient buffer and step updates the layers
    net.backward(rng.standard_normal((5, 2)))
    np.testing.assert_array_equal(flat_grad, np.concatenate([p.grad.ravel() for p in ordered]))
    weight = net[0].weight.value
    opt.step()
    assert net[0].weight.value is weight  # updated in place
    assert not np.array_equal(weight, before[0])
    assert not np.array_equal(net(x), out_before)


@pytest.mark.parametrize("name", CASES)
def test_float32_parameters_stay_float32(name):
    cls, hyper = CASES[name]
    params = make_params(dtype=np.float32)
    start = [p.value.astype(np.float64) for p in params]
    grads = gradient_sequence(2)
    run(cls(params, **hyper), params, grads)
    expected = reference_run(name, hyper, start, grads, 0.0)
    for p, e in zip(params, expected):
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32
        np.testing.assert_allclose(p.value, e, rtol=1e-5, atol=1e-6)


def test_mixed_dtypes_are_rejected():
    params = [Parameter(np.ones(2)), Parameter(np.ones(2, dtype=np.float32))]
    with pytest.raises(ValueError, match="dtype"):
        Adam(params)


@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam, Nadam])
@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf"), None, "0.1", True])
def test_bad_learning_rate_raises(cls, lr):
    with pytest.raises(ValueError, match="lr"):
        cls(make_params(), lr=lr)


@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam, Nadam])
def test_a_zero_learning_rate_takes_no_step(cls):
    # per-step schedules (CosLogLR) start at 0, and a model saved there must load
    params = make_params()
    before = [p.value.copy() for p in params]
    for p in params:
        p.grad[...] = 1.0 + np.arange(p.value.size).reshape(p.value.shape)
    opt = cls(params, lr=0.0)
    opt.step()
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.value, b)


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (SGD, {"momentum": 1.0}, "momentum"),
        (SGD, {"momentum": -0.5}, "momentum"),
        (SGD, {"nesterov": True}, "nesterov"),
        (RMSProp, {"rho": 1.0}, "rho"),
        (RMSProp, {"eps": 0.0}, "eps"),
        (Adam, {"beta_1": 1.0}, "beta_1"),
        (Adam, {"beta_2": -0.1}, "beta_2"),
        (Nadam, {"epsilon": -1.0}, "epsilon"),
    ],
)
def test_bad_hyper_parameters_raise(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(make_params(), **kwargs)


def quadratic_grads(params, centres):
    """Gradient of 0.5 * ||w - c||^2, written into each p.grad."""
    for p, c in zip(params, centres):
        p.grad[...] = p.value - c


@pytest.mark.parametrize("name", CASES)
def test_pickled_optimizer_keeps_stepping_like_its_twin(name):
    cls, hyper = CASES[name]
    rng = np.random.default_rng(0)
    net = Sequential(Linear(3, 4, rng=rng, dtype=np.float64), ReLU(),
                     Linear(4, 2, rng=rng, dtype=np.float64))
    opt = cls(net.parameters(), **hyper)
    centres = [rng.standard_normal(p.shape) for p in net.parameters()]
    for _ in range(2):
        quadratic_grads(net.parameters(), centres)
        opt.step()

    net2, opt2 = pickle.loads(pickle.dumps((net, opt)))
    assert opt2.params == net2.parameters()  # the same Parameter objects
    assert opt2.t == opt.t == 2
    unpickled_start = [p.value.copy() for p in net2.parameters()]
    for _ in range(3):
        for n, o in ((net, opt), (net2, opt2)):
            quadratic_grads(n.parameters(), centres)
            o.step()
    for p, q in zip(net.parameters(), net2.parameters(), strict=True):
        np.testing.assert_array_equal(q.value, p.value)
    # and the unpickled optimizer really updates the unpickled network
    for p, start in zip(net2.parameters(), unpickled_start, strict=True):
        assert not np.array_equal(p.value, start)


@pytest.mark.parametrize("name", CASES)
def test_optimizers_minimise_a_quadratic(name):
    cls, hyper = CASES[name]
    params = make_params()
    centres = [np.full(p.shape, 0.7) for p in params]
    opt = cls(params, **hyper)
    for _ in range(1000):
        quadratic_grads(params, centres)
        opt.step()
    for p, c in zip(params, centres):
        np.testing.assert_allclose(p.value, c, atol=2e-2)


def test_repr_lists_hyper_parameters():
    text = repr(Adam(make_params(), lr=0.5, beta_1=0.7))
    assert text.startswith("Adam(") and "lr=0.5" in text and "beta_1=0.7" in text
    assert "nesterov=True" in repr(SGD(make_params(), momentum=0.5, nesterov=True))


@pytest.mark.parametrize("name", CASES)
def test_a_replaced_parameter_array_is_still_updated(name):
    # setting p.value (here the bias, not the first parameter) after the
    # optimizer was built must not leave that parameter out of the updates
    cls, hyper = CASES[name]
    params = make_params()
    opt = cls(params, **hyper)
    grads = gradient_sequence(2)
    run(opt, params, grads[:1])
    params[1].value = np.full(3, 0.25)
    start = [p.value.copy() for p in params]
    run(opt, params, grads[1:])
    assert not np.allclose(params[1].value, 0.25)
    for p, s in zip(params, start):
        assert not np.allclose(p.value, s)
    assert np.shares_memory(params[1].value, pack_parameters(params)[0])
    # same step as an optimizer that has seen the same history from the start
    twin_params = make_params()
    twin = cls(twin_params, **hyper)
    run(twin, twin_params, grads[:1])
    twin_params[1].value[...] = 0.25
    run(twin, twin_params, grads[1:])
    for p, q in zip(params, twin_params):
        np.testing.assert_allclose(p.value, q.value, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls", [SGD, Momentum, RMSProp, Adam, Nadam])
def test_blocked_step_equals_one_block(cls, monkeypatch):
    # the step runs over blocks of block_size parameters; the split must not matter
    rng = np.random.default_rng(7)
    values = [rng.standard_normal(s) for s in [(4, 3), (3,), (5,)]]
    grads = [[rng.standard_normal(v.shape) for v in values] for _ in range(3)]
    results = []
    for block_size in (65536, 4):
        monkeypatch.setattr(cls, "block_size", block_size)
        params = [Parameter(v.copy(), decay=d) for v, d in zip(values, [True, False, True])]
        opt = cls(params, lr=0.05)
        # 20 values: 1 block, or 5 of at most 4
        assert len(opt._blocks) == (1 if block_size > 20 else 5)
        for step_grads in grads:
            for p, g in zip(params, step_grads):
                p.grad[...] = g
            opt.step()
        results.append(np.concatenate([p.value.ravel() for p in params]))
    np.testing.assert_array_equal(results[0], results[1])


def test_l2_penalty_value_and_gradient_match_finite_differences():
    rng = np.random.default_rng(11)
    params = [Parameter(rng.standard_normal((3, 2))),
              Parameter(rng.standard_normal(2), decay=False)]
    penalty = L2Penalty(params, alpha=0.3)
    expected = 0.5 * 0.3 * 0.25 * np.sum(params[0].value ** 2)
    np.testing.assert_allclose(penalty.value(scale=0.25), expected, rtol=1e-12)
    upstream = [rng.standard_normal(p.shape) for p in params]  # gradients already there
    for p, g in zip(params, upstream):
        p.grad[...] = g
    penalty.backward(scale=0.25)
    w = params[0].value
    eps, numeric = 1e-6, np.empty_like(w)
    for i in np.ndindex(w.shape):
        old = w[i]
        w[i] = old + eps
        up = penalty.value(0.25)
        w[i] = old - eps
        down = penalty.value(0.25)
        w[i] = old
        numeric[i] = (up - down) / (2 * eps)
    np.testing.assert_allclose(params[0].grad - upstream[0], numeric, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(params[1].grad, upstream[1])  # decay=False: untouched


def test_l2_penalty_rejects_bad_alpha():
    for alpha in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="alpha"):
            L2Penalty([], alpha=alpha)


def test_optimizer_pickled_in_format_2_repacks_its_state_in_network_order():
    # format 2 packed decayed parameters first; its moments must follow their
    # parameters into the network order
    rng = np.random.default_rng(12)
    net = Sequential(Linear(3, 4, rng=rng, dtype=np.float64), ReLU(),
                     Linear(4, 2, rng=rng, dtype=np.float64))
    opt = Adam(net.parameters(), lr=0.01)
    for p in net.parameters():
        p.grad[...] = rng.standard_normal(p.shape)
    opt.step()
    params = net.parameters()
    old_order = sorted(params, key=lambda p: not p.decay)
    state = opt.__getstate__()
    moments = {k: v.copy() for k, v in state["_state"].items()}
    offsets, start = {}, 0
    for p in params:
        offsets[id(p)] = slice(start, start + p.value.size)
        start += p.value.size
    state["_state"] = {
        k: np.concatenate([v[offsets[id(p)]] for p in old_order]) for k, v in moments.items()
    }
    state["_ordered"], state["weight_decay"] = old_order, 0.0
    old = Adam.__new__(Adam)
    old.__setstate__(state)
    for k in moments:
        np.testing.assert_array_equal(old._state[k], moments[k])


@pytest.mark.parametrize("block_size", [65536, 7])
def test_l2_penalty_gradient_is_the_same_in_blocks(block_size):
    rng = np.random.default_rng(13)
    params = [Parameter(rng.standard_normal((30, 50)).astype(np.float32)),
              Parameter(rng.standard_normal((50, 3)).T.copy().T)]  # a Fortran-ordered one
    upstream = [rng.standard_normal(p.shape).astype(p.value.dtype) for p in params]
    for p, g in zip(params, upstream):
        p.grad[...] = g
    penalty = L2Penalty(params, alpha=0.3)
    penalty.block_size = block_size
    penalty.backward(scale=0.5)
    for p, g in zip(params, upstream):
        expected = g + (0.3 * 0.5) * p.value.astype(np.float64)
        np.testing.assert_allclose(p.grad, expected, rtol=1e-6, atol=1e-7)
