"""The report's figures, drawn from the study's files (never recomputed): the faceted phase
diagram (for a study of one row, the profile of alpha along the control), loss vs size per
phase for each shape, the alpha window scan for each shape, and the collapse and corner plots
of every finite-size-scaling comparison. Each item is ``(key, caption, Figure)``; captions state
the slice shown."""

from __future__ import annotations

import itertools
from typing import Any

import xarray as xr

from ...plotting.labels import slice_title
from ..config import Study
from .summary import comparison_label

FigureList = list[tuple[str, str, Any]]


def _shapes(phases: xr.Dataset, facets: list[str]) -> list[dict[str, Any]]:
    dims = [d for d in facets if d in phases.dims]
    return [dict(zip(dims, values)) for values in itertools.product(*(phases[d].values.tolist() for d in dims))]


def core_figures(study: Study, data: xr.Dataset, phases: xr.Dataset, scan: xr.Dataset | None) -> dict[str, FigureList]:
    from ...plotting.alpha_profile import plot_alpha_profile
    from ...plotting.phase_diagram import plot_phase_diagram
    from ...plotting.scaling_curves import plot_loss_vs_n_grid
    from ...plotting.window_scan import plot_window_scan_grid

    a = study.analysis
    control, rows = a["control"], a["rows"]
    out: dict[str, FigureList] = {"phase_diagram": [], "loss_vs_n": [], "scan": []}
    facets = [d for d in a["facets"] if d in phases.dims and phases.sizes[d] > 1]
    panels = f", one panel per {' and '.join(facets)}" if facets else ""
    if phases.sizes.get(rows, 1) > 1 and phases.sizes.get(control, 1) > 1:
        fig = plot_phase_diagram(phases, x=control, y=rows)
        caption = (f"Phase diagram: alpha of {a['observable']} ~ {a['size']}^alpha over ({control}, {rows})"
                   + panels + "; squares: the boundary alpha = 0 with its standard error.")
        out["phase_diagram"].append(("phase_diagram", caption, fig))
    elif phases.sizes.get(control, 1) > 1:  # one row: no second axis, or one value of it
        fig = plot_alpha_profile(phases, x=control)
        caption = (f"Phase profile: alpha of {a['observable']} ~ {a['size']}^alpha against {control}" + panels
                   + "; bars: one standard error; dashed line and band: the boundary alpha = 0 with its "
                   "standard error.")
        out["phase_diagram"].append(("alpha_profile", caption, fig))
    for shape in _shapes(phases, a["facets"]):
        where = slice_title(phases.sel(shape)) if shape else ""
        sel_data, sel_phases = data.sel(shape), phases.sel(shape)
        fig = plot_loss_vs_n_grid(sel_data, sel_phases, var=a["observable"], size_dim=a["size"],
                                  seed_dim=a["seed"], row_dim=rows, colour_dim=control)
        out["loss_vs_n"].append((f"loss_vs_n_{where}", f"{a['observable']} vs {a['size']} per phase"
                                 + (f" ({where})" if where else "") + f"; colour: {control}; lines: the "
                                 "fitted power laws.", fig))
        if scan is not None:
            fig = plot_window_scan_grid(scan.sel(shape), col_dim=rows, colour_dim=control)
            out["scan"].append((f"scan_{where}", "alpha against the fit window"
                                + (f" ({where})" if where else "") + "; a pure power law gives flat lines.", fig))
    return out


def fss_figures(comparisons: list[dict[str, Any]], posteriors: dict[tuple[str, str], xr.Dataset],
                registry) -> dict[str, FigureList]:
    """Per comparison id: the collapse and the corner plot of each form."""
    from ..fss_adapter import collapse_figure, corner_figure

    out: dict[str, FigureList] = {}
    for comp in comparisons:
        where = comparison_label(comp)
        items = []
        for form in comp["forms"]:
            post = posteriors[(comp["id"], form)]
            items.append((f"collapse_{comp['id']}_{form}", f"Collapse, {form} ({where}).",
                          collapse_figure(post, registry)))
            items.append((f"corner_{comp['id']}_{form}", f"Posterior, {form} ({where}).", corner_figure(post)))
        out[comp["id"]] = items
    return out
