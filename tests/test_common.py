"""scikit-learn's own estimator checks, over several settings of every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sknumpynet import MLPClassifier, MLPRegressor

# Small networks and few epochs keep the ~60 checks per instance fast; the
# settings cover every layer type the estimators can build.
INSTANCES = [
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPClassifier(hidden_layer_sizes=(16, 8), activation=["tanh", "relu"], batch_norm=True,
                  learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPClassifier(hidden_layer_sizes=(16,), dropout=0.1, solver="nadam",
                  learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=100, random_state=0),
    MLPRegressor(hidden_layer_sizes=(8,), batch_norm=True, dropout=0.1, solver="rmsprop",
                 max_iter=100, random_state=0),
]


@parametrize_with_checks(INSTANCES)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
