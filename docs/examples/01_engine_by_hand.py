"""
A network built by hand: layers, gradient checks, SGD then Adam, t-SNE
=======================================================================

The lesson :mod:`sknumpynet.nn` was written for, with no estimator: only the
pieces an estimator is made of.

1. Build a network from layers: ``Linear -> ReLU -> Linear -> ReLU -> Linear``
   and a softmax cross-entropy loss.
2. Check the gradients against finite differences: every layer, the whole
   network and the loss, then one weight of the real network by hand.
3. Train it with the minibatch loop written out (shuffle, forward, loss,
   backward, step): first plain SGD, then Adam from the same starting
   weights, and draw both loss curves.
4. Draw a t-SNE map of what the network learned: the activations of its last
   hidden layer for test images it never saw.

Data: MNIST, else Fashion-MNIST, read from local IDX files when present (in
the folder named by ``$SKNUMPYNET_DATA`` or the other places
:func:`~sknumpynet.datasets.fetch_mnist` searches; nothing is downloaded),
else scikit-learn's 8x8 digits. Small settings by default (seconds);
``SKNUMPYNET_EXAMPLES=full`` trains on every image for 10 epochs per
optimizer.
"""

# %%
# Settings and data
# -----------------
# Pixels are scaled to [0, 1] and kept in float32, the engine's default
# (twice as fast as float64, as accurate for training).
import copy
import os
import time

import matplotlib.pyplot as plt
import numpy as np

from sknumpynet import nn

FULL = os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"
N_TRAIN = None if FULL else 6000  # None: every training image
N_TEST = None if FULL else 2000
EPOCHS = 10 if FULL else 3  # per optimizer
N_MAP = 2000 if FULL else 500  # test images in the t-SNE map
BATCH_SIZE = 64
rng = np.random.default_rng(0)  # every random draw below comes from it


def load_images():
    """(name, X_train, y_train, X_test, y_test, class names): IDX files, else digits."""
    from sknumpynet.datasets import fetch_fashion_mnist, fetch_mnist

    for name, fetch in (("MNIST", fetch_mnist), ("Fashion-MNIST", fetch_fashion_mnist)):
        try:
            train = fetch(subset="train", download_if_missing=False)
            test = fetch(subset="test", download_if_missing=False)
        except (OSError, ValueError):  # not found here: try the next one
            continue
        return (name, train.data[:N_TRAIN], train.target[:N_TRAIN], test.data[:N_TEST],
                test.target[:N_TEST], list(train.target_names), 255.0)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    return ("digits (8x8)", X_train, y_train, X_test, y_test,
            [str(c) for c in digits.target_names], 16.0)


name, X_train, y_train, X_test, y_test, class_names, max_value = load_images()
X_train = (X_train / max_value).astype(np.float32)
X_test = (X_test / max_value).astype(np.float32)
n_features, n_classes = X_train.shape[1], len(class_names)
print(f"{name}: {len(y_train)} training and {len(y_test)} test images, "
      f"{n_features} pixels, {n_classes} classes")

# %%
# 1. The network, by hand
# -----------------------
# Each layer is a :class:`~sknumpynet.nn.Module` with ``forward`` and
# ``backward``. He initialisation (the default) suits ReLU; the output layer
# gets Glorot's. :class:`~sknumpynet.nn.SoftmaxCrossEntropy` fuses the softmax
# with the negative log-likelihood: the pair has a simple, stable gradient,
# ``(softmax(scores) - one_hot(y)) / batch_size``.


def build_network(n_in, hidden, n_out, rng, dtype=np.float32):
    sizes = [n_in, *hidden]
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b, rng=rng, dtype=dtype), nn.ReLU()]
    layers.append(
        nn.Linear(sizes[-1], n_out, rng=rng, dtype=dtype, init="glorot_uniform")
    )
    return nn.Sequential(*layers)


net = build_network(n_features, (128, 64), n_classes, rng)
loss_fn = nn.SoftmaxCrossEntropy()
print(net)
print(f"{sum(p.value.size for p in net.parameters())} parameters")

