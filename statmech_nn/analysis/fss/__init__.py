"""Finite-size scaling with emcee posteriors: a Gaussian-process collapse likelihood.

Public API::

    from statmech_nn.analysis.fss import fit_fss, compare_forms, summarize, collapse_dataset

    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, seed=1)   # known truth
    post = fit_fss(ds, "y", err="y_err", size_dim="L", control_dim="p", form="second_order")
    summarize(post)["params"]["nu"]          # {"median": ..., "lo": ..., "hi": ..., ...}
    compare_forms(ds, "y", err="y_err", size_dim="L", control_dim="p").preferred

Modules: :mod:`.forms` (scaling forms and the table of built-in ones), :mod:`.basis` (the
Gaussian process in O(n m): reduced-rank basis), :mod:`.likelihood` (the collapse likelihood,
overlap), :mod:`.model` (priors + overlap + likelihood), :mod:`.sampler` (MAP seeding + emcee),
:mod:`.compare` (leave-one-size-out score, PSIS, Pareto k), :mod:`.posterior` (result Dataset,
summary), :mod:`.layout` (the file as ArviZ InferenceData groups), :mod:`.api` (xarray-facing
functions), :mod:`.synthetic` (data with known truth), :mod:`.error_shape` (which per-size error terms
replicas call for), :mod:`.bench` (timing command). The formulas and choices are in ``docs/fss.md``.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

from ...errors import ConfigError
from .._options import check_option_names
from ..base import Analyzer
from .api import Comparison, compare_forms, fit_fss, prepare_data
from .error_shape import error_shape
from .forms import BKT, ScalingForm, SecondOrder
from .model import CollapseData, CollapseModel, Observable
from .posterior import summarize
from .synthetic import collapse_dataset


class FSSAnalyzer(Analyzer):
    """``run(data, var=..., err=..., size_dim=..., control_dim=..., form=..., **options)``: :func:`fit_fss`."""

    name = "fss"
    summary = "finite-size-scaling collapse: emcee posterior of p_c and exponents (GP likelihood)"

    option_functions = (fit_fss,)

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        check_option_names(self.name, options, *self.option_functions)
        for required in ("var", "size_dim", "control_dim"):
            if required not in options:
                raise ConfigError(f"analyzer 'fss' needs the option {required!r} (the observable, size and control names)")
        return fit_fss(data, **options)


__all__ = [
    "BKT",
    "CollapseData",
    "CollapseModel",
    "Comparison",
    "FSSAnalyzer",
    "Observable",
    "ScalingForm",
    "SecondOrder",
    "collapse_dataset",
    "compare_forms",
    "error_shape",
    "fit_fss",
    "prepare_data",
    "summarize",
]
