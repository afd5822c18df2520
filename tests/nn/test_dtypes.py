"""The engine's layers take floating-point dtypes only (issue 14, item 8), and
BatchNorm1d stays finite in either of them on a constant feature."""

import numpy as np
import pytest

from sknumpynet import nn
from sknumpynet.nn import BatchNorm1d, Linear

NOT_FLOAT = [
    (int, "int64"),
    (np.int32, "int32"),
    ("int8", "int8"),
    (np.uint8, "uint8"),
    (bool, "bool"),
    (np.complex128, "complex128"),
    (str, "str"),
    ("U5", "str"),
    (object, "object"),
]


def make(layer_class, dtype):
    if layer_class is Linear:
        return Linear(3, 2, rng=np.random.default_rng(0), dtype=dtype)
    return BatchNorm1d(3, dtype=dtype)


@pytest.mark.parametrize("layer_class", [Linear, BatchNorm1d])
@pytest.mark.parametrize(("dtype", "name"), NOT_FLOAT)
def test_non_float_dtype_is_refused_with_its_name(layer_class, dtype, name):
    with pytest.raises(ValueError) as info:
        make(layer_class, dtype)
    message = str(info.value)
    assert message.startswith(f"{layer_class.__name__}: dtype must be a floating-point dtype")
    assert name in message


@pytest.mark.parametrize("layer_class", [Linear, BatchNorm1d])
@pytest.mark.parametrize("dtype", ["not-a-dtype", 3.5])
def test_what_is_not_a_dtype_at_all_is_a_value_error(layer_class, dtype):
    with pytest.raises(ValueError, match=f"got {dtype!r}, which is not a dtype"):
        make(layer_class, dtype)


@pytest.mark.parametrize("layer_class", [Linear, BatchNorm1d])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, "float64", float])
def test_float_dtypes_are_kept(layer_class, dtype):
    layer = make(layer_class, dtype)
    assert layer.dtype == np.dtype(dtype)
    for param in layer.parameters():
        assert param.value.dtype == np.dtype(dtype)
        assert param.grad.dtype == np.dtype(dtype)


def test_linear_weights_are_not_truncated():
    """Float weights stay fractional: an integer dtype would have made them 0."""
    layer = Linear(50, 40, rng=np.random.default_rng(0), dtype=np.float64)
    values = layer.weight.value
    assert np.count_nonzero(values) == values.size
    assert np.all(np.abs(values) < 1)


# -- BatchNorm1d stays finite on a constant feature, in either float dtype --------------


@pytest.mark.parametrize("value", [0.0, 3.0, 1e4, -1e6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batchnorm_constant_feature_is_finite(dtype, value):
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(3, dtype=dtype)
    x = rng.standard_normal((8, 3)).astype(dtype)
    x[:, 1] = value
    for _ in range(60):  # the running variance of the constant column decays to 0
        out = bn.forward(x)
        grad = bn.backward(rng.standard_normal(out.shape).astype(dtype))
        assert np.isfinite(out).all() and np.isfinite(grad).all()
        assert all(np.isfinite(p.grad).all() for p in bn.parameters())
    assert abs(out[:, 1]).max() < 1e-2  # a constant normalises to (about) zero
    bn.eval()
    out = bn.forward(x)
    assert np.isfinite(out).all()
    assert np.isfinite(bn.backward(np.ones_like(out))).all()
