"""Tables as they come: the preprocessing a tabular network fits and applies.

A :class:`ColumnPlan` is fitted on the training table and turns any table
with the same columns into one float matrix, following RealMLP's recipe
(Holzmüller, Grinsztajn and Steinwart, NeurIPS 2024):

- numeric columns: a missing value becomes the column's training median, and
  a column that had missing values in training gets a 0/1 indicator column;
- categorical columns (text, ``category`` or ``bool`` dtype, or those named in
  ``categorical_features``) with at most ``max_onehot`` categories are one-hot
  encoded; a column of two categories becomes one column of +1/-1. A missing
  or unknown category is all zeros;
- every one of these columns is then robustly scaled and smoothly clipped:
  ``z = (x - median) / (q75 - q25)`` (``(max - min) / 2`` where the
  interquartile range is 0, and 0 for a constant column), then
  ``z / sqrt(1 + (z / 3)^2)``, which leaves small values alone and bounds
  the rest in (-3, 3);
- categorical columns with more categories are passed as integer codes
  (-1: missing or unknown) in the last columns, for a learned embedding
  (:class:`~sknumpynet.nn.CategoricalEmbedding`).

Only numpy is needed; a pandas (or any dataframe with ``iloc`` and
``dtypes``) table keeps its column dtypes, and a polars one is read through
``to_pandas``. Nothing here imports scikit-learn's estimators.
"""

import decimal
import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ColumnPlan", "checkable_table", "fit_column_plan", "table_columns"]

#: The bound of the smooth clipping: outputs stay inside (-3, 3).
CLIP = 3.0


@dataclass
class ColumnPlan:
    """The fitted preprocessing of a table (see the module docstring).

    Attributes
    ----------
    n_columns : int
        Columns of the table.
    numeric : list of int
        Positions of the numeric columns.
    median : ndarray of shape (len(numeric),)
        Training medians, which fill missing values.
    indicated : list of int
        Indices into ``numeric`` of the columns that get a missing indicator.
    categorical : list of int
        Positions of the categorical columns.
    categories : list of ndarray of str
        The sorted training categories of each categorical column.
    embedded : list of int
        Indices into ``categorical`` of the columns passed as codes.
    center, factor : ndarray of shape (n_dense,)
        The robust scaling of the dense (not embedded) output columns.
    """

    n_columns: int
    numeric: list
    median: np.ndarray
    indicated: list
    categorical: list
    categories: list
    embedded: list
    center: np.ndarray = field(default_factory=lambda: np.zeros(0))
    factor: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def cardinalities(self):
        """list of int: The number of categories of each embedded column."""
        return [len(self.categories[i]) for i in self.embedded]

    @property
    def n_dense(self):
        """int: Output columns before the embedded codes."""
        return self.center.shape[0]

    @property
    def n_outputs(self):
        """int: Columns of :meth:`transform`'s output."""
        return self.n_dense + len(self.embedded)

    def transform(self, columns, dtype=np.float32):
        """The preprocessed matrix of a table's columns.

        Parameters
        ----------
        columns : list of ndarray of shape (n_samples,)
            The table's columns, from :func:`table_columns`.
        dtype : dtype, default=np.float32

        Returns
        -------
        X : ndarray of shape (n_samples, n_outputs)
            The scaled and clipped dense columns, then one code column per
            embedded categorical column.
        """
        dense = self._dense(columns)
        with np.errstate(invalid="ignore", over="ignore"):
            z = (dense - self.center) * self.factor
            # huge values clip to +-3 (z**2 must not overflow to inf/inf)
            np.clip(z, -1e150, 1e150, out=z)
            z /= np.sqrt(1.0 + (z / CLIP) ** 2)
        np.nan_to_num(z, copy=False)
        codes = [self._codes(columns, i)[0] for i in self.embedded]
        out = np.empty((z.shape[0], self.n_outputs), dtype=dtype)
        out[:, : self.n_dense] = z
        for j, c in enumerate(codes):
            out[:, self.n_dense + j] = c
        return out

    def _dense(self, columns):
        """Numeric (median-filled), indicator and one-hot columns, before scaling."""
        n = len(columns[0]) if columns else 0
        parts = []
        if self.numeric:
            numeric = np.column_stack([_as_float(columns[j]) for j in self.numeric])
            _check_no_infinity(numeric, self.numeric)
            missing = np.isnan(numeric)
            numeric = np.where(missing, self.median, numeric)
            parts += [numeric, missing[:, self.indicated].astype(np.float64)]
        for i in range(len(self.categorical)):
            if i not in self.embedded:
                parts.append(_one_hot(*self._codes(columns, i)))
        return np.hstack(parts) if parts else np.zeros((n, 0))

    def _codes(self, columns, i):
        """Codes of categorical column ``i`` (-1: missing or unknown), and its size."""
        cats = self.categories[i]
        values, missing = _as_text(columns[self.categorical[i]])
        pos = np.searchsorted(cats, values).clip(0, max(len(cats) - 1, 0))
        known = ~missing & (cats[pos] == values) if len(cats) else np.zeros(len(values), bool)
        return np.where(known, pos, -1), len(cats)


