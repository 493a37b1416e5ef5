"""Memory a cell needs: the model behind the GPU planner and the CPU's check before a cell allocates.

Per network (float32 = 4 B, int64 = 8 B): parameters, gradients and Adam's two moments,
``16 P`` with ``P = 784 w + (d-1) w^2 + 10 w + d w + 10``; the step's buffers
``4 (4 d + 2) w B`` (pre-activations, activations, derivatives, masks, two gradients) and
Philox words ``32 d w B`` (the eager tensor ops' int64 temporaries of a quarter row and the
stacked words; the compiled kernel needs only its float32 output); its share of the minibatch
schedule ``8 steps B / per_group`` and losses ``4 steps``.

Per group of ``per_group`` networks evaluated at once over the 10,000 test images, bytes per
(network, unit, image): ``12`` for ``per_network`` (the first-layer activation, a deeper
pre-activation and activation) and ``8 + 20 d`` for ``per_sample`` (besides, every hidden
layer's int64 Philox words, float32 keep multipliers and masked activation). Measured on the
CPU as the peak RSS above the loaded data, less the parameters: 7.3 (width 2048, depth 2) and
11.5 (depth 4) for ``per_network``; 45 (width 1024, depth 2) and 83 (depth 4) for
``per_sample``. The parts of a cell that run side by side (:func:`.cell.split_spec`) evaluate
one group each at the same time.
"""

from __future__ import annotations

from statmech_nn.errors import ConfigError

from .spec import CellSpec

#: Test images every group is evaluated on.
N_TEST = 10_000


def network_bytes(width: int, depth: int, batch: int, steps: int, per_group: int) -> float:
    """Bytes one network holds while it trains (module docstring)."""
    params = 784 * width + (depth - 1) * width * width + 10 * width + depth * width + 10
    return (16 * params + 4 * (4 * depth + 2) * width * batch + 32 * depth * width * batch
            + 8 * steps * batch / per_group + 4 * steps)


def evaluation_bytes(width: int, depth: int, per_group: int, protocol: str) -> float:
    """Bytes of evaluating one group of ``per_group`` networks (module docstring)."""
    per_element = 12 if protocol == "per_network" else 8 + 20 * depth
    return per_group * width * N_TEST * per_element


def networks_in_budget(budget_bytes: float, width: int, depth: int, batch: int, steps: int, per_group: int,
                       protocol: str, safety: float = 1.5) -> int:
    """How many networks of one cell, evaluated one group at a time, fit in ``budget_bytes``
    (at least 1): ``(budget / safety - evaluation) // per network``; ``safety`` covers a CUDA
    graph's private pool and allocator slack."""
    spare = budget_bytes / safety - evaluation_bytes(width, depth, per_group, protocol)
    return max(1, int(spare // network_bytes(width, depth, batch, steps, per_group)))


def cell_bytes(spec: CellSpec, n_networks: int, parts: int) -> float:
    """Bytes of training ``n_networks`` networks of ``spec``'s shape and evaluating them in
    ``parts`` parts side by side (no safety factor)."""
    per_group = len(spec.p_train)
    return (n_networks * network_bytes(spec.width, spec.depth, spec.batch_size, spec.steps, per_group)
            + min(parts, n_networks) * evaluation_bytes(spec.width, spec.depth, per_group, spec.evaluation.protocol))


def check_cell_fits(spec: CellSpec, parts: int, available: int | None) -> None:
    """A one-line :class:`ConfigError` when the cell ``spec``, run in ``parts`` parts side by
    side, needs more than ``available`` bytes (``None``, unknown: accepts every cell).

    On the CPU an allocation beyond the machine's memory is not an exception but the kernel's
    OOM killer, which ends the whole sweep without a word; this check runs before the cell
    allocates anything and names the most networks per cell that would fit.
    """
    n = len(spec.networks())
    need = cell_bytes(spec, n, parts)
    if available is None or need <= available:
        return
    fits = [k for k in range(n - 1, 0, -1) if cell_bytes(spec, k, parts) <= available]
    if fits:
        advice = f"expected training.max_networks <= {fits[0]}"
    else:
        alone = "" if n == 1 else f" (one network alone needs {cell_bytes(spec, 1, 1) / 2**30:.1f} GiB)"
        advice = f"expected a smaller width or depth{alone}"
    networks = f"{n} network" + ("s" if n > 1 else "")
    raise ConfigError(f"cell width = {spec.width}, depth = {spec.depth}, {networks}: training and evaluating it "
                      f"needs about {need / 2**30:.1f} GiB of memory, {available / 2**30:.1f} GiB are available "
                      f"here; {advice}")
