"""Label smoothing of SoftmaxCrossEntropy and SigmoidBinaryCrossEntropy."""

import math
import pickle

import numpy as np
import pytest

from sknumpynet.nn import SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy, check_loss_gradients


def softmax_reference(scores, target, eps, weights=None):
    """-sum_k q_k log p_k with q = (1 - eps) onehot + eps / K, in plain Python floats."""
    losses = []
    for row, y in zip(scores.tolist(), target.tolist()):
        lse = math.log(sum(math.exp(v) for v in row))
        k = len(row)
        q = [(1 - eps) * (j == y) + eps / k for j in range(k)]
        losses.append(-sum(qj * (v - lse) for qj, v in zip(q, row)))
    w = np.ones(len(losses)) if weights is None else np.asarray(weights, dtype=float)
    return float(np.dot(losses, w) / w.sum())


def sigmoid_reference(scores, target, eps):
    total = 0.0
    for row, trow in zip(scores.tolist(), target.tolist()):
        for s, t in zip(row, trow):
            t = t * (1 - eps) + eps / 2
            p = 1 / (1 + math.exp(-s))
            total += -(t * math.log(p) + (1 - t) * math.log(1 - p))
    return total / len(scores)


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_softmax_cross_entropy_smoothing_values_and_gradients(eps):
    rng = np.random.default_rng(0)
    scores, target = rng.standard_normal((6, 4)) * 2, rng.integers(0, 4, 6)
    loss = SoftmaxCrossEntropy(label_smoothing=eps)
    assert loss(scores, target) == pytest.approx(softmax_reference(scores, target, eps),
                                                 rel=1e-13)
    w = rng.uniform(0.5, 2.0, 6)
    assert loss(scores, target, w) == pytest.approx(
        softmax_reference(scores, target, eps, w), rel=1e-13
    )
    assert check_loss_gradients(loss, scores, target) < 1e-6
    assert check_loss_gradients(loss, scores, target, w) < 1e-6


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
def test_sigmoid_cross_entropy_smoothing_values_and_gradients(eps):
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((5, 3)) * 2
    target = rng.integers(0, 2, (5, 3)).astype(float)
    loss = SigmoidBinaryCrossEntropy(label_smoothing=eps)
    assert loss(scores, target) == pytest.approx(sigmoid_reference(scores, target, eps),
                                                 rel=1e-12)
    assert check_loss_gradients(loss, scores, target) < 1e-6


def test_smoothed_gradient_is_p_minus_the_smoothed_target():
    scores = np.array([[0.0, 0.0, 0.0, 0.0]])
    loss = SoftmaxCrossEntropy(label_smoothing=0.2)
    loss(scores, np.array([1]))
    # p = 1/4 everywhere, q = 0.8 onehot + 0.05
    np.testing.assert_allclose(loss.backward(), [[0.2, -0.6, 0.2, 0.2]], rtol=1e-15)
    bce = SigmoidBinaryCrossEntropy(label_smoothing=0.2)
    bce(np.zeros((1, 2)), np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(bce.backward(), [[0.5 - 0.9, 0.5 - 0.1]], rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_zero_smoothing_is_bit_identical_to_the_default(dtype):
    rng = np.random.default_rng(2)
    scores = (rng.standard_normal((50, 7)) * 3).astype(dtype)
    target = rng.integers(0, 7, 50)
    a, b = SoftmaxCrossEntropy(), SoftmaxCrossEntropy(label_smoothing=0.0)
    assert a(scores, target) == b(scores, target)
    np.testing.assert_array_equal(a.backward(), b.backward())
    binary = rng.integers(0, 2, (50, 7)).astype(dtype)
    a, b = SigmoidBinaryCrossEntropy(), SigmoidBinaryCrossEntropy(0.0)
    assert a(scores, binary) == b(scores, binary)
    np.testing.assert_array_equal(a.backward(), b.backward())
    c = SoftmaxCrossEntropy(label_smoothing=0.1)
    c(scores, target)
    assert c.backward().dtype == dtype


def test_repr_pickle_and_validation():
    assert repr(SoftmaxCrossEntropy()) == "SoftmaxCrossEntropy()"
    assert repr(SigmoidBinaryCrossEntropy(0.1)) == "SigmoidBinaryCrossEntropy(label_smoothing=0.1)"
    assert pickle.loads(pickle.dumps(SoftmaxCrossEntropy(0.3))).label_smoothing == 0.3
    old = SoftmaxCrossEntropy.__new__(SoftmaxCrossEntropy)  # pickled without the attribute
    assert old.label_smoothing == 0.0
    for bad in (-0.1, 1.5, float("nan"), "0.1", True):
        with pytest.raises(ValueError, match="label_smoothing"):
            SoftmaxCrossEntropy(bad)
        with pytest.raises(ValueError, match="label_smoothing"):
            SigmoidBinaryCrossEntropy(label_smoothing=bad)


@pytest.mark.parametrize("eps", [0.0, 0.15])
def test_matches_pytorch(eps):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    scores, target = rng.standard_normal((8, 5)) * 3, rng.integers(0, 5, 8)
    loss = SoftmaxCrossEntropy(label_smoothing=eps)
    value = loss(scores, target)
    st = torch.tensor(scores, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(st, torch.tensor(target), label_smoothing=eps)
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-13)
    np.testing.assert_allclose(loss.backward(), st.grad.numpy(), rtol=1e-12, atol=1e-15)

    binary = rng.integers(0, 2, (8, 5)).astype(float)
    bce = SigmoidBinaryCrossEntropy(label_smoothing=eps)
    value = bce(scores, binary)
    st = torch.tensor(scores, requires_grad=True)
    smoothed = torch.tensor(binary * (1 - eps) + eps / 2)
    # ours sums over the outputs and averages over rows; PyTorch's mean is over all
    expected = torch.nn.functional.binary_cross_entropy_with_logits(st, smoothed) * 5
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-13)
    np.testing.assert_allclose(bce.backward(), st.grad.numpy(), rtol=1e-12, atol=1e-15)
