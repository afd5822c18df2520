"""scikit-learn's own estimator checks, over several settings of every estimator.

The first instance of each class (``FULL``) runs every check. The other
settings run only the checks whose outcome depends on what a setting changes:
the solver, the layers (batch norm, dropout, depth, activations) and the
training loop they drive (``FIT_SENSITIVE``). The remaining checks test
parameters, tags, ``repr``, cloning and input validation, all of which happen
before the solver or the network is chosen, in code every setting shares:
running them once per class guards them as well as running them eight times.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sknumpynet import MLPClassifier, MLPRegressor

# Checks that fit and then compare or score what the fitted network computes,
# so a solver or a layer type can break them on its own: training quality,
# sample weights acting as repetitions (each solver sums its gradients its own
# way), refits and row orders giving the same model, dtypes kept through the
# layers, pickling and read-only memmaps of each solver's state, n_iter_, the
# transform through the hidden layers, sparse input to the first layer, fits on
# one sample or one feature (batch norm refuses one sample), partial_fit (not
# offered by L-BFGS) and no parameter or input array changed by a fit.
FIT_SENSITIVE = frozenset(
    {
        "check_classifiers_train",
        "check_regressors_train",
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
        "check_sample_weights_not_overwritten",
        "check_class_weight_classifiers",
        "check_classifiers_one_label_sample_weights",
        "check_fit_idempotent",
        "check_methods_subset_invariance",
        "check_methods_sample_order_invariance",
        "check_pipeline_consistency",
        "check_classifier_data_not_an_array",
        "check_regressor_data_not_an_array",
        "check_regressors_int",
        "check_regressor_multioutput",
        "check_supervised_y_2d",
        "check_classifiers_classes",
        "check_classifiers_multilabel_representation_invariance",
        "check_classifiers_multilabel_output_format_predict",
        "check_classifiers_multilabel_output_format_predict_proba",
        "check_classifiers_multilabel_output_format_decision_function",
        "check_decision_proba_consistency",
        "check_estimators_dtypes",
        "check_f_contiguous_array_estimator",
        "check_estimator_sparse_array",
        "check_estimator_sparse_matrix",
        "check_estimators_pickle",
        "check_readonly_memmap_input",
        "check_non_transformer_estimators_n_iter",
        "check_transformer_n_iter",
        "check_transformer_general",
        "check_transformer_preserve_dtypes",
        "check_transformer_data_not_an_array",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
        "check_estimators_partial_fit_n_features",
        "check_fit_check_is_fitted",
        "check_dict_unchanged",
        "check_dont_overwrite_parameters",
        "check_estimators_overwrite_params",
    }
)


def check_name(check):
    """The name of a check, through the ``functools.partial`` that binds its arguments."""
    while hasattr(check, "func"):
        check = check.func
    return check.__name__


def checks(estimators, names=None, **kwargs):
    """``parametrize_with_checks``'s (argnames, params, ids) for ``estimators``,
    keeping only the checks named in ``names`` (all if None)."""
    mark = parametrize_with_checks(estimators, **kwargs)
    argnames, params = mark.args
    params = list(params)  # a generator on scikit-learn 1.6
    if names is not None:
        params = [p for p in params if check_name(getattr(p, "values", p)[1]) in names]
    return argnames, params, mark.kwargs["ids"]


# Small networks and few epochs keep the ~70 checks per instance fast; the
# settings cover every layer type the estimators build, and every solver family.
FULL = [
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, random_state=0),
]
INSTANCES = [
    MLPClassifier(
        hidden_layer_sizes=(16, 8),
        activation=["tanh", "relu"],
        batch_norm=True,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ),
    MLPClassifier(
        hidden_layer_sizes=(16,),
        solver="sgd",
        learning_rate_init=0.05,
        max_iter=100,
        random_state=0,
    ),
    MLPRegressor(
        hidden_layer_sizes=(8,), batch_norm=True, solver="rmsprop", max_iter=100, random_state=0
    ),
    MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=100, random_state=0),
    MLPRegressor(
        hidden_layer_sizes=(8,), solver="lbfgs", batch_norm=True, max_iter=100, random_state=0
    ),
    MLPRegressor(hidden_layer_sizes=(16,), solver="sgd", random_state=0),
]

# Dropout draws a fresh random mask for every row, so a row of weight 2 and the
# same row repeated twice see different masks: sample_weight matches repetition
# only in expectation, never to 1e-7 (scikit-learn marks the same check as an
# expected failure for its own stochastic estimators, e.g. SGDClassifier). Every
# other check must pass.
_DROPOUT_SW = {
    name: "dropout masks are random per row: weights equal repetition only in expectation"
    for name in (
        "check_sample_weight_equivalence_on_dense_data",
        "check_sample_weight_equivalence_on_sparse_data",
    )
}
DROPOUT_INSTANCES = [
    MLPClassifier(
        hidden_layer_sizes=(16,),
        dropout=0.1,
        solver="nadam",
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ),
    MLPRegressor(
        hidden_layer_sizes=(16,),
        dropout=0.1,
        batch_norm=True,
        learning_rate_init=0.01,
        max_iter=100,
        random_state=0,
    ),
]


_FULL_ARGS, _FULL_PARAMS, _IDS = checks(FULL)
_, _OTHER_PARAMS, _ = checks(INSTANCES, FIT_SENSITIVE)
_, _DROPOUT_PARAMS, _ = checks(
    DROPOUT_INSTANCES, FIT_SENSITIVE, expected_failed_checks=lambda est: _DROPOUT_SW
)


@pytest.mark.parametrize(_FULL_ARGS, _FULL_PARAMS + _OTHER_PARAMS, ids=_IDS)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@pytest.mark.parametrize(_FULL_ARGS, _DROPOUT_PARAMS, ids=_IDS)
def test_sklearn_compatible_estimator_with_dropout(estimator, check):
    check(estimator)


def test_fit_sensitive_names_are_checks_scikit_learn_runs():
    """A check renamed in scikit-learn would silently leave the other settings:
    every name kept must still name a check run on the full instances."""
    run = {check_name(getattr(p, "values", p)[1]) for p in _FULL_PARAMS}
    assert FIT_SENSITIVE <= run, sorted(FIT_SENSITIVE - run)
