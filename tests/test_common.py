"""scikit-learn's own estimator checks, over several settings of every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknumpynet import MLPClassifier, MLPRegressor

# Small networks and few epochs keep the ~70 checks per instance fast; the
# settings cover every layer type the estimators build, and every solver family.
INSTANCES = [
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100,
                  random_state=0),
    MLPClassifier(hidden_layer_sizes=(16, 8), activation=["tanh", "relu"], batch_norm=True,
                  learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05,
                  max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100,
                 random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), batch_norm=True, solver="rmsprop", max_iter=100,
                 random_state=0),
    MLPClassifier(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), solver="lbfgs", batch_norm=True, max_iter=100,
                 random_state=0),
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
    MLPClassifier(hidden_layer_sizes=(16,), dropout=0.1, solver="nadam",
                  learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), dropout=0.1, batch_norm=True,
                 learning_rate_init=0.01, max_iter=100, random_state=0),
]


@parametrize_with_checks(INSTANCES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


@parametrize_with_checks(DROPOUT_INSTANCES, expected_failed_checks=lambda est: _DROPOUT_SW)
def test_sklearn_compatible_estimator_with_dropout(estimator, check):
    check(estimator)
