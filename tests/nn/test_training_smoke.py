"""End-to-end smoke tests: small networks trained to fit separable data, and dtype
propagation through a whole chain."""

import numpy as np
import pytest

from sknumpynet.nn import (
    SGD,
    Adam,
    BatchNorm1d,
    Dropout,
    Linear,
    MSELoss,
    MultiClassHinge,
    ReLU,
    Sequential,
    Sigmoid,
    SoftmaxCrossEntropy,
    Tanh,
)


def blobs(n_per_class=40, seed=0):
    """Three well separated gaussian blobs in 2-D, classes 0, 1, 2."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 4.0], [4.0, -2.0], [-4.0, -2.0]])
    x = np.vstack([c + 0.6 * rng.standard_normal((n_per_class, 2)) for c in centres])
    y = np.repeat(np.arange(3), n_per_class)
    return x.astype(np.float32), y


def train_step(net, loss, opt, x, y):
    value = loss(net(x), y)
    net.backward(loss.backward())
    opt.step()
    return value


def test_mlp_with_adam_and_softmax_cross_entropy_fits_blobs():
    x, y = blobs()
    rng = np.random.default_rng(0)
    net = Sequential(Linear(2, 16, rng=rng), ReLU(), Linear(16, 3, rng=rng))
    loss = SoftmaxCrossEntropy()
    opt = Adam(net.parameters(), lr=0.01)
    first = loss(net(x), y)
    history = [train_step(net, loss, opt, x, y) for _ in range(150)]
    assert history[0] == pytest.approx(first)
    assert history[-1] < 0.05, history[-1]
    assert history[-1] < first / 10
    net.eval()
    assert (net(x).argmax(axis=1) == y).all()
    final = loss(net(x), y)
    assert final < 0.05


def test_minibatch_training_with_dropout_and_batchnorm_reduces_the_loss():
    x, y = blobs(seed=1)
    rng = np.random.default_rng(1)
    net = Sequential(
        Linear(2, 32, rng=rng), BatchNorm1d(32), ReLU(), Dropout(0.2, rng=rng),
        Linear(32, 3, rng=rng),
    )
    loss = SoftmaxCrossEntropy()
    opt = SGD(net.parameters(), lr=0.1, momentum=0.9)
    net.eval()
    start = loss(net(x), y)
    net.train()
    for _ in range(30):
        order = rng.permutation(len(x))
        for batch in np.array_split(order, 6):
            train_step(net, loss, opt, x[batch], y[batch])
    net.eval()
    end = loss(net(x), y)
    assert end < 0.1 and end < start / 5
    assert np.mean(net(x).argmax(axis=1) == y) == 1.0
    # evaluation mode is deterministic
    np.testing.assert_array_equal(net(x), net(x))


@pytest.mark.parametrize("kind", MultiClassHinge.KINDS)
def test_linear_svm_with_hinge_loss_reaches_zero_training_error(kind):
    x, y = blobs(seed=2)
    layer = Linear(2, 3, rng=np.random.default_rng(2))
    loss = MultiClassHinge(kind=kind)
    opt = SGD(layer.parameters(), lr=0.05)
    errors = []
    for _ in range(100):
        scores = layer(x)
        errors.append(np.mean(scores.argmax(axis=1) != y))
        loss(scores, y)
        layer.backward(loss.backward())
        opt.step()
    assert errors[0] > 0  # the random start does misclassify
    assert errors[-1] == 0.0
    layer.eval()
    assert (layer(x).argmax(axis=1) == y).all()


def test_regression_with_mse_fits_a_smooth_function():
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, (200, 1)).astype(np.float32)
    target = np.hstack([np.sin(x), 0.5 * x**2])  # two outputs
    net = Sequential(Linear(1, 32, rng=rng, init="glorot_uniform"), Tanh(),
                     Linear(32, 2, rng=rng, init="glorot_uniform"))
    loss = MSELoss()
    opt = Adam(net.parameters(), lr=0.02)
    start = loss(net(x), target)
    for _ in range(500):
        train_step(net, loss, opt, x, target)
    assert loss(net(x), target) < 0.01 < start


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept_through_a_chain(dtype):
    rng = np.random.default_rng(0)
    net = Sequential(
        Linear(4, 6, rng=rng, dtype=dtype), ReLU(), BatchNorm1d(6, dtype=dtype),
        Tanh(), Dropout(0.3, rng=rng), Sigmoid(), Linear(6, 3, rng=rng, dtype=dtype),
    )
    loss = SoftmaxCrossEntropy()
    x = rng.standard_normal((8, 4)).astype(dtype)
    y = rng.integers(0, 3, 8)
    out = net(x)
    assert out.dtype == dtype
    h = x
    for module in net:  # every intermediate output
        h = module(h)
        assert h.dtype == dtype, module
    value = loss(out, y)
    assert isinstance(value, float)
    grad = loss.backward()
    assert grad.dtype == dtype
    for module in reversed(list(net)):
        grad = module.backward(grad)
        assert grad.dtype == dtype, module
    for p in net.parameters():
        assert p.value.dtype == dtype and p.grad.dtype == dtype
    opt = Adam(net.parameters())
    opt.step()
    for p in net.parameters():
        assert p.value.dtype == dtype and p.grad.dtype == dtype
    # float64 input to a float32 network computes in float32
    if dtype == np.float32:
        assert net(x.astype(np.float64)).dtype == np.float32
