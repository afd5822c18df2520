"""sknumpynet: scikit-learn compatible neural networks on a readable numpy engine.

The estimators (:class:`MLPClassifier`, :class:`MLPRegressor`, :class:`LinearSVM`)
behave like any scikit-learn estimator; the engine they train with lives in
:mod:`sknumpynet.nn` and can be used on its own.
"""

__version__ = "0.1.0"

from ._mlp import MLPClassifier, MLPRegressor  # noqa: E402
from ._svm import LinearSVM  # noqa: E402
from .io import load, save  # noqa: E402

__all__ = ["LinearSVM", "MLPClassifier", "MLPRegressor", "__version__", "load", "save"]
