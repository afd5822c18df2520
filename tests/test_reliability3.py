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

import numpy as np
import pytest

from sknumpynet import MLPClassifier

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
