"""scikit-learn's estimator checks on settings that scikit-learn users write unchanged.

``MLPRegressor(solver="sgd")`` with the defaults is what a scikit-learn user gets
by swapping the import: scikit-learn's "sgd" is SGD with ``momentum=0.9`` and
Nesterov momentum, ours is still plain SGD (issue 13), which scores R^2 below
the check's 0.5.
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_regressors_train

from sknumpynet import MLPRegressor


@pytest.mark.xfail(
    reason="pending: solver='sgd' with scikit-learn's momentum=0.9 and nesterovs_momentum=True",
    strict=False,
)
def test_sgd_regressor_with_defaults_passes_check_regressors_train():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_regressors_train("MLPRegressor", MLPRegressor(solver="sgd", random_state=0))


def test_nesterov_regressor_with_defaults_passes_check_regressors_train():
    # what "sgd" must become: the same check passes with momentum and Nesterov
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_regressors_train("MLPRegressor", MLPRegressor(solver="nesterov", random_state=0))
