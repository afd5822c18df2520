"""The engine's layers take floating-point dtypes only (issue 14, item 8)."""

import numpy as np
import pytest

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
