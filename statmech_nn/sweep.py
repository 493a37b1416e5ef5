"""Run an experiment over a grid, cell by cell, through the cache, into one dataset.

``run_sweep`` plans the grid into cells (:meth:`Experiment.plan`) and, for each cell, finds
which of its grid points are already cached (in any earlier cell, through the cache's point
index). A cell with every point cached is assembled from the cache; a cell with none is
computed whole; a cell with some is reduced to the sub-grid spanned by its missing points,
which is computed (so extending a grid recomputes only what is new). A cell whose points the
index no longer lists but which is cached whole under its own key (its rows went with a corrupt
index) counts as cached and is indexed again.

The cache must be a cache directory or a new or empty one, and, where anything is to be
computed, writable: both are checked while planning, before any cell is computed (so a dry run
reports them too), and the cache is created and tagged before the first cell is computed
(:class:`~statmech_nn.cache.CellCache`).

Computing is done by :mod:`statmech_nn.executor`: here, one cell after another, or as Dask
tasks on a cluster (``client=``). Either way every computed cell is stored in the cache as soon
as it is done, so an interruption loses at most the cells in progress, and every value enters
the result as read back from a cache file, so a resumed or distributed sweep equals an
uninterrupted serial one. A cell that fails does not stop the others; the sweep then raises
:class:`~statmech_nn.errors.CellError` naming the failed cells, and a rerun computes only them.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from . import __version__
from .cache import CellCache, cell_key, point_key
from .errors import CellError
from .executor import CellTask, describe_cell, run_on_dask, run_serial
from .experiment import Cell, Experiment, check_plan
from .progress import SweepProgress
from .schema import distribution_of, ordered_dims, provenance_attrs, set_coord_attrs, validate_dataset


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


def describe_plan(planned: Sequence[PlannedCell]) -> str:
    """One line for a plan: "12 cells: 8 cached, 4 to compute", with "(2 of them partly
    cached); points: 50 of 60 cached" where some cells are partly cached."""
    n_cached = sum(p.todo is None for p in planned)
    n_partial = sum(p.todo is not None and p.n_cached > 0 for p in planned)
    partly = f" ({n_partial} of them partly cached)" if n_partial else ""
    points = (f"; points: {sum(p.n_cached for p in planned)} of {sum(p.n_points for p in planned)} cached"
              if n_partial else "")
    return f"{len(planned)} cells: {n_cached} cached, {len(planned) - n_cached} to compute{partly}{points}"


def cell_point_list(cell: Cell) -> list[dict[str, Any]]:
    """Every grid point of a cell, as ``{dim: value}``."""
    dims = list(cell)
    return [dict(zip(dims, values)) for values in itertools.product(*(cell[d] for d in dims))]


def plan_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache, *,
               verify: bool = False) -> tuple[dict[str, tuple], list[PlannedCell]]:
    """Validate ``grid`` and plan its cells against what the cache already holds
    (``verify=True``: re-hash the cached cells, so a corrupt one counts as missing). Raises a
    one-line error if the cache is not a cache directory (nor a new or empty one), or if cells
    are to be computed and it cannot be written (module docstring)."""
    full_grid = experiment.validate_grid(grid)
    cache.check_recognised(new_ok=True)
    identity = experiment.result_identity()
    cells = experiment.plan(full_grid)
    check_plan(experiment, full_grid, cells)
    points = {id(cell): cell_point_list(cell) for cell in cells}
    keys = {id(cell): [point_key(identity, p) for p in points[id(cell)]] for cell in cells}
    found = cache.sources([k for cell in cells for k in keys[id(cell)]], verify=verify)
    planned = []
    for cell in cells:
        sources = [found.get(k) for k in keys[id(cell)]]
        whole = cell_key(identity, cell)
        if None in sources and cache.reindex(whole, keys[id(cell)], verify=verify):
            sources = [whole] * len(sources)
        missing = [p for p, src in zip(points[id(cell)], sources) if src is None]
        if not missing:
            todo = None
        elif len(missing) == len(sources):
            todo = cell
        else:
            todo = {d: tuple(v for v in values if any(p[d] == v for p in missing)) for d, values in cell.items()}
        planned.append(PlannedCell(
            cell=cell, todo=todo, todo_key=None if todo is None else cell_key(identity, todo),
            sources=tuple(dict.fromkeys(s for s in sources if s is not None)),
            n_points=len(sources), n_cached=len(sources) - len(missing),
            cost=0 if todo is None else experiment.cell_cost(todo)))
    if any(item.todo is not None for item in planned):
        cache.check_writable()
    return full_grid, planned


