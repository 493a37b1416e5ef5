"""The one place where the study calls the finite-size-scaling API
(:mod:`statmech_nn.analysis.fss`), so that a change of its signatures is a one-place fix.

:func:`compare` fits every form to one slice and returns the posterior Datasets (as
:func:`~statmech_nn.analysis.fss.fit_fss` builds them) and the ranking: preferred form, score
difference to the runner-up and its standard error (leave-one-size-out score, ``docs/fss.md``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import xarray as xr

from ..digest import canonical_json


@dataclass(frozen=True)
class Ranking:
    preferred: str
    delta: float
    delta_se: float
    posteriors: dict[str, xr.Dataset]
    warnings: list[str]


def compare(data: xr.Dataset, var: str, err: str, *, size: str, control: str, forms: Sequence[str],
            fit_a: bool, n_walkers: int, n_tau: float, max_steps: int, seed: int, variants: bool) -> Ranking:
    """Fit ``forms`` to the points of ``data`` (``var`` ± ``err`` over ``size`` x ``control``);
    ``variants``: each form without and with its correction to scaling, the better kept. The
    fits run side by side, one process per core this process may use (``taskset`` limits them).
    The ranking's warnings are the data's and the comparison's; each kept posterior holds its
    own (a discarded variant's warnings would describe a fit the study does not report)."""
    from ..analysis.fss import compare_forms

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # kept in the ranking and the posteriors, not printed
        result = compare_forms(data, var, err=err, size_dim=size, control_dim=control, forms=tuple(forms),
                               fit_a=fit_a, n_walkers=n_walkers, n_tau=n_tau, max_steps=max_steps,
                               seed=seed, variants=variants, processes=0)
    return Ranking(str(result.preferred), float(result.delta), float(result.delta_se),
                   dict(result.results), list(result.warnings))


def collapse_figure(posterior: xr.Dataset, registry):
    """The collapse plot of a stored posterior (its form looked up in ``registry``, so a
    plugin's form draws too), titled with the study's slice (:func:`as_fitted`)."""
    from ..plotting.collapse import plot_collapse

    return plot_collapse(as_fitted(posterior), registry.scaling_form(posterior.attrs["form"]))


def corner_figure(posterior: xr.Dataset):
    """The corner plot of a stored posterior, titled with the study's slice (:func:`as_fitted`)."""
    from ..plotting.corner import plot_corner

    return plot_corner(as_fitted(posterior))


def as_fitted(posterior: xr.Dataset) -> xr.Dataset:
    """``posterior`` with the study's slice (attribute ``study_slice_json``) recorded as the
    ``select`` of its ``options_json``, which the figure titles read
    (:func:`~statmech_nn.analysis.fss.posterior.describe_slice`). The study hands the fit data
    it has already sliced, so the fit records no selection, and without this the titles would
    say "no other dimension" for one slice of a larger grid. A posterior without the attribute
    (not the study's) is returned as it is."""
    point = posterior.attrs.get("study_slice_json")
    if point is None:
        return posterior
    options = json.loads(posterior.attrs.get("options_json", "{}"))
    options["select"] = {**json.loads(point), **(options.get("select") or {})}
    return posterior.assign_attrs(options_json=canonical_json(options))
