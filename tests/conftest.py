"""Small data sets many test files need, built once per session.

Each fixture returns read-only arrays, so that a test which writes into its
data fails loudly instead of changing the data the next test sees: take a
copy (``X.copy()``, ``X * 1.0``) to modify it. Everything random comes from a
seeded ``numpy.random.Generator``, so the data are the same on every run.
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits, load_iris


def _read_only(*arrays):
    for array in arrays:
        array.flags.writeable = False
    return arrays


@pytest.fixture(scope="session")
def iris():
    """Iris as ``load_iris`` gives it: X of shape (150, 4), y in {0, 1, 2}."""
    return _read_only(*load_iris(return_X_y=True))


@pytest.fixture(scope="session")
def iris_standardized(iris):
    """Iris with each feature at mean 0 and standard deviation 1."""
    X, y = iris
    return _read_only((X - X.mean(axis=0)) / X.std(axis=0), y)


@pytest.fixture(scope="session")
def digits():
    """The 1797 digits with pixels scaled to [0, 1]: X of shape (1797, 64), y in 0..9."""
    X, y = load_digits(return_X_y=True)
    return _read_only(X / 16.0, y)


@pytest.fixture(scope="session")
def binary_problem():
    """100 rows of 5 standard-normal features, y = 1 where a noisy linear score is positive."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 5))
    score = X @ np.array([1.0, -2.0, 0.5, 0.0, 1.5]) + 0.3 * rng.standard_normal(100)
    return _read_only(X, (score > 0).astype(np.int64))


@pytest.fixture(scope="session")
def regression_problem():
    """100 rows of 5 standard-normal features and a linear target with noise of std 0.1."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.standard_normal(100)
    return _read_only(X, y)
