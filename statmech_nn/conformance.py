"""Conformance checks a plugin author runs against their own experiment (cf. scikit-learn's
estimator checks)::

    from statmech_nn.testing import check_experiment
    check_experiment(MyExperiment, grid={"p": [0.5], "L": [8]})

Each check raises :class:`~statmech_nn.errors.DataError` with a one-line message saying which
part of the contract (``docs/data_model.md``) is violated; a result that differs between two runs
of the same cell raises xarray's ``AssertionError`` listing the differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from .errors import DataError
from .experiment import Experiment, cell_points
from .schema import validate_dataset


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise DataError(message)


def check_experiment(experiment_cls: type[Experiment], grid: Mapping[str, Any],
                     options: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Run every cell of a (small) grid twice and check the contract; return the first cell.

    ``grid``: values per dimension (missing dims take ``default_grid``); ``options``: option
    sections as in a sweep file. Checked: a str ``name`` and non-empty ``dims``, each with a
    default; ``plan`` covers the grid exactly; each ``run_cell(cell)`` (called without a progress
    callback, which ``run_cell`` must allow) has the cell's coordinates and passes
    :func:`~statmech_nn.schema.validate_dataset`; where the class declares ``variables``, they are
    exactly the result's data variables; a fresh instance gives identical numbers.
    """
    _require(isinstance(getattr(experiment_cls, "name", None), str), "experiment class needs a str 'name'")
    _require(bool(experiment_cls.dims), "experiment class needs non-empty 'dims'")
    for dim in experiment_cls.dims:
        _require(dim in experiment_cls.default_grid, f"default_grid lacks dimension {dim!r}")
    experiment = experiment_cls(options)
    cells = experiment.plan(experiment.validate_grid(grid))
    _require(bool(cells), "plan() returned no cells")
    covered = sum(cell_points(c) for c in cells)
    expected = cell_points(experiment.validate_grid(grid))
    _require(covered == expected, f"plan() cells cover {covered} grid points, the grid has {expected}")
    first = None
    for cell in cells:
        ds = experiment.run_cell(cell)
        for dim, values in cell.items():
            _require(dim in ds.coords, f"run_cell result lacks coordinate {dim!r}")
            _require(list(ds[dim].values) == list(values), f"coordinate {dim!r} differs from the cell")
        validate_dataset(ds)
        declared = set(getattr(experiment_cls, "variables", ()) or ())
        _require(not declared or declared == set(map(str, ds.data_vars)),
                 f"run_cell wrote the variables {sorted(map(str, ds.data_vars))}, but 'variables' declares "
                 f"{sorted(declared)}")
        again = experiment_cls(options).run_cell(cell)
        xr.testing.assert_identical(ds, again)  # reproducible: same config + seed, same numbers
        first = ds if first is None else first
    return first
