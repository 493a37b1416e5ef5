"""``summary.json``: every number the report shows, read from the study's NetCDF files.

The report page (:mod:`.html`) formats only what this dict holds, so a number on the page is
always one of the files' values (rounded for display), never typed. Non-finite numbers are
``null``.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from ...analysis.base import json_number
from ...analysis.fss.compare import strength
from ...analysis.phases import PHASES
from ...schema import git_commit, software_versions
from ..config import ERROR_MODEL_LABELS, Study
from ..layout import slice_label


def _value(x: Any) -> Any:
    return json_number(np.asarray(x).item() if np.ndim(x) == 0 else x)


def _ranges(values: list[float], codes: list[int]) -> str:
    """``"eumentia 0-0.2; critical 0.4; dementia 0.6-0.8"``: the phases along the control dim."""
    parts: list[str] = []
    for code in dict.fromkeys(c for c in codes if c >= 0):
        at = [v for v, c in zip(values, codes) if c == code]
        span = f"{at[0]:g}" if len(at) == 1 else f"{at[0]:g}–{at[-1]:g}"
        parts.append(f"{PHASES[code]} {span}")
    return "; ".join(parts) or "unclassified"


def slice_points(da: xr.DataArray) -> list[dict[str, Any]]:
    """Every point of ``da``'s dims as ``{dim: value}``, in array order."""
    return [{d: _value(da[d].values[i]) for d, i in zip(da.dims, idx)} for idx in np.ndindex(*da.shape)]


def boundaries(phases: xr.Dataset, control: str) -> dict[str, Any]:
    """Per slice of the boundary's dims: boundary ± stderr, sign changes, phases along control."""
    boundary = phases["boundary"]
    dims = list(boundary.dims)
    order = np.argsort(phases[control].values)
    rows = []
    for point in slice_points(boundary):
        sel = phases.sel(point)
        codes = sel["phase"].transpose(control).values[order].astype(int).tolist()
        values = sel[control].values[order].astype(float).tolist()
        rows.append([*point.values(), _value(sel["boundary"].values), _value(sel["boundary_stderr"].values),
                     _value(sel["n_crossings"].values), _ranges(values, codes)])
    return {"columns": [*dims, "boundary", "boundary_stderr", "n_crossings", f"phases along {control}"],
            "rows": rows}


def phase_points(phases: xr.Dataset) -> dict[str, Any]:
    """alpha ± stderr and phase at every grid point (the numbers behind the phase diagram)."""
    alpha = phases["alpha"]
    rows = []
    for point in slice_points(alpha):
        sel = phases.sel(point)
        code = int(sel["phase"].values)
        rows.append([*point.values(), _value(sel["alpha"].values), _value(sel["alpha_stderr"].values),
                     PHASES[code] if code >= 0 else "unclassified"])
    return {"columns": [*alpha.dims, "alpha", "alpha_stderr", "phase"], "rows": rows}


def comparison_label(comp: dict[str, Any]) -> str:
    """The slice of a comparison (:func:`comparisons`) for people, whether ``a`` was fitted and
    its error model where that is not the default (independent errors)."""
    model = comp["error_model"] or "independent"
    return (slice_label(comp["slice"]) + (", fitted a" if comp["fit_a"] else "")
            + ("" if model == "independent" else f", {ERROR_MODEL_LABELS[model]}"))


def _by_term(row: xr.Dataset, var: str) -> dict[str, Any] | None:
    """``{term: value}`` of a comparison's error-shape variable; ``None`` where it has none (a
    file of an earlier version, or fewer than 2 seeds)."""
    if var not in row or not np.isfinite(row[var].values).any():
        return None
    return {str(t): _value(row[var].sel(term=t).values) for t in row["term"].values}


def _seed_errors(row: xr.Dataset) -> dict[str, Any] | None:
    """``{"method", "trend_weight"}`` of a comparison's point errors; ``None`` in a file of an
    earlier version (per-point errors then)."""
    if "seed_errors" not in row:
        return None
    return {"method": str(row["seed_errors"].values), "trend_weight": _value(row["seed_error_trend_weight"].values)}


