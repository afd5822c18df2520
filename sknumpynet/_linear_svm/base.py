"""What LinearSVM and LinearSVR share: the solver choice, the network, the objective.

Both are one ``Linear`` layer whose weights start at zero, trained either by
the full-batch solvers on :class:`~.objective.LinearObjective` (Newton or
L-BFGS) or by the engine's minibatch optimizers on the same objective in
mean form. The solver is chosen from the parameters and the data's shape
before anything is built (:meth:`LinearSVMBase._chosen_solver`), so a
full-batch fit builds no optimizer.
"""

import numpy as np
import scipy.sparse as sp

from .. import nn
from .._compat import StrOptions
from .objective import LinearObjective
from .solver import FullBatchSolver

__all__ = ["AUTO_FULL_BATCH_MAX_SIZE", "FULL_BATCH_SOLVERS", "SOLVERS", "LinearSVMBase"]

#: ``solver="auto"`` trains data of at most this many entries (n_samples *
#: n_features, dense or sparse) with a full-batch solver; larger data with
#: Adam, except sparse data with a loss Newton solves, where Newton is faster.
AUTO_FULL_BATCH_MAX_SIZE = 1_000_000

#: The full-batch solvers, named by their algorithm.
FULL_BATCH_SOLVERS = ("newton", "lbfgs")

#: Every solver name ``solver`` takes ("auto" chooses).
SOLVERS = FULL_BATCH_SOLVERS + ("sgd", "rmsprop", "adam", "nadam")


def _zeros(shape, rng, dtype=np.float32):
    """Zero initial weights: the objective is convex, so there is no symmetry
    to break, and a zero start makes the fit independent of the seed (only the
    row order is random)."""
    return np.zeros(shape, dtype=dtype)


class LinearSVMBase:
    """Mixin of the linear SVM estimators (before ``BaseNetwork`` in the bases).

    Subclasses implement ``_loss_terms(problem, n_columns)`` (the loss of the
    objective, a :class:`~.losses.MulticlassHinge` or
    :class:`~.losses.EpsilonInsensitive`) and ``_newton_applies()``.
    """

    _solver_constraint = [StrOptions(set(SOLVERS) | {"auto"})]
    # the full-batch solvers multiply X themselves (Gram matrices, Hessian
    # products): they keep BLAS's own threads
    _splits_products = False

    def _newton_applies(self):
        raise NotImplementedError

    def _loss_terms(self, problem, n_columns):
        raise NotImplementedError

    def _chosen_solver(self, X, partial):
        """The solver of this fit, by name (deterministic in the data's shape).

        Raises ValueError for a full-batch solver with ``partial_fit`` and for
        ``solver="newton"`` where the loss is not twice differentiable.
        """
        if self.solver in FULL_BATCH_SOLVERS:
            if partial:
                raise ValueError(
                    f"partial_fit is not available with solver={self.solver!r} (not stochastic)."
                )
            if self.solver == "newton" and not self._newton_applies():
                raise ValueError(
                    f"solver='newton' needs a smooth loss and the l2 penalty (a squared "
                    f"loss; for LinearSVM not multi_class='crammer_singer'), got "
                    f"{self._loss_description()}; use solver='lbfgs' or 'auto'."
                )
            return self.solver
        if self.solver != "auto":
            return self.solver
        full_batch = "newton" if self._newton_applies() else "lbfgs"
        if partial or self.early_stopping:
            return "adam"
        if getattr(self, "penalty", "l2") == "l1":
            return full_batch
        # by shape, not sparsity: the same small data dense or sparse gets the same model
        if X.shape[0] * X.shape[1] <= AUTO_FULL_BATCH_MAX_SIZE:
            return full_batch
        # large sparse data: Newton's products touch only the stored entries
        return "newton" if sp.issparse(X) and self._newton_applies() else "adam"

    def _loss_description(self):
        return f"loss={self.loss!r}"

    def _validate_fit_data(self, X, y, sample_weight, partial, classes, validation=None):
        data = super()._validate_fit_data(X, y, sample_weight, partial, classes, validation)
        data.full_batch = self._full_batch(data.X, partial)
        return data

    def _full_batch(self, X, partial):
        """Whether this fit runs a full-batch solver (deterministic in the data's shape)."""
        return self._chosen_solver(X, partial) in FULL_BATCH_SOLVERS

    def _make_solver(self, model, data, context, problem):
        """The full-batch solver where the choice says so, else the minibatch loop."""
        solver = self._chosen_solver(data.X, data.partial)
        if solver in FULL_BATCH_SOLVERS:
            hooks = self._hooks(model, data, context, False, full_batch=True)
            n_columns = model.network[0].out_features
            objective = LinearObjective(
                problem.X,
                self._loss_terms(problem, n_columns),
                problem.sample_weight,
                C=self.C,
                fit_intercept=self.fit_intercept,
                penalty=getattr(self, "penalty", "l2"),
            )
            method = "auto" if self.solver == "auto" else solver  # "auto" may polish
            return FullBatchSolver(
                objective, method, tol=self.tol, max_iter=self.max_iter, hooks=hooks
            )
        if getattr(self, "penalty", "l2") == "l1":
            raise ValueError(
                f"penalty='l1' needs the full-batch solver (solver='lbfgs' or 'auto'), "
                f"got solver={self.solver!r}"
                + (
                    " with partial_fit."
                    if data.partial
                    else " with early_stopping=True."
                    if self.early_stopping
                    else "."
                )
            )
        return super()._make_solver(model, data, context, problem)

    def _make_optimizer(self, params):
        if self.solver == "auto":  # the minibatch fits of "auto" use Adam
            return nn.Adam(
                params,
                lr=self.learning_rate_init,
                beta_1=self.beta_1,
                beta_2=self.beta_2,
                epsilon=self._adam_epsilon(),
            )
        return super()._make_optimizer(params)

    def _adam_epsilon(self):
        return self.epsilon

    def _commit(self, model, data, interrupted):
        super()._commit(model, data, interrupted)
        if model.objective is None:
            self.__dict__.pop("objective_", None)  # a minibatch fit reports no optimum
        else:
            self.objective_ = model.objective

    def _build_network(self, n_features, n_outputs, dtype, rng):
        linear = nn.Linear(
            n_features, n_outputs, bias=self.fit_intercept, rng=rng, dtype=dtype, init=_zeros
        )
        linear.needs_input_grad = False  # nobody reads the gradient of the data
        return nn.Sequential(linear)

    def _penalty(self, total_weight):
        # 0.5 ||W||^2 + C sum(s_i l_i), divided by C sum(s_i): the L2 term of
        # every batch is ||W||^2 / (2 C sum(s_i)), whatever the batch's size
        return 1.0 / (self.C * total_weight), False
