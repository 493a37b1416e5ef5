"""Conformance checks a plugin author runs against their own experiment (cf. scikit-learn's
estimator checks)::

    from statmech_nn.testing import check_experiment
    check_experiment(MyExperiment, grid={"p": [0.5], "L": [8]})

Each check raises :class:`~statmech_nn.errors.PluginError` with a one-line message saying which
part of the contract (``docs/data_model.md``) is violated -- the checks a sweep makes too, so a
plugin that passes here is not refused there; a result that differs between two runs
of the same cell raises xarray's ``AssertionError`` listing the differences.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import xarray as xr

from .errors import PluginError
from .executor import check_cell_result
from .experiment import Experiment, check_plan


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PluginError(message)


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
    full_grid = experiment.validate_grid(grid)
    cells = experiment.plan(full_grid)
    check_plan(experiment, full_grid, cells)
    first = None
    for cell in cells:
        ds = experiment.run_cell(cell)
        check_cell_result(experiment, cell, ds)
        again = experiment_cls(options).run_cell(cell)
        xr.testing.assert_identical(ds, again)  # reproducible: same config + seed, same numbers
        first = ds if first is None else first
    return first