def comparisons(ds: xr.Dataset | None, slice_dims: list[str]) -> list[dict[str, Any]]:
    """One record per FSS comparison, as stored in ``fss_comparisons.nc``."""
    if ds is None:
        return []
    out = []
    for k in range(ds.sizes["comparison"]):
        row = ds.isel(comparison=k)
        forms = {}
        for form in ds["form"].values:
            est = row["estimate"].sel(form=form)
            params = {str(p): {s: _value(est.sel(param=p, stat=s).values) for s in ds["stat"].values}
                      for p in ds["param"].values if np.isfinite(est.sel(param=p, stat="median").values)}
            forms[str(form)] = {"score": _value(row["score"].sel(form=form).values),
                                "error_scale": _value(row["error_scale"].sel(form=form).values),
                                "converged": bool(row["converged"].sel(form=form).values),
                                "params": params,
                                "posterior_file": str(row["posterior_files"].sel(form=form).values)}
        out.append({
            "id": str(row["comparison"].values),
            "slice": {d: _value(row[d].values) for d in slice_dims if d in row.coords},
            "fit_a": bool(row["fit_a"].values),
            "error_model": str(row["error_model"].values) if "error_model" in row.coords else None,
            "control_window": [_value(row["control_min"].values), _value(row["control_max"].values)],
            "boundary": _value(row["boundary"].values),
            "n_points": _value(row["n_points"].values),
            "preferred": str(row["preferred"].values),
            "delta_score": _value(row["delta_score"].values),
            "delta_se": _value(row["delta_se"].values),
            "strength": strength(float(row["delta_score"].values), float(row["delta_se"].values)),
            "forms": forms,
            "seed_errors": _seed_errors(row),
            "error_shape": _by_term(row, "error_shape"),
            "error_shape_null_q99": _by_term(row, "error_shape_null_q99"),
            "warnings": json.loads(str(row["warnings"].values)),
        })
    return out


def robustness(ds: xr.Dataset) -> dict[str, Any]:
    """The robustness table, one row per slice (rows dim and facets) of ``robustness.nc``."""
    dims = list(ds["boundary"].dims)
    params = [str(p) for p in ds["param"].values]
    columns = [*dims, "boundary", "boundary_stderr", "alpha_min", "alpha_max",
               *[f"n_{p}" for p in PHASES], "preferred", "delta_score", "delta_se", "strength"]
    for p in params:
        columns += [f"{p}_median", f"{p}_lo68", f"{p}_hi68"]
    rows = []
    for point in slice_points(ds["boundary"]):
        sel = ds.sel(point)
        row = [*point.values()] + [_value(sel[v].values) for v in ("boundary", "boundary_stderr", "alpha_min", "alpha_max")]
        row += [_value(sel["phase_count"].sel(phase_name=p).values) for p in PHASES]
        row += [str(sel["preferred"].values), _value(sel["delta_score"].values), _value(sel["delta_se"].values),
                strength(float(sel["delta_score"].values), float(sel["delta_se"].values))]
        for p in params:
            row += [_value(sel["estimate"].sel(param=p, stat=s).values) for s in ("median", "lo68", "hi68")]
        rows.append(row)
    return {"columns": columns, "rows": rows}


def study_section(study: Study) -> dict[str, Any]:
    return {"title": study.title, "question": study.question, "experiment": study.experiment_name,
            "device": study.device, "executor": study.executor, "config_sha256": study.sha256,
            "options": study.options,
            "grids": {n: {d: [_value(v) for v in vals] for d, vals in g.items()} for n, g in study.grids.items()},
            "analysis": study.analysis, "phases": study.phases, "scan": study.scan, "fss": study.fss,
            "analyzers": [{"name": e.name, "grid": e.grid, "options": e.options} for e in study.extras]}


def provenance(files: dict[str, xr.Dataset]) -> dict[str, Any]:
    """Hashes and dates of every file read, the package versions and the git commit."""
    return {"software_versions": software_versions(), "git_commit": git_commit(),
            "files": {path: {"config_sha256": ds.attrs.get("config_sha256", ""),
                             "date_created": ds.attrs.get("date_created", ""),
                             "git_commit": ds.attrs.get("git_commit", "")}
                      for path, ds in sorted(files.items())}}
