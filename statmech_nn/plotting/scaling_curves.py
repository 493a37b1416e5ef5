"""Log-log curves of a variable (the test loss) against size, one panel per phase.

Each curve is one point of the non-size dims: the seed mean with the error bars the fit used
(:func:`statmech_nn.analysis.standard_errors.mean_and_error` with the fit's ``err_pool`` and
``rel_err_floor``), and the fitted power law ``amplitude * N**alpha`` over the fit window.
Curves are coloured by ``colour_dim`` (default ``p_eval``, viridis, with a legend) when it is
a dim of the result, else by phase. Data marker lines carry ``gid="data"``, fit lines
``gid="fit"``. The figure's title states the slice (every dim fixed to one value, e.g.
``p_train = 0, width = 32, depth = 4``).

:func:`plot_loss_vs_n_grid` draws one row per value of ``row_dim`` (default ``p_train``) and
one column per phase, with one shared legend: the loss curves of one network shape.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..analysis.phases import classify_phases
from ..analysis.standard_errors import mean_and_error
from ..errors import DataError
from ._phase_style import PHASE_STYLE
from .labels import axis_label, format_value, slice_title


class _Curves:
    """Seed means, errors, fits and phases of every curve, flattened over the non-size dims."""

    def __init__(self, data: xr.Dataset, result: xr.Dataset, var: str, size_dim: str, seed_dim: str):
        for name in ("phase", "alpha", "amplitude"):
            if name not in result.data_vars:
                raise DataError(f"result has no variable {name!r}: pass the output of the phases "
                                "analyzer")
        pool = size_dim if result.attrs.get("err_pool", "size") == "size" else None
        measured = mean_and_error(data, var, seed_dim=seed_dim, pool_dim=pool,
                                  rel_floor=float(result.attrs.get("rel_err_floor", 0.01)))
        phase, alpha, amplitude = xr.broadcast(result["phase"], result["alpha"], result["amplitude"])
        mean, err = (m.broadcast_like(phase).transpose(*phase.dims, size_dim)
                     for m in (measured.mean, measured.err))
        n = int(np.prod(phase.shape))
        self.phase = phase
        self.codes = phase.values.reshape(n)
        self.ys = mean.values.reshape(n, -1)
        self.es = err.values.reshape(n, -1)
        self.fits = np.stack([alpha.values.reshape(n), amplitude.values.reshape(n)], -1)
        self.sizes = mean[size_dim].values.astype(float)
        lo = float(result.attrs.get("window_min", self.sizes.min()))
        hi = float(result.attrs.get("window_max", self.sizes.max()))
        self.grid = np.geomspace(lo, hi, 50)
        self.points = [dict(zip(phase.dims, idx)) for idx in np.ndindex(*phase.shape)]

    def value(self, k: int, dim: str):
        return self.phase[dim].values[self.points[k][dim]]


def _colours(result: xr.Dataset, colour_dim: str | None) -> dict | None:
    if colour_dim is None or colour_dim not in result["phase"].dims or result.sizes[colour_dim] < 2:
        return None
    values = np.sort(result[colour_dim].values)
    cmap = colormaps["viridis"]
    return {v: cmap(0.9 * i / max(len(values) - 1, 1)) for i, v in enumerate(values)}


def _draw(ax: Axes, curves: _Curves, members: np.ndarray, colour_dim: str | None, colours: dict | None,
          code: int) -> None:
    for k in members:
        colour = colours[curves.value(k, colour_dim)] if colours else PHASE_STYLE[code][1]
        bars = ax.errorbar(curves.sizes, curves.ys[k], yerr=curves.es[k], fmt="o", ms=3, color=colour,
                           alpha=0.85)
        bars.lines[0].set_gid("data")
        if np.all(np.isfinite(curves.fits[k])):
            ax.plot(curves.grid, curves.fits[k, 1] * curves.grid ** curves.fits[k, 0], "-", lw=1,
                    color=colour, gid="fit")
    ax.set_xscale("log")
    ax.set_yscale("log")


def _legend_handles(colours: dict, colour_dim: str) -> list[Line2D]:
    return [Line2D([], [], color=c, marker="o", ms=4, lw=1, label=f"{colour_dim} = {format_value(v)}")
            for v, c in colours.items()]


def plot_loss_vs_n(
    data: xr.Dataset,
    result: xr.Dataset | None = None,
    *,
    var: str = "loss",
    size_dim: str = "N",
    seed_dim: str = "seed",
    colour_dim: str | None = "p_eval",
    fig: Figure | None = None,
) -> Figure:
    """Draw ``var`` vs ``size_dim`` on log-log axes, one panel per phase present in ``result``
    (the output of :func:`~statmech_nn.analysis.phases.classify_phases` on ``data``; computed
    with defaults when None). Returns the figure."""
    if result is None:
        result = classify_phases(data, var, size_dim=size_dim, seed_dim=seed_dim)
    curves = _Curves(data, result, var, size_dim, seed_dim)
    colours = _colours(result, colour_dim)
    present = [c for c in PHASE_STYLE if np.any(curves.codes == c)]
    fig = fig if fig is not None else Figure(figsize=(3.6 * len(present) + (1.6 if colours else 0), 3.8),
                                             layout="constrained")
    axes = fig.subplots(1, len(present), sharey=True, squeeze=False)[0]
    for ax, code in zip(axes, present):
        members = np.flatnonzero(curves.codes == code)
        _draw(ax, curves, members, colour_dim, colours, code)
        ax.set_title(f"{PHASE_STYLE[code][0]} ({len(members)})")
        ax.set_xlabel(axis_label(data[size_dim]))
    axes[0].set_ylabel(axis_label(data[var]))
    if colours:
        fig.legend(handles=_legend_handles(colours, colour_dim), loc="outside right center",
                   fontsize="small")
    varying = [f"{d}: {result.sizes[d]} values" for d in result["phase"].dims
               if d != colour_dim and result.sizes[d] > 1]
    title = "; ".join(t for t in (slice_title(result), ", ".join(varying)) if t)
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig


def plot_loss_vs_n_grid(
    data: xr.Dataset,
    result: xr.Dataset,
    *,
    var: str = "loss",
    size_dim: str = "N",
    seed_dim: str = "seed",
    row_dim: str = "p_train",
    colour_dim: str = "p_eval",
) -> Figure:
    """Rows: values of ``row_dim``; columns: the phases present anywhere in ``result``; colour:
    ``colour_dim``. Every other dim must have one value (the slice, stated in the title).
    Empty cells (a phase absent at that row) say so. Panels showing curves have ``gid="curves"``."""
    curves = _Curves(data, result, var, size_dim, seed_dim)
    extra = [d for d in result["phase"].dims if d not in (row_dim, colour_dim) and result.sizes[d] > 1]
    if extra:
        raise DataError(f"loss-vs-N grid: select one value of {', '.join(extra)}")
    colours = _colours(result, colour_dim)
    rows = result[row_dim].values if row_dim in result["phase"].dims else [None]
    present = [c for c in PHASE_STYLE if np.any(curves.codes == c)]
    fig = Figure(figsize=(3.3 * len(present) + 1.6, 2.8 * len(rows) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), len(present), squeeze=False, sharex=True, sharey=True)
    for i, r in enumerate(rows):
        for j, code in enumerate(present):
            ax = axes[i, j]
            members = np.flatnonzero((curves.codes == code) & np.array(
                [r is None or curves.value(k, row_dim) == r for k in range(len(curves.codes))]))
            head = f"{PHASE_STYLE[code][0]}" + ("" if r is None else f", {row_dim} = {format_value(r)}")
            ax.set_title(head, fontsize="small")
            if len(members):
                ax.set_gid("curves")
                _draw(ax, curves, members, colour_dim, colours, code)
            else:
                ax.set_xscale("log")
                ax.set_yscale("log")
                ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes, color="0.5")
            if i == len(rows) - 1:
                ax.set_xlabel(axis_label(data[size_dim]))
            if j == 0:
                ax.set_ylabel(axis_label(data[var]))
    if colours:
        fig.legend(handles=_legend_handles(colours, colour_dim), loc="outside right center",
                   fontsize="small")
    title = slice_title(result)
    fig.suptitle(f"{var} vs {size_dim} by phase" + (f" ({title})" if title else ""), fontsize="medium")
    return fig
