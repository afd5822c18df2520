"""Reliability, round three (issue 21): items 12-15 and 19-21, and the tests
that could not fail.

Item 12: uint64 class labels beyond int64 in an ONNX export. Item 13:
exporting an unfitted model. Items 14, 15: LinearSVM's calibration rows
chosen by the rows' values, and probabilities finite at the dtype's limits.
Item 19: an IDX header whose shape numpy cannot make. Item 20: the memory a
fit takes, in copies of the parameters. Item 21: early stopping with more
classes than validation rows. The rest are the planted bugs that no test
caught: each test below names the bug it catches.
"""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sknumpynet import LinearSVM, MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- item 20: the memory of a fit ----------------------------------------------------


def _peak_growth(call):
    """The peak of traced memory during ``call()``, above what was traced before it."""
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        call()
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def _wide_data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((5, 20_000)), np.array([0, 1, 0, 1, 2])


@pytest.mark.parametrize(
    "params, copies",
    [
        # parameters, gradient, Adam's two moments; two rollback snapshots of
        # the parameters and the moments (the starts of the last two epochs)
        ({}, 10),
        # SGD with momentum: parameters, gradient, velocity; two snapshots of two
        ({"solver": "sgd"}, 7),
        # Nadam's second scratch array is one block, not a copy of the parameters
        ({"solver": "nadam"}, 10),
        # one epoch: one snapshot, and a fresh optimizer's zero moments are not copied
        ({"max_iter": 1}, 5),
    ],
)
def test_peak_memory_of_a_fit_in_copies_of_the_parameters(params, copies):
    X, y = _wide_data()
    est = MLPClassifier(**{"hidden_layer_sizes": (100,), "max_iter": 5, "random_state": 0,
                           **params})
    peak = _peak_growth(lambda: est.fit(X, y))
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    assert peak < (copies + 0.5) * n_bytes, peak / n_bytes


def test_peak_memory_of_partial_fit_and_early_stopping():
    X, y = _wide_data()
    est = MLPClassifier((100,), max_iter=2, random_state=0).fit(X, y)
    n_bytes = sum(p.value.nbytes for p in est.network_.parameters())
    # beside the old model (kept until the new one is committed): a copy of the
    # parameters, gradient and moments, and one snapshot of the three
    peak = _peak_growth(lambda: est.partial_fit(X, y))
    assert peak < 7.5 * n_bytes, peak / n_bytes
    X10, y10 = np.vstack([X, X + 0.1]), np.tile(y, 2)
    est = MLPClassifier((100,), max_iter=5, random_state=0, early_stopping=True,
                        validation_fraction=0.5, n_iter_no_change=100)
    peak = _peak_growth(lambda: est.fit(X10, y10))
    # one more copy: the best epoch's weights, overwritten in place
    assert peak < 11.5 * n_bytes, peak / n_bytes


def test_a_fitted_optimizer_keeps_no_scratch_copy_of_the_parameters():
    X, y = _wide_data()
    for solver in ("adam", "nadam", "sgd", "rmsprop"):
        est = MLPClassifier((100,), max_iter=2, random_state=0, solver=solver).fit(X, y)
        optimizer = est._optimizer
        for block in optimizer._blocks:
            for name in optimizer._scratch_names:
                assert getattr(block, name).base.size <= optimizer.block_size, (solver, name)


# -- items 14, 15: LinearSVM's calibration ---------------------------------------------


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
    """Item 14: dense, CSR and CSR with explicit zeros fitted different models."""
    X, y = _sparse_table()
    fits = [
        LinearSVM(probability=True, random_state=0, solver=solver, max_iter=20).fit(data, y)
        for data in (X, sp.csr_matrix(X), _with_explicit_zeros(X), X * -1.0 * -1.0 + 0.0 * X)
    ]
    dense = fits[0]
    for other in fits[1:]:
        np.testing.assert_allclose(other.coef_, dense.coef_, rtol=1e-6, atol=1e-9)
        assert other.calibration_temperature_ == pytest.approx(
            dense.calibration_temperature_, rel=1e-6)
    from sknumpynet import _svm

    key = b"0123456789abcdef"
    index = np.searchsorted(np.unique(y), y)
    weights = np.ones(len(y))
    held = _svm._calibration_split(X, index, weights, 0.2, key)
    for data in (sp.csr_matrix(X), _with_explicit_zeros(X), np.where(X == 0, -0.0, X),
                 np.asfortranarray(X)):
        np.testing.assert_array_equal(
            _svm._calibration_split(data, index, weights, 0.2, key), held)


@pytest.mark.parametrize("multi_class", ["ovr", "crammer_singer", "binary"])
def test_probabilities_stay_finite_at_the_float32_limit(multi_class):
    """Item 15: an input at float32 max gave all-NaN predict_proba rows."""
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


def test_softmax_of_infinite_scores_is_their_limit():
    from sknumpynet import nn

    z = np.array([[np.inf, 1.0, np.inf], [-np.inf] * 3, [1.0, 2.0, 3.0], [np.inf, -np.inf, 0.0]],
                 dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p, log_p = nn.softmax(z), nn.log_softmax(z)
    np.testing.assert_allclose(p[0], [0.5, 0, 0.5])
    np.testing.assert_allclose(p[1], [1 / 3] * 3)
    np.testing.assert_allclose(p[3], [1, 0, 0])
    np.testing.assert_allclose(p[2], nn.softmax(z[2:3])[0])
    assert np.isfinite(log_p).all() and p.dtype == log_p.dtype == np.float32
    np.testing.assert_allclose(log_p[0, [0, 2]], np.log(0.5), rtol=1e-6)


# -- item 21: early stopping with more classes than validation rows ---------------------


@pytest.mark.parametrize("estimator", [MLPClassifier, LinearSVM])
def test_too_many_classes_for_the_validation_split_names_validation_fraction(estimator):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((2000, 3)), np.arange(2000) % 300
    est = estimator(early_stopping=True, max_iter=2, random_state=0)
    with pytest.raises(ValueError) as info:
        est.fit(X, y)
    message = str(info.value)
    assert message.startswith("early_stopping=True holds out validation_fraction=0.1 of the "
                              "2000 samples, 200 rows, stratified by class")
    assert "validation_fraction between 0.15 and 0.85" in message
    assert "X_val=" in message and "early_stopping=False" in message
    assert not hasattr(est, "n_features_in_")
    for fraction in (0.15, 0.85):  # the advice holds at both ends
        est.set_params(validation_fraction=fraction).fit(X, y)
    # X_val replaces the split: no class constraint
    est.set_params(validation_fraction=0.1).fit(X[:1500], y[:1500], X_val=X[1500:],
                                                 y_val=y[1500:])
    # a class of one sample keeps scikit-learn's message, with the way out appended
    with pytest.raises(ValueError, match=r"only 1 member.*\(early_stopping=True .*X_val="):
        estimator(early_stopping=True).fit(X[:4], [0, 0, 0, 1])
