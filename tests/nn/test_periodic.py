"""PeriodicEmbedding (RealMLP's PBLD): the formula, its gradients in float64, its checks."""

import numpy as np
import pytest

from sknumpynet import nn


def _layer(dtype=np.float64, **kwargs):
    kwargs = {"n_frequencies": 4, "embedding_dim": 3, "sigma": 0.5, **kwargs}
    return nn.PeriodicEmbedding(5, [0, 2, 4], rng=np.random.default_rng(0), dtype=dtype,
                                **kwargs)


def test_output_is_the_input_then_each_columns_embedding():
    layer = _layer()
    x = np.random.default_rng(1).standard_normal((7, 5))
    out = layer.forward(x)
    assert out.shape == (7, layer.n_features_out) == (7, 5 + 3 * 3)
    np.testing.assert_array_equal(out[:, :5], x)
    for j, column in enumerate(layer.columns):
        angle = 2 * np.pi * x[:, [column]] * layer.frequencies.value[j] + layer.phases.value[j]
        want = np.cos(angle) @ layer.weight.value[j] + layer.bias.value[j]
        np.testing.assert_allclose(out[:, 5 + 3 * j: 8 + 3 * j], want, rtol=1e-12)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_gradients_match_finite_differences(mode):
    layer = _layer()
    getattr(layer, mode)()
    x = np.random.default_rng(2).standard_normal((6, 5))
    assert nn.check_module_gradients(layer, x, rng=np.random.default_rng(3)) < 1e-6


def test_a_gradient_check_fails_on_a_wrong_frequency_gradient(monkeypatch):
    layer = _layer()
    original = nn.PeriodicEmbedding.backward

    def wrong(self, g):
        out = original(self, g)
        self.frequencies.grad *= 1.01
        return out

    monkeypatch.setattr(nn.PeriodicEmbedding, "backward", wrong)
    with pytest.raises(nn.GradientCheckError):
        nn.check_module_gradients(layer, np.random.default_rng(2).standard_normal((6, 5)))


def test_initial_values_follow_the_recipe():
    layer = nn.PeriodicEmbedding(200, range(200), rng=np.random.default_rng(0))
    w, b = layer.frequencies.value, layer.phases.value
    assert w.dtype == np.float32 and w.shape == (200, 16)
    assert abs(w.std() - 0.1) < 0.005
    assert b.min() >= -np.pi and b.max() <= np.pi
    bound = 1 / np.sqrt(16)
    assert np.abs(layer.weight.value).max() <= bound and layer.weight.value.shape == (200, 16, 3)
    assert not layer.phases.decay and not layer.bias.decay and layer.weight.decay


def test_float32_in_float32_out():
    layer = _layer(dtype=np.float32)
    assert layer.forward(np.ones((2, 5))).dtype == np.float32


@pytest.mark.parametrize("columns, match", [
    ([], "at least one"), ([0, 0], "distinct"), ([5], r"in \[0, 5\)"),
])
def test_bad_columns_are_refused(columns, match):
    with pytest.raises(ValueError, match=match):
        nn.PeriodicEmbedding(5, columns)


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="sigma must be positive"):
        nn.PeriodicEmbedding(5, [0], sigma=0)
    with pytest.raises(ValueError, match="n_frequencies"):
        nn.PeriodicEmbedding(5, [0], n_frequencies=0)


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="before forward"):
        _layer().backward(np.ones((2, 14)))


def test_an_empty_batch_gives_an_empty_output_and_gradient():
    layer = _layer()
    out = layer.forward(np.zeros((0, 5)))
    assert out.shape == (0, layer.n_features_out)
    assert layer.backward(np.zeros((0, layer.n_features_out))).shape == (0, 5)
    assert not layer.frequencies.grad.any()
