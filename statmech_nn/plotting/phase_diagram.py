"""The phase diagram: ``alpha`` as colour over two control dims, phases named, boundary drawn.

Colour: ``alpha`` on a diverging map centred on 0 (blue: eumentia side, red: dementia side).
Cells are drawn only over the measured rates (the outer cells end at the first and last grid
value, so no axis shows an unmeasured rate such as a negative ``p_eval``). Each phase present is
named on the map (``Text`` with ``gid="label-<name>"``) at the cell of that phase farthest from
any other phase; amentia, critical and unclassified points also carry markers
(``gid="phase-<name>"``). The boundary (its line has ``gid="boundary"``) is drawn with its
standard errors when ``result`` has one along ``x`` or ``y``. Axis and colour-bar labels come
from CF attributes.

With one or two more dims (``width``, ``depth`` of a robustness sweep), :func:`plot_phase_diagram`
draws one panel per value (rows: the second extra dim, columns: the first), sharing one colour
scale and one colour bar; each panel's title states its slice (``width = 32, depth = 4``).
"""

from __future__ import annotations

import itertools

import numpy as np
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure

from ..analysis.phases import AMENTIA, CRITICAL, UNCLASSIFIED
from ..errors import DataError
from ..schema import ordered_dims
from ._phase_style import PHASE_STYLE
from .labels import axis_label, slice_title

MAX_FACET_DIMS = 2


def cell_edges(centres: np.ndarray, *, clip: bool = False) -> np.ndarray:
    """Edges of cells around sorted ``centres``: midpoints, and half a step beyond each end
    (``clip=True``: the ends are the first and last centre, so only measured values are drawn)."""
    c = np.asarray(centres, float)
    if len(c) == 1:
        return np.array([c[0] - 0.5, c[0] + 0.5])
    mid = (c[1:] + c[:-1]) / 2
    if clip:
        return np.concatenate([[c[0]], mid, [c[-1]]])
    return np.concatenate([[c[0] - (mid[0] - c[0])], mid, [c[-1] + (c[-1] - mid[-1])]])


def _check(result: xr.Dataset) -> None:
    for name in ("alpha", "phase"):
        if name not in result.data_vars:
            raise DataError(f"result has no variable {name!r}: pass the output of the phases "
                            "analyzer")


def facet_dims(result: xr.Dataset, x: str, y: str) -> list[str]:
    """Dims of ``alpha`` beyond ``x`` and ``y`` with more than one value, in canonical order
    (``width`` before ``depth``: columns, then rows)."""
    alpha = result["alpha"].squeeze(drop=True)
    for dim in (x, y):
        if dim not in alpha.dims:
            raise DataError(f"a phase diagram needs alpha over ({x}, {y}); it has dims "
                            f"({', '.join(f'{d}={alpha.sizes[d]}' for d in alpha.dims)})")
    return ordered_dims(d for d in alpha.dims if d not in (x, y))


def alpha_norm(alpha: xr.DataArray) -> TwoSlopeNorm:
    """Diverging colour scale centred on 0, symmetric over the largest |alpha|."""
    values = np.asarray(alpha.values, float)
    top = float(np.nanmax(np.abs(values))) if np.isfinite(values).any() else 1.0
    top = top or 1.0
    return TwoSlopeNorm(vcenter=0.0, vmin=-top, vmax=top)


def plot_phase_diagram(result: xr.Dataset, *, x: str = "p_eval", y: str = "p_train",
                       ax: Axes | None = None) -> Figure:
    """Draw the phase diagram of ``result`` (output of the phases analyzer): on ``ax`` (or a
    new figure) when ``alpha`` varies over exactly ``x`` and ``y``; faceted over up to two
    further dims otherwise (``ax`` must then be None). Returns the figure."""
    _check(result)
    extra = facet_dims(result, x, y)
    if not extra:
        if ax is None:
            fig = Figure(figsize=(5.8, 4.6), layout="constrained")
            ax = fig.add_subplot()
        mesh = draw_phase_panel(ax, result.squeeze(drop=True), x=x, y=y, norm=alpha_norm(result["alpha"]))
        ax.figure.colorbar(mesh, ax=ax, label=axis_label(result["alpha"]))
        ax.set_title(slice_title(result), fontsize="medium")  # the fixed dims, e.g. width = 128
        panels_legend(ax.figure, [ax])
        return ax.figure
    if ax is not None:
        raise DataError(f"a phase diagram on one axes needs alpha over exactly ({x}, {y}); it also "
                        f"varies over {', '.join(f'{d}={result.sizes[d]}' for d in extra)}: select "
                        "one value of each, or let it facet (ax=None)")
    return plot_phase_facets(result, x=x, y=y, facets=extra)


