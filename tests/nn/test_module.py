"""Tests of the module contract: Parameter, pack_parameters, Module and Sequential."""

import pickle

import numpy as np
import pytest

from sknumpynet.nn import (
    BatchNorm1d,
    Dropout,
    Identity,
    LeakyReLU,
    Linear,
    Module,
    Parameter,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    SoftmaxCrossEntropy,
    Tanh,
    check_module_gradients,
    pack_parameters,
)


def make_net(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return Sequential(
        Linear(3, 5, rng=rng, dtype=dtype),
        ReLU(),
        Linear(5, 4, bias=False, rng=rng, dtype=dtype),
        BatchNorm1d(4, dtype=dtype),
        Tanh(),
        Linear(4, 2, rng=rng, dtype=dtype),
    )


# --------------------------------------------------------------------- Parameter


def test_parameter_grad_is_zeros_like_value():
    value = np.arange(6, dtype=np.float32).reshape(2, 3)
    p = Parameter(value)
    assert p.value is value
    assert p.grad.shape == (2, 3) and p.grad.dtype == np.float32
    assert not p.grad.any()
    assert p.shape == (2, 3)
    assert "shape=(2, 3)" in repr(p) and "float32" in repr(p)


def test_parameter_pickles():
    p = Parameter(np.arange(3.0))
    p.grad[:] = [1.0, 2.0, 3.0]
    q = pickle.loads(pickle.dumps(p))
    np.testing.assert_array_equal(q.value, p.value)
    # the gradient is per-batch scratch: not pickled, back as zeros of the right shape
    assert q.grad.shape == p.grad.shape and q.grad.dtype == p.grad.dtype
    assert not q.grad.any()


@pytest.mark.parametrize("decay", [True, False])
def test_parameter_decay_flag_pickles_and_shows(decay):
    p = Parameter(np.arange(3.0), decay=decay)
    assert pickle.loads(pickle.dumps(p)).decay is decay
    assert ("decay=False" in repr(p)) is not decay


def test_layers_exempt_biases_and_batchnorm_from_weight_decay():
    linear, bn = Linear(3, 2), BatchNorm1d(2)
    assert linear.weight.decay
    assert not linear.bias.decay and not bn.gamma.decay and not bn.beta.decay


# --------------------------------------------------------------- pack_parameters


def test_pack_parameters_makes_views_of_one_buffer_and_keeps_values():
    rng = np.random.default_rng(0)
    params = [Parameter(rng.standard_normal(s)) for s in [(2, 3), (3,), (4, 1)]]
    for p in params:
        p.grad[...] = rng.standard_normal(p.shape)
    values = [p.value.copy() for p in params]
    grads = [p.grad.copy() for p in params]

    flat_value, flat_grad = pack_parameters(params)

    assert flat_value.shape == flat_grad.shape == (6 + 3 + 4,)
    for p, v, g in zip(params, values, grads):
        assert np.shares_memory(p.value, flat_value)
        assert np.shares_memory(p.grad, flat_grad)
        np.testing.assert_array_equal(p.value, v)
        np.testing.assert_array_equal(p.grad, g)
        assert p.value.shape == v.shape
    np.testing.assert_array_equal(flat_value, np.concatenate([v.ravel() for v in values]))
    # writing through the buffer is visible in the parameters, and vice versa
    flat_value[:] = 7.0
    assert all((p.value == 7.0).all() for p in params)
    params[1].grad[...] = -1.0
    np.testing.assert_array_equal(flat_grad[6:9], -1.0)


def test_pack_parameters_again_returns_the_same_buffers():
    params = [Parameter(np.ones((2, 2))), Parameter(np.zeros(3))]
    first = pack_parameters(params)
    second = pack_parameters(params)
    assert second[0] is first[0] and second[1] is first[1]
    # a different order (or subset) is packed anew, values preserved
    third = pack_parameters(params[::-1])
    assert third[0] is not first[0]
    np.testing.assert_array_equal(third[0], [0, 0, 0, 1, 1, 1, 1])


def test_pack_parameters_rejects_mixed_dtypes_and_empty():
    with pytest.raises(ValueError, match="dtype"):
        pack_parameters([Parameter(np.ones(2)), Parameter(np.ones(2, dtype=np.float32))])
    with pytest.raises(ValueError, match="at least one"):
        pack_parameters([])


def test_pack_parameters_accepts_memory_mapped_values(tmp_path):
    # parameters loaded with a memory map (e.g. joblib.load(mmap_mode=...)) have a
    # base that is an mmap object, not an ndarray
    path = tmp_path / "w.dat"
    mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(2, 3))
    mm[...] = np.arange(6.0).reshape(2, 3)
    mm.flush()
    value = np.memmap(path, dtype=np.float64, mode="c", shape=(2, 3))
    grad = np.memmap(path, dtype=np.float64, mode="c", shape=(2, 3))
    p = Parameter(value)
    p.grad = grad
    flat_value, _ = pack_parameters([p])
    np.testing.assert_array_equal(p.value, np.arange(6.0).reshape(2, 3))
    assert np.shares_memory(p.value, flat_value)