def fit_column_plan(columns, categorical, max_onehot=8):
    """Fit the preprocessing of a table.

    Parameters
    ----------
    columns : list of ndarray of shape (n_samples,)
        The table's columns, from :func:`table_columns`.
    categorical : ndarray of bool of shape (n_columns,)
        Which columns are categorical.
    max_onehot : int, default=8
        Categorical columns with more categories are embedded, not one-hot.

    Returns
    -------
    plan : ColumnPlan
    """
    numeric = [j for j, c in enumerate(categorical) if not c]
    cat_cols = [j for j, c in enumerate(categorical) if c]
    matrix = np.column_stack([_as_float(columns[j]) for j in numeric]) if numeric else None
    median, indicated = np.zeros(0), []
    if matrix is not None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column with no value: 0 below
            median = np.nan_to_num(np.nanmedian(matrix, axis=0))
        indicated = np.flatnonzero(np.isnan(matrix).any(axis=0)).tolist()
    categories = []
    for j in cat_cols:
        values, missing = _as_text(columns[j])
        categories.append(np.unique(values[~missing]))
    embedded = [i for i, c in enumerate(categories) if len(c) > max_onehot]
    plan = ColumnPlan(len(columns), numeric, median, indicated, cat_cols, categories, embedded)
    plan.center, plan.factor = _robust_scale(plan._dense(columns))
    return plan


def _check_no_infinity(numeric, positions):
    """A ValueError naming the first column of ``numeric`` that holds +-inf."""
    bad = np.isinf(numeric).any(axis=0)
    if bad.any():
        raise ValueError(
            f"Input X contains infinity in column {positions[int(np.argmax(bad))]}; "
            "a missing value is NaN (or None)."
        )


def _robust_scale(dense):
    """Center (median) and factor (1 / interquartile range) of each column."""
    if dense.shape[0] == 0:
        return np.zeros(dense.shape[1]), np.zeros(dense.shape[1])
    center = np.median(dense, axis=0)
    q25, q75 = np.quantile(dense, [0.25, 0.75], axis=0)
    spread = q75 - q25
    flat = spread == 0
    spread[flat] = 0.5 * (dense.max(axis=0) - dense.min(axis=0))[flat]
    factor = np.zeros_like(spread)
    np.divide(1.0, spread, out=factor, where=spread > 0)
    return center, factor


def _one_hot(codes, size):
    """One-hot columns of ``codes`` (-1: all zeros); two categories: one +1/-1 column."""
    out = np.zeros((len(codes), size))
    rows = np.flatnonzero(codes >= 0)
    out[rows, codes[rows]] = 1.0
    if size == 2:
        return out[:, :1] - out[:, 1:]
    return out


def _as_float(column):
    """A numeric column as float64 (missing values as NaN)."""
    if column.dtype.kind in "biuf":
        return column.astype(np.float64)
    if column.dtype.kind in "Mm":  # datetimes and durations: nanoseconds
        missing = np.isnat(column)
        out = column.astype("int64").astype(np.float64)
        out[missing] = np.nan
        return out
    out = np.empty(len(column))
    for k, v in enumerate(column):
        out[k] = np.nan if _is_missing(v) else float(v)
    return out


