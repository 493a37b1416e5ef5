"""The one place where the study calls the finite-size-scaling API
(:mod:`statmech_nn.analysis.fss`), so that a change of its signatures is a one-place fix.

:func:`compare` fits every form to one slice and returns the posterior Datasets (as
:func:`~statmech_nn.analysis.fss.fit_fss` builds them) and the ranking: preferred form, score
difference to the runner-up and its standard error (leave-one-size-out score, ``docs/fss.md``);
:func:`seed_error_shape` says which per-size error terms the seeds call for.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import xarray as xr

from ..digest import canonical_json


@dataclass(frozen=True)
class Ranking:
    preferred: str
    delta: float
    delta_se: float
    posteriors: dict[str, xr.Dataset]
    warnings: list[str]


def compare(data: xr.Dataset, var: str, err: str, *, size: str, control: str, forms: Sequence[Any],
            fit_a: bool, n_walkers: int, n_tau: float, max_steps: int, seed: int, variants: bool,
            size_offsets: bool, size_tilts: bool, refit: bool,
            priors: Mapping[str, Mapping[str, tuple[float, float]]] | None = None) -> Ranking:
    """Fit ``forms`` (scaling-form classes or instances; built-in names too) to the points of
    ``data`` (``var`` ± ``err`` over ``size`` x ``control``);
    ``variants``: each form without and with its correction to scaling, the better kept;
    ``size_offsets``, ``size_tilts``: the error model with one offset, one slope per size;
    ``refit``: unreliable held-out scores computed exactly; ``priors``: ``{form name: {parameter:
    (lo, hi)}}`` replacing the forms' default boxes (all
    :func:`~statmech_nn.analysis.fss.fit_fss`). The fits run side by side, one process per core
    this process may use (``taskset`` limits them). The ranking's warnings are the data's and the
    comparison's; each kept posterior holds its own (a discarded variant's warnings would describe
    a fit the study does not report)."""
    from ..analysis.fss import compare_forms

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # kept in the ranking and the posteriors, not printed
        result = compare_forms(data, var, err=err, size_dim=size, control_dim=control, forms=tuple(forms),
                               fit_a=fit_a, n_walkers=n_walkers, n_tau=n_tau, max_steps=max_steps,
                               seed=seed, variants=variants, size_offsets=size_offsets, size_tilts=size_tilts,
                               refit=refit, priors=priors, processes=0)
    return Ranking(str(result.preferred), float(result.delta), float(result.delta_se),
                   dict(result.results), list(result.warnings))


def seed_error_shape(y: xr.DataArray, *, size: str, control: str, seed: str, size_offsets: bool,
                     size_tilts: bool) -> tuple[xr.Dataset | None, list[str]]:
    """The shape of the seed-to-seed deviations of each size's curve
    (:func:`~statmech_nn.analysis.fss.error_shape`) of ``y`` over ``size`` x ``control`` x
    ``seed``, and a warning for each term the error model lacks that the deviations exceed their
    independent-error 99th percentile in; ``(None, [])`` with fewer than 2 seeds or no size with
    3 points in every seed."""
    from ..analysis.fss.error_shape import error_model_hints, error_shape
    from ..errors import DataError

    if y.sizes.get(seed, 0) < 2:
        return None, []
    try:
        shape = error_shape(y, size_dim=size, control_dim=control, replica_dim=seed)
    except DataError:
        return None, []
    return shape, error_model_hints(shape, size_offsets=size_offsets, size_tilts=size_tilts)


def collapse_figure(posterior: xr.Dataset, registry):
    """The collapse plot of a stored posterior (its form looked up in ``registry``, so a
    plugin's form draws too); the title names the study's slice (:func:`with_slice`)."""
    from ..plotting.collapse import plot_collapse

    return plot_collapse(posterior, registry.scaling_form(posterior.attrs["form"]))


def corner_figure(posterior: xr.Dataset):
    """The corner plot of a stored posterior; the title names the study's slice."""
    from ..plotting.corner import plot_corner

    return plot_corner(posterior)


def with_slice(posterior: xr.Dataset, point: Mapping[str, Any]) -> xr.Dataset:
    """``posterior`` with the study's slice ``point`` recorded as the ``select`` of its
    ``options_json``, where the figure titles read it
    (:func:`~statmech_nn.analysis.fss.posterior.describe_slice`), as a fit of the whole grid
    with that selection records it. The study hands the fit data it has already sliced, so the
    fit records no selection, and without this every reader of the file (the report, `statmech-nn
    plot collapse`) would title one slice of a larger grid "no other dimension"."""
    options = json.loads(posterior.attrs.get("options_json", "{}"))
    options["select"] = {**dict(point), **(options.get("select") or {})}
    return posterior.assign_attrs(options_json=canonical_json(options))
