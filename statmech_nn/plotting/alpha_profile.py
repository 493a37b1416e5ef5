"""The exponent along one control dim: ``alpha`` with its standard error against ``x``, each point
drawn in its phase's colour and marker, the line ``alpha = 0``, and the boundary with its
standard error as a vertical line and band (``gid="boundary"``).

The phase diagram of a study with one row (no second control dim, or one value of it): where
:func:`~.phase_diagram.plot_phase_diagram` needs two dims, this needs one. With further dims
(``width``, ``depth`` of a robustness sweep) it draws one panel per point of them
(``gid="facet"``), each titled by its slice, as the phase diagram does.
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from ..errors import DataError
from ..schema import ordered_dims
from ._phase_style import PHASE_STYLE
from .labels import axis_label, slice_title
from .phase_diagram import MAX_FACET_DIMS, panels_legend


def plot_alpha_profile(result: xr.Dataset, *, x: str = "p_eval") -> Figure:
    """``alpha`` against ``x`` from ``result`` (the phases analyzer's output); one panel per
    point of up to two further dims with more than one value (columns: the first, rows: the
    second, in canonical order). Returns the figure."""
    for name in ("alpha", "alpha_stderr", "phase"):
        if name not in result.data_vars:
            raise DataError(f"result has no variable {name!r}: pass the output of the phases analyzer")
    alpha = result["alpha"]
    if x not in alpha.dims:
        raise DataError(f"an alpha profile needs alpha along {x!r}; it has dims ({', '.join(alpha.dims)})")
    facets = ordered_dims(d for d in alpha.dims if d != x and alpha.sizes[d] > 1)
    if len(facets) > MAX_FACET_DIMS:
        raise DataError(f"an alpha profile shows at most {MAX_FACET_DIMS} more dims; alpha also varies over "
                        f"{', '.join(f'{d}={alpha.sizes[d]}' for d in facets)}: select one value of {facets[-1]}")
    cols = result[facets[0]].values if facets else [None]
    rows = result[facets[1]].values if len(facets) > 1 else [None]
    fig = Figure(figsize=(4.3 * len(cols) + 0.6, 3.4 * len(rows) + 0.6), layout="constrained")
    axes = fig.subplots(len(rows), len(cols), squeeze=False, sharex=True, sharey=True)
    for (i, r), (j, c) in itertools.product(enumerate(rows), enumerate(cols)):
        point = {d: v for d, v in zip(facets, (c, r)) if v is not None}
        panel = result.sel(point)
        ax = axes[i, j]
        fixed = [d for d, n in panel.sizes.items() if n == 1 and d != x]
        draw_alpha_profile(ax, panel.squeeze(fixed, drop=True), x=x)
        if facets:
            ax.set_gid("facet")
        ax.set_title(slice_title(result, point), fontsize="medium")
        if i < len(rows) - 1:
            ax.set_xlabel("")
        if j > 0:
            ax.set_ylabel("")
    panels_legend(fig, list(axes.flat))
    return fig


def draw_alpha_profile(ax: Axes, result: xr.Dataset, *, x: str) -> None:
    """Draw one profile (``result`` varies over ``x`` only) on ``ax``."""
    xs = result[x].values
    alpha, err = result["alpha"].values, result["alpha_stderr"].values
    codes = result["phase"].values
    ax.axhline(0.0, color="0.5", lw=0.8, zorder=0)
    ax.plot(xs, alpha, color="0.6", lw=0.8, zorder=1)
    for code in np.unique(codes):
        name, colour, marker = PHASE_STYLE[int(code)]
        at = codes == code
        ax.errorbar(xs[at], alpha[at], yerr=err[at], fmt=marker, color=colour, ms=6, capsize=2, label=name,
                    zorder=2)
    boundary = float(result["boundary"]) if "boundary" in result else float("nan")
    if np.isfinite(boundary):
        spread = float(result["boundary_stderr"]) if "boundary_stderr" in result else float("nan")
        ax.axvline(boundary, color="black", ls="--", lw=1.0, gid="boundary", label="boundary (alpha = 0)")
        if np.isfinite(spread):
            ax.axvspan(boundary - spread, boundary + spread, color="black", alpha=0.1, lw=0)
    ax.set_xlabel(axis_label(result[x]))
    ax.set_ylabel(axis_label(result["alpha"]))
