"""
Learned embeddings: t-SNE maps, and digit parity from pixels vs embeddings
==========================================================================

:meth:`MLPClassifier.transform <sknumpynet.MLPClassifier.transform>` returns
the activations of a hidden layer: a learned representation of each image.
This example trains an MLP to recognise scikit-learn's digits, then, on
images the network never saw:

1. draws a t-SNE map of the raw pixels beside a t-SNE map of the embeddings,
   coloured by digit;
2. asks a new question, "is the digit odd or even?" (``y % 2``), and answers
   it with a LogisticRegression fitted on the raw pixels and another fitted on
   the embeddings, printing both cross-validated accuracies.

Parity is not linear in the pixels (a 3 and an 8 look alike but differ in
parity) while the embeddings have already sorted the images by digit, so a
linear model on them does much better: 0.910 from the pixels and 0.972
from the embeddings with ``SKNUMPYNET_EXAMPLES=full`` (1000 held-out images,
about 20 seconds on 2 cores); 500 held-out images by default, as on this page.
Either way the network trains until its training loss stops falling (the
output below says after how many epochs).
"""

# %%
# Train an MLP on images the maps will not show
# ---------------------------------------------
import os
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sknumpynet import MLPClassifier

FULL = os.environ.get("SKNUMPYNET_EXAMPLES", "") == "full"
N_IMAGES = 1000 if FULL else 500  # held out: mapped and classified by parity
EPOCHS = 300  # an upper bound: the fit stops when the training loss stops falling

X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X_train, X_held, y_train, y_held = train_test_split(
    X, y, test_size=N_IMAGES, stratify=y, random_state=0
)
# dropout spreads what the network knows over many units: richer embeddings
clf = MLPClassifier(hidden_layer_sizes=(256, 64), dropout=0.2, max_iter=EPOCHS,
                    random_state=0)
start = time.perf_counter()
clf.fit(X_train, y_train)
print(f"MLP trained on {len(y_train)} images in {time.perf_counter() - start:.1f} s "
      f"({clf.n_iter_} epochs); digit accuracy on the held-out images: "
      f"{clf.score(X_held, y_held):.4f}")

embeddings = clf.transform(X_held)  # last hidden layer, shape (N_IMAGES, 64)
print(f"raw pixels: {X_held.shape[1]} features; "
      f"embeddings: {embeddings.shape[1]} features")

# %%
# t-SNE maps: pixels beside embeddings
# ------------------------------------


def tsne(X):
    perplexity = min(30.0, (len(X) - 1) / 3.5)
    # one OpenMP thread is as fast for a thousand points, and much faster on a
    # busy machine, where spinning OpenMP threads wait for each other
    with threadpool_limits(limits=1, user_api="openmp"):
        return TSNE(perplexity=perplexity, init="pca", random_state=0).fit_transform(X)


maps = [(f"raw pixels ({X_held.shape[1]} dims)", tsne(X_held)),
        (f"MLP embeddings ({embeddings.shape[1]} dims)", tsne(embeddings))]
fig, axes = plt.subplots(1, 2, figsize=(11.6, 5), layout="constrained")
for ax, (title, xy) in zip(axes, maps):
    points = ax.scatter(xy[:, 0], xy[:, 1], c=y_held, cmap="tab10", vmin=-0.5, vmax=9.5,
                        s=10, alpha=0.8, linewidths=0)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
fig.colorbar(points, ax=axes, ticks=range(10), label="digit", shrink=0.8)
fig.suptitle(f"t-SNE of {len(y_held)} held-out images")
plt.show()

# %%
# A new task for the embeddings: odd or even?
# -------------------------------------------
parity = y_held % 2
logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
from_pixels = cross_val_score(logistic, X_held, parity, cv=5).mean()
from_embeddings = cross_val_score(logistic, embeddings, parity, cv=5).mean()
print("parity (y % 2) by LogisticRegression, 5-fold cross-validated accuracy:")
print(f"  from raw pixels:  {from_pixels:.4f}")
print(f"  from embeddings:  {from_embeddings:.4f}")
