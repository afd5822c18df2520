"""Linear SVMs on Fashion-MNIST: LinearSVM vs LinearSVC vs SGDClassifier.

Three ways to fit a linear support vector machine on the same data:

- :class:`sknumpynet.LinearSVM`: one ``Linear`` layer and the multiclass hinge
  loss, trained by minibatch Adam for a fixed number of epochs;
- :class:`sklearn.svm.LinearSVC`: the same objective solved to a tolerance by
  liblinear's coordinate descent;
- :class:`sklearn.linear_model.SGDClassifier` with ``loss="hinge"``: plain SGD
  on one binary hinge loss per class (one vs rest).

The script prints a table of test accuracy and fit time. By default it uses
20,000 training images (``--max-samples``; LinearSVC's time grows quickly
with the number of samples) and all 10,000 test images::

    python docs/examples/05_linear_svm_comparison.py --data DIR
"""

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDClassifier
from sklearn.svm import LinearSVC

from sknumpynet.datasets import fetch_fashion_mnist

try:
    from sknumpynet import LinearSVM
except ImportError:  # a version of sknumpynet without it
    LinearSVM = None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None, metavar="DIR",
                        help="folder with the Fashion-MNIST files (default: fetcher's search)")
    parser.add_argument("--max-samples", type=int, default=20_000,
                        help="training images used (default: 20000; 0 for all 60000)")
    parser.add_argument("--max-test-samples", type=int, default=None,
                        help="test images used (default: all 10000)")
    parser.add_argument("--epochs", type=int, default=20,
                        help="epochs of LinearSVM and SGDClassifier (default: 20)")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation (default: 1)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def load(data, subset, n, seed):
    X, y = fetch_fashion_mnist(data, subset=subset, return_X_y=True)
    if n and n < len(y):
        keep = np.sort(np.random.default_rng(seed).choice(len(y), size=n, replace=False))
        X, y = X[keep], y[keep]
    return (X / 255.0).astype(np.float32), y


def models(args, n_train):
    found = {}
    if LinearSVM is not None:
        found["sknumpynet LinearSVM"] = LinearSVM(
            C=args.C, learning_rate_init=0.01, max_iter=args.epochs, random_state=args.seed
        )
    found["scikit-learn LinearSVC"] = LinearSVC(C=args.C, random_state=args.seed)
    # SGDClassifier's alpha multiplies the mean loss: alpha = 1 / (C n) is the
    # same regularisation as C for the summed loss of the other two
    found["scikit-learn SGDClassifier"] = SGDClassifier(
        loss="hinge", alpha=1.0 / (args.C * n_train), max_iter=args.epochs, tol=None,
        random_state=args.seed,
    )
    return found


def main(argv=None):
    args = parse_args(argv)
    X_train, y_train = load(args.data, "train", args.max_samples, args.seed)
    X_test, y_test = load(args.data, "test", args.max_test_samples, args.seed)
    print(f"Fashion-MNIST: {len(y_train)} training and {len(y_test)} test images, C={args.C:g}")
    if LinearSVM is None:
        print("(sknumpynet.LinearSVM is not in this version of sknumpynet: skipped)")

    rows = []
    for name, model in models(args, len(y_train)).items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # fixed epoch budgets
            model.fit(X_train, y_train)
        seconds = time.perf_counter() - start
        rows.append((name, model.score(X_test, y_test), model.score(X_train, y_train), seconds))
        print(f"  fitted {name} in {seconds:.1f} s")

    print()
    print(f"{'model':<28}  {'test acc':>8}  {'train acc':>9}  {'fit (s)':>8}")
    print("-" * 59)
    for name, test_acc, train_acc, seconds in rows:
        print(f"{name:<28}  {test_acc:>8.4f}  {train_acc:>9.4f}  {seconds:>8.2f}")
    return rows


if __name__ == "__main__":
    main()
