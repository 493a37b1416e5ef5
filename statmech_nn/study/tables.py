"""The study's two tables, built from the files of its steps: one entry per finite-size-scaling
comparison (:func:`comparison_dataset`, ``fss_comparisons.nc``) and one per slice of the
boundary's dims (:func:`robustness_dataset`, ``robustness.nc``). Both are cheap and rebuilt on
every run (``docs/study.md`` lists their variables)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from ..analysis.fss.error_shape import TERMS
from ..analysis.phases import AMENTIA, PHASES
from ..digest import canonical_json
from ..schema import COORD_ATTRS
from .config import ERROR_MODELS

#: the statistics of an estimate kept in the tables: posterior median and 68 % interval
STATS = ("median", "lo68", "hi68")


def _estimates(post: xr.Dataset, params: list[str]) -> np.ndarray:
    out = np.full((len(params), len(STATS)), np.nan)
    physical = json.loads(post.attrs["physical_params"])
    for i, p in enumerate(params):
        if p in physical:
            out[i] = [float(post["summary"].sel(param=p, stat=s)) for s in STATS]
    return out


def _error_scale(post: xr.Dataset) -> float:
    """Median of the fitted error scale (the first, for a joint fit), NaN when not fitted."""
    names = [str(p) for p in post["param"].values if str(p).startswith("err_scale")]
    return float(post["summary"].sel(param=names[0], stat="median")) if names else float("nan")


def _shape_values(row: dict[str, Any], var: str) -> list[float]:
    """``var`` of the row's error shape by term, NaN where there is none."""
    shape = row["error_shape"]
    return [float("nan")] * len(TERMS) if shape is None else [float(v) for v in shape[var].sel(term=list(TERMS)).values]


def comparison_dataset(rows: list[dict[str, Any]], forms: list[str]) -> xr.Dataset:
    """One entry per comparison: ranking, control window and every form's estimates."""
    params: list[str] = []
    for row in rows:
        for post in row["posteriors"].values():
            for p in json.loads(post.attrs["physical_params"]):
                if p not in params:
                    params.append(p)
    first = [next(iter(r["posteriors"].values())).attrs for r in rows]
    slice_dims = list(dict.fromkeys(d for r in rows for d in r["point"]))
    coords = {"comparison": [r["name"] for r in rows], "form": list(forms), "param": params, "stat": list(STATS),
              "term": list(TERMS)}
    for d in slice_dims:
        coords[d] = ("comparison", [r["point"].get(d, np.nan) for r in rows],
                     COORD_ATTRS.get(d, {"long_name": d, "units": "1"}))
    coords["fit_a"] = ("comparison", np.array([a["study_fit_a"] for a in first], np.int8),
                       {"long_name": "1: the y-exponent a was fitted", "units": "1"})
    coords["error_model"] = ("comparison", np.array([r["error_model"] for r in rows], object),
                             {"long_name": "error model of the fits: " + ", ".join(ERROR_MODELS)
                                           + " (docs/study.md)"})
    estimate = np.stack([[_estimates(r["posteriors"][f], params) for f in forms] for r in rows])
    data = {
        "preferred": ("comparison", np.array([a["study_preferred"] for a in first], object),
                      {"long_name": "preferred scaling form (highest leave-one-size-out score)"}),
        "delta_score": ("comparison", [float(a["study_delta_score"]) for a in first],
                        {"long_name": "score difference, preferred minus runner-up", "units": "nat"}),
        "delta_se": ("comparison", [float(a["study_delta_se"]) for a in first],
                     {"long_name": "standard error of the score difference", "units": "nat"}),
        "control_min": ("comparison", [float(a["study_control_min"]) for a in first],
                        {"long_name": "lower end of the control window", "units": "1"}),
        "control_max": ("comparison", [float(a["study_control_max"]) for a in first],
                        {"long_name": "upper end of the control window", "units": "1"}),
        "boundary": ("comparison", [float(a["study_boundary"]) for a in first],
                     {"long_name": "boundary (alpha = 0) the window is centred on", "units": "1"}),
        "n_points": ("comparison", [int(next(iter(r["posteriors"].values())).sizes["point"]) for r in rows],
                     {"long_name": "points in the fit", "units": "1"}),
        "score": (("comparison", "form"), [[float(r["posteriors"][f].attrs["score"]) for f in forms] for r in rows],
                  {"long_name": "leave-one-size-out log predictive density", "units": "nat"}),
        "error_scale": (("comparison", "form"), [[_error_scale(r["posteriors"][f]) for f in forms] for r in rows],
                        {"long_name": "posterior median of the error scale (1: the seed errors explain the scatter)",
                         "units": "1"}),
        "converged": (("comparison", "form"),
                      np.array([[int(r["posteriors"][f].attrs["converged"]) for f in forms] for r in rows], np.int8),
                      {"long_name": "1: chains longer than n_tau autocorrelation times", "units": "1"}),
        "estimate": (("comparison", "form", "param", "stat"), estimate,
                     {"long_name": "posterior median and 68 % interval (16th, 84th percentiles)", "units": "1"}),
        "error_shape": (("comparison", "term"), [_shape_values(r, "pooled_fraction") for r in rows],
                        {"long_name": "seed-to-seed deviations of each size's curve: energy fraction by "
                                      "Legendre term along the control axis, pooled over sizes", "units": "1"}),
        "error_shape_null_q99": (("comparison", "term"), [_shape_values(r, "pooled_null_q99") for r in rows],
                                 {"long_name": "99th percentile of error_shape under independent errors",
                                  "units": "1"}),
        "seed_errors": ("comparison", np.array([r["seed_errors"] for r in rows], object),
                        {"long_name": "how the points' errors were taken from the seeds: 'moderated' (empirical "
                                      "Bayes, towards a per-size trend) or 'per_point'"}),
        "seed_error_trend_weight": ("comparison", [float(r["trend_weight"]) for r in rows],
                                    {"long_name": "share of each point's error variance taken from the per-size "
                                                  "trend, d0 / (d0 + n_seeds - 1) (1: the trend alone)",
                                     "units": "1"}),
        "warnings": ("comparison", np.array([canonical_json(sorted(set(
            json.loads(a["study_warnings_json"]) + r["hints"] + [w for f in forms for w in json.loads(
                r["posteriors"][f].attrs.get("warnings_json", "[]"))])))
            for a, r in zip(first, rows)], object), {"long_name": "warnings of the fits, the error shape and "
                                                                  "the seed count (JSON list)"}),
        "posterior_files": (("comparison", "form"), np.array(
            [[r["files"][f] for f in forms] for r in rows], object),
            {"long_name": "posterior file, relative to the analyses folder"}),
    }
    return xr.Dataset(data, coords=coords)


