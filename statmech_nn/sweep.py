"""Run an experiment over a grid, cell by cell, through the cache, into one dataset.

``run_sweep`` plans the grid into cells (:meth:`Experiment.plan`), loads every cell that is
already cached, computes the others (storing each as soon as it is done), and merges them into
one dataset over the full grid. An interrupted sweep loses at most the cell in progress, and
running it again gives a dataset identical to an uninterrupted run's, because every cell --
fresh or cached -- enters the result as read back from its cache file.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import xarray as xr

from . import __version__
from .cache import CellCache, cell_key
from .experiment import Cell, Experiment
from .progress import progress_bar
from .schema import ordered_dims, provenance_attrs, set_coord_attrs


@dataclass(frozen=True)
class PlannedCell:
    cell: Cell
    key: str
    cached: bool
    cost: int


def plan_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache) -> tuple[dict[str, tuple], list[PlannedCell]]:
    """Validate ``grid`` and list its cells with their cache keys and status."""
    full_grid = experiment.validate_grid(grid)
    identity = experiment.result_identity()
    planned = []
    for cell in experiment.plan(full_grid):
        key = cell_key(identity, cell)
        planned.append(PlannedCell(cell, key, cache.contains(key), experiment.cell_cost(cell)))
    return full_grid, planned


def sweep_config(experiment: Experiment, grid: Mapping[str, tuple]) -> dict[str, Any]:
    """The full configuration recorded in the output file (and hashed)."""
    return {**experiment.result_identity(), "grid": {d: list(v) for d, v in grid.items()}}


def run_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache, *,
              progress: bool | None = None, history: str = "") -> xr.Dataset:
    """Compute (or load) every cell of ``grid`` and return the merged, attributed dataset."""
    full_grid, planned = plan_sweep(experiment, grid, cache)
    parts: list[xr.Dataset] = []
    todo = sum(p.cost for p in planned if not p.cached)
    with progress_bar(todo, f"{experiment.name} sweep", enabled=progress) as bar:
        for item in planned:
            part = cache.load(item.key)
            if part is None:
                if item.cached:  # listed as cached but found corrupt: it is work after all
                    bar.total += item.cost
                part = _compute(experiment, item, cache, bar)
            parts.append(part)
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop_conflicts")
    merged = merged.reindex({d: list(v) for d, v in full_grid.items()})
    merged = set_coord_attrs(merged.transpose(*ordered_dims(merged.dims)))
    merged.attrs = provenance_attrs(
        title=f"statmech_nn {experiment.name} sweep",
        source=f"statmech_nn {__version__}; experiment {experiment.name} {experiment.version}",
        config=sweep_config(experiment, full_grid),
        history=history or " ".join(sys.argv),
        **experiment.provenance(),
    )
    return merged


def _compute(experiment: Experiment, item: PlannedCell, cache: CellCache, bar) -> xr.Dataset:
    reported = 0

    def advance(units: int) -> None:
        nonlocal reported
        units = min(units, item.cost - reported)
        reported += units
        bar.update(units)

    result = experiment.run_cell(item.cell, advance)
    for dim, values in item.cell.items():
        if dim not in result.coords or list(result[dim].values) != list(values):
            raise RuntimeError(f"experiment {experiment.name!r} returned coordinates that differ from its cell in {dim!r}")
    stored = cache.store(item.key, result)
    advance(item.cost - reported)
    return stored
