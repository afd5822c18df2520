"""LinearSVM's probabilities: calibrated on held-out rows, recalibrated by partial_fit.

The calibration rows follow the rows' values, not how X is stored; the
probabilities stay finite at the dtype's limits; each partial_fit recalibrates;
predict_proba without probability=True says what to set.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sknumpynet import LinearSVM

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _sparse_table():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 12))
    X[np.abs(X) < 0.7] = 0.0
    y = (X[:, 0] + X[:, 1] - X[:, 2] > 0).astype(int) + (X[:, 3] > 0.5)
    return X, y


def _with_explicit_zeros(X):
    """X as CSR with an explicit zero in every row and its indices unsorted."""
    coo = sp.coo_matrix(X)
    n = X.shape[0]
    zero_cols = np.argmin(np.abs(X) > 0, axis=1)  # a column that is zero in the row
    rows = np.r_[coo.row, np.arange(n)]
    cols = np.r_[coo.col, zero_cols]
    data = np.r_[coo.data, np.zeros(n)]
    order = np.argsort(-cols, kind="stable")  # columns in decreasing order
    rows, cols, data = rows[order], cols[order], data[order]
    order = np.argsort(rows, kind="stable")
    indptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n))]
    M = sp.csr_matrix((data[order], cols[order], indptr), shape=X.shape)
    assert M.nnz == sp.csr_matrix(X).nnz + n and not M.has_sorted_indices
    return M


@pytest.mark.parametrize("solver", ["auto", "adam"])
def test_calibration_rows_follow_the_values_not_the_storage(solver):
    """Issue 21 item 14: dense, CSR and CSR with explicit zeros fitted different models."""
    X, y = _sparse_table()
    fits = [
        LinearSVM(probability=True, random_state=0, solver=solver, max_iter=20).fit(data, y)
        for data in (X, sp.csr_matrix(X), _with_explicit_zeros(X), X * -1.0 * -1.0 + 0.0 * X)
    ]
    dense = fits[0]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
        assert other.calibration_temperature_ == pytest.approx(
            dense.calibration_temperature_, rel=1e-6
        )
    from sknumpynet import _svm

    key = b"0123456789abcdef"
    index = np.searchsorted(np.unique(y), y)
    weights = np.ones(len(y))
    held = _svm._calibration_split(X, index, weights, 0.2, key)
    for data in (
        sp.csr_matrix(X),
        _with_explicit_zeros(X),
        np.where(X == 0, -0.0, X),
        np.asfortranarray(X),
    ):
        np.testing.assert_array_equal(_svm._calibration_split(data, index, weights, 0.2, key), held)


@pytest.mark.parametrize("multi_class", ["ovr", "crammer_singer", "binary"])
def test_probabilities_stay_finite_at_the_float32_limit(multi_class):
    """Issue 21 item 15: an input at float32 max gave all-NaN predict_proba rows."""
    X, y = _sparse_table()
    if multi_class == "binary":
        y, multi_class = y > 0, "ovr"
    X = X.astype(np.float32)
    est = LinearSVM(probability=True, random_state=0, multi_class=multi_class).fit(X, y)
    big = np.finfo(np.float32).max
    Z = np.zeros((4, X.shape[1]), dtype=np.float32)
    Z[0, 0], Z[1, :], Z[2, 0], Z[3, 1] = big, big, -big, big / 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the scores overflow in the matmul
        proba, log_proba = est.predict_proba(Z), est.predict_log_proba(Z)
        predicted = est.predict(Z)
    assert np.isfinite(proba).all() and np.isfinite(log_proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(est.classes_[proba.argmax(axis=1)], predicted)
    assert proba.dtype == np.float32


def test_linear_svm_partial_fit_recalibrates_on_each_call(digits):
    """Clean labels give confident probabilities; then shuffled labels must flatten them.

    Issue 14 item 11.
    """
    X, y = digits
    X, y = X[y < 3], y[y < 3]
    est = LinearSVM(probability=True, random_state=0)
    est.partial_fit(X, y, classes=[0, 1, 2])
    first = est.calibration_temperature_
    confident = est.predict_proba(X).max(axis=1).mean()
    shuffled = np.random.default_rng(0).permutation(y)
    est.partial_fit(X, shuffled)
    assert est.calibration_temperature_ > 2 * first
    assert est.predict_proba(X).max(axis=1).mean() < confident - 0.2


# -- without probability=True, predict_proba says what to set ---------------------------


def test_linear_svm_predict_proba_says_to_set_probability():
    """Issue 23 item 4 (a newcomer's friction)."""
    svm = LinearSVM()
    with pytest.raises(
        AttributeError,
        match=r"has no attribute 'predict_proba': it needs "
        r"probability=True; set it and fit again",
    ):
        svm.predict_proba([[0.0]])
    with pytest.raises(AttributeError, match="probability=True"):
        svm.predict_log_proba([[0.0]])
    assert not hasattr(svm, "predict_proba")  # introspection still sees no method
    assert hasattr(LinearSVM(probability=True), "predict_proba")
    assert "Calibrated probability" in LinearSVM.predict_proba.__doc__
