"""The user guide's figures, drawn at build time by matplotlib's plot directive.

Each function draws one figure with small, fast settings (the whole docs
build stays near a minute). A page includes one with::

    .. plot:: figures/guide.py estimators_learning_curves

The performance figures read the benchmark reports committed in
docs/benchmarks/ (the plot directive runs from the repository root).
"""

import json
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

BENCHMARKS = Path("docs") / "benchmarks"


def _digits(scale=True):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32) if scale else X
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def estimators_learning_curves():
    """loss_curve_ and validation_scores_ of the three estimators."""
    from sklearn.datasets import load_diabetes
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler

    from sknumpynet import LinearSVM, MLPClassifier, MLPRegressor

    X_train, _, y_train, _ = _digits()
    Xr, yr = load_diabetes(return_X_y=True)
    Xr = StandardScaler().fit_transform(Xr)
    yr = (yr - yr.mean()) / yr.std()
    fits = [
        ("MLPClassifier on digits", "cross-entropy", "accuracy",
         MLPClassifier(hidden_layer_sizes=(64,), max_iter=40, early_stopping=True,
                       n_iter_no_change=40, random_state=0), X_train, y_train),
        ("MLPRegressor on diabetes", "squared error", "R²",
         MLPRegressor(hidden_layer_sizes=(32,), batch_size=32, max_iter=40,
                      early_stopping=True, n_iter_no_change=40, random_state=0), Xr, yr),
        ("LinearSVM on digits", "hinge loss", "accuracy",
         LinearSVM(max_iter=40, early_stopping=True, n_iter_no_change=40, random_state=0),
         X_train, y_train),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
    for ax, (title, loss_name, score_name, est, X, y) in zip(axes, fits):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X, y)
        epochs = np.arange(1, len(est.loss_curve_) + 1)
        ax.plot(epochs, est.loss_curve_, color="tab:blue")
        ax.set(title=title, xlabel="epoch")
        ax.set_ylabel(f"training {loss_name}", color="tab:blue")
        twin = ax.twinx()
        twin.plot(epochs, est.validation_scores_, color="tab:green")
        twin.set_ylabel(f"validation {score_name}", color="tab:green")
        ax.grid(alpha=0.3)
    fig.suptitle("loss_curve_ (blue) and validation_scores_ (green), early_stopping=True")


def embeddings_by_layer():
    """PCA of the raw pixels, the first hidden layer and the last, for held-out digits."""
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning

    from sknumpynet import MLPClassifier

    X_train, X_test, y_train, y_test = _digits()
    clf = MLPClassifier(hidden_layer_sizes=(128, 32), max_iter=40, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    views = [("raw pixels (64 dims)", X_test)]
    for layer, name in ((0, "first"), (-1, "last")):
        clf.set_params(embedding_layer=layer)
        Z = clf.transform(X_test)
        views.append((f"{name} hidden layer ({Z.shape[1]} dims)", Z))
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), layout="constrained")
    for ax, (title, Z) in zip(axes, views):
        xy = PCA(n_components=2, random_state=0).fit_transform(Z)
        points = ax.scatter(xy[:, 0], xy[:, 1], c=y_test, cmap="tab10", vmin=-0.5, vmax=9.5,
                            s=8, linewidths=0)
        ax.set(title=title, xticks=[], yticks=[])
    fig.colorbar(points, ax=axes, ticks=range(10), label="digit", shrink=0.8)
    fig.suptitle(f"PCA of {len(y_test)} held-out digits, as the input and two hidden layers "
                 "of an MLP see them")


def engine_activations():
    """Each activation's forward and the derivative its backward returns."""
    from sknumpynet import nn

    x = np.linspace(-4, 4, 401).reshape(-1, 1)
    fig, axes = plt.subplots(1, 4, figsize=(12, 2.9), sharex=True, layout="constrained")
    for ax, module in zip(axes, [nn.ReLU(), nn.LeakyReLU(), nn.Sigmoid(), nn.Tanh()]):
        y = module.forward(x.copy())
        dy = module.backward(np.ones_like(x))  # d forward / dx, one point per row
        ax.plot(x, y, label="forward")
        ax.plot(x, dy, "--", label="backward (slope)")
        ax.set(title=type(module).__name__, xlabel="x")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle("Activations: forward(x) and the derivative backward returns")