# ------------------------------------------------------------ Module / Sequential


def test_sequential_parameters_order_and_count():
    net = make_net()
    lin1, _, lin2, bn, _, lin3 = list(net)
    expected = [lin1.weight, lin1.bias, lin2.weight, bn.gamma, bn.beta, lin3.weight, lin3.bias]
    params = net.parameters()
    assert len(params) == 7
    assert all(p is q for p, q in zip(params, expected, strict=True))
    assert sum(p.value.size for p in params) == 3 * 5 + 5 + 5 * 4 + 4 + 4 + 4 * 2 + 2
    # nested containers concatenate their children's parameters in order
    outer = Sequential(net, Linear(2, 1, dtype=np.float64))
    assert len(outer.parameters()) == 9
    assert outer.parameters()[:7] == params
    assert ReLU().parameters() == [] and Identity().parameters() == []


def test_buffers_and_state_arrays():
    net = make_net()
    bn = net[3]
    buffers = net.buffers()
    assert len(buffers) == 2
    assert buffers[0] is bn.running_mean and buffers[1] is bn.running_var
    state = net.state_arrays()
    params = net.parameters()
    assert len(state) == len(params) + 2
    assert all(a is p.value for a, p in zip(state, params))
    assert ReLU().buffers() == [] and Linear(2, 2).buffers() == []
    # a snapshot restored with np.copyto brings the same function back
    x = np.random.default_rng(0).standard_normal((6, 3))
    snapshot = [a.copy() for a in state]
    net.eval()
    before = net(x)
    net.train()
    for _ in range(3):
        net(x * 2 + 1)  # moves the running statistics
    for p in params:
        p.value += 0.1
    net.eval()
    assert not np.allclose(net(x), before)
    for a, s in zip(net.state_arrays(), snapshot):
        np.copyto(a, s)
    np.testing.assert_array_equal(net(x), before)


def test_zero_grad_zeroes_every_gradient_in_place():
    net = make_net()
    x = np.random.default_rng(1).standard_normal((6, 3))
    out = net(x)
    net.backward(np.random.default_rng(2).standard_normal(out.shape))
    grads = [p.grad for p in net.parameters()]
    assert all(np.abs(g).sum() > 0 for g in grads)
    net.zero_grad()
    assert all(p.grad is g for p, g in zip(net.parameters(), grads))
    assert all(not g.any() for g in grads)


def test_train_and_eval_propagate_to_children():
    inner = Sequential(Dropout(0.5), BatchNorm1d(2))
    net = Sequential(Linear(2, 2), inner, ReLU())
    assert net.training and all(m.training for m in inner)
    assert net.eval() is net
    assert not net.training
    assert not any(m.training for m in net) and not any(m.training for m in inner)
    assert net.train() is net
    assert net.training and all(m.training for m in inner)
    net.train(False)
    assert not inner[0].training and not inner[1].training


def test_sequential_indexing_len_iteration_and_slicing():
    mods = [Linear(2, 3), ReLU(), Linear(3, 1), Sigmoid()]
    net = Sequential(*mods)
    assert len(net) == 4
    assert net[0] is mods[0] and net[-1] is mods[-1] and net[2] is mods[2]
    assert list(net) == mods
    head = net[1:3]
    assert isinstance(head, Sequential) and len(head) == 2
    assert head[0] is mods[1] and head[1] is mods[2]
    assert len(net[:0]) == 0
    with pytest.raises(IndexError):
        net[4]


