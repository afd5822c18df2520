"""The preprocessing of tables (sknumpynet._tabular_data), checked against hand computations."""

import numpy as np
import pytest

from sknumpynet._tabular_data import CLIP, fit_column_plan, table_columns

pd = pytest.importorskip("pandas")


def _plan(frame, max_onehot=8):
    columns, categorical = table_columns(frame)
    return fit_column_plan(columns, categorical, max_onehot), columns


def _smooth_clip(z):
    return z / np.sqrt(1 + (z / CLIP) ** 2)


def test_numeric_column_is_robustly_scaled_and_smoothly_clipped():
    x = np.array([1.0, 2.0, 3.0, 4.0, 100.0])
    plan, columns = _plan(pd.DataFrame({"x": x}))
    out = plan.transform(columns, np.float64)
    median, iqr = 3.0, 4.0 - 2.0  # numpy's linear quantiles of 1..4, 100
    np.testing.assert_allclose(out[:, 0], _smooth_clip((x - median) / iqr))
    assert np.abs(out).max() < CLIP


def test_zero_iqr_falls_back_to_half_the_range_and_constant_to_zero():
    x = np.array([0.0] * 8 + [5.0, -5.0])
    frame = pd.DataFrame({"x": x, "constant": 7.0})
    plan, columns = _plan(frame)
    out = plan.transform(columns, np.float64)
    np.testing.assert_allclose(out[:, 0], _smooth_clip(x / 5.0))
    np.testing.assert_array_equal(out[:, 1], 0.0)


def test_missing_numbers_get_the_median_and_an_indicator():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0, 5.0], "full": [1.0, 2.0, 3.0, 4.0]})
    plan, columns = _plan(frame)
    assert plan.indicated == [0]  # only the column that had a gap
    out = plan.transform(columns, np.float64)
    assert out.shape == (4, 3)
    assert out[1, 0] == 0.0  # the median, centred
    assert out[1, 2] != out[0, 2]  # the indicator tells the gap apart


def test_categories_one_hot_binary_plus_minus_one_and_unknown_zero():
    frame = pd.DataFrame({
        "colour": ["red", "blue", "green", "red", None, "blue"],
        "yes": [True, False, True, True, False, False],
    })
    plan, columns = _plan(frame)
    assert [list(c) for c in plan.categories] == [["blue", "green", "red"], ["False", "True"]]
    new = pd.DataFrame({"colour": ["purple", "green"], "yes": [True, None]})
    out = plan.transform(table_columns(new)[0], np.float64)
    raw = plan._dense(table_columns(new)[0])
    np.testing.assert_array_equal(raw[0, :3], [0, 0, 0])  # unseen colour: all zeros
    np.testing.assert_array_equal(raw[1, :3], [0, 1, 0])
    assert raw[0, 3] == -1.0 and raw[1, 3] == 0.0  # "True" is the second category; None: 0
    assert np.isfinite(out).all()


def test_many_categories_become_codes_for_an_embedding():
    values = [f"c{i % 12}" for i in range(48)]
    frame = pd.DataFrame({"x": np.arange(48.0), "city": values})
    plan, columns = _plan(frame, max_onehot=8)
    assert plan.embedded == [0] and plan.cardinalities == [12]
    out = plan.transform(columns, np.float32)
    assert out.shape == (48, 2)
    expected = np.searchsorted(np.unique(values), values)
    np.testing.assert_array_equal(out[:, 1], expected)
    unseen = plan.transform(table_columns(pd.DataFrame({"x": [1.0], "city": ["c99"]}))[0])
    assert unseen[0, 1] == -1


def test_object_array_columns_with_text_are_categorical():
    X = np.array([[1.0, "a"], [2.0, "b"], [np.nan, "a"]], dtype=object)
    columns, categorical = table_columns(X)
    np.testing.assert_array_equal(categorical, [False, True])
    plan = fit_column_plan(columns, categorical)
    assert plan.transform(columns).shape == (3, 3)  # number, its indicator, +-1


def test_pandas_category_and_nullable_dtypes():
    frame = pd.DataFrame({
        "n": pd.array([1, None, 3, 4], dtype="Int64"),
        "c": pd.Categorical(["x", "y", "x", None]),
        "s": pd.array(["u", "v", None, "u"], dtype="string"),
    })
    columns, categorical = table_columns(frame)
    np.testing.assert_array_equal(categorical, [False, True, True])
    plan = fit_column_plan(columns, categorical)
    assert np.isfinite(plan.transform(columns)).all()


def test_a_one_dimensional_array_is_refused():
    with pytest.raises(ValueError, match="2-D table"):
        table_columns(np.arange(3.0))


def test_equal_numbers_are_the_same_category_whatever_their_type():
    # a column of codes turns float with a gap; predict may bring ints or text
    frame = pd.DataFrame({"store": [0.0, 1.0, 2.0, np.nan, 1.0]})
    columns, _ = table_columns(frame)
    plan = fit_column_plan(columns, np.array([True]))
    assert plan.categories[0].tolist() == ["0", "1", "2"]
    for later in ([1, 2], ["1", "2"], np.array([1.0, 2.0], dtype=object)):
        raw = plan._dense(table_columns(pd.DataFrame({"store": later}))[0])
        np.testing.assert_array_equal(raw, [[0, 1, 0], [0, 0, 1]])


def test_numbers_in_an_object_column_stay_numbers():
    from decimal import Decimal

    values = [Decimal("1.5"), 2.0, None, 4]
    _, categorical = table_columns(pd.DataFrame({"a": pd.Series(values, dtype=object)}))
    assert categorical.tolist() == [False]
    columns, categorical = table_columns([[0.3, "x"], [0.5, "y"]])  # rows of mixed types
    assert categorical.tolist() == [False, True]
    np.testing.assert_array_equal(columns[0].astype(float), [0.3, 0.5])


def test_datetime_columns_are_numbers_in_nanoseconds():
    frame = pd.DataFrame({"d": pd.to_datetime(["2020-01-01", None, "2020-01-03"])})
    columns, categorical = table_columns(frame)
    assert categorical.tolist() == [False]
    plan = fit_column_plan(columns, categorical)
    out = plan.transform(columns, np.float64)
    assert out.shape == (3, 2) and np.isfinite(out).all()  # value and missing indicator


def test_huge_values_clip_to_the_bound_and_infinity_is_an_error():
    frame = pd.DataFrame({"x": np.arange(10.0)})
    columns, categorical = table_columns(frame)
    plan = fit_column_plan(columns, categorical)
    new = table_columns(pd.DataFrame({"x": [1e300, -1e300]}))[0]
    out = plan.transform(new, np.float64)[:, 0]
    np.testing.assert_allclose(out, [CLIP, -CLIP], rtol=1e-6)
    with pytest.raises(ValueError, match="infinity in column 0"):
        plan.transform(table_columns(pd.DataFrame({"x": [np.inf]}))[0])
