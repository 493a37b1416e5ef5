"""Log-log curves of a variable (the test loss) against size, one panel per phase.

Each curve is one point of the non-size dims: the seed mean with the error bars the fit used
(:func:`statmech_nn.analysis.standard_errors.mean_and_error` with the fit's ``err_pool`` and
``rel_err_floor``), and the fitted power law ``amplitude * N**alpha`` over the fit window.
Data marker lines carry ``gid="data"``, fit lines ``gid="fit"``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..analysis.phases import classify_phases
from ..analysis.standard_errors import mean_and_error
from ..errors import DataError
from ._phase_style import PHASE_STYLE
from .labels import axis_label


def plot_loss_vs_n(
    data: xr.Dataset,
    result: xr.Dataset | None = None,
    *,
    var: str = "loss",
    size_dim: str = "N",
    seed_dim: str = "seed",
    fig: Figure | None = None,
) -> Figure:
    """Draw ``var`` vs ``size_dim`` on log-log axes, one panel per phase present in ``result``
    (the output of :func:`~statmech_nn.analysis.phases.classify_phases` on ``data``; computed
    with defaults when None). Returns the figure."""
    if result is None:
        result = classify_phases(data, var, size_dim=size_dim, seed_dim=seed_dim)
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
    n_curves = int(np.prod(phase.shape))
    codes = phase.values.reshape(n_curves)
    ys = mean.values.reshape(n_curves, -1)
    es = err.values.reshape(n_curves, -1)
    fits = np.stack([alpha.values.reshape(n_curves), amplitude.values.reshape(n_curves)], -1)
    sizes = mean[size_dim].values.astype(float)
    lo = float(result.attrs.get("window_min", sizes.min()))
    hi = float(result.attrs.get("window_max", sizes.max()))
    grid = np.geomspace(lo, hi, 50)

    present = [c for c in PHASE_STYLE if np.any(codes == c)]
    fig = fig if fig is not None else Figure(figsize=(4.0 * len(present), 3.6), layout="constrained")
    axes = fig.subplots(1, len(present), sharey=True, squeeze=False)[0]
    for ax, code in zip(axes, present):
        name, colour, _ = PHASE_STYLE[code]
        members = np.flatnonzero(codes == code)
        for k in members:
            bars = ax.errorbar(sizes, ys[k], yerr=es[k], fmt="o", ms=3, color=colour, alpha=0.8)
            bars.lines[0].set_gid("data")
            if np.all(np.isfinite(fits[k])):
                ax.plot(grid, fits[k, 1] * grid ** fits[k, 0], "-", lw=1, color=colour, gid="fit")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{name} ({len(members)})")
        ax.set_xlabel(axis_label(data[size_dim]))
    axes[0].set_ylabel(axis_label(data[var]))
    return fig
