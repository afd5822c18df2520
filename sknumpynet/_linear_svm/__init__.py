"""The linear SVMs: :class:`LinearSVM` (classification) and :class:`LinearSVR` (regression).

Modules, each with one job, importing in this order:

- :mod:`.losses`: the losses of the scores (values, gradients, Hessians);
- :mod:`.objective`: the packing of ``(W, b)`` and
  :class:`~.objective.LinearObjective` (value, gradient, Hessian products);
- :mod:`.newton` and :mod:`.lbfgs`: one solver stage each, named results in
  :mod:`.results`;
- :mod:`.full_batch`: the smoothing stages, the choice of method and the
  fallback from Newton to L-BFGS;
- :mod:`.solver`: the full-batch driver behind the estimators' solver interface;
- :mod:`.calibration`: LinearSVM's probabilities;
- :mod:`.base`: the solver choice and the network both estimators share;
- :mod:`.estimator` (LinearSVM) and :mod:`.regressor` (LinearSVR).
"""

from .estimator import LinearSVM
from .regressor import LinearSVR

__all__ = ["LinearSVM", "LinearSVR"]
