"""The one place where the study calls the finite-size-scaling API
(:mod:`statmech_nn.analysis.fss`), so that a change of its signatures is a one-place fix.

:func:`compare` fits every form to one slice and returns the posterior Datasets (as
:func:`~statmech_nn.analysis.fss.fit_fss` builds them) and the ranking: preferred form, score
difference to the runner-up and its standard error (leave-one-size-out score, ``docs/fss.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import xarray as xr


@dataclass(frozen=True)
class Ranking:
    preferred: str
    delta: float
    delta_se: float
    posteriors: dict[str, xr.Dataset]
    warnings: list[str]


def compare(data: xr.Dataset, var: str, err: str, *, size: str, control: str, forms: Sequence[str],
            fit_a: bool, n_walkers: int, n_tau: float, max_steps: int, seed: int) -> Ranking:
    """Fit ``forms`` to the points of ``data`` (``var`` ± ``err`` over ``size`` x ``control``)."""
    from ..analysis.fss import compare_forms

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = compare_forms(data, var, err=err, size_dim=size, control_dim=control, forms=tuple(forms),
                               fit_a=fit_a, n_walkers=n_walkers, n_tau=n_tau, max_steps=max_steps,
                               seed=seed)
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    return Ranking(str(result.preferred), float(result.delta), float(result.delta_se),
                   dict(result.results), messages)


def collapse_figure(posterior: xr.Dataset, registry):
    """The collapse plot of a stored posterior (its form looked up in ``registry``, so a
    plugin's form draws too)."""
    from ..plotting.collapse import plot_collapse

    return plot_collapse(posterior, registry.scaling_form(posterior.attrs["form"]))


def corner_figure(posterior: xr.Dataset):
    from ..plotting.corner import plot_corner

    return plot_corner(posterior)