def _as_text(column):
    """A categorical column as str values, and which are missing.

    Numbers equal as numbers get the same text (1, 1.0 and ``Decimal("1")``
    are all "1"): a column of codes turns float when it has a gap, and must
    still meet the same codes as ints at predict time.
    """
    if column.dtype.kind == "f":
        missing = np.isnan(column)
        text = np.array([_number_text(v) for v in column.tolist()], dtype=object)
    else:
        missing = (np.fromiter((_is_missing(v) for v in column), bool, len(column))
                   if column.dtype.kind == "O" else np.zeros(len(column), bool))
        text = np.array([_number_text(v) if _is_number(v) else str(v)
                         for v in column.tolist()], dtype=object)
    text[missing] = ""
    return text, missing


def _number_text(v):
    """An integral number as an int's text, any other as its float's."""
    v = float(v)
    return str(int(v)) if v.is_integer() else repr(v)


def _is_number(v):
    """A real number that is not a bool (bools are categories "False"/"True")."""
    if isinstance(v, (bool, np.bool_)):
        return False
    return isinstance(v, (numbers.Real, decimal.Decimal))


def _is_missing(v):
    """None, NaN, pandas' NA and NaT count as missing."""
    if v is None:
        return True
    if _is_number(v):
        return v != v
    return type(v).__name__ in ("NAType", "NaTType")


def table_columns(X):
    """The columns of a table, and which look categorical by their dtype.

    Parameters
    ----------
    X : DataFrame, ndarray or array-like of shape (n_samples, n_features)
        A pandas DataFrame (or a polars one, read through ``to_pandas``),
        or anything ``numpy.asarray`` turns into a 2-D array.

    Returns
    -------
    columns : list of ndarray of shape (n_samples,)
        Numeric columns as float or int arrays, the others as object arrays.
    categorical : ndarray of bool of shape (n_features,)
        True for text, ``category`` and ``bool`` columns (of a dataframe), and
        for columns of an object array holding any non-number.
    """
    if not hasattr(X, "iloc") and hasattr(X, "to_pandas") and hasattr(X, "schema"):
        X = X.to_pandas()  # polars
    if hasattr(X, "iloc") and hasattr(X, "dtypes"):
        return _frame_columns(X)
    if not isinstance(X, np.ndarray):
        rows, X = X, np.asarray(X)
        if X.dtype.kind in "US":  # rows of mixed types: numbers must stay numbers
            X = np.asarray(rows, dtype=object)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D table, got an array of shape {X.shape}.")
    columns = [X[:, j] for j in range(X.shape[1])]
    if X.dtype.kind in "biuf":
        return columns, np.zeros(X.shape[1], bool)
    categorical = np.array([_has_text(c) for c in columns], dtype=bool)
    return columns, categorical


def checkable_table(X):
    """``X`` as scikit-learn's ``validate_data`` can check it (names, shape, gaps).

    A dataframe with datetime or duration columns becomes one of objects: numpy
    cannot promote datetimes and numbers to one dtype. Anything else is
    returned as it is.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is not None and hasattr(X, "astype") and any(
        getattr(d, "kind", "O") in "Mm" for d in list(dtypes)
    ):
        return X.astype(object)
    return X


def _frame_columns(frame):
    columns, categorical = [], []
    for j in range(frame.shape[1]):
        col = frame.iloc[:, j]
        kind = getattr(col.dtype, "kind", "O")
        if type(col.dtype).__name__ == "CategoricalDtype" or kind in "bUS":
            values, is_category = np.asarray(col.to_numpy(), dtype=object), True
        elif kind in "iuf" and getattr(col.dtype, "na_value", None) is not None:
            # pandas' nullable Int64/Float64: NA becomes NaN
            values, is_category = col.to_numpy(dtype=np.float64, na_value=np.nan), False
        elif kind in "iufMm":
            values, is_category = _tz_naive(col).to_numpy(), False
        else:  # object, string: categories unless every value is a number
            values = np.asarray(col.to_numpy(), dtype=object)
            is_category = _has_text(values)
        columns.append(values)
        categorical.append(is_category)
    return columns, np.array(categorical, dtype=bool)


def _tz_naive(col):
    """A timezone-aware datetime column in UTC without its zone (numpy has no zones)."""
    if getattr(col.dtype, "tz", None) is not None:
        return col.dt.tz_convert("UTC").dt.tz_localize(None)
    return col


def _has_text(column):
    return any(not _is_missing(v) and not _is_number(v) for v in column)
