"""Synthetic datasets with known answers, for users and plugin authors to test analyses against
(also importable from :mod:`statmech_nn.testing`).

:func:`synthetic_dataset` builds an MNIST-like sweep that satisfies the dataset contract
(``docs/data_model.md``): dims ``p_train, p_eval, N, seed``; variables ``loss``, ``loss_std``,
``accuracy``, ``accuracy_std`` and ``train_loss`` with CF attributes (cross-entropies
dimensionless, ``units = "1"``, "in nats" in their long_name, as the MNIST sweep writes them); ``n_masks`` as a global
attribute. Its test loss is an exact power law in ``N`` whose exponent is known everywhere
(:class:`SyntheticTruth`):

* learning region (``p_train < amentia_above``)::

      alpha(p_train, p_eval) = slope * (p_eval - p_c(p_train)),   p_c(p_train) = c0 + c1 * p_train
      loss(N) = loss_ref * (N / N_ref) ** alpha
      accuracy = chance + (1 - chance) * exp(-loss)

  so ``alpha < 0`` (eumentia) below the boundary ``p_c`` and ``alpha > 0`` (dementia) above it.
* amentia region (``p_train >= amentia_above``): ``alpha = 0``, ``loss = ln(n_classes)``,
  ``accuracy = 1 / n_classes`` -- the network learns nothing.

Noise: each seed's loss is ``loss * (1 + rel_noise * e)`` with ``e ~ N(0, 1)`` independent per
point, and ``loss_std = rel_noise * sqrt(n_masks) * loss`` so that ``loss_std / sqrt(n_masks)``
(the standard error of a mean over masks) equals the true per-seed noise. Accuracy gets additive
noise ``acc_noise * e`` (clipped to [0, 1]) with the matching ``accuracy_std``. ``train_loss``
(dims ``p_train, N, seed``) is a positive placeholder, ``loss_ref * (N / N_ref) ** -0.3``, present
so that the contract is complete; it models nothing.

Numbers depend only on the arguments (an explicit ``numpy.random.Generator`` seeded by ``seed``).
Only numpy and xarray are used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import xarray as xr

from . import __version__
from .schema import provenance_attrs, set_coord_attrs

DEFAULT_P_TRAIN = (0.0, 0.3, 0.6, 0.95)
DEFAULT_P_EVAL = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DEFAULT_N = (128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 60000)


@dataclass(frozen=True)
class SyntheticTruth:
    """The exactly known physics of :func:`synthetic_dataset` (see the module docstring)."""

    slope: float = 1.0
    c0: float = 0.5
    c1: float = 0.3
    amentia_above: float = 0.9
    loss_ref: float = 1.0
    N_ref: float = 1000.0
    n_classes: int = 10

    def boundary(self, p_train):
        """p_eval where alpha = 0 at ``p_train`` (NaN in the amentia region)."""
        p_train = np.asarray(p_train, dtype=float)
        return np.where(p_train < self.amentia_above, self.c0 + self.c1 * p_train, np.nan)

    def amentia(self, p_train):
        """True where the network cannot learn."""
        return np.asarray(p_train, dtype=float) >= self.amentia_above

    def alpha(self, p_train, p_eval):
        """The exponent of ``loss ~ N**alpha`` (broadcast over both arguments)."""
        p_train, p_eval = np.broadcast_arrays(np.asarray(p_train, float), np.asarray(p_eval, float))
        learning = self.slope * (p_eval - (self.c0 + self.c1 * p_train))
        return np.where(self.amentia(p_train), 0.0, learning)

    def loss(self, p_train, p_eval, N):
        """Noise-free test loss (nats), broadcast over the three arguments."""
        p_train, p_eval, N = np.broadcast_arrays(
            np.asarray(p_train, float), np.asarray(p_eval, float), np.asarray(N, float))
        power = self.loss_ref * (N / self.N_ref) ** self.alpha(p_train, p_eval)
        return np.where(self.amentia(p_train), math.log(self.n_classes), power)

    def accuracy(self, p_train, p_eval, N):
        """Noise-free test accuracy (fraction)."""
        chance = 1.0 / self.n_classes
        learned = chance + (1.0 - chance) * np.exp(-self.loss(p_train, p_eval, N))
        return np.where(self.amentia(np.broadcast_to(p_train, learned.shape)), chance, learned)


def synthetic_dataset(
    truth: SyntheticTruth | None = None,
    *,
    p_train: Sequence[float] = DEFAULT_P_TRAIN,
    p_eval: Sequence[float] = DEFAULT_P_EVAL,
    N: Sequence[int] = DEFAULT_N,
    n_seeds: int = 3,
    n_masks: int = 8,
    rel_noise: float = 0.03,
    acc_noise: float = 0.005,
    seed: int = 0,
) -> xr.Dataset:
    """An MNIST-like sweep over ``p_train x p_eval x N x seed`` with known ``alpha`` (see module doc)."""
    truth = truth or SyntheticTruth()
    rng = np.random.default_rng(seed)
    pt = np.asarray(p_train, float)[:, None, None, None]
    pe = np.asarray(p_eval, float)[None, :, None, None]
    n = np.asarray(N, np.int64)[None, None, :, None]
    shape = (pt.shape[0], pe.shape[1], n.shape[2], n_seeds)

    loss_true = np.broadcast_to(truth.loss(pt, pe, n), shape)
    acc_true = np.broadcast_to(truth.accuracy(pt, pe, n), shape)
    loss = loss_true * (1.0 + rel_noise * rng.standard_normal(shape))
    accuracy = np.clip(acc_true + acc_noise * rng.standard_normal(shape), 0.0, 1.0)
    train_loss = np.broadcast_to(
        truth.loss_ref * (n[:, 0] / truth.N_ref) ** -0.3, (shape[0], shape[2], n_seeds)).copy()

    dims = ("p_train", "p_eval", "N", "seed")
    ds = xr.Dataset(
        {
            "loss": (dims, loss, {"long_name": "test cross-entropy in nats", "units": "1"}),
            "loss_std": (dims, rel_noise * math.sqrt(n_masks) * loss_true,
                         {"long_name": "spread of test cross-entropy in nats over evaluation masks",
                          "units": "1"}),
            "accuracy": (dims, accuracy, {"long_name": "test accuracy", "units": "1"}),
            "accuracy_std": (dims, np.full(shape, acc_noise * math.sqrt(n_masks)),
                             {"long_name": "spread of test accuracy over evaluation masks",
                              "units": "1"}),
            "train_loss": (("p_train", "N", "seed"), train_loss,
                           {"long_name": "final training cross-entropy in nats", "units": "1"}),
        },
        coords={"p_train": list(p_train), "p_eval": list(p_eval), "N": list(N),
                "seed": np.arange(n_seeds)},
    )
    config = {"truth": asdict(truth), "p_train": list(map(float, p_train)),
              "p_eval": list(map(float, p_eval)), "N": list(map(int, N)), "n_seeds": n_seeds,
              "n_masks": n_masks, "rel_noise": rel_noise, "acc_noise": acc_noise, "seed": seed}
    ds.attrs = provenance_attrs(
        title="synthetic MNIST-like sweep with a known power-law exponent map",
        source=f"statmech_nn {__version__} (statmech_nn.synthetic.synthetic_dataset)",
        config=config, history="created by statmech_nn.synthetic.synthetic_dataset",
        n_masks=n_masks)
    return set_coord_attrs(ds)
