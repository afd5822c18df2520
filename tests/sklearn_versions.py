"""Skip marks for tests of features that only newer scikit-learn releases have.

The package supports scikit-learn 1.6 to 1.9; ``.ci/run`` runs the tests that
touch scikit-learn's API with the oldest, where these marks skip, by name of
the version needed.
"""

import pytest

from sknumpynet._compat import (
    CALLBACKS_MIN_VERSION,
    HAS_CALLBACKS,
    HAS_PIPELINE_TRANSFORM_INPUT,
)

#: scikit-learn's callbacks (``sklearn.callback``, ``set_callbacks``).
needs_callbacks = pytest.mark.skipif(
    not HAS_CALLBACKS,
    reason=f"sklearn.callback needs scikit-learn >= {CALLBACKS_MIN_VERSION}",
)

#: ``Pipeline(transform_input=...)``.
needs_transform_input = pytest.mark.skipif(
    not HAS_PIPELINE_TRANSFORM_INPUT,
    reason="Pipeline(transform_input=...) needs scikit-learn >= 1.7",
)