def robustness_dataset(phases: xr.Dataset, comparisons: xr.Dataset | None, control: str,
                       primary_fit_a: bool, primary_error_model: str) -> xr.Dataset:
    """Per slice of the boundary's dims: boundary, alpha range and phase counts along
    ``control``, and, where a comparison of the primary fit_a variant and error model (the first
    of each list) exists, its ranking and the preferred form's estimates."""
    alpha = phases["alpha"]
    learning = alpha.where(phases["phase"] != AMENTIA)
    counts = xr.concat([(phases["phase"] == code).sum(control) for code in range(len(PHASES))],
                       dim=xr.DataArray(list(PHASES), dims="phase_name", name="phase_name"))
    ds = xr.Dataset({
        "boundary": phases["boundary"], "boundary_stderr": phases["boundary_stderr"],
        "n_crossings": phases["n_crossings"],
        "alpha_min": alpha.min(control).assign_attrs(long_name=f"smallest alpha along {control}", units="1"),
        "alpha_max": alpha.max(control).assign_attrs(long_name=f"largest alpha along {control}", units="1"),
        "alpha_min_learning": learning.min(control).assign_attrs(
            long_name=f"smallest alpha along {control}, amentia left out", units="1"),
        "phase_count": counts.astype(np.int64).drop_attrs().assign_attrs(
            long_name=f"grid points of each phase along {control}", units="1"),
    })
    dims = list(phases["boundary"].dims)
    shape = tuple(ds.sizes[d] for d in dims)
    preferred = np.full(shape, "", object)
    delta = np.full(shape, np.nan)
    delta_se = np.full(shape, np.nan)
    params = [] if comparisons is None else [str(p) for p in comparisons["param"].values]
    estimate = np.full(shape + (len(params), len(STATS)), np.nan)
    if comparisons is not None:
        for k in range(comparisons.sizes["comparison"]):
            row = comparisons.isel(comparison=k)
            idx = _table_cell(ds, dims, row)
            if bool(row["fit_a"]) != primary_fit_a or str(row["error_model"].values) != primary_error_model \
                    or idx is None:
                continue
            best = str(row["preferred"].values)
            preferred[idx] = best
            delta[idx], delta_se[idx] = float(row["delta_score"]), float(row["delta_se"])
            estimate[idx] = row["estimate"].sel(form=best).values
    ds["preferred"] = (dims, preferred, {"long_name": "preferred scaling form at the boundary"})
    ds["delta_score"] = (dims, delta, {"long_name": "score difference, preferred minus runner-up", "units": "nat"})
    ds["delta_se"] = (dims, delta_se, {"long_name": "standard error of the score difference", "units": "nat"})
    ds["estimate"] = (dims + ["param", "stat"], estimate,
                      {"long_name": "preferred form: posterior median and 68 % interval", "units": "1"})
    return ds.assign_coords(param=params, stat=list(STATS))


def _table_cell(table: xr.Dataset, dims: list[str], row: xr.Dataset) -> tuple[int, ...] | None:
    """The index along ``dims`` of ``table`` of comparison ``row``'s slice, or ``None`` when
    the slice names no cell of it: a dim it leaves out (NaN, see :func:`comparison_dataset`)
    or a value not on the table's grid."""
    idx = []
    for d in dims:
        value = float(row[d]) if d in row.coords else float("nan")
        hits = np.flatnonzero(np.isclose(table[d].values.astype(float), value))
        if not hits.size:
            return None
        idx.append(int(hits[0]))
    return tuple(idx)
