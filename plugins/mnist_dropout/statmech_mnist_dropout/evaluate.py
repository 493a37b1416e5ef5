"""Test-set evaluation of a trained ensemble under evaluation dropout ``p_eval``.

Two mask protocols (``docs/mnist_dropout.md`` explains the default):

* ``per_network`` (random pruning): one mask per hidden layer and realisation, shared by all
  test images -- a pruned network. The spread over realisations is network-to-network
  (quenched) disorder.
* ``per_sample`` (``nn.Dropout`` in training mode): every test image its own mask. The spread
  over realisations is Monte-Carlo noise of the mean.

Both use the same keep multiplier ``keep = [u >= p_eval] * s`` with ``s = 1/(1 - p_eval)``
(inverted scaling; ``s = 1`` when ``rescale`` is off), and by linearity of the mean over test
images both have the same expected mean loss. The uniforms ``u`` (Philox words, :mod:`.masks`,
``u[unit, column] = F(key, (block, layer, realisation, 0))``, column = 0 for ``per_network``,
the test image for ``per_sample``) of a realisation are shared by every ``p_eval`` (nested
pruning: a unit dropped at ``p`` is dropped at every ``p' > p``).

Work done once per network: the first layer's activation ``act(W_1 x + b_1)`` of all test
images (masks act after it). For ``per_network`` a hidden layer's mask is folded into the next
layer's weight columns, ``W_{l+1} (keep_l * h_l) = (W_{l+1} diag(keep_l)) h_l``, so a
realisation costs only the deeper layers' products. ``p_eval = 0`` is evaluated once
(deterministic), and its spread is 0.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import torch

from .ensemble import Ensemble, nonlinearity_
from .masks import MaskRows, keep_scale, threshold
from .parallel import check_stop
from .spec import EvalConfig
from .train import PIXEL_SCALE

def evaluate(ens: Ensemble, images: torch.Tensor, labels: torch.Tensor, p_evals: Sequence[float],
             config: EvalConfig, keys: Sequence[int],
             stop: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Mean test cross-entropy and accuracy, each ``(E, len(p_evals), n_masks)`` float64.

    ``images`` ``(n, n_in)`` uint8 and ``labels`` ``(n,)`` on the device; ``keys[e]`` is network
    ``e``'s ``eval_mask`` stream key: realisation ``k`` of hidden layer ``l`` uses the words of
    counter ``(block, l, k, 0)`` (:func:`realisation_words`), for all networks of a group at once.
    Raises :class:`~.parallel.Cancelled` at the first realisation at which ``stop`` is set.
    """
    n_masks = config.n_masks
    loss = np.empty((ens.n_networks, len(p_evals), n_masks))
    acc = np.empty_like(loss)
    x = images.to(torch.float32).mul_(PIXEL_SCALE).T  # (n_in, n)
    per = ens.per_group
    with torch.no_grad():
        for g in range(ens.n_groups):
            nets = slice(g * per, (g + 1) * per)
            h1 = _first_hidden(ens, g, x)
            cols = 1 if config.protocol == "per_network" else h1.shape[-1]
            layers = mask_rows(keys[nets], ens.depth, ens.width, cols, x.device)
            for k in range(n_masks):
                check_stop(stop, f"evaluation at mask {k} of {n_masks}")
                words = realisation_words(layers, k, ens.width, cols) if any(p > 0 for p in p_evals) else None
                for i, p in enumerate(p_evals):
                    if p == 0 and k > 0:  # deterministic: same value for every realisation
                        loss[nets, i, k], acc[nets, i, k] = loss[nets, i, 0], acc[nets, i, 0]
                        continue
                    keeps = None if p == 0 else [
                        torch.ge(w, threshold(p)).to(torch.float32).mul_(keep_scale(p, config.rescale))
                        for w in words]
                    logits = _deeper_layers(ens, nets, h1, keeps, config.protocol)
                    loss[nets, i, k], acc[nets, i, k] = _scores(logits, labels)
    return loss, acc


