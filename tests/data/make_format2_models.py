"""Write format2_models.npz: run with a format-2 release's source folder as argument.

    python tests/data/make_format2_models.py /path/to/sknumpynet-0.1.0 out.npz

Pickles three fitted models, their outputs, and their outputs and parameters
after one more partial_fit, for tests/test_format_upgrade.py.
"""

import pickle
import sys
import warnings

import numpy as np

sys.path.insert(0, sys.argv[1])

from sklearn.datasets import load_iris  # noqa: E402

import sknumpynet  # noqa: E402
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor  # noqa: E402


def output(name, model, X):
    if name == "linear_svm":
        return model.decision_function(X)
    return model.predict_proba(X) if name == "mlp_classifier" else model.predict(X)


def main():
    warnings.simplefilter("ignore")
    X, y = load_iris(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    models = {
        "mlp_classifier": MLPClassifier((8,), max_iter=5, random_state=0, alpha=0.01).fit(X, y),
        "mlp_regressor": MLPRegressor((8, 4), batch_norm=True, max_iter=5, random_state=0)
        .fit(X, y.astype(float)),
        "linear_svm": LinearSVM(max_iter=5, random_state=0).fit(X, y),
    }
    out = {}
    for name, model in models.items():
        out[name + "_pickle"] = np.frombuffer(pickle.dumps(model), dtype=np.uint8)
        out[name + "_before"] = output(name, model, X)
        model.partial_fit(X, y.astype(float) if name == "mlp_regressor" else y)
        out[name + "_after"] = output(name, model, X)
        out[name + "_params_after"] = np.concatenate(
            [p.value.ravel() for p in model.network_.parameters()]
        )
    np.savez_compressed(sys.argv[2], version=sknumpynet.__version__, **out)


if __name__ == "__main__":
    main()
