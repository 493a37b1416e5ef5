"""The batched training loop: every network of an :class:`~.ensemble.Ensemble` at once.

One step: gather the groups' minibatches from the device-resident uint8 images (pixels
scaled to ``[0, 1]`` by ``/255``), draw every network's dropout masks in one batched call,
forward, cross-entropy, hand-written backward, then one optimiser step over the stacked
parameters (``torch.optim.Adam``/``SGD`` with ``fused=True`` over :attr:`.Ensemble.flat`:
elementwise, so stacking networks does not couple them).

Dropout masks (:class:`MaskSampler`): for network ``e`` with rate ``p_e`` and hidden layer
``l``, at step ``t``, ``u[unit, sample] = Philox(key_e, (block, l, t, 0))`` (:mod:`.masks`),
``keep = [u >= p_e] / (1 - p_e)``; every unit is kept when ``p_e = 0``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial

import torch

from .ensemble import Ensemble, Workspace, attach_grads, backward, cross_entropy, detach_grads, forward
from .masks import MaskRows
from .parallel import check_stop
from .spec import OptimizerConfig

PIXEL_SCALE = 1.0 / 255.0


def build_optimizer(config: OptimizerConfig, params: Sequence[torch.Tensor],
                    capturable: bool = False) -> torch.optim.Optimizer:
    """The fused ``torch.optim`` optimiser of ``config`` over ``params`` (``capturable``: Adam's
    step count kept on the device, so that the step can be captured in a CUDA graph)."""
    if config.name == "adam":
        return torch.optim.Adam(params, lr=config.lr, betas=(config.beta1, config.beta2), eps=config.eps, fused=True,
                                capturable=capturable)
    return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=True)


class MaskSampler:
    """Inverted-dropout multipliers of every hidden layer, ``(E, width, B)`` each, for all
    networks in one batched draw per step (:class:`.masks.MaskRows`: row ``(layer, e)`` keyed
    by network ``e``'s ``train_mask`` stream, counter ``(block, layer, step, 0)``)."""

    def __init__(self, rates: Sequence[float], keys: Sequence[int], depth: int, width: int, batch: int,
                 device: str | torch.device, backend: str | None = None):
        n = len(rates)
        self.dropping = any(p > 0 for p in rates)
        self.keeps = torch.empty(depth, n, width, batch, device=device)
        self.rows = MaskRows([keys[e] for _ in range(depth) for e in range(n)],
                             [layer for layer in range(depth) for _ in range(n)], width * batch, device,
                             rates=[rates[e] for _ in range(depth) for e in range(n)], backend=backend)

    def draw(self, step: int | torch.Tensor) -> list[torch.Tensor | None]:
        """The masks of training step ``step`` (``None`` for every layer when no network drops);
        ``step`` may be a 0-dim device tensor where the tensor path runs (CUDA graphs)."""
        if not self.dropping:
            return [None] * self.keeps.shape[0]
        self.rows.keep_(step, self.keeps)
        return list(self.keeps)


#: Steps run eagerly before a CUDA graph of the step is captured (the optimiser allocates its
#: state on its first step; capture needs warmed-up kernels and allocations).
GRAPH_WARM_UP_STEPS = 3


def train(ens: Ensemble, images: torch.Tensor, labels: torch.Tensor, schedule: torch.Tensor,
          masks: MaskSampler, optimizer: OptimizerConfig,
          progress: Callable[[int], None] | None = None, progress_every: int = 100,
          stop: threading.Event | None = None, graph: bool | None = None) -> torch.Tensor:
    """Train ``ens`` in place; return the per-step training losses ``(steps, E)``.

    ``images`` ``(n, n_in)`` uint8 and ``labels`` ``(n,)`` int64 live on the device;
    ``schedule`` ``(G, steps, B)`` holds each group's minibatch indices. ``progress(k)`` is
    called with the number of steps done since its previous call. Raises
    :class:`~.parallel.Cancelled` at the first step at which ``stop`` is set.

    ``graph`` (default: on CUDA devices): after :data:`GRAPH_WARM_UP_STEPS` eager steps, the
    whole step (gather, masks, forward, loss, backward, Adam) is captured once as a CUDA graph
    and replayed, the step number living in a device tensor: one launch per step instead of
    ~40 (the kernels and their order are those of the eager step, so the numbers are too).
    ``graph=True`` on the CPU runs that code path (step number read from a tensor) without
    capture, so that it is tested where there is no GPU.
    """
    n_groups, steps, batch = schedule.shape
    per_group = ens.per_group
    device = images.device
    graph = device.type == "cuda" if graph is None else graph
    attach_grads(ens)
    opt = build_optimizer(optimizer, [ens.flat], capturable=graph and device.type == "cuda")
    losses = torch.empty(steps, ens.n_networks, device=device)
    loss_now = torch.empty(ens.n_networks, device=device)
    ws = Workspace.allocate(ens, batch)
    step_now = torch.zeros((), dtype=torch.int64, device=device)

    def step_body(step) -> None:
        """One step; ``step`` is an int (eager) or the device tensor ``step_now`` (graph)."""
        idx = schedule[:, step] if isinstance(step, int) else schedule.index_select(1, step.view(1)).squeeze(1)
        torch.index_select(images, 0, idx.reshape(-1), out=ws.x_bytes.view(-1, images.shape[1]))
        ws.x.copy_(ws.x_bytes).mul_(PIXEL_SCALE)
        y = labels[idx].unsqueeze(1).expand(n_groups, per_group, batch).reshape(-1, batch)
        forward(ens, ws, masks.draw(step))
        loss_now.copy_(cross_entropy(ws, y))
        backward(ens, ws)
        opt.step()

    run_step = step_body
    with torch.no_grad():
        for step in range(steps):
            check_stop(stop, f"training at step {step} of {steps}")
            if graph and step == GRAPH_WARM_UP_STEPS:
                run_step = _captured(step_body, step_now) if device.type == "cuda" else partial(step_body, step_now)
            if run_step is step_body:
                step_body(step)
            else:
                step_now.fill_(step)
                run_step()
            losses[step] = loss_now
            if progress is not None and (step + 1) % progress_every == 0:
                progress(progress_every)
    if progress is not None and steps % progress_every:
        progress(steps % progress_every)
    detach_grads(ens)
    return losses


def _captured(step_body: Callable, step_now: torch.Tensor) -> Callable[[], None]:
    """``step_body(step_now)`` captured as a CUDA graph (after the eager warm-up steps); returns
    the graph's replay. Capture records the kernels without running them."""
    graph = torch.cuda.CUDAGraph()
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.cuda.graph(graph, stream=side):
        step_body(step_now)
    torch.cuda.current_stream().wait_stream(side)
    return graph.replay