def clean_scores(ens: Ensemble, images: torch.Tensor, labels: torch.Tensor, rows: Sequence[torch.Tensor],
                 chunk: int = 10_000, stop: threading.Event | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cross-entropy and accuracy ``(E,)`` with dropout off, each group ``g`` on its own images
    ``images[rows[g]]`` (e.g. its training subset), in chunks of ``chunk`` images."""
    loss = np.zeros(ens.n_networks)
    acc = np.zeros(ens.n_networks)
    per = ens.per_group
    with torch.no_grad():
        for g, idx in enumerate(rows):
            nets = slice(g * per, (g + 1) * per)
            for start in range(0, len(idx), chunk):
                check_stop(stop, "training-set scores")
                part = idx[start:start + chunk]
                x = images[part].to(torch.float32).mul_(PIXEL_SCALE).T
                logits = _deeper_layers(ens, nets, _first_hidden(ens, g, x), None, "per_network")
                part_loss, part_acc = _scores(logits, labels[part])
                loss[nets] += part_loss * len(part) / len(idx)
                acc[nets] += part_acc * len(part) / len(idx)
    return loss, acc


def _first_hidden(ens: Ensemble, g: int, x: torch.Tensor) -> torch.Tensor:
    """Unmasked first-layer activation ``(P, width, n)`` of group ``g`` for inputs ``x (n_in, n)``."""
    return nonlinearity_(ens.activation, torch.addmm(ens.b_in[g], ens.w_in[g], x).view(ens.per_group, ens.width, -1))


def mask_rows(keys: Sequence[int], depth: int, width: int, cols: int, device) -> list[MaskRows]:
    """Per hidden layer ``l``, the mask rows of the networks with evaluation keys ``keys``
    (counter word ``c1 = l``), ``width * cols`` positions each."""
    return [MaskRows(list(keys), [layer] * len(keys), width * cols, device) for layer in range(depth)]


def realisation_words(layers: Sequence[MaskRows], k: int, width: int, cols: int) -> list[torch.Tensor]:
    """Realisation ``k``'s words per hidden layer, ``(P, width, cols)`` int64; a unit is kept at
    ``p`` iff its word ``>= ceil(p 2**32)``, so every ``p_eval`` shares them (nested pruning)."""
    return [rows.words(k).view(rows.rows, width, cols) for rows in layers]


def _deeper_layers(ens: Ensemble, nets: slice, h1: torch.Tensor, keeps: list[torch.Tensor] | None,
                   protocol: str) -> torch.Tensor:
    """Logits ``(P, n, n_out)`` (image-major, for fast per-image reductions) from the unmasked
    first-layer activation ``h1`` ``(P, width, n)``."""
    weights = [w[nets] for w in ens.w_hidden] + [ens.w_out[nets]]
    biases = [b[nets] for b in ens.b_hidden] + [ens.b_out[nets]]
    last = len(weights) - 1
    h = h1
    for layer, (w, b) in enumerate(zip(weights, biases)):
        if keeps is not None:
            if protocol == "per_network":  # fold keep into the weight columns: W diag(keep)
                w = w * keeps[layer].transpose(1, 2)
            else:
                h = h * keeps[layer]
        z = torch.baddbmm(b, w, h)
        if layer < last:
            h = nonlinearity_(ens.activation, z)
    return z.transpose(1, 2).contiguous()


def _scores(logits: torch.Tensor, labels: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Per-network mean cross-entropy (nats) and accuracy from logits ``(P, n, n_out)``."""
    lse = torch.logsumexp(logits, dim=2)
    picked = logits.gather(2, labels.view(1, -1, 1).expand(logits.shape[0], -1, 1)).squeeze(2)
    loss = (lse - picked).to(torch.float64).mean(dim=1)
    acc = (logits.argmax(dim=2) == labels).to(torch.float64).mean(dim=1)
    return loss.cpu().numpy(), acc.cpu().numpy()
