"""sknumpynet: scikit-learn compatible neural networks on a readable numpy engine.

The estimators (:class:`MLPClassifier`, :class:`MLPRegressor`, :class:`LinearSVM`,
:class:`LinearSVR`)
behave like any scikit-learn estimator; the engine they train with lives in
:mod:`sknumpynet.nn` and can be used on its own.
"""

import importlib

__version__ = "0.1.0"

# Public names and the module defining each. They are imported on first use
# (PEP 562), so that ``import sknumpynet`` (and hence ``sknumpynet --help``)
# does not load scikit-learn and scipy until an estimator is asked for.
_LAZY = {
    "MLPClassifier": "._mlp",
    "MLPRegressor": "._mlp",
    "LinearSVM": "._linear_svm",
    "LinearSVR": "._linear_svm",
    "TabularMLPClassifier": "._tabular",
    "TabularMLPRegressor": "._tabular",
    "load": ".io",
    "save": ".io",
}

__all__ = [
    "LinearSVM",
    "LinearSVR",
    "MLPClassifier",
    "MLPRegressor",
    "TabularMLPClassifier",
    "TabularMLPRegressor",
    "__version__",
    "load",
    "save",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
