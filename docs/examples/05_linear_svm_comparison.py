"""
Linear SVMs: LinearSVM vs LinearSVC vs SGDClassifier
====================================================

Three ways to fit a linear support vector machine on the same data:

- :class:`sknumpynet.LinearSVM`: one ``Linear`` layer and the multiclass hinge
  loss, trained by minibatch Adam for a fixed number of epochs;
- :class:`sklearn.svm.LinearSVC`: the same objective solved to a tolerance by
  liblinear's coordinate descent;
- :class:`sklearn.linear_model.SGDClassifier` with ``loss="hinge"``: plain SGD
  on one binary hinge loss per class (one vs rest).

The example prints a table of test accuracy and fit time and draws it. On
Fashion-MNIST (from the folder named by ``$SKNUMPYNET_DATA`` or the other
places :func:`~sknumpynet.datasets.fetch_fashion_mnist` searches; digits
without the files): 20,000 training images, every test image and 20 epochs
with ``SKNUMPYNET_EXAMPLES=full`` (LinearSVC's time grows quickly with the
number of samples); 3,000 images and 10 epochs by default.
"""

# %%
# Data and models
# ---------------
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC

from sknumpynet import LinearSVM

FULL = os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"
N_TRAIN, N_TEST = (20_000, None) if FULL else (3000, 2000)
EPOCHS = 20 if FULL else 10
C = 1.0
rng = np.random.default_rng(0)


def load():
    """Fashion-MNIST from local files, else digits; pixels scaled to [0, 1]."""
    from sknumpynet.datasets import fetch_fashion_mnist

    try:
        X_train, y_train = fetch_fashion_mnist(subset="train", download_if_missing=False,
                                               return_X_y=True)
        X_test, y_test = fetch_fashion_mnist(subset="test", download_if_missing=False,
                                             return_X_y=True)
        name, scale = "Fashion-MNIST", 255.0
    except (OSError, ValueError):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        print("Fashion-MNIST files not found: using scikit-learn's digits")
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                            random_state=0)
        name, scale = "digits", 16.0
    train = np.sort(rng.permutation(len(y_train))[:N_TRAIN])
    test = np.sort(rng.permutation(len(y_test))[:N_TEST])
    return (name, (X_train[train] / scale).astype(np.float32), y_train[train],
            (X_test[test] / scale).astype(np.float32), y_test[test])


name, X_train, y_train, X_test, y_test = load()
print(f"{name}: {len(y_train)} training and {len(y_test)} test images, C={C:g}")

models = {
    "sknumpynet LinearSVM": LinearSVM(C=C, learning_rate_init=0.01, max_iter=EPOCHS,
                                      random_state=0),
    "scikit-learn LinearSVC": LinearSVC(C=C, random_state=0),
    # SGDClassifier's alpha multiplies the mean loss: alpha = 1 / (C n) is the
    # same regularisation as C for the summed loss of the other two
    "scikit-learn SGDClassifier": SGDClassifier(
        loss="hinge", alpha=1.0 / (C * len(y_train)), max_iter=EPOCHS, tol=None,
        random_state=0,
    ),
}

# %%
# Fit each, timed
# ---------------
rows = []
for label, model in models.items():
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budgets
        model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    rows.append((label, model.score(X_test, y_test), model.score(X_train, y_train), seconds))

print(f"{'model':<28}  {'test acc':>8}  {'train acc':>9}  {'fit (s)':>8}")
print("-" * 59)
for label, test_acc, train_acc, seconds in rows:
    print(f"{label:<28}  {test_acc:>8.4f}  {train_acc:>9.4f}  {seconds:>8.2f}")

# %%
# Accuracy and fit time side by side
# ----------------------------------
labels = [r[0].replace(" ", "\n", 1) for r in rows]
fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(10, 3.8), layout="constrained")
ax_acc.bar(labels, [r[1] for r in rows], color=["tab:blue", "tab:orange", "tab:green"])
ax_acc.set(ylabel="test accuracy", ylim=(min(r[1] for r in rows) - 0.05, 1.0),
           title="Test accuracy")
ax_time.bar(labels, [r[3] for r in rows], color=["tab:blue", "tab:orange", "tab:green"])
ax_time.set(ylabel="seconds", title="Fit time")
for ax in (ax_acc, ax_time):
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="y", alpha=0.3)
fig.suptitle(f"Linear SVMs on {name}, {len(y_train)} training images, C={C:g}")
plt.show()