# %%
# 2. Gradient checks
# ------------------
# :func:`~sknumpynet.nn.check_module_gradients` compares each gradient that
# ``backward`` writes with central differences ``(f(w + eps) - f(w - eps)) /
# (2 eps)`` in float64, for a random upstream gradient (an all-ones one would
# hide a transposed matrix). Finite differences cost two forward passes per
# number, and the first layer alone has ``n_features * 128`` weights, so
# every layer is checked in a twin network with the same layers and 12
# inputs: the code under test is the same, only the sizes differ. The loss
# is checked on its own, then one weight of the real network by hand.

twin = build_network(12, (16, 8), n_classes, np.random.default_rng(1), dtype=np.float64)
x_small = rng.standard_normal((5, 12))
activations = x_small
for i, layer in enumerate(twin):
    error = nn.check_module_gradients(layer, activations, rng=rng)  # raises if wrong
    print(f"layer {i} {type(layer).__name__:<6} max relative error {error:.1e}")
    activations = layer.forward(activations)
error = nn.check_module_gradients(twin, x_small, rng=rng)
print(f"whole network      max relative error {error:.1e}")
scores = rng.standard_normal((5, n_classes))
error = nn.check_loss_gradients(loss_fn, scores, rng.integers(0, n_classes, 5))
print(f"softmax cross-entropy max relative error {error:.1e}")


def check_one_weight_by_hand(net, loss_fn, xb, yb, i, j=5, eps=1e-6):
    """d loss / d W[i, j] of the first layer: from backward and a central difference."""
    weight = net[0].weight
    loss_fn(net.forward(xb), yb)
    net.backward(loss_fn.backward())  # writes every parameter's .grad
    analytic = float(weight.grad[i, j])
    old = weight.value[i, j]
    weight.value[i, j] = old + eps
    plus = loss_fn(net.forward(xb), yb)
    weight.value[i, j] = old - eps
    minus = loss_fn(net.forward(xb), yb)
    weight.value[i, j] = old  # put the weight back
    return analytic, (plus - minus) / (2 * eps)


# the real network's weights, copied into float64 layers so the difference is precise
net64 = build_network(n_features, (128, 64), n_classes, rng, dtype=np.float64)
for p64, p in zip(net64.parameters(), net.parameters()):
    p64.value[...] = p.value
xb, yb = X_train[:32].astype(np.float64), y_train[:32]
pixel = int(np.argmax(xb.std(axis=0)))  # a pixel that varies in the batch
analytic, numeric = check_one_weight_by_hand(net64, loss_fn, xb, yb, i=pixel)
print(f"dL/dW[{pixel}, 5]: backward {analytic:+.8f}, central difference {numeric:+.8f}")

# %%
# 3. Training: the minibatch loop, plain SGD then Adam
# ----------------------------------------------------
# The loop is the whole of training: a new row order every epoch, then for
# each batch the forward pass, the loss, the backward pass (every
# parameter's ``.grad``) and one optimizer step. The optimizer holds its own
# state (Adam's moments) outside the layers. Both runs start from the same
# weights: a copy of the network taken before training.


def accuracy(net, X, y):
    net.eval()  # Dropout and BatchNorm1d would switch behaviour here
    return float(np.mean(net.forward(X).argmax(axis=1) == y))


def train(net, optimizer, epochs, on_epoch=None):
    """Minibatch training; returns the loss of every batch."""
    losses = []
    n = len(y_train)
    for epoch in range(1, epochs + 1):
        net.train()
        order = rng.permutation(n)
        for start in range(0, n, BATCH_SIZE):
            rows = order[start:start + BATCH_SIZE]
            losses.append(loss_fn(net.forward(X_train[rows]), y_train[rows]))
            net.backward(loss_fn.backward())
            optimizer.step()
        test_accuracy = accuracy(net, X_test, y_test)
        print(f"  epoch {epoch}: mean loss {np.mean(losses[-(n // BATCH_SIZE):]):.4f}, "
              f"test accuracy {test_accuracy:.4f}")
        if on_epoch is not None:
            on_epoch(losses)
    return losses


fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
live = "agg" not in plt.get_backend().lower()  # a window: redraw after every epoch


def redraw(label):
    line = ax.plot([], [], label=label)[0]

    def update(losses):
        line.set_data(np.arange(1, len(losses) + 1), losses)
        ax.relim()
        ax.autoscale_view()
        if live:
            plt.pause(0.01)

    return update


start_weights = copy.deepcopy(net)
curves = {}
for label, make_optimizer in [
    ("plain SGD, lr=0.1", lambda params: nn.SGD(params, lr=0.1)),
    ("Adam, lr=0.001", lambda params: nn.Adam(params, lr=1e-3)),
]:
    model = copy.deepcopy(start_weights)
    print(f"{label}:")
    begin = time.perf_counter()
    curves[label] = train(model, make_optimizer(model.parameters()), EPOCHS,
                          on_epoch=redraw(label))
    print(f"  {EPOCHS} epochs in {time.perf_counter() - begin:.1f} s")
    net = model  # the Adam-trained network is the one mapped below
batches_per_epoch = int(np.ceil(len(y_train) / BATCH_SIZE))
for epoch in range(1, EPOCHS):
    ax.axvline(epoch * batches_per_epoch, color="grey", linewidth=0.5, linestyle=":")
ax.set(xlabel=f"batch ({batches_per_epoch} per epoch, dotted lines)",
       ylabel="cross-entropy of the batch", yscale="log",
       title=f"Training loss on {name}, same start, two optimizers")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

last_epoch = {label: float(np.mean(c[-(len(y_train) // BATCH_SIZE):]))
              for label, c in curves.items()}
ahead, behind = sorted(last_epoch, key=last_epoch.get)
print(f"lower training loss in epoch {EPOCHS}: {ahead.split(',')[0]} "
      f"({last_epoch[ahead]:.4f} against {last_epoch[behind]:.4f})")

# %%
# Which optimizer gets the training loss lower depends on the data, and the
# line above says which did in this run. On the first 6,000 Fashion-MNIST
# images, Adam's loss is below plain SGD's in every epoch (about 0.46 against
# 0.56 in the third) and its test accuracy is higher. On scikit-learn's 8x8
# digits (the fallback when no image files are found), it is the other way
# round for the loss: plain SGD with lr=0.1 is below Adam with lr=0.001 in
# every epoch (about 0.62 against 0.83 in the third), yet Adam's network
# scores higher on the test images (about 0.86 against 0.64). Neither rate
# was tuned for this comparison: the figure compares two reasonable
# defaults, not the two optimizers at their best.
#
# 4. What the hidden layer learned: a t-SNE map
# ---------------------------------------------
# The network's first four modules (up to the second ReLU) turn an image into
# 64 numbers. t-SNE lays test images out in 2-D so that images with similar
# activations land close together; colour says the true class. Images of a
# class that the network tells apart form islands.
from sklearn.manifold import TSNE  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

sample = rng.choice(len(y_test), size=min(N_MAP, len(y_test)), replace=False)
net.eval()
hidden = net[:4].forward(X_test[sample])
print(f"hidden activations: {hidden.shape[0]} images x {hidden.shape[1]} features")
# one OpenMP thread: as fast for a few thousand points, and far faster on a busy machine
with threadpool_limits(limits=1, user_api="openmp"):
    tsne = TSNE(n_components=2, init="pca", perplexity=30.0, random_state=0)
    xy = tsne.fit_transform(hidden)

fig, ax = plt.subplots(figsize=(7, 6), layout="constrained")
colours = plt.get_cmap("tab10")
for c, label in enumerate(class_names):
    mine = y_test[sample] == c
    ax.scatter(xy[mine, 0], xy[mine, 1], s=8, color=colours(c % 10), label=label)
ax.set(xticks=[], yticks=[],
       title=f"t-SNE of the last hidden layer (64 ReLU units), {len(sample)} test images")
ax.legend(markerscale=2, fontsize=8, loc="center left", bbox_to_anchor=(1, 0.5))
plt.show()
print(f"test accuracy of the Adam-trained network: {accuracy(net, X_test, y_test):.4f}")
