"""scikit-learn's estimator checks on settings that scikit-learn users write unchanged.

``MLPRegressor(solver="sgd")`` with the defaults is what a scikit-learn user gets
by swapping the import. With plain SGD (before issue 13) it scored R^2 0.474
with ``random_state=0``, below the check's 0.5; scikit-learn's "sgd" (momentum
0.9 with Nesterov's correction) scores about 0.81 on the check's data.
"""

import warnings

import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import check_regressors_train

from sknumpynet import MLPRegressor


@pytest.mark.parametrize("random_state", [0, 1, 2])
def test_sgd_regressor_with_defaults_passes_check_regressors_train(random_state):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check_regressors_train("MLPRegressor", MLPRegressor(solver="sgd",
                                                            random_state=random_state))
