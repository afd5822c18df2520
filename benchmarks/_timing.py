"""The one timed fit of the linear-SVM benchmarks: seconds, and whether it converged."""

import time
import warnings

from sklearn.exceptions import ConvergenceWarning


def timed_fit(estimator, X, y):
    """Fit, and return the seconds and whether no ConvergenceWarning was raised."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        estimator.fit(X, y)
        seconds = time.perf_counter() - start
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    return seconds, converged
