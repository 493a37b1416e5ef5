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
    for combo in combos:
        point = dict(zip(others, combo))
        row = scan.sel(point)
        label = ", ".join(f"{d}={v:g}" for d, v in point.items()) or scan.attrs.get("var", "alpha")
        ax.errorbar(centre, row["alpha"].values, yerr=row["alpha_stderr"].values, marker="o",
                    capsize=2, label=label, gid="scan")
    ax.axhline(0.0, color="0.3", lw=0.8, ls="--")
    ax.set_xscale("log")
    size_dim = scan.attrs.get("size_dim", "N")
    ax.set_xlabel(f"centre of the fit window, sqrt({size_dim}_min {size_dim}_max)")
    ax.set_ylabel(f"power-law exponent alpha of {scan.attrs.get('var', 'y')}")
    ax.set_title(f"alpha vs {scan.attrs.get('scan_mode', '')} fit window".replace("  ", " "))
    if len(combos) > 1:
        ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig
