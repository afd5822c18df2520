"""A deterministic synthetic bag-of-words set, shaped like text classification.

Each of ``n_classes`` topics draws its words from a Zipf-like background shared
by all topics, mixed with a topic-specific vocabulary; every document has about
``density * n_features`` distinct words, its counts log-scaled and the rows
L2-normalised as ``TfidfVectorizer`` would. CSR float32.
"""

import numpy as np
import scipy.sparse as sp


def make_bag_of_words(n_samples=40_000, n_features=25_000, n_classes=8, density=0.003,
                      topic_share=0.05, random_state=0):
    """Return ``X`` (CSR float32, rows L2-normalised) and ``y`` (int64 labels)."""
    rng = np.random.default_rng(random_state)
    background = 1.0 / np.arange(1, n_features + 1) ** 1.1
    background = background[rng.permutation(n_features)]
    background /= background.sum()
    topics = []
    for _ in range(n_classes):
        words = rng.choice(n_features, size=n_features // 50, replace=False)
        weights = np.zeros(n_features)
        weights[words] = rng.gamma(0.5, size=words.size)
        topics.append((1 - topic_share) * background + topic_share * weights / weights.sum())
    y = rng.integers(n_classes, size=n_samples)
    # repeated draws of a word merge: 1.4x the draws give about density * n_features words
    n_words = max(1, int(1.4 * density * n_features))
    rows, cols = [], []
    for c in range(n_classes):
        members = np.flatnonzero(y == c)
        draws = rng.choice(n_features, size=(members.size, n_words), p=topics[c])
        rows.append(np.repeat(members, n_words))
        cols.append(draws.ravel())
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    X = sp.csr_matrix((np.ones(rows.size, dtype=np.float32), (rows, cols)),
                      shape=(n_samples, n_features))
    X.sum_duplicates()
    X.data = np.log1p(X.data).astype(np.float32)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags((1.0 / np.maximum(norms, 1e-12)).astype(np.float32)) @ X
    return X.tocsr().astype(np.float32), y