def test_sequential_forward_backward_is_the_composition():
    net = make_net(3)
    x = np.random.default_rng(4).standard_normal((7, 3))
    g = np.random.default_rng(5).standard_normal((7, 2))
    out = net(x)
    dx = net.backward(g)
    twin = pickle.loads(pickle.dumps(make_net(3)))
    h = x
    for m in twin:
        h = m.forward(h)
    np.testing.assert_allclose(out, h, rtol=1e-12)
    for m in reversed(list(twin)):
        g = m.backward(g)
    np.testing.assert_allclose(dx, g, rtol=1e-12)


def test_repr_is_readable():
    net = Sequential(Linear(3, 4), LeakyReLU(0.2), Dropout(0.25), BatchNorm1d(4), Linear(4, 2))
    text = repr(net)
    assert text.startswith("Sequential(")
    for part in ["(0): Linear", "in_features=3", "out_features=4", "(1): LeakyReLU",
                 "negative_slope=0.2", "Dropout(p=0.25)", "BatchNorm1d(num_features=4",
                 "(4): Linear"]:
        assert part in text, part
    assert repr(ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(Tanh()) == "Tanh()"


@pytest.mark.parametrize("bad", [np.tanh, 3, "relu", None, [Linear(2, 2)]])
def test_sequential_rejects_non_modules(bad):
    with pytest.raises(TypeError, match="argument 1"):
        Sequential(Linear(2, 2), bad)


@pytest.mark.parametrize(
    "module",
    [Linear(3, 3), ReLU(), LeakyReLU(), Sigmoid(), Tanh(), Softmax(), BatchNorm1d(3),
     Sequential(Linear(3, 2), ReLU())],
    ids=repr,
)
def test_backward_before_forward_raises(module):
    with pytest.raises(RuntimeError, match="before"):
        module.backward(np.ones((2, 3)))


def test_backward_after_clear_cache_or_eval_forward_raises():
    net = Sequential(Linear(3, 2), ReLU())
    x = np.ones((4, 3), dtype=np.float32)
    net(x)
    net.clear_cache()
    with pytest.raises(RuntimeError):
        net.backward(np.ones((4, 2), dtype=np.float32))


def test_eval_mode_network_backward_uses_the_last_forward():
    # an evaluation-mode forward keeps its batch too, so backward (and a gradient
    # check of a network with batch norm in eval mode) uses that batch, never a stale one
    rng = np.random.default_rng(0)
    net = Sequential(Linear(3, 5, rng=rng), ReLU(), BatchNorm1d(5), Linear(5, 2, rng=rng))
    net(rng.standard_normal((6, 3)).astype(np.float32))  # train: running statistics move
    net.eval()
    x = rng.standard_normal((4, 3))
    net(x.astype(np.float32))
    g = rng.standard_normal((4, 2)).astype(np.float32)
    net.backward(g)
    grad_first = net[0].weight.grad.copy()
    net(x.astype(np.float32))
    net.backward(g)
    np.testing.assert_array_equal(net[0].weight.grad, grad_first)
    check_module_gradients(net, x, rng=rng)


def test_loss_backward_before_call_raises():
    with pytest.raises(RuntimeError, match="before"):
        SoftmaxCrossEntropy().backward()


def test_base_module_methods_are_abstract():
    m = Module()
    with pytest.raises(NotImplementedError):
        m.forward(np.ones((1, 1)))
    with pytest.raises(NotImplementedError):
        m.backward(np.ones((1, 1)))
    assert m.parameters() == [] and repr(m) == "Module()"


def test_pickle_does_not_keep_cached_activations():
    rng = np.random.default_rng(0)
    net = Sequential(
        Linear(50, 64, rng=rng), LeakyReLU(), Dropout(0.2, rng=rng), BatchNorm1d(64),
        Sigmoid(), Linear(64, 10, rng=rng), Softmax(),
    )
    size_fresh = len(pickle.dumps(net))
    x = rng.standard_normal((20_000, 50)).astype(np.float32)  # 4 MB input
    out = net(x)
    size_after = len(pickle.dumps(net))
    # the weights are ~ (50*64 + 64*10) * 4 bytes = 15 kB; the batch activations are MBs
    assert size_after < 100_000
    assert size_after <= size_fresh + 1_000
    # pickling must not strip the caches of the live network
    dx = net.backward(np.ones_like(out) / out.size)
    assert dx.shape == x.shape
    # the copy computes the same function
    copy = pickle.loads(pickle.dumps(net.eval()))
    np.testing.assert_array_equal(copy(x[:5]), net(x[:5]))
