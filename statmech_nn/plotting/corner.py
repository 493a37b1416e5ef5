"""Corner plot of a finite-size-scaling posterior: marginals on the diagonal, pairs below.

``plot_corner(posterior, params=None)`` takes the posterior Dataset of
:func:`statmech_nn.analysis.fss.fit_fss` (variables with dims ``chain, draw``). Diagonal: a
histogram of each parameter with its median and 68 % interval (dashed) and the interval in the
title (two lines, so it is not clipped). Ticks: at most 3 per axis, x labels turned 45 degrees,
so numbers with many digits (``p_c = 0.59274``) stay legible. The figure title names the form
and the slice of the data. Below the diagonal: 2-D histograms of each pair, so that strong correlations (sigma and
L0 of the BKT form) are seen directly. Above: empty. Labels are the
``long_name`` attributes (mathtext symbols).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..analysis.fss.posterior import describe_slice
from ..errors import ConfigError


def plot_corner(posterior: xr.Dataset, params: Sequence[str] | None = None, *, bins: int = 30) -> Figure:
    """K x K grid of axes for ``params`` (default: the physical parameters)."""
    names = list(params) if params else json.loads(posterior.attrs["physical_params"])
    available = [str(p) for p in posterior["param"].values]
    for name in names:
        if name not in available:
            raise ConfigError(f"corner plot of unknown parameter {name!r}: expected some of {', '.join(available)}")
    samples = [posterior[n].values.ravel() for n in names]
    labels = [posterior[n].attrs.get("long_name", n) for n in names]
    k = len(names)
    fig = Figure(figsize=(2.4 * k + 0.6, 2.4 * k + 0.6), layout="constrained")
    axes = fig.subplots(k, k, squeeze=False)
    for i in range(k):
        for j in range(k):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                lo, med, hi = np.percentile(samples[i], [16, 50, 84])
                ax.hist(samples[i], bins=bins, histtype="step", color="k")
                for value, style in ((lo, "--"), (med, "-"), (hi, "--")):
                    ax.axvline(value, color="C0", ls=style)
                ax.set_title(f"{labels[i]} = {med:.4g}\n[{lo:.4g}, {hi:.4g}]", fontsize="small")
                ax.set_yticks([])
            else:
                ax.hist2d(samples[j], samples[i], bins=bins, cmap="Greys")
                ax.yaxis.set_major_locator(MaxNLocator(3))
                ax.tick_params(axis="y", labelsize="small")
            ax.xaxis.set_major_locator(MaxNLocator(3))
            ax.tick_params(axis="x", labelsize="small", labelrotation=45)
            if i == k - 1:
                ax.set_xlabel(labels[j])
            if j == 0 and i > 0:
                ax.set_ylabel(labels[i])
    fig.suptitle(f"{posterior.attrs['form']} form; {describe_slice(posterior)}", fontsize="medium", wrap=True)
    return fig
