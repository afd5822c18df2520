"""
Linear SVMs: LinearSVM vs LinearSVC vs SGDClassifier
====================================================

Four fits of the same linear support vector machine, one binary SVM per class
(one vs rest) with the squared hinge loss and ``C=1``, whose objective is, per
class ``k`` with labels ``t_ik`` in {-1, +1},
``0.5 ||w_k||^2 + C sum_i max(0, 1 - t_ik (w_k . x_i + b_k))^2``:

- :class:`sknumpynet.LinearSVM` with its defaults: ``solver="auto"`` picks the
  full-batch solver for data up to 1,000,000 entries, and minibatch Adam,
  which stops near the optimum, for larger data (3,000 Fashion-MNIST images
  of 784 pixels are 2,352,000 entries);
- :class:`sknumpynet.LinearSVM` with ``solver="newton"``: the full-batch
  truncated Newton solver (the one "auto" picks for smaller data), which
  reaches the optimum;
- :class:`sklearn.svm.LinearSVC`: liblinear's coordinate descent, to its
  tolerance (it also penalises the intercept, ``0.5 b_k^2``);
- :class:`sklearn.linear_model.SGDClassifier` with ``loss="squared_hinge"`` and
  ``alpha = 1 / (C n)``: the same objective divided by ``C n``, by plain SGD
  until its loss stops falling. Its default step size diverges on the squared
  hinge here (an objective above 1e27 after its 1,000 epochs), so it runs with
  ``learning_rate="adaptive", eta0=0.001``.

The example prints, and draws, each fit's test and training accuracy, time and
objective (the sum above over the classes, intercept unpenalised: lower is a
better solution of the same problem). On Fashion-MNIST (from the folder named
by ``$SKNUMPYNET_DATA`` or the other places
:func:`~sknumpynet.datasets.fetch_fashion_mnist` searches; digits without the
files): 20,000 training images and every test image with
``SKNUMPYNET_EXAMPLES=full`` (LinearSVC's time grows quickly with the number
of samples); 3,000 training and 2,000 test images by default, as on this page.
"""

# %%
# Data and models
# ---------------
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC

from sknumpynet import LinearSVM

FULL = os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"
N_TRAIN, N_TEST = (20_000, None) if FULL else (3000, 2000)
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
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, stratify=y, random_state=0
        )
        name, scale = "digits", 16.0
    train = np.sort(rng.permutation(len(y_train))[:N_TRAIN])
    test = np.sort(rng.permutation(len(y_test))[:N_TEST])
    return (name, (X_train[train] / scale).astype(np.float32), y_train[train],
            (X_test[test] / scale).astype(np.float32), y_test[test])


name, X_train, y_train, X_test, y_test = load()
print(f"{name}: {len(y_train)} training and {len(y_test)} test images, C={C:g}")

models = {
    "sknumpynet LinearSVM": LinearSVM(C=C, random_state=0),
    "sknumpynet LinearSVM newton": LinearSVM(C=C, solver="newton", random_state=0),
    "scikit-learn LinearSVC": LinearSVC(C=C, random_state=0),
    # SGDClassifier's alpha multiplies the mean loss: alpha = 1 / (C n) is the
    # same regularisation as C for the summed loss of the others
    "scikit-learn SGDClassifier": SGDClassifier(
        loss="squared_hinge", alpha=1.0 / (C * len(y_train)), learning_rate="adaptive",
        eta0=0.001, random_state=0,
    ),
}

# %%
# Fit each, timed, and score its objective
# ----------------------------------------


def objective(model, X, y, C):
    """One-vs-rest squared-hinge objective of a fitted linear model (intercept free)."""
    W = model.coef_.astype(np.float64)
    b = model.intercept_.astype(np.float64)
    signs = np.where(y[:, None] == model.classes_[None, :], 1.0, -1.0)
    margins = np.maximum(0.0, 1.0 - signs * (X.astype(np.float64) @ W.T + b))
    return 0.5 * (W * W).sum() + C * (margins**2).sum()


rows = []
for label, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    test_acc, train_acc = model.score(X_test, y_test), model.score(X_train, y_train)
    value = objective(model, X_train, y_train, C)
    rows.append((label, test_acc, train_acc, seconds, value))

print(f"{'model':<28}  {'test acc':>8}  {'train acc':>9}  {'fit (s)':>8}  "
      f"{'objective':>9}")
print("-" * 70)
for label, test_acc, train_acc, seconds, value in rows:
    print(f"{label:<28}  {test_acc:>8.4f}  {train_acc:>9.4f}  {seconds:>8.2f}  "
          f"{value:>9.1f}")

# %%
# Accuracy, fit time and objective side by side
# ---------------------------------------------
# A fit that stops short of the optimum (a higher objective) fits the training
# images less closely; on these few images that can even raise its test
# accuracy, as a smaller ``C`` would.
labels = [r[0].replace(" ", "\n", 1).replace(" newton", "\nnewton") for r in rows]
colors = ["tab:blue", "tab:cyan", "tab:orange", "tab:green"]
fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), layout="constrained")
titles = ("Test accuracy", "Fit time (s)", "Objective")
for ax, column, title in zip(axes, (1, 3, 4), titles):
    values = [r[column] for r in rows]
    ax.bar(labels, values, color=colors)
    ax.set_title(title)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(axis="y", alpha=0.3)
axes[0].set_ylim(min(r[1] for r in rows) - 0.05, 1.0)
fig.suptitle(f"Linear SVMs on {name}, {len(y_train)} training images, C={C:g}")
plt.show()
