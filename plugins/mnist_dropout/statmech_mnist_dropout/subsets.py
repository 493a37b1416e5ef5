"""Nested, optionally class-balanced training subsets.

For one seed, :func:`nested_order` returns a permutation of the training set; the subset of
size ``N`` is its first ``N`` entries (:func:`subset`), so subsets of a seed are nested:
``subset(order, N1) ⊂ subset(order, N2)`` for ``N1 < N2``.

Class balance (``balanced=True``): the order is a sequence of *rounds*; round ``r`` holds the
``r``-th image (in a random within-class order) of every class that still has one, the
classes of a round in a fresh random order. Hence every prefix has class counts that differ
by at most one for as long as every class still has images (N <= 10 * smallest class size,
54,210 for MNIST); beyond that the larger classes fill up the rest.
"""

from __future__ import annotations

import numpy as np

from statmech_nn.errors import ConfigError

from .rng import numpy_rng


def nested_order(labels: np.ndarray, seed: int, *, balanced: bool) -> np.ndarray:
    """Permutation (int64) of ``range(len(labels))`` whose prefixes are the nested subsets."""
    labels = np.asarray(labels)
    rng = numpy_rng("subset", seed)
    if not balanced:
        return rng.permutation(len(labels)).astype(np.int64)
    n_classes = int(labels.max()) + 1
    rank = np.empty(len(labels), dtype=np.int64)  # position of an image within its class
    for c in range(n_classes):
        members = rng.permutation(np.flatnonzero(labels == c))
        rank[members] = np.arange(len(members))
    rounds = int(rank.max()) + 1
    class_at = rng.permuted(np.tile(np.arange(n_classes), (rounds, 1)), axis=1)
    slot_of_class = np.argsort(class_at, axis=1)  # slot of class c within round r
    key = rank * n_classes + slot_of_class[rank, labels]
    return np.argsort(key, kind="stable").astype(np.int64)


def subset(order: np.ndarray, n: int) -> np.ndarray:
    """The first ``n`` indices of ``order`` (the nested subset of size ``n``)."""
    if not 1 <= n <= len(order):
        raise ConfigError(f"N = {n}: expected an integer in [1, {len(order)}]")
    return order[:n]


def batch_schedule(indices: np.ndarray, steps: int, batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Minibatch indices ``(steps, batch_size)``: consecutive random permutations of ``indices``.

    The permutations (epochs) are concatenated and cut into batches, so every image is seen
    once per epoch and ``N < batch_size`` works too (a batch then spans several epochs).
    """
    n = len(indices)
    epochs = -(-steps * batch_size // n)
    stream = np.concatenate([indices[rng.permutation(n)] for _ in range(epochs)])
    return stream[: steps * batch_size].reshape(steps, batch_size)
