"""Raw and collapsed curves of a finite-size-scaling posterior (one colour per size).

``plot_collapse(posterior)`` draws, for each fitted variable, two panels: ``y`` against the
control parameter (the data as measured) and ``y G(L)`` against the scaling variable
``x(p, L)`` at the posterior median (``G = L^a`` when the y-exponent was fitted). It needs only
the posterior Dataset written by ``statmech-nn analyze fss -o`` (it carries the fitted points).
Axis labels come from the CF attributes of those points.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..analysis.fss.forms import ScalingForm, rebuild_form
from ..analysis.fss.likelihood import nuisance_estimate, size_feature_sd, size_features
from ..analysis.fss.model import local_name
from ..analysis.fss.posterior import describe_slice
from ..errors import ConfigError
from .labels import axis_label


def _median(posterior: xr.Dataset, name: str) -> float:
    return float(posterior["summary"].sel(param=name, stat="median"))


def _nuisance(posterior, form, theta, var, joint, x, log_g, control, size, y, err) -> np.ndarray:
    """Posterior mean of the correction ``r(L) h(x)`` and the size offsets and tilts, whichever
    the fit has, at the median parameters (in ``y G`` units; :func:`.likelihood.nuisance_estimate`)."""
    names = [str(p) for p in posterior["param"].values]

    def hyper(base):
        name = local_name(base, var, joint)
        return _median(posterior, name) if name in names else None

    extra = {}
    if form.corrected:
        extra.update(corr=np.broadcast_to(form.correction_factor(size, theta), (1, len(size)))[0],
                     amp_corr=hyper("amp_corr"))
    offset, tilt = hyper("size_offset"), hyper("size_tilt")
    if offset is not None or tilt is not None:
        sizes, index = np.unique(size, return_inverse=True)
        extra.update(features=size_features(control, index, offset is not None, tilt is not None),
                     feature_sd=size_feature_sd(len(sizes), offset, tilt)[0])
    err_scale = hyper("err_scale")
    return nuisance_estimate(x, log_g, y, err, float(np.std(y)), hyper("amp"), hyper("length"),
                             1.0 if err_scale is None else err_scale, **extra)     # absent: errors trusted


def plot_collapse(posterior: xr.Dataset, form: ScalingForm | type | None = None) -> Figure:
    """Figure with one row per variable: raw curves (left), collapse at the median (right).

    ``form``: the fitted form's object; needed only for a plugin's form (a built-in one is
    found from the posterior's ``form`` attribute).
    """
    form = rebuild_form(posterior.attrs["form"] if form is None else form,
                        json.loads(posterior.attrs.get("form_options_json", "{}")))
    if form.name != posterior.attrs["form"]:
        raise ConfigError(f"form {form.name!r} given for a posterior of form {posterior.attrs['form']!r}")
    variables = json.loads(posterior.attrs["variables"])
    var_attrs = json.loads(posterior.attrs.get("variable_attrs_json", "{}"))
    params = [str(p) for p in posterior["param"].values]
    fig = Figure(figsize=(10, 4 * len(variables)), layout="constrained")
    axes = fig.subplots(len(variables), 2, squeeze=False)
    sizes = np.unique(posterior["obs_size"].values)
    colours = [f"C{k % 10}" for k in range(len(sizes))]
    for j, var in enumerate(variables):
        member = posterior["obs_index"].values == j
        control, size = posterior["obs_control"].values[member], posterior["obs_size"].values[member]
        y, err = posterior["obs_y"].values[member], posterior["obs_err"].values[member]
        theta = {p: np.array([[_median(posterior, p)]]) for p in form.params}
        a_name = "a" if "a" in params else f"a_{var}"
        if a_name in params:
            theta["a"] = np.array([[_median(posterior, a_name)]])
        x = form.scaling_variable(control, size, theta)[0]
        log_g = np.broadcast_to(form.log_size_factor(size, theta), (1, len(size)))[0]
        g = np.exp(log_g)
        offsets = local_name("size_offset", var, len(variables) > 1) in params
        tilts = local_name("size_tilt", var, len(variables) > 1) in params
        shift = (_nuisance(posterior, form, theta, var, len(variables) > 1, x, log_g, control, size, y, err)
                 if form.corrected or offsets or tilts else 0.0)
        raw, collapsed = axes[j]
        for colour, value in zip(colours, sizes):
            at = size == value
            order = np.argsort(control[at])
            label = f"{posterior.attrs['size']} = {value:g}"
            raw.errorbar(control[at][order], y[at][order], yerr=err[at][order], fmt="o-", ms=3, color=colour, label=label)
            collapsed.errorbar(x[at][order], (y * g - shift)[at][order], yerr=(err * g)[at][order], fmt="o", ms=3,
                               color=colour, label=label)
        y_label = axis_label({"long_name": var, **var_attrs.get(var, {})})
        raw.set_xlabel(axis_label(posterior["obs_control"].attrs, posterior.attrs["control"]))
        raw.set_ylabel(y_label)
        raw.set_title(f"{var}: data", fontsize="medium")
        collapsed.set_xlabel(form.x_label)
        collapsed.set_ylabel(y_label + (r" $\times\,L^{a}$" if "a" in theta else "")
                             + (r" $-\, r(L)\,h(x)$" if form.corrected else "")
                             + (r" $-\, \delta_L$" if offsets else "") + (r" $-\, \gamma_L t$" if tilts else ""))
        subtracted = " and ".join(part for part, on in (("correction", form.corrected), ("size offsets", offsets),
                                                        ("size tilts", tilts)) if on)
        collapsed.set_title(f"{var}: collapse at the posterior median"
                            + (f"\n({subtracted} subtracted)" if subtracted else ""), fontsize="medium")
        raw.legend(fontsize="small")
    fig.suptitle(f"{form.name} form; {describe_slice(posterior)}", fontsize="medium", wrap=True)
    return fig