def engine_optimizers():
    """The same hand-built network trained by each optimizer: loss per epoch."""
    from sknumpynet import nn

    X_train, _, y_train, _ = _digits()
    loss_fn = nn.SoftmaxCrossEntropy()
    fig, ax = plt.subplots(figsize=(7, 3.6), layout="constrained")
    for label, make in [("SGD lr=0.1", lambda p: nn.SGD(p, lr=0.1)),
                        ("SGD momentum=0.9 lr=0.01", lambda p: nn.SGD(p, lr=0.01, momentum=0.9)),
                        ("RMSProp lr=0.001", lambda p: nn.RMSProp(p, lr=1e-3)),
                        ("Adam lr=0.001", lambda p: nn.Adam(p, lr=1e-3))]:
        rng = np.random.default_rng(0)  # same weights and batches for every optimizer
        net = nn.Sequential(nn.Linear(64, 64, rng=rng), nn.ReLU(), nn.Linear(64, 10, rng=rng))
        optimizer = make(net.parameters())
        curve = []
        for _ in range(15):
            order, total = rng.permutation(len(y_train)), 0.0
            for start in range(0, len(order), 64):
                rows = order[start:start + 64]
                total += loss_fn(net.forward(X_train[rows]), y_train[rows]) * len(rows)
                net.backward(loss_fn.backward())
                optimizer.step()
            curve.append(total / len(order))
        ax.plot(np.arange(1, 16), curve, marker="o", markersize=3, label=label)
    ax.set(xlabel="epoch", ylabel="mean training loss", yscale="log",
           title="Linear(64, 64) - ReLU - Linear(64, 10) on digits, same start")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def performance_mlp():
    """Seconds per epoch of each system, and where sknumpynet's epoch goes."""
    report = json.loads((BENCHMARKS / "bench_mlp.json").read_text())
    names = {"sknumpynet": "sknumpynet", "sklearn": "scikit-learn", "torch": "PyTorch"}
    systems = [names[r["system"]] for r in report["results"]] + ["GEMM floor"]
    seconds = [r["median_epoch_seconds"] for r in report["results"]]
    seconds.append(report["gemm_floor_seconds"])
    fig, (ax, ax_parts) = plt.subplots(1, 2, figsize=(12, 3.8), layout="constrained",
                                       gridspec_kw={"width_ratios": [1, 1.3]})
    bars = ax.bar(systems, seconds, color=["C0", "C1", "C2", "C7"])
    ax.bar_label(bars, fmt="%.2f s")
    ax.set(ylabel="seconds per epoch (median)", ylim=(0, max(seconds) * 1.2),
           title=f"Fashion-MNIST, {report['n_samples']:,} rows, 784-256-128-10, Adam")
    parts = report["epoch_breakdown_seconds"]
    bars = ax_parts.barh(list(parts)[::-1], list(parts.values())[::-1], color="C0")
    ax_parts.bar_label(bars, fmt="%.3f s", fontsize=8)
    ax_parts.set(xlabel="seconds", xlim=(0, max(parts.values()) * 1.3),
                 title="Where sknumpynet's epoch goes")
    ax_parts.tick_params(axis="y", labelsize=8)
    for a in (ax, ax_parts):
        a.grid(axis="x" if a is ax_parts else "y", alpha=0.3)


def performance_linear_svm():
    """Fit time and test accuracy of the three linear SVMs."""
    report = json.loads((BENCHMARKS / "bench_linear_svm.json").read_text())
    rows = report["results"]
    labels = [r["model"].replace("(", "\n(", 1) for r in rows]
    fig, (ax_time, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.6), layout="constrained")
    bars = ax_time.bar(labels, [r["fit_seconds"] for r in rows], color=["C0", "C1", "C2"])
    ax_time.bar_label(bars, fmt="%.1f s")
    ax_time.set(ylabel="fit time (s)", title="Fit on 60,000 Fashion-MNIST images")
    bars = ax_acc.bar(labels, [r["test_accuracy"] for r in rows], color=["C0", "C1", "C2"])
    ax_acc.bar_label(bars, fmt="%.4f")
    ax_acc.set(ylabel="test accuracy", ylim=(0.8, 0.86), title="Accuracy on the 10,000 tests")
    for ax in (ax_time, ax_acc):
        ax.tick_params(axis="x", labelsize=8)
        ax.grid(axis="y", alpha=0.3)
