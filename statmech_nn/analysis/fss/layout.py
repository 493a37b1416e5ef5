"""The posterior on disk: ArviZ InferenceData groups, so ArviZ reads the file with no massaging.

A fit (:func:`~.api.fit_fss`) is one flat ``xarray.Dataset`` in memory (:mod:`.posterior`).
:func:`to_inference_tree` splits it into the groups of the InferenceData schema plus one of our
own, and :func:`from_inference_tree` joins them back::

    /                  attributes of the fit (form, options, warnings, convergence, ...)
    /posterior         one variable per parameter, dims (chain, draw), natural units
    /sample_stats      lp (log posterior)
    /log_likelihood    size_given_others (chain, draw, size): ln p(y_k | y_-k, theta)
    /observed_data     the fitted points: obs_y, obs_err, obs_control, obs_size, obs_index (point)
    /fss_summary       summary(param, stat), correlation, tau, acceptance, elpd, pareto_k

So ``arviz.from_netcdf(path)`` gives an InferenceData on which ``az.summary``, ``az.plot_trace``,
``az.loo`` (PSIS over held-out sizes: the score of :mod:`.compare`) and ``az.compare`` work. A
comparison file holds one such tree per form under a group named after the form (read one
with ``arviz.InferenceData.from_netcdf(path, base_group=FORM)``) and the comparison in the root
attribute ``comparison_json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import xarray as xr

from ...errors import DataError
from ...io import netcdf_read_error, read_netcdf
from .posterior import HELD_OUT

SUMMARY_GROUP = "fss_summary"
_STATS_VARS = ("lp",)
_OBSERVED = ("obs_control", "obs_size", "obs_y", "obs_err", "obs_index")
_SUMMARY = ("summary", "correlation", "tau", "acceptance", "elpd", "pareto_k")


def to_inference_tree(posterior: xr.Dataset) -> xr.DataTree:
    """The groups above from a posterior Dataset of :func:`~.api.fit_fss`."""
    params = [str(p) for p in posterior["param"].values]
    groups = {
        "posterior": posterior[params].drop_vars([c for c in posterior[params].coords if c not in ("chain", "draw")]),
        "sample_stats": posterior[list(_STATS_VARS)],
        "log_likelihood": posterior[[HELD_OUT]],
        "observed_data": posterior[list(_OBSERVED)],
        SUMMARY_GROUP: posterior[list(_SUMMARY)],
    }
    tree = {"/": xr.Dataset(attrs=dict(posterior.attrs))}
    for name, group in groups.items():
        tree[f"/{name}"] = group.drop_attrs(deep=False)
    return xr.DataTree.from_dict(tree)


def from_inference_tree(tree: xr.DataTree) -> xr.Dataset:
    """The flat posterior Dataset back from :func:`to_inference_tree`'s groups."""
    missing = [g for g in ("posterior", "sample_stats", "log_likelihood", "observed_data", SUMMARY_GROUP)
               if g not in tree.children]
    if missing or "form" not in tree.attrs:
        raise DataError("not a posterior written by 'statmech-nn analyze fss -o' (no group "
                        f"{missing[0] if missing else 'attributes'!r})")
    parts = [tree[g].to_dataset() for g in ("posterior", "sample_stats", "log_likelihood", "observed_data",
                                             SUMMARY_GROUP)]
    merged = xr.merge(parts, combine_attrs="override")
    merged.attrs = dict(tree.attrs)
    return merged


def read_posterior(path, group: str | None = None) -> xr.Dataset:
    """The posterior Dataset of an ``analyze fss -o`` file; ``group``: the form of a comparison
    file. One-line :class:`DataError` for anything else."""
    read_netcdf(path)                          # one-line errors for a missing or unreadable file
    try:
        with xr.open_datatree(path, engine="netcdf4") as opened:   # closed again: HDF5 must not see it open twice
            tree = opened.load().copy()
    except (OSError, ValueError, RuntimeError) as exc:         # e.g. a damaged group: its checksum fails
        raise DataError(netcdf_read_error(Path(path), exc)) from None
    if "comparison_json" in tree.attrs and group is None:
        preferred = json.loads(tree.attrs["comparison_json"])["preferred"]
        raise DataError(f"{str(path)!r} holds a comparison of forms: choose one with --group (e.g. --group {preferred})")
    if group is not None:
        if group not in tree.children:
            raise DataError(f"{str(path)!r} has no group {group!r} (groups: {', '.join(tree.children) or 'none'})")
        tree = tree[group]
    return from_inference_tree(tree)
