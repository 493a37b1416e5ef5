"""Run an experiment over a grid, cell by cell, through the cache, into one dataset.

``run_sweep`` plans the grid into cells (:meth:`Experiment.plan`) and, for each cell, finds
which of its grid points are already cached (in any earlier cell, through the cache's point
index). A cell with every point cached is assembled from the cache; a cell with none is
computed whole; a cell with some is reduced to the sub-grid spanned by its missing points,
which is computed (so extending a grid recomputes only what is new). Every computed cell is
stored as soon as it is done, so an interruption loses at most the cell in progress, and
every value enters the result as read back from a cache file, so a resumed sweep equals an
uninterrupted one.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import xarray as xr

from . import __version__
from .cache import CellCache, cell_key, point_key
from .errors import PluginError
from .experiment import Cell, Experiment
from .progress import progress_bar
from .schema import ordered_dims, provenance_attrs, set_coord_attrs, validate_dataset


@dataclass(frozen=True)
class PlannedCell:
    """One cell of the plan: what it covers, what is left to compute, where the rest is."""

    cell: Cell
    todo: Cell | None        # the sub-grid still to compute (None: every point cached)
    todo_key: str | None
    sources: tuple[str, ...]  # cache keys of the cells holding its cached points
    n_points: int
    n_cached: int
    cost: int

    @property
    def status(self) -> str:
        if self.todo is None:
            return "cached"
        return f"partial ({self.n_cached}/{self.n_points} points cached)" if self.n_cached else "todo"


def cell_point_list(cell: Cell) -> list[dict[str, Any]]:
    """Every grid point of a cell, as ``{dim: value}``."""
    dims = list(cell)
    return [dict(zip(dims, values)) for values in itertools.product(*(cell[d] for d in dims))]


def plan_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache) -> tuple[dict[str, tuple], list[PlannedCell]]:
    """Validate ``grid`` and plan its cells against what the cache already holds."""
    full_grid = experiment.validate_grid(grid)
    identity = experiment.result_identity()
    planned = []
    for cell in experiment.plan(full_grid):
        points = cell_point_list(cell)
        sources = [cache.source_of(point_key(identity, p)) for p in points]
        missing = [p for p, src in zip(points, sources) if src is None]
        if not missing:
            todo = None
        elif len(missing) == len(points):
            todo = cell
        else:
            todo = {d: tuple(v for v in values if any(p[d] == v for p in missing)) for d, values in cell.items()}
        planned.append(PlannedCell(
            cell=cell, todo=todo, todo_key=None if todo is None else cell_key(identity, todo),
            sources=tuple(dict.fromkeys(s for s in sources if s is not None)),
            n_points=len(points), n_cached=len(points) - len(missing),
            cost=0 if todo is None else experiment.cell_cost(todo)))
    return full_grid, planned


def sweep_config(experiment: Experiment, grid: Mapping[str, tuple]) -> dict[str, Any]:
    """The full configuration recorded in the output file (and hashed)."""
    return {**experiment.result_identity(), "grid": {d: list(v) for d, v in grid.items()}}


def run_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache, *,
              progress: bool | None = None, history: str = "") -> xr.Dataset:
    """Compute (or load) every cell of ``grid`` and return the merged, attributed dataset.

    ``experiment``: an instance (options and device set); ``grid``: values per dimension (a
    value or a list; missing dims take the experiment's ``default_grid``), validated by
    :meth:`Experiment.validate_grid`; ``cache``: where finished cells are stored and found
    (resume and reuse, module docstring); ``progress``: a progress bar (None: only on a
    terminal); ``history``: the CF ``history`` attribute (default: the command line). The result
    follows ``docs/data_model.md``; its ``config_sha256`` hashes everything that determines it.
    Raises :class:`~statmech_nn.errors.ConfigError` for a bad grid before any work, and
    :class:`~statmech_nn.errors.PluginError` when the experiment breaks its contract.
    """
    full_grid, planned = plan_sweep(experiment, grid, cache)
    identity = experiment.result_identity()
    experiment.artifacts = cache.artifacts
    parts: list[xr.Dataset] = []
    with progress_bar(sum(p.cost for p in planned), f"{experiment.name} sweep", enabled=progress) as bar:
        for item in planned:
            pieces = [cache.load(key) for key in item.sources]
            todo, todo_key = item.todo, item.todo_key
            if any(piece is None for piece in pieces):  # a source turned out corrupt: redo the cell
                pieces, todo, todo_key = [], item.cell, cell_key(identity, item.cell)
                bar.total += experiment.cell_cost(todo)
            if todo is not None:
                pieces.insert(0, cache.load(todo_key) or _compute(experiment, todo, todo_key, cache, bar))
            parts.append(_assemble(item.cell, pieces))
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop_conflicts")
    merged = merged.reindex({d: list(v) for d, v in full_grid.items()})
    merged = set_coord_attrs(merged.transpose(*ordered_dims(merged.dims)))
    validate_dataset(merged)
    merged.attrs = provenance_attrs(
        title=f"statmech_nn {experiment.name} sweep",
        source=f"statmech_nn {__version__}; experiment {experiment.name} {experiment.version}",
        config=sweep_config(experiment, full_grid),
        history=history or " ".join(sys.argv),
        **experiment.provenance(),
    )
    return merged


def _assemble(cell: Cell, pieces: list[xr.Dataset]) -> xr.Dataset:
    """The cell's points from the pieces that hold them, the first piece winning where two do."""
    result = None
    for piece in pieces:
        common = {d: [v for v in values if v in set(piece[d].values.tolist())] for d, values in cell.items()}
        part = piece.sel(common)
        result = part if result is None else result.combine_first(part)
    return result.reindex({d: list(v) for d, v in cell.items()})


def _compute(experiment: Experiment, cell: Cell, key: str, cache: CellCache, bar) -> xr.Dataset:
    cost, reported = experiment.cell_cost(cell), 0

    def advance(units: int) -> None:
        nonlocal reported
        units = min(units, cost - reported)
        reported += units
        bar.update(units)

    result = experiment.run_cell(cell, advance)
    for dim, values in cell.items():
        if dim not in result.coords or list(result[dim].values) != list(values):
            raise PluginError(f"experiment {experiment.name!r} returned coordinates that differ from its cell in {dim!r}")
    identity = experiment.result_identity()
    stored = cache.store(key, result, [point_key(identity, p) for p in cell_point_list(cell)])
    advance(cost - reported)
    return stored
