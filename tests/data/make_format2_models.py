"""Run with the format-2 release on sys.path: pickles three fitted models, their outputs,
and the outputs after one more partial_fit, for tests/test_format_upgrade.py."""
import pickle, sys, warnings
import numpy as np
sys.path.insert(0, sys.argv[1])
import sknumpynet
from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor
from sklearn.datasets import load_iris
warnings.simplefilter("ignore")
X, y = load_iris(return_X_y=True)
X = (X - X.mean(0)) / X.std(0)
models = {
    "mlp_classifier": MLPClassifier((8,), max_iter=5, random_state=0, alpha=0.01).fit(X, y),
    "mlp_regressor": MLPRegressor((8, 4), batch_norm=True, max_iter=5, random_state=0).fit(X, y.astype(float)),
    "linear_svm": LinearSVM(max_iter=5, random_state=0).fit(X, y),
}
out = {}
for name, m in models.items():
    blob = pickle.dumps(m)
    out[name + "_pickle"] = np.frombuffer(blob, dtype=np.uint8)
    f = m.predict_proba if hasattr(m, "predict_proba") and name != "linear_svm" else (m.decision_function if name == "linear_svm" else m.predict)
    out[name + "_before"] = f(X)
    m.partial_fit(X, y.astype(float) if "regressor" in name else y)
    out[name + "_after"] = f(X)
    out[name + "_params_after"] = np.concatenate([p.value.ravel() for p in m.network_.parameters()])
np.savez_compressed(sys.argv[2], version=sknumpynet.__version__, **out)