def plot_phase_facets(result: xr.Dataset, *, x: str = "p_eval", y: str = "p_train",
                      facets: list[str] | None = None) -> Figure:
    """One panel per point of ``facets`` (at most two dims: columns, then rows), one shared
    colour scale and colour bar. Panels have ``gid="facet"``; their titles state the slice."""
    _check(result)
    facets = facet_dims(result, x, y) if facets is None else list(facets)
    if len(facets) > MAX_FACET_DIMS:
        raise DataError(f"a faceted phase diagram shows at most {MAX_FACET_DIMS} more dims; alpha also "
                        f"varies over {', '.join(f'{d}={result.sizes[d]}' for d in facets)}: select "
                        f"one value of {facets[-1]}")
    cols = result[facets[0]].values if facets else [None]
    rows = result[facets[1]].values if len(facets) > 1 else [None]
    fig = Figure(figsize=(4.3 * len(cols) + 1.2, 3.7 * len(rows) + 0.4), layout="constrained")
    axes = fig.subplots(len(rows), len(cols), squeeze=False, sharex=True, sharey=True)
    norm = alpha_norm(result["alpha"])
    mesh = None
    for (i, r), (j, c) in itertools.product(enumerate(rows), enumerate(cols)):
        point = {d: v for d, v in zip(facets, (c, r)) if v is not None}
        ax = axes[i, j]
        ax.set_gid("facet")
        mesh = draw_phase_panel(ax, result.sel(point), x=x, y=y, norm=norm)
        ax.set_title(slice_title(result, point), fontsize="medium")
        if i < len(rows) - 1:
            ax.set_xlabel("")
        if j > 0:
            ax.set_ylabel("")
    fig.colorbar(mesh, ax=axes, label=axis_label(result["alpha"]), shrink=0.9)
    panels_legend(fig, list(axes.flat))
    return fig


def panels_legend(fig: Figure, axes: list[Axes]) -> None:
    """One legend below the panels for the labelled artists of all of them (each label once)."""
    handles: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(handles.values(), handles.keys(), loc="outside lower center", ncols=len(handles),
                   fontsize="small", frameon=False)


def draw_phase_panel(ax: Axes, result: xr.Dataset, *, x: str, y: str, norm: TwoSlopeNorm):
    """One (x, y) panel: alpha colour, phase names and markers, boundary. Returns the mesh."""
    alpha = result["alpha"].squeeze(drop=True)
    if set(alpha.dims) != {x, y}:
        raise DataError(
            f"a phase diagram panel needs alpha over exactly ({x}, {y}); it has dims "
            f"({', '.join(f'{d}={alpha.sizes[d]}' for d in alpha.dims)}): select one value of "
            "each other dim")
    alpha = alpha.sortby([y, x]).transpose(y, x)
    phase = result["phase"].squeeze(drop=True).sortby([y, x]).transpose(y, x)
    xs, ys = alpha[x].values.astype(float), alpha[y].values.astype(float)
    x_edges, y_edges = cell_edges(xs, clip=True), cell_edges(ys, clip=True)
    mesh = ax.pcolormesh(x_edges, y_edges, alpha.values, cmap="RdBu_r", norm=norm)
    gx, gy = np.meshgrid(xs, ys)
    amentia = np.where(phase.values == AMENTIA, 1.0, np.nan)
    if np.isfinite(amentia).any():  # grey, hatched cells: no exponent to colour, the net is at chance
        ax.pcolor(x_edges, y_edges, np.ma.masked_invalid(amentia), cmap="Greys", vmin=0, vmax=4,
                  hatch="xx", edgecolor="0.55", lw=0, gid="amentia-cells")
    for code in (AMENTIA, CRITICAL, UNCLASSIFIED):
        where = phase.values == code
        if where.any():
            name, _, marker = PHASE_STYLE[code]
            style = {"facecolors": "none", "edgecolors": "black"} if marker == "o" \
                else {"color": "black"}
            ax.scatter(gx[where], gy[where], marker=marker, s=18, label=name, gid=f"phase-{name}",
                       clip_on=False, **style)
    _name_phases(ax, phase.values, x_edges, y_edges)
    _draw_boundary(ax, result, x, y)
    ax.set_xlabel(axis_label(result[x]))
    ax.set_ylabel(axis_label(result[y]))
    ax.set_xlim(x_edges[[0, -1]])
    ax.set_ylim(y_edges[[0, -1]])
    return mesh


def _name_phases(ax: Axes, codes: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> None:
    """Write each phase's name at the centre of its drawn cell farthest (in axis fractions) from
    the cells of other phases and from the frame."""
    cx, cy = np.meshgrid((x_edges[1:] + x_edges[:-1]) / 2, (y_edges[1:] + y_edges[:-1]) / 2)
    u = (cx - x_edges[0]) / max(x_edges[-1] - x_edges[0], 1e-12)
    v = (cy - y_edges[0]) / max(y_edges[-1] - y_edges[0], 1e-12)
    frame = np.minimum.reduce([u, 1 - u, v, 1 - v])
    for code, (name, _, _) in PHASE_STYLE.items():
        mine = codes == code
        if code == UNCLASSIFIED or not mine.any():
            continue
        others = ~mine
        score = np.minimum(frame[mine], 0.5)
        if others.any():
            gap = np.hypot(u[mine][:, None] - u[others][None, :], v[mine][:, None] - v[others][None, :]).min(1)
            score = score + gap
        k = int(np.argmax(score))
        ax.text(cx[mine][k], cy[mine][k], name, ha="center", va="center", fontsize="small", fontweight="bold",
                gid=f"label-{name}", bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                                           "alpha": 0.8}, zorder=5)


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
    # not clipped: a boundary point on the first or last measured rate sits on the frame
    # dotted between rows: the boundary is measured at the grid's rows only
    style = {"fmt": "s:", "color": "black", "ms": 5, "capsize": 3, "label": "boundary (alpha = 0)",
             "clip_on": False, "zorder": 4}
    if control == x:
        bars = ax.errorbar(b[ok], at[ok], xerr=stderr[ok], **style)
    else:
        bars = ax.errorbar(at[ok], b[ok], yerr=stderr[ok], **style)
    bars.lines[0].set_gid("boundary")
