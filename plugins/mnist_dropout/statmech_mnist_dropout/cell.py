"""Train and evaluate one cell: every (p_train, seed, N) network of one shape, batched.

Groups are the ``(seed, N)`` pairs (seed-major); each group holds one network per ``p_train``
and all of a group's networks share the training subset and minibatch order (common random
numbers, :mod:`.rng`). All networks of a cell train for the same number of steps. On the CPU
a cell is cut into one part per core (:func:`split_spec`), each part one ensemble, and the
parts run side by side (:mod:`.parallel`); on a GPU the cell is one ensemble.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from .ensemble import Ensemble, init_network, layer_sizes, stack_ensemble
from .evaluate import clean_scores, evaluate
from .flops import evaluation_work
from .parallel import default_workers, run_side_by_side, serialized
from .rng import derive_seed, numpy_rng, rate_key, torch_generator
from .spec import N_CLASSES, CellResult, CellSpec, MnistTensors
from .subsets import batch_schedule, nested_order, subset
from .train import MaskSampler, train
from .weights import TrainedNetworks


def build_ensemble(spec: CellSpec, n_in: int, device: str):
    """Initial ensemble: network ``(seed, N, p)`` from stream ``init(seed, p, width, depth)``."""
    sizes = layer_sizes(n_in, spec.width, spec.depth, N_CLASSES)
    nets = [init_network(sizes, spec.init, torch_generator("init", s, rate_key(p), spec.width, spec.depth))
            for s, _, p in spec.networks()]
    return stack_ensemble(nets, len(spec.groups()), spec.width, spec.activation, device)


def group_subsets(spec: CellSpec, train_labels: np.ndarray) -> list[np.ndarray]:
    """Training-set indices of every ``(seed, N)`` group (nested per seed)."""
    orders = {s: nested_order(train_labels, s, balanced=spec.balanced) for s in spec.seeds}
    return [subset(orders[s], n) for s, n in spec.groups()]


def build_schedule(spec: CellSpec, train_labels: np.ndarray, device: str) -> torch.Tensor:
    """Minibatch indices ``(G, steps, B)`` of every ``(seed, N)`` group."""
    schedule = np.stack([
        batch_schedule(rows, spec.steps, spec.batch_size, numpy_rng("order", s, n))
        for rows, (s, n) in zip(group_subsets(spec, train_labels), spec.groups())])
    return torch.from_numpy(schedule).to(device)


def network_keys(role: str, spec: CellSpec) -> list[int]:
    """Every network's 64-bit mask-stream key for ``role`` (``train_mask`` or ``eval_mask``)."""
    return [derive_seed(role, s, rate_key(p), n, spec.width, spec.depth) for s, n, p in spec.networks()]


def split_spec(spec: CellSpec, parts: int) -> list[CellSpec]:
    """At most ``parts`` sub-cells whose networks are consecutive blocks of the cell's network
    order (:meth:`CellSpec.networks`): contiguous chunks of its seeds, or of its ``N`` when it
    has one seed. Concatenating per-network arrays of the sub-cells gives the cell's."""
    axis = "seeds" if len(spec.seeds) > 1 else "sizes"
    values = getattr(spec, axis)
    chunks = np.array_split(np.arange(len(values)), max(1, min(parts, len(values))))
    return [replace(spec, **{axis: tuple(values[i] for i in chunk)}) for chunk in chunks]


def prepare_part(spec: CellSpec, data: MnistTensors, device: str) -> tuple[Ensemble, torch.Tensor, MaskSampler]:
    """The initial ensemble, minibatch schedule and training-mask sampler of ``spec``."""
    ens = build_ensemble(spec, data.train_images.shape[1], device)
    schedule = build_schedule(spec, data.train_labels_np, device)
    masks = MaskSampler([p for _, _, p in spec.networks()], network_keys("train_mask", spec),
                        spec.depth, spec.width, spec.batch_size, device)
    return ens, schedule, masks


def train_part(spec: CellSpec, data: MnistTensors, device: str, progress: Callable[[int], None] | None = None,
               stop: threading.Event | None = None) -> Ensemble:
    """The trained ensemble of ``spec``; ``progress`` counts network-steps."""
    ens, schedule, masks = prepare_part(spec, data, device)
    n_nets = len(spec.networks())
    steps_done = None if progress is None else (lambda k: progress(k * n_nets))
    train(ens, data.train_images, data.train_labels, schedule, masks, spec.optimizer, steps_done, stop=stop)
    return ens


def score_part(spec: CellSpec, ens: Ensemble, data: MnistTensors, device: str,
               progress: Callable[[int], None] | None = None,
               stop: threading.Event | None = None) -> tuple[np.ndarray, ...]:
    """Per-network test loss and accuracy ``(E, n_p_eval, n_masks)`` and training loss ``(E,)``;
    ``progress`` gets the work done, :func:`.flops.evaluation_work`, when it is done."""
    loss, acc = evaluate(ens, data.test_images, data.test_labels, spec.p_eval, spec.evaluation,
                         network_keys("eval_mask", spec), stop)
    rows = [torch.from_numpy(r).to(device) for r in group_subsets(spec, data.train_labels_np)]
    train_loss, _ = clean_scores(ens, data.train_images, data.train_labels, rows, stop=stop)
    if progress is not None:
        progress(evaluation_work(spec))
    return loss, acc, train_loss


def run(spec: CellSpec, data: MnistTensors, device: str,
        progress: Callable[[int], None] | None = None, workers: int | None = None,
        trained: TrainedNetworks | None = None) -> CellResult:
    """Train the cell's networks and evaluate them at every ``p_eval``; ``progress`` counts
    network-steps, the evaluation's in the units of :mod:`.flops`.

    The cell is split into ``workers`` parts (default :func:`~.parallel.default_workers`) that
    run side by side (:mod:`.parallel`); the numbers do not depend on the split. With
    ``trained`` (:mod:`.weights`), a part whose networks are all stored is not trained again,
    and every part that is trained is stored.
    """
    workers = default_workers(device) if workers is None else workers
    parts = split_spec(spec, workers)
    progress = serialized(progress)

    def trained_part(part: CellSpec, stop: threading.Event) -> Ensemble:
        ens = None if trained is None else trained.load(part, device)
        if ens is None:
            ens = train_part(part, data, device, progress, stop)
            if trained is not None:
                trained.save(part, ens)
        return ens

    def job(part: CellSpec) -> Callable[[threading.Event], tuple[np.ndarray, ...]]:
        return lambda stop: score_part(part, trained_part(part, stop), data, device, progress, stop)

    per_part = run_side_by_side([job(part) for part in parts], workers)
    loss, acc, train_loss = (np.concatenate(arrays) for arrays in zip(*per_part))
    shape = (len(spec.seeds), len(spec.sizes), len(spec.p_train))
    tail = (len(spec.p_eval), spec.evaluation.n_masks)
    return CellResult(loss.reshape(*shape, *tail), acc.reshape(*shape, *tail), train_loss.reshape(shape))
