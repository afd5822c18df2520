"""LinearSVM's loss_curve_: the objective divided by C times the sum of the sample weights.

The same mean objective whichever solver ran (truncated Newton, L-BFGS-B) and
whatever the scale of the weights, so curves compare across fits.
"""

import numpy as np
import pytest

from sknumpynet import LinearSVM

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.mark.parametrize(
    "loss, penalty, rel",
    [
        ("squared_hinge", "l2", 1e-6),  # truncated Newton
        ("squared_hinge", "l1", 1e-6),  # L-BFGS-B with bounds
        # L-BFGS-B on smoothed hinges: its last iterate's objective is the smoothed
        # one, within 2% of the exact one (the weights' sum is 2.25 n)
        ("hinge", "l2", 0.02),
    ],
)
def test_linear_svm_loss_curve_is_divided_by_the_sum_of_the_sample_weights(
    loss, penalty, rel, digits
):
    """Planted bug: loss_curve_ scaled by n instead of the sum of sample weights."""
    X_DIGITS, Y_DIGITS = digits
    X, y = X_DIGITS[:300], Y_DIGITS[:300]
    weights = np.random.default_rng(0).uniform(0.5, 4.0, len(y))  # sum far from n
    est = LinearSVM(C=0.3, loss=loss, penalty=penalty, solver="lbfgs", max_iter=200, random_state=0)
    est.fit(X, y, sample_weight=weights)
    assert est.loss_curve_[-1] == pytest.approx(est.objective_ / (0.3 * weights.sum()), rel=rel)
    if (loss, penalty) != ("squared_hinge", "l2"):
        return
    # minibatch: weights of 3 with C are the unweighted problem with 3 C, and
    # divided by C times the weights' sum, the same mean objective
    fits = [
        LinearSVM(C=C, solver="adam", max_iter=3, random_state=0).fit(X, y, sample_weight=w)
        for C, w in ((0.9, None), (0.3, np.full(len(y), 3.0)))
    ]
    np.testing.assert_allclose(fits[1].loss_curve_, fits[0].loss_curve_, rtol=1e-9)
    np.testing.assert_allclose(fits[1].coef_, fits[0].coef_, rtol=1e-9, atol=1e-12)
