"""LinearSVM's probabilities: calibrated on held-out rows, recalibrated by partial_fit.

The calibration rows follow the rows' values, not how X is stored; the
probabilities stay finite at the dtype's limits; each partial_fit recalibrates;
predict_proba without probability=True says what to set.
"""

import numpy as np
import pytest

from sknumpynet import LinearSVM

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


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
