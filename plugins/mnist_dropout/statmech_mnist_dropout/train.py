"""The batched training loop: every network of an :class:`~.ensemble.Ensemble` at once.

One step: gather the groups' minibatches from the device-resident uint8 images (pixels
scaled to ``[0, 1]`` by ``/255``), draw each network's dropout masks from its own generator,
forward, cross-entropy, hand-written backward, then one optimiser step over the stacked
parameters (``torch.optim.Adam``/``SGD`` with ``fused=True``: elementwise, so stacking
networks does not couple them).

Dropout masks (:class:`MaskSampler`): for network ``e`` with rate ``p_e > 0`` and hidden layer
``l``, ``u ~ U[0, 1)^(width, B)`` from the network's generator (drawn layer by layer, step by
step), ``keep = [u >= p_e] / (1 - p_e)``. Networks with ``p_e = 0`` draw nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import torch

from .ensemble import Ensemble, Workspace, attach_grads, backward, cross_entropy, forward
from .parallel import Cancelled
from .spec import OptimizerConfig

PIXEL_SCALE = 1.0 / 255.0


def build_optimizer(config: OptimizerConfig, params: Sequence[torch.Tensor]) -> torch.optim.Optimizer:
    """The fused ``torch.optim`` optimiser of ``config`` over ``params``."""
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps, fused=True)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=True)


class MaskSampler:
    """Per-network inverted-dropout multipliers of every hidden layer, ``(E, width, B)`` each."""

    def __init__(self, rates: Sequence[float], generators: Sequence[torch.Generator | None],
                 depth: int, width: int, batch: int, device: str):
        rates = [float(p) for p in rates]
        n = len(rates)
        self.uniforms = torch.zeros(depth, n, width, batch, device=device)
        self.keeps = torch.empty(depth, n, width, batch, device=device)
        self.threshold = torch.tensor(rates, device=device).view(n, 1, 1)
        self.scale = torch.tensor([1.0 / (1.0 - p) for p in rates], device=device).view(n, 1, 1)
        # (generator, slice of ``uniforms``) of every draw of a step, in stream order
        self.draws = [(generators[e], u[e]) for u in self.uniforms for e, p in enumerate(rates) if p > 0]

    def draw(self) -> list[torch.Tensor | None]:
        """The masks of one step (``None`` for every layer when no network drops anything).

        ``u.uniform_(0, 1)`` on a preallocated slice is what ``torch.rand(out=u)`` does, without
        the per-call size handling; the thresholding runs once over all layers, written
        straight into the float ``keeps`` (a bool intermediate costs two slow passes).
        """
        if not self.draws:
            return [None] * self.uniforms.shape[0]
        for generator, u in self.draws:
            u.uniform_(0.0, 1.0, generator=generator)
        torch.ge(self.uniforms, self.threshold, out=self.keeps).mul_(self.scale)
        return list(self.keeps)


def train(ens: Ensemble, images: torch.Tensor, labels: torch.Tensor, schedule: torch.Tensor,
          masks: MaskSampler, optimizer: OptimizerConfig,
          progress: Callable[[int], None] | None = None, progress_every: int = 100,
          stop: threading.Event | None = None) -> torch.Tensor:
    """Train ``ens`` in place; return the per-step training losses ``(steps, E)``.

    ``images`` ``(n, n_in)`` uint8 and ``labels`` ``(n,)`` int64 live on the device;
    ``schedule`` ``(G, steps, B)`` holds each group's minibatch indices. ``progress(k)`` is
    called with the number of steps done since its previous call. Raises
    :class:`~.parallel.Cancelled` at the first step at which ``stop`` is set.
    """
    n_groups, steps, batch = schedule.shape
    per_group = ens.per_group
    attach_grads(ens)
    opt = build_optimizer(optimizer, ens.parameters())
    losses = torch.empty(steps, ens.n_networks, device=images.device)
    ws = Workspace.allocate(ens, batch)
    with torch.no_grad():
        for step in range(steps):
            if stop is not None and stop.is_set():
                raise Cancelled(f"training stopped at step {step} of {steps}")
            idx = schedule[:, step]
            torch.index_select(images, 0, idx.reshape(-1), out=ws.x_bytes.view(-1, images.shape[1]))
            ws.x.copy_(ws.x_bytes).mul_(PIXEL_SCALE)
            y = labels[idx].unsqueeze(1).expand(n_groups, per_group, batch).reshape(-1, batch)
            forward(ens, ws, masks.draw())
            losses[step] = cross_entropy(ws, y)
            backward(ens, ws)
            opt.step()
            if progress is not None and (step + 1) % progress_every == 0:
                progress(progress_every)
    if progress is not None and steps % progress_every:
        progress(steps % progress_every)
    for p in ens.parameters():
        p.grad = None
    return losses
