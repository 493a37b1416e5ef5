"""How the fitted exponent drifts with the fit window: ``alpha`` ± stderr against the window's
geometric centre ``sqrt(N_min N_max)``, one line per point of the other dims, with the
``alpha = 0`` line that separates learning from forgetting. A pure power law gives flat
lines; a crossover (loss falling, then rising) gives lines that cross zero. Lines carry
``gid="scan"``.
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.figure import Figure

from ..errors import DataError

MAX_LINES = 12


def plot_window_scan(scan: xr.Dataset, *, ax=None) -> Figure:
    """Draw the output of :func:`statmech_nn.analysis.powerlaw.window_scan`; return the figure."""
    for name in ("alpha", "alpha_stderr", "window_min", "window_max"):
        if name not in scan.variables:
            raise DataError(f"scan has no {name!r}: pass the output of window_scan (analyze powerlaw --scan)")
    others = [d for d in scan["alpha"].dims if d != "window"]
    combos = list(itertools.product(*(scan[d].values for d in others)))
    if len(combos) > MAX_LINES:
        raise DataError(f"{len(combos)} curves ({' x '.join(others)}) are too many for one figure "
                        f"(at most {MAX_LINES}): select fewer, e.g. --select {others[0]}=VALUE")
    if ax is None:
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    centre = np.sqrt(scan["window_min"].values * scan["window_max"].values)
    varying = [d for d in others if scan.sizes[d] > 1]      # a dim with one value is in the title
    shade = colormaps["viridis"] if len(varying) == 1 else None   # one ordered dim: ordered colours
    for i, combo in enumerate(combos):
        point = dict(zip(others, combo))
        row = scan.sel(point)
        label = ", ".join(f"{d}={point[d]:g}" for d in varying) or scan.attrs.get("var", "alpha")
        colour = None if shade is None else shade(0.9 * i / max(len(combos) - 1, 1))
        ax.errorbar(centre, row["alpha"].values, yerr=row["alpha_stderr"].values, marker="o",
                    capsize=2, label=label, color=colour, gid="scan")
    ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    size_dim = scan.attrs.get("size_dim", "N")
    ax.set_xlabel(f"centre of the fit window, sqrt({size_dim}_min {size_dim}_max)")
    ax.set_ylabel(f"power-law exponent alpha of {scan.attrs.get('var', 'y')}")
    from .labels import slice_title

    where = slice_title(scan.drop_vars(["window_min", "window_max"], errors="ignore"))
    ax.set_title((f"alpha vs {scan.attrs.get('scan_mode', '')} fit window".replace("  ", " ")
                  + (f"\n{where}" if where else "")), fontsize="medium")
    if len(combos) > 1:
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def plot_window_scan_grid(scan: xr.Dataset, *, col_dim: str = "p_train", colour_dim: str = "p_eval") -> Figure:
    """One panel per value of ``col_dim``, one line per value of ``colour_dim`` (viridis, one
    shared legend); every other dim must have one value (stated in the title). Panels carry
    ``gid="scan-panel"``."""
    from matplotlib.lines import Line2D

    from .labels import format_value, slice_title

    for name in ("alpha", "alpha_stderr", "window_min", "window_max"):
        if name not in scan.variables:
            raise DataError(f"scan has no {name!r}: pass the output of window_scan (analyze powerlaw --scan)")
    dims = [d for d in scan["alpha"].dims if d != "window"]
    extra = [d for d in dims if d not in (col_dim, colour_dim) and scan.sizes[d] > 1]
    if extra:
        raise DataError(f"window-scan grid: select one value of {', '.join(extra)}")
    cols = scan[col_dim].values if col_dim in dims else [None]
    shades = scan[colour_dim].values if colour_dim in dims else [None]
    cmap = colormaps["viridis"]
    colours = {v: cmap(0.9 * i / max(len(shades) - 1, 1)) for i, v in enumerate(shades)}
    fig = Figure(figsize=(3.6 * len(cols) + 1.8, 3.4), layout="constrained")
    axes = fig.subplots(1, len(cols), squeeze=False, sharey=True)[0]
    centre = np.sqrt(scan["window_min"].values * scan["window_max"].values)
    size_dim = scan.attrs.get("size_dim", "N")
    for ax, c in zip(axes, cols):
        ax.set_gid("scan-panel")
        for v in shades:
            point = {d: x for d, x in ((col_dim, c), (colour_dim, v)) if x is not None}
            row = scan.sel(point).squeeze(drop=True)
            ax.errorbar(centre, row["alpha"].values, yerr=row["alpha_stderr"].values, marker="o", ms=3,
                        capsize=2, color=colours[v], gid="scan")
        ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel(f"window centre sqrt({size_dim}_min {size_dim}_max)")
        if c is not None:
            ax.set_title(f"{col_dim} = {format_value(c)}", fontsize="small")
    axes[0].set_ylabel(f"exponent alpha of {scan.attrs.get('var', 'y')}")
    if shades[0] is not None:
        fig.legend(handles=[Line2D([], [], color=colours[v], marker="o", ms=4,
                                   label=f"{colour_dim} = {format_value(v)}") for v in shades],
                   loc="outside right center", fontsize="small")
    title = slice_title(scan.drop_vars(["window_min", "window_max"], errors="ignore"))
    mode = scan.attrs.get("scan_mode", "")
    fig.suptitle(f"alpha vs {mode} fit window of {scan.attrs.get('scan_points', '')} sizes"
                 + (f" ({title})" if title else ""), fontsize="medium")
    return fig
