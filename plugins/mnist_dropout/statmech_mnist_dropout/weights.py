"""Trained networks kept in the sweep's artifact store (:mod:`statmech_nn.artifacts`).

Evaluation is cheap and training is not, so every trained network is stored (its weights and
biases, float32, ~0.5 MB at the default 784-128-128-10) under a key that hashes everything its
training depends on: the experiment's name, version and device, the ``model``, ``training``
(but ``max_networks``, which only groups networks into cells) and ``data`` options, and the
network's width, depth, seed, N and p_train. A part of a cell whose networks are all stored
is evaluated without training -- extending a grid along ``p_eval``, or changing evaluation
options, retrains nothing. Weights are bit-identical to retraining in the same batching, and
equal to float32 rounding otherwise (docs/mnist_dropout.md, "Seeds and common random numbers").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from statmech_nn.artifacts import ArtifactStore
from statmech_nn.digest import sha256_of

from .ensemble import Ensemble, stack_ensemble
from .spec import CellSpec


@dataclass(frozen=True)
class TrainedNetworks:
    """Stored trained networks of one experiment configuration (``identity``)."""

    store: ArtifactStore
    identity: dict[str, Any]

    def key(self, spec: CellSpec, seed: int, n: int, p_train: float) -> str:
        network = {"width": spec.width, "depth": spec.depth, "seed": seed, "N": n, "p_train": p_train}
        return sha256_of({"trained_network": self.identity, "network": network})

    def load(self, spec: CellSpec, device: str) -> Ensemble | None:
        """The ensemble of ``spec`` from stored networks, or ``None`` unless all are stored."""
        networks = []
        for seed, n, p in spec.networks():
            arrays = self.store.load(self.key(spec, seed, n, p))
            if arrays is None:
                return None
            layers = len(arrays) // 2
            networks.append([(torch.from_numpy(arrays[f"w{k}"]), torch.from_numpy(arrays[f"b{k}"]))
                             for k in range(layers)])
        return stack_ensemble(networks, len(spec.groups()), spec.width, spec.activation, device)

    def save(self, spec: CellSpec, ens: Ensemble) -> None:
        """Store every network of the trained ensemble ``ens`` of ``spec``."""
        for e, (seed, n, p) in enumerate(spec.networks()):
            arrays: dict[str, np.ndarray] = {}
            for k, (w, b) in enumerate(ens.network(e)):
                arrays[f"w{k}"], arrays[f"b{k}"] = w.cpu().numpy(), b.cpu().numpy()
            self.store.save(self.key(spec, seed, n, p), arrays)
