"""Value types of the plugin: what a cell is (:class:`CellSpec`), what it returns
(:class:`CellResult`), the data it reads (:class:`MnistTensors`), and MNIST's sizes.

Every other module takes these from here, so they are defined once and no two modules import
each other for them. Importing this module imports no torch (the experiment module stays
torch-free); :meth:`MnistTensors.from_arrays` imports it when called.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from statmech_nn.errors import ConfigError

if TYPE_CHECKING:
    import torch

#: Training images, test images, side of an image in pixels, input units, classes.
N_TRAIN, N_TEST, SIDE = 60_000, 10_000, 28
N_IN, N_CLASSES = SIDE * SIDE, 10

OPTIMIZERS = ("adam", "sgd")
PROTOCOLS = ("per_network", "per_sample")


@dataclass(frozen=True)
class OptimizerConfig:
    """``adam``: ``torch.optim.Adam(lr, betas=(beta1, beta2), eps)``; ``sgd``:
    ``torch.optim.SGD(lr, momentum)`` (built by :func:`.train.build_optimizer`)."""

    name: str = "adam"
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    momentum: float = 0.9

    def __post_init__(self):
        if self.name not in OPTIMIZERS:
            raise ConfigError(f"training.optimizer = {self.name!r}: expected one of "
                              + ", ".join(map(repr, OPTIMIZERS)))


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation masks: ``protocol`` (:mod:`.evaluate`), ``n_masks`` realisations, inverted
    scaling ``1/(1 - p_eval)`` of kept units when ``rescale``."""

    protocol: str = "per_network"
    n_masks: int = 20
    rescale: bool = True

    def __post_init__(self):
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"evaluation.protocol = {self.protocol!r}: expected one of "
                              + ", ".join(map(repr, PROTOCOLS)))


@dataclass(frozen=True)
class CellSpec:
    """The networks of a cell and how they are trained and evaluated (built from the
    experiment's options by :meth:`.experiment.MnistDropoutExperiment.cell_spec`)."""

    p_train: tuple[float, ...]
    seeds: tuple[int, ...]
    sizes: tuple[int, ...]  # N
    width: int
    depth: int
    steps: int
    batch_size: int
    p_eval: tuple[float, ...]
    activation: str = "relu"
    init: str = "torch"
    balanced: bool = True
    optimizer: OptimizerConfig = OptimizerConfig()
    evaluation: EvalConfig = EvalConfig()

    def networks(self) -> list[tuple[int, int, float]]:
        """``(seed, N, p_train)`` of network ``e``, in ensemble order."""
        return [(s, n, p) for s, n in self.groups() for p in self.p_train]

    def groups(self) -> list[tuple[int, int]]:
        """The ``(seed, N)`` groups, seed-major; the networks of a group share minibatches."""
        return list(itertools.product(self.seeds, self.sizes))


@dataclass(frozen=True)
class CellResult:
    """Arrays over ``(seed, N, p_train[, p_eval, mask])``."""

    loss: np.ndarray  # (S, nN, P, n_p_eval, n_masks)
    accuracy: np.ndarray
    train_loss: np.ndarray  # (S, nN, P): final loss on the own training subset, dropout off


@dataclass(frozen=True)
class MnistTensors:
    """MNIST resident on one device: images flattened to ``(n, 784)`` uint8, labels int64."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    train_labels_np: np.ndarray

    @classmethod
    def from_arrays(cls, arrays, device: str) -> MnistTensors:
        """From :class:`.mnist.MnistArrays`, copied to ``device``."""
        import torch

        def flat(images: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(images.reshape(len(images), -1))).to(device)

        return cls(flat(arrays.train_images), torch.from_numpy(arrays.train_labels).to(device),
                   flat(arrays.test_images), torch.from_numpy(arrays.test_labels).to(device),
                   np.asarray(arrays.train_labels))
