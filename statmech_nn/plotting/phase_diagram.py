"""The phase diagram: ``alpha`` as colour over two control dims, phases and boundary marked.

Colour: ``alpha`` on a diverging map centred on 0 (blue: eumentia side, red: dementia side).
Markers (``gid="phase-<name>"``) on amentia, critical and unclassified points; the boundary
(its line has ``gid="boundary"``) is drawn with its standard errors when ``result`` has one
along ``x`` or ``y``. Axis and colour-bar labels come from CF attributes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..analysis.phases import AMENTIA, CRITICAL, UNCLASSIFIED
from ..errors import DataError
from ._phase_style import PHASE_STYLE
from .labels import axis_label


def cell_edges(centres: np.ndarray) -> np.ndarray:
    """Edges of cells around sorted ``centres``: midpoints, and half a step beyond each end."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def plot_phase_diagram(result: xr.Dataset, *, x: str = "p_eval", y: str = "p_train",
                       ax: Axes | None = None) -> Figure:
    """Draw the phase diagram of ``result`` (output of the phases analyzer) on ``ax`` (a new
    figure when None); ``alpha`` must vary over exactly ``x`` and ``y`` (size-1 dims are
    dropped). Returns the figure."""
    for name in ("alpha", "phase"):
        if name not in result.data_vars:
            raise DataError(f"result has no variable {name!r}: pass the output of the phases "
                            "analyzer")
    alpha = result["alpha"].squeeze(drop=True)
    if set(alpha.dims) != {x, y}:
        raise DataError(
            f"a phase diagram needs alpha over exactly ({x}, {y}); it has dims "
            f"({', '.join(f'{d}={alpha.sizes[d]}' for d in alpha.dims)}): select one value of "
            "each other dim")
    alpha = alpha.sortby([y, x]).transpose(y, x)
    phase = result["phase"].squeeze(drop=True).sortby([y, x]).transpose(y, x)
    if ax is None:
        fig = Figure(figsize=(5.6, 4.4), layout="constrained")
        ax = fig.add_subplot()
    fig = ax.figure
    xs, ys = alpha[x].values.astype(float), alpha[y].values.astype(float)
    top = float(np.nanmax(np.abs(alpha.values))) if np.isfinite(alpha.values).any() else 1.0
    top = top or 1.0
    mesh = ax.pcolormesh(cell_edges(xs), cell_edges(ys), alpha.values, cmap="RdBu_r",
                         norm=TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top))
    fig.colorbar(mesh, ax=ax, label=axis_label(result["alpha"]))
    gx, gy = np.meshgrid(xs, ys)
    for code in (AMENTIA, CRITICAL, UNCLASSIFIED):
        where = phase.values == code
        if where.any():
            name, _, marker = PHASE_STYLE[code]
            style = {"facecolors": "none", "edgecolors": "black"} if marker == "o" \
                else {"color": "black"}
            ax.scatter(gx[where], gy[where], marker=marker, label=name, gid=f"phase-{name}",
                       **style)
    _draw_boundary(ax, result, x, y)
    ax.set_xlabel(axis_label(result[x]))
    ax.set_ylabel(axis_label(result[y]))
    ax.set_xlim(cell_edges(xs)[[0, -1]])
    ax.set_ylim(cell_edges(ys)[[0, -1]])
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize="small")
    return fig


def _draw_boundary(ax: Axes, result: xr.Dataset, x: str, y: str) -> None:
    control = result.attrs.get("boundary_control_dim", "")
    if "boundary" not in result.data_vars or control not in (x, y):
        return
    other = y if control == x else x
    boundary = result["boundary"].squeeze(drop=True)
    if boundary.dims != (other,):
        return
    stderr = result["boundary_stderr"].squeeze(drop=True).sortby(other).values
    boundary = boundary.sortby(other)
    at, b = boundary[other].values.astype(float), boundary.values
    ok = np.isfinite(b)
    if not ok.any():
        return
    style = {"fmt": "s-", "color": "black", "ms": 4, "capsize": 2, "label": "boundary (alpha = 0)"}
    if control == x:
        bars = ax.errorbar(b[ok], at[ok], xerr=stderr[ok], **style)
    else:
        bars = ax.errorbar(at[ok], b[ok], yerr=stderr[ok], **style)
    bars.lines[0].set_gid("boundary")