def sweep_config(experiment: Experiment, grid: Mapping[str, tuple]) -> dict[str, Any]:
    """The full configuration recorded in the output file (and hashed)."""
    return {**experiment.result_identity(), "grid": {d: list(v) for d, v in grid.items()}}


def run_sweep(experiment: Experiment, grid: Mapping[str, Any], cache: CellCache, *,
              progress: bool | None = None, history: str = "", client: Any = None) -> xr.Dataset:
    """Compute (or load) every cell of ``grid`` and return the merged, attributed dataset.

    Parameters
    ----------
    experiment, grid:
        What to run and over which values (``{dim: values}``; missing dims take the
        experiment's defaults).
    cache:
        Where finished cells are kept (and looked up first). With ``client`` it must be on a
        filesystem every worker sees.
    progress:
        ``None``: a bar on a terminal, one log line per finished cell otherwise; ``True``: a
        bar; ``False``: silent.
    history:
        The command recorded in the file's ``history`` attribute (default: ``sys.argv``).
    client:
        A ``dask.distributed.Client``: compute the cells as tasks on its cluster
        (:func:`statmech_nn.executor.run_on_dask`); ``None``: here, one after another.

    Raises :class:`~statmech_nn.errors.ConfigError` for a bad grid or a directory that is not
    a cache, and :class:`~statmech_nn.errors.StorageError` for a cache that cannot be written,
    before any work,
    :class:`~statmech_nn.errors.PluginError` when the experiment breaks its contract, and
    :class:`~statmech_nn.errors.CellError` if any cell failed (after all others finished and
    were cached). The result follows ``docs/data_model.md``; its ``config_sha256`` hashes
    everything that determines it.
    """
    full_grid, planned = plan_sweep(experiment, grid, cache)
    identity = experiment.result_identity()
    pieces: list[tuple[list[xr.Dataset], str | None]] = []  # cached pieces, key of the computed one
    tasks: list[CellTask] = []
    for item in planned:
        loaded = [cache.load(key) for key in item.sources]
        todo, todo_key = item.todo, item.todo_key
        if any(piece is None for piece in loaded):  # a source turned out corrupt: redo the cell
            loaded, todo, todo_key = [], item.cell, cell_key(identity, item.cell)
        pieces.append((loaded, todo_key))
        if todo is not None:
            tasks.append(CellTask(todo, todo_key, experiment.cell_cost(todo),
                                  tuple(point_key(identity, p) for p in cell_point_list(todo))))
    if tasks:
        cache.create()
    desc = f"{experiment.name} sweep"
    with SweepProgress(sum(t.cost for t in tasks), len(tasks), desc, enabled=progress) as bar:
        if client is None:
            failures = run_serial(experiment, tasks, cache, bar)
        else:
            failures = run_on_dask(client, experiment, tasks, cache, bar)
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more cells)" if len(failures) > 1 else ""
        raise CellError(f"cell {describe_cell(first.cell)} failed: {first.reason}{more}; "
                        f"{len(tasks) - len(failures)} of {len(tasks)} computed cells are cached: "
                        "rerun to compute the rest")
    parts = [_assemble(item.cell, ([_load_computed(cache, key)] if key else []) + loaded)
             for item, (loaded, key) in zip(planned, pieces)]
    merged = xr.merge(parts, join="outer", compat="no_conflicts", combine_attrs="drop_conflicts")
    merged = merged.reindex({d: list(v) for d, v in full_grid.items()})
    merged = set_coord_attrs(merged.transpose(*ordered_dims(merged.dims)))
    validate_dataset(merged)
    merged.attrs = provenance_attrs(
        title=f"statmech_nn {experiment.name} sweep",
        source=f"statmech_nn {__version__}; experiment {experiment.name} {experiment.version}"
               + (f" ({plugin})" if (plugin := distribution_of(type(experiment))) else ""),
        config=sweep_config(experiment, full_grid),
        history=history or " ".join(sys.argv),
        **experiment.provenance(),
    )
    return merged


def _load_computed(cache: CellCache, key: str) -> xr.Dataset:
    ds = cache.load(key)
    if ds is None:
        raise CellError(f"cache entry {key[:12]}... vanished from {cache.root} right after it was computed "
                        "(cleared by another process?): rerun the sweep")
    return ds


def _assemble(cell: Cell, pieces: list[xr.Dataset]) -> xr.Dataset:
    """The cell's points from the pieces that hold them, the first piece winning where two do."""
    result = None
    for piece in pieces:
        common = {d: [v for v in values if v in set(piece[d].values.tolist())] for d, values in cell.items()}
        part = piece.sel(common)
        result = part if result is None else result.combine_first(part)
    return result.reindex({d: list(v) for d, v in cell.items()})
