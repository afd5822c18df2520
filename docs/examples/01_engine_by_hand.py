"""Build and train a network by hand from the engine's parts.

This is the educational path through :mod:`sknumpynet.nn`: no estimator, just
the pieces an estimator is made of.

1. Build a network from layers: ``Linear -> ReLU -> Linear -> ReLU -> Linear``.
2. Check its gradients against finite differences, first one weight by hand,
   then every parameter with :func:`~sknumpynet.nn.check_module_gradients`
   and the loss with :func:`~sknumpynet.nn.check_loss_gradients`.
3. Train it with the minibatch loop written out: shuffle, forward, loss,
   backward, optimizer step.
4. Evaluate it in evaluation mode on held-out data.

It uses scikit-learn's digits (no download) and runs in a few seconds::

    python docs/examples/01_engine_by_hand.py --epochs 20
"""

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknumpynet import nn

# float64 keeps the hand-made finite difference below precise; float32 (the
# engine's default) trains just as well and twice as fast.
DTYPE = np.float64


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size (default: 64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--max-samples", type=int, default=None,
                        help="use at most this many of the 1797 digits (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def build_network(n_features, n_classes, rng):
    """Two hidden ReLU layers; He initialisation suits ReLU, Glorot the output."""
    return nn.Sequential(
        nn.Linear(n_features, 128, rng=rng, dtype=DTYPE),
        nn.ReLU(),
        nn.Linear(128, 64, rng=rng, dtype=DTYPE),
        nn.ReLU(),
        nn.Linear(64, n_classes, rng=rng, dtype=DTYPE, init="glorot_uniform"),
    )


def check_one_weight_by_hand(net, loss_fn, xb, yb, i=3, j=5, eps=1e-6):
    """d loss / d W[i, j] from backward, and from a central difference."""
    first = net[0].weight
    loss_fn(net.forward(xb), yb)
    net.backward(loss_fn.backward())  # writes every parameter's .grad
    analytic = first.grad[i, j]
    old = first.value[i, j]
    first.value[i, j] = old + eps
    plus = loss_fn(net.forward(xb), yb)
    first.value[i, j] = old - eps
    minus = loss_fn(net.forward(xb), yb)
    first.value[i, j] = old  # put the weight back
    numeric = (plus - minus) / (2 * eps)
    return analytic, numeric


def accuracy(net, X, y):
    net.eval()  # Dropout and BatchNorm1d would switch behaviour here
    predicted = net.forward(X).argmax(axis=1)
    return float(np.mean(predicted == y))


def main(argv=None):
    args = parse_args(argv)
    rng = np.random.default_rng(args.seed)

    X, y = load_digits(return_X_y=True)
    if args.max_samples:
        X, y = X[: args.max_samples], y[: args.max_samples]
    X = (X / 16.0).astype(DTYPE)  # pixels 0-16 -> [0, 1]
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=args.seed
    )
    n_classes = 10

    # 1. the network, the loss and the optimizer
    net = build_network(X.shape[1], n_classes, rng)
    loss_fn = nn.SoftmaxCrossEntropy()  # softmax + negative log-likelihood, fused
    print(net)

    # 2. gradient checks, before training
    analytic, numeric = check_one_weight_by_hand(net, loss_fn, X_train[:16], y_train[:16])
    print(f"dL/dW[3, 5]: backward {analytic:+.8f}, central difference {numeric:+.8f}")
    module_error = nn.check_module_gradients(net, X_train[:8], rng=rng)
    scores = net.forward(X_train[:8])
    loss_error = nn.check_loss_gradients(loss_fn, scores, y_train[:8])
    print(f"gradient check: network max relative error {module_error:.2e}, "
          f"loss {loss_error:.2e}")

    # the optimizer packs the parameters into one buffer and updates them in place
    optimizer = nn.Adam(net.parameters(), lr=args.lr)

    # 3. the minibatch loop
    n = len(y_train)
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        net.train()
        order = rng.permutation(n)  # a new row order every epoch
        total = 0.0
        for first in range(0, n, args.batch_size):
            rows = order[first:first + args.batch_size]
            scores = net.forward(X_train[rows])
            total += loss_fn(scores, y_train[rows]) * len(rows)  # the batch's mean loss
            net.backward(loss_fn.backward())  # gradients of every parameter
            optimizer.step()  # Adam update of every parameter
        if epoch == 1 or epoch % 5 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:3d}  train loss {total / n:.4f}  "
                  f"test accuracy {accuracy(net, X_test, y_test):.4f}")
    seconds = time.perf_counter() - start

    # 4. evaluation
    print(f"trained {args.epochs} epochs in {seconds:.2f} s; "
          f"test accuracy {accuracy(net, X_test, y_test):.4f}")


if __name__ == "__main__":
    main()
