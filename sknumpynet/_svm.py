"""Where :class:`~sknumpynet.LinearSVM` lived before the :mod:`sknumpynet._linear_svm` package.

Kept so that models pickled (joblib, skops) under the old path
``sknumpynet._svm.LinearSVM`` still load; new code imports from
:mod:`sknumpynet._linear_svm`.
"""

from ._linear_svm.base import AUTO_FULL_BATCH_MAX_SIZE
from ._linear_svm.calibration import CALIBRATION_FRACTION, _calibration_split, fit_temperature
from ._linear_svm.estimator import LinearSVM

_fit_temperature = fit_temperature

__all__ = [
    "AUTO_FULL_BATCH_MAX_SIZE",
    "CALIBRATION_FRACTION",
    "LinearSVM",
    "_calibration_split",
    "_fit_temperature",
]
