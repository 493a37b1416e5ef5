"""The study report: ``summary.json`` and ``report.html`` from a study directory's files alone.

:func:`build_report` reads the study file kept in the directory, the sweeps and every analysis
file, composes the summary (:mod:`.summary`), draws the figures (:mod:`.figures`) and writes
the page (:mod:`.html`). It computes no fit and trains nothing, so ``statmech-nn report DIR``
rebuilds the page in seconds.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import xarray as xr

from ...analysis.fss.layout import read_posterior
from ...errors import DataError
from ...io import read_netcdf, write_atomically
from ..config import Study, load_study
from ..layout import StudyLayout, slice_label
from . import figures as figs
from . import summary as summ
from .html import render


def _read(layout: StudyLayout, path: Path, *, study: Study | None = None,
          required: bool = True) -> xr.Dataset | None:
    """The analysis file (``study``: the sweep of ``study``) at ``path`` in ``layout``; absent, a
    one-line DataError if ``required``, else ``None``. A one-line DataError naming the file if
    ``statmech-nn study`` did not write it for this study (a file swapped in or copied over): a
    sweep of another experiment, an analysis file without the ``study_step`` attribute every
    study step records."""
    if not path.exists():
        if required:
            raise DataError(f"{str(path)!r} is missing: run 'statmech-nn study' first")
        return None
    ds = read_netcdf(path)
    rerun = f"rerun 'statmech-nn study' with its study file and -o {str(layout.root)!r} to rewrite it"
    title = ds.attrs.get("title", "none")
    if study is not None:
        try:
            experiment = json.loads(ds.attrs.get("config_json", "")).get("experiment")
        except (ValueError, AttributeError):
            experiment = None
        if experiment != study.experiment_name:
            raise DataError(f"{str(path)!r} is not a sweep of the study's experiment {study.experiment_name!r} "
                            f"(its title: {title!r}): {rerun}")
    elif "study_step" not in ds.attrs:
        raise DataError(f"{str(path)!r} was not written by 'statmech-nn study' (it has no study_step attribute; "
                        f"its title: {title!r}): {rerun}")
    return ds


def build_report(root: str | Path, *, registry=None) -> dict[str, Any]:
    """Write ``summary.json`` and ``report.html`` into ``root``; return the summary. A file that
    lacks what the report reads (written by another version) is a one-line DataError."""
    try:
        return _build_report(root, registry=registry)
    except KeyError as exc:
        raise DataError(f"{str(root)!r}: a study file lacks {exc}: it was written by another version of "
                        "statmech_nn; rerun 'statmech-nn study' on the same directory to update it") from None


def _build_report(root: str | Path, *, registry=None) -> dict[str, Any]:
    from ...plugins import get_registry

    registry = registry or get_registry()
    layout = StudyLayout(Path(root))
    if not layout.study_file.exists():
        raise DataError(f"{str(root)!r} is not a study directory: it has no study.toml "
                        "(written by 'statmech-nn study STUDY.toml -o DIR')")
    study = load_study(layout.study_file, registry=registry)
    a = study.analysis
    files: dict[str, xr.Dataset] = {}
    sweeps = {}
    for name in study.grids:
        ds = _read(layout, layout.sweep(name), study=study)
        sweeps[name] = files[f"sweeps/{name}.nc"] = ds
    phases = _read(layout, layout.phases)
    files["analyses/phases.nc"] = phases
    scan = _read(layout, layout.scan, required=False)
    if scan is not None:
        files["analyses/window_scan.nc"] = scan
    comparisons = _read(layout, layout.comparisons, required=False)
    if comparisons is not None:
        files["analyses/fss_comparisons.nc"] = comparisons
    robustness = _read(layout, layout.robustness)
    files["analyses/robustness.nc"] = robustness
    slice_dims = list(phases["boundary"].dims)

    summary: dict[str, Any] = {
        "study": summ.study_section(study),
        "sweeps": {n: {"file": f"sweeps/{n}.nc", "config_sha256": ds.attrs.get("config_sha256", ""),
                       "points": int(ds[a["observable"]].count()), "dims": {d: int(s) for d, s in ds.sizes.items()}}
                   for n, ds in sweeps.items()},
        "boundaries": summ.boundaries(phases, a["control"]),
        "phase_points": summ.phase_points(phases),
        "comparisons": summ.comparisons(comparisons, slice_dims),
        "robustness": summ.robustness(robustness),
        # steps the study skipped or that failed (a study directory of an earlier version: none recorded)
        "not_computed": json.loads(robustness.attrs.get("study_notes_json", "[]")),
        "analyzers": {},
    }
    figures = figs.core_figures(study, sweeps[study.analysis_grid], phases, scan)
    posteriors = {}
    for comp in summary["comparisons"]:
        for form, info in comp["forms"].items():
            path = layout.root / "analyses" / info["posterior_file"]
            posteriors[(comp["id"], form)] = files[f"analyses/{info['posterior_file']}"] = read_posterior(path)
    figures["fss"] = figs.fss_figures(summary["comparisons"], posteriors, registry)
    figures["analyzers"] = {}
    for extra in study.extras:
        result = _read(layout, layout.extra(extra.name))
        files[f"analyses/extra/{extra.name}.nc"] = result
        shown = registry.analyzer(extra.name)().present(result, sweeps[extra.grid])
        summary["analyzers"][extra.name] = {
            "file": f"analyses/extra/{extra.name}.nc", "grid": extra.grid,
            "tables": {t.key: t.to_json() for t in shown.tables}, "warnings": list(shown.warnings)}
        figures["analyzers"][extra.name] = [(f.key, f.caption, f.figure) for f in shown.figures]
    summary["warnings"] = collect_warnings(summary) + _edited(study, robustness)
    summary["provenance"] = summ.provenance(files)
    write_atomically(layout.summary, lambda tmp: Path(tmp).write_text(json.dumps(summary, indent=1, allow_nan=False)))
    page = render(summary, figures)
    write_atomically(layout.report, lambda tmp: Path(tmp).write_text(page, encoding="utf-8"))
    return summary


def _edited(study: Study, robustness: xr.Dataset) -> list[str]:
    """A warning (also raised as a :class:`RuntimeWarning`) when ``study.toml`` is not the study the
    analyses were last computed for: ``robustness.nc``, rewritten by every run, records that
    study's ``config_sha256`` (a hand-edited file would otherwise be shown as the configuration
    of numbers it did not produce)."""
    recorded = robustness.attrs.get("config_sha256")
    if recorded in (None, study.sha256):
        return []
    message = (f"study.toml: this file (config_sha256 {study.sha256[:12]}) is not the study the analyses were "
               f"computed for ({recorded[:12]}); it was edited, or is read by another version of statmech_nn, after "
               "the run, so the configuration shown may not be what produced these numbers (rerun 'statmech-nn "
               "study' on this directory)")
    warnings.warn(message, RuntimeWarning, stacklevel=3)
    return [message]


def collect_warnings(summary: dict[str, Any]) -> list[str]:
    """Every warning of the study: several boundary crossings, each comparison's fit warnings
    and its unconverged chains, and the analyzers' own; each "WHERE: TEXT" (the report groups
    them by WHERE)."""
    out = []
    b = summary["boundaries"]
    i_cross = b["columns"].index("n_crossings")
    n_dims = i_cross - 3
    for row in b["rows"]:
        if row[i_cross] and row[i_cross] > 1:
            where = slice_label(dict(zip(b["columns"][:n_dims], row[:n_dims])))
            out.append(f"phases ({where}): alpha changes sign {row[i_cross]} times along the control "
                       "dim; the boundary is the first crossing")
    for comp in summary["comparisons"]:
        where = summ.comparison_label(comp)
        for form, info in comp["forms"].items():
            if not info["converged"]:
                out.append(f"fss ({where}): the {form} chains did not reach the requested length in "
                           "autocorrelation times")
        out += [f"fss ({where}): {w}" for w in comp["warnings"]]
    for name, info in summary["analyzers"].items():
        out += [f"{name}: {w}" for w in info["warnings"]]
    return out
