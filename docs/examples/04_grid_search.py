"""
Hyperparameter search: GridSearchCV over an MLPClassifier in a Pipeline
=======================================================================

sknumpynet's estimators are scikit-learn estimators, so model selection works
as usual: the Pipeline scales the pixels inside each cross-validation fold,
GridSearchCV tries every combination of the grid (parameters of a step are
named ``<step>__<parameter>``), refits the best one on the whole training set,
and its ``cv_results_`` become a table and a figure. Runs on scikit-learn's
digits; each fit trains until its training loss stops falling (``tol``,
``n_iter_no_change``), so that the settings are compared trained to
convergence, not cut off after a fixed number of epochs: 3 folds with
``SKNUMPYNET_EXAMPLES=full``, 2 by default.
"""

# %%
# The search
# ----------
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sknumpynet import MLPClassifier

FULL = os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"
EPOCHS = 300  # an upper bound: each fit stops when its training loss stops falling
CV = 3 if FULL else 2
PARAM_GRID = {
    "mlp__hidden_layer_sizes": [(64,), (128, 64)],
    "mlp__alpha": [1e-4, 1e-2],
    "mlp__dropout": [0.0, 0.2],
}

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)
pipeline = Pipeline([
    ("scale", StandardScaler()),
    ("mlp", MLPClassifier(max_iter=EPOCHS, random_state=0)),
])
search = GridSearchCV(pipeline, PARAM_GRID, cv=CV)
start = time.perf_counter()
search.fit(X_train, y_train)
n_settings = len(search.cv_results_["params"])
print(f"{n_settings * CV} fits ({CV}-fold cross-validation of {n_settings} settings) in "
      f"{time.perf_counter() - start:.1f} s")

# %%
# The results as a table, best first
# ----------------------------------


def results_table(cv_results, params):
    """The search's results as a fixed-width text table, best first."""
    columns = [name.split("__", 1)[1] for name in params]
    header = (f"{'rank':>4}  {'mean accuracy':>13}  {'std':>6}  {'fit (s)':>7}  "
              + "  ".join(f"{c:<18}" for c in columns))
    lines = [header, "-" * len(header.rstrip())]
    for i in np.argsort(cv_results["rank_test_score"], kind="stable"):
        values = "  ".join(f"{cv_results['param_' + p][i]!s:<18}" for p in params)
        lines.append(
            f"{cv_results['rank_test_score'][i]:>4}  "
            f"{cv_results['mean_test_score'][i]:>13.4f}  "
            f"{cv_results['std_test_score'][i]:>6.4f}  "
            f"{cv_results['mean_fit_time'][i]:>7.2f}  "
            f"{values}".rstrip()
        )
    return "\n".join(lines)


print(results_table(search.cv_results_, list(PARAM_GRID)))
print(f"\nbest: {search.best_params_}")
print(f"cross-validated accuracy {search.best_score_:.4f}; "
      f"test accuracy of the refitted best model {search.score(X_test, y_test):.4f}")

# %%
# The results as a figure
# -----------------------
# One bar per setting, with the spread over the folds.
results = search.cv_results_
labels = [f"{p['mlp__hidden_layer_sizes']}\nalpha={p['mlp__alpha']:g}\n"
          f"dropout={p['mlp__dropout']:g}" for p in results["params"]]
order = np.argsort(results["mean_test_score"])
fig, ax = plt.subplots(figsize=(9, 4.5), layout="constrained")
ax.barh(np.arange(len(order)), results["mean_test_score"][order],
        xerr=results["std_test_score"][order], color="tab:blue", alpha=0.8)
ax.set_yticks(np.arange(len(order)), [labels[i] for i in order], fontsize=7)
low = results["mean_test_score"].min() - 2 * results["std_test_score"].max()
ax.set(xlim=(max(0.0, low), 1.0), xlabel=f"mean accuracy over {CV} folds",
       title="GridSearchCV on digits: every setting, best at the top")
ax.grid(axis="x", alpha=0.3)
plt.show()
