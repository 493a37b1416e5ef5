"""Base class of experiment plugins: a grid in, an ``xarray.Dataset`` out.

An experiment is registered by the ``register_experiments`` hook. The sweep runner
(:mod:`statmech_nn.sweep`) asks it to split a grid into *cells* -- the units of work that are
computed together (for the MNIST trainer: all networks of one shape trained as one batched
computation) and cached together -- and calls :meth:`Experiment.run_cell` for each cell that
is not cached yet.

Contract for subclasses:

* ``name``: unique experiment name; ``version``: bump when results change for the same config.
* ``dims``: grid dimensions in output order; :meth:`check_coordinate` validates one value.
* ``options_spec``: option sections (see :mod:`statmech_nn.options`).
* ``default_grid``: a small grid that runs in minutes on a laptop (used by the quick-start).
* :meth:`plan` and :meth:`run_cell`; ``run_cell(cell)`` returns a dataset whose coordinates are
  exactly the cell's values (a cell is ``{dim: tuple_of_values}``, a sub-grid).
* Optional: :attr:`Experiment.artifacts`, set by the sweep runner to its cache's
  :class:`~statmech_nn.artifacts.ArtifactStore` (``None`` outside a sweep), where ``run_cell``
  may keep intermediates to reuse in later cells (trained weights, say). Reuse must give the
  numbers the cell would give without it (up to the float rounding of another batching).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import xarray as xr

from .artifacts import ArtifactStore
from .errors import ConfigError, PluginError
from .options import Option, resolve_options
from .schema import check_canonical_coordinate

Cell = dict[str, tuple]
#: ``progress(n_done_units)`` advances a progress bar inside a long cell; may be ``None``.
ProgressCallback = Callable[[int], None] | None


class Experiment:
    """Base class; see the module docstring for the contract."""

    name: ClassVar[str]
    version: ClassVar[str] = "0"
    dims: ClassVar[tuple[str, ...]] = ()
    options_spec: ClassVar[Mapping[str, Sequence[Option]]] = {}
    default_grid: ClassVar[Mapping[str, Sequence[Any]]] = {}
    devices: ClassVar[tuple[str, ...]] = ("cpu",)
    #: the data variables run_cell writes (optional: a study then checks its observable and its
    #: analyzers' ``var`` options when the study file is loaded, not after the sweeps)
    variables: ClassVar[tuple[str, ...]] = ()
    #: where run_cell may keep intermediates for later cells (set by the sweep runner)
    artifacts: ArtifactStore | None = None

    def __init__(self, options: Mapping[str, Any] | None = None, *, device: str = "cpu"):
        self.options = resolve_options(self.options_spec, options)
        self.check_device(device)
        self.device = device

    @classmethod
    def check_device(cls, device: str) -> None:
        """Raise a one-line :class:`ConfigError` unless the experiment can run on ``device`` here.
        The default checks the name against :attr:`devices`; a plugin adds what it must find on
        this machine (e.g. a CUDA GPU) by overriding and calling ``super()``. Called before any
        work, by the constructor and by the command line for its ``--device``."""
        if device not in cls.devices:
            raise ConfigError(f"unknown device {device!r} for experiment {cls.name!r}: expected one of "
                              + ", ".join(cls.devices))

    # -- grid ---------------------------------------------------------------------------
    @classmethod
    def check_coordinate(cls, dim: str, value: Any) -> Any:
        """Return the validated ``value`` of grid dimension ``dim`` or raise ConfigError.

        The default validates the canonical dimensions (:data:`statmech_nn.schema.DIMS`);
        subclasses add their own limits and call ``super()``.
        """
        return check_canonical_coordinate(dim, value)

    def validate_grid(self, grid: Mapping[str, Any]) -> dict[str, tuple]:
        """Complete and validate a grid: every dim present, values unique, sorted, checked."""
        unknown = [d for d in grid if d not in self.dims]
        if unknown:
            raise ConfigError(
                f"unknown grid key {unknown[0]!r} for experiment {self.name!r}: expected one of "
                + ", ".join(self.dims)
            )
        full: dict[str, tuple] = {}
        for dim in self.dims:
            raw = grid.get(dim, self.default_grid.get(dim))
            if raw is None:
                raise ConfigError(f"grid key {dim!r} is missing for experiment {self.name!r}")
            values = raw if isinstance(raw, (list, tuple)) else [raw]
            if len(values) == 0:
                raise ConfigError(f"grid key {dim!r} is empty: give at least one value")
            checked = [self.check_coordinate(dim, v) for v in values]
            full[dim] = tuple(sorted(set(checked)))
        return full

    def plan(self, grid: Mapping[str, tuple]) -> list[Cell]:
        """Split a validated grid into cells. Default: one cell per grid point."""
        return [
            {dim: (value,) for dim, value in zip(self.dims, point)}
            for point in itertools.product(*(grid[d] for d in self.dims))
        ]

    def cell_cost(self, cell: Cell) -> int:
        """Relative cost of a cell, the unit of the progress bar. Default: 1."""
        return 1

    # -- identity -----------------------------------------------------------------------
    def result_identity(self) -> dict[str, Any]:
        """Everything besides the cell that determines the numbers (hashed by the cache)."""
        return {"experiment": self.name, "version": self.version,
                "options": self.options, "device": self.device}

    def provenance(self) -> dict[str, Any]:
        """Extra global attributes (e.g. library versions, device). Values NetCDF-safe."""
        return {}

    # -- work ---------------------------------------------------------------------------
    def run_cell(self, cell: Cell, progress: ProgressCallback = None) -> xr.Dataset:
        raise NotImplementedError(f"experiment {self.name!r} does not implement run_cell")


def check_plan(experiment: Experiment, grid: Mapping[str, tuple], cells: Sequence[Cell]) -> None:
    """A one-line :class:`PluginError` unless ``cells`` (``experiment.plan(grid)``) cover every
    point of the validated ``grid`` exactly once: each cell a sub-grid over exactly the
    experiment's dims with values from the grid. A point left out would be NaN ("not measured")
    in the sweep's file, a point in two cells computed twice; neither is the user's doing."""
    where = f"experiment {experiment.name!r}: plan()"
    seen: dict[tuple, int] = {}
    for cell in cells:
        if not isinstance(cell, Mapping) or set(cell) != set(experiment.dims):
            keys = sorted(cell) if isinstance(cell, Mapping) else type(cell).__name__
            raise PluginError(f"{where} returned a cell with keys {keys}; expected exactly its dims "
                              f"{list(experiment.dims)}")
        for dim in experiment.dims:
            strays = [v for v in cell[dim] if v not in grid[dim]]
            if strays:
                raise PluginError(f"{where} returned a cell with {dim} = {strays[0]!r}, which is not in the grid "
                                  f"{list(grid[dim])}")
        for point in itertools.product(*(cell[d] for d in experiment.dims)):
            seen[point] = seen.get(point, 0) + 1
    points = list(itertools.product(*(grid[d] for d in experiment.dims)))
    wrong = [p for p in points if p not in seen] or [p for p in points if seen[p] > 1]
    if wrong:
        named = ", ".join(f"{d}={v!r}" for d, v in zip(experiment.dims, wrong[0]))
        raise PluginError(f"{where} puts the grid point {named} in {seen.get(wrong[0], 0)} cells; the cells "
                          "must cover the grid exactly once")


def check_device_option(experiment_cls: type[Experiment], device: str, option: str = "--device") -> None:
    """``experiment_cls.check_device(device)`` for a device given on the command line: its error
    names the option (``--device: unknown device 'gpu' ...``), not the file it overrides."""
    try:
        experiment_cls.check_device(device)
    except ConfigError as exc:
        raise ConfigError(f"{option}: {exc}") from None
