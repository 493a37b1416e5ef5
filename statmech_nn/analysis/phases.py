"""Phase classification from power-law exponents, and the eumentia-dementia boundary.

Each grid point gets an integer ``phase`` (CF ``flag_values`` / ``flag_meanings``):

====  ============  =====================================================================
code  meaning       criterion (``a = alpha``, ``s = alpha_stderr``, ``z`` default 2)
====  ============  =====================================================================
2     amentia       the network is at chance at the largest size -- ``|loss - ln K| <=
                    loss_tol`` *and* ``|accuracy - 1/K| <= accuracy_tol`` (each indicator only
                    where its variable exists; ``K = n_classes``) -- and ``alpha ~ 0``:
                    ``|a| <= z s`` or ``|a| <= amentia_alpha_tol`` (default 0.02)
0     eumentia      otherwise, ``a + z s < 0``: the loss falls with more data
1     dementia      otherwise, ``a - z s > 0``: the loss rises with more data
3     critical      otherwise (``|a| <= z s`` but the network learns): undecided / at the boundary
-1    unclassified  no fit (fewer than 3 finite sizes)
====  ============  =====================================================================

Amentia asks *every* available indicator to sit at chance: near the eumentia-dementia boundary
the loss at the largest size can pass close to ``ln 10`` while the accuracy is far above 0.1,
and such a point is critical, not amentia. Drop an indicator with ``loss_var=None`` or
``accuracy_var=None``; with both None no point is amentia (an experiment that is no learning
task, where "at chance" means nothing). ``amentia_alpha_tol`` lets a network at chance whose tiny exponent is
nominally significant (many seeds make ``s`` small) still count as not learning: over
``N = 128 .. 60000`` an exponent of 0.02 changes the loss by 13 % in all. Set it to 0 for the
strict rule. Defaults and their reasons are in ``docs/analyzers.md``.

Boundary (:func:`zero_crossings`): along ``control_dim`` (default ``p_eval``) at every value of
the other dims, the first place where ``alpha`` changes sign between adjacent grid points
``p_i, p_j`` with exponents ``a_i, a_j`` (amentia and unfitted points left out)::

    p* = p_i + (p_j - p_i) a_i / (a_i - a_j)
    var(p*) = ((p_j - p_i) / (a_i - a_j)**2)**2 (a_j**2 s_i**2 + a_i**2 s_j**2)

-- linear interpolation, and first-order error propagation with the two exponents taken as
independent (they are for independent runs; for one set of networks evaluated at several
``p_eval`` they are positively correlated, which makes this error an overestimate).
``n_crossings`` counts all sign changes; more than one means noise or a re-entrant boundary.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ConfigError, DataError
from ..schema import axis_values
from ._options import check_option_names
from .base import Analyzer
from .powerlaw import fit_powerlaw, size_window

PHASES = ("eumentia", "dementia", "amentia", "critical")
EUMENTIA, DEMENTIA, AMENTIA, CRITICAL = range(4)
UNCLASSIFIED = -1
#: CF flags of ``phase``: every code it can hold, -1 included (``flag_values`` / ``flag_meanings``)
FLAG_VALUES = np.array([UNCLASSIFIED, *range(len(PHASES))], dtype=np.int8)
FLAG_MEANINGS = " ".join(["unclassified", *PHASES])


def classify(alpha, alpha_stderr, loss_last=None, accuracy_last=None, *, z: float = 2.0,
             n_classes: int = 10, loss_tol: float = 0.15, accuracy_tol: float = 0.05,
             amentia_alpha_tol: float = 0.02) -> np.ndarray:
    """Phase codes (int8) from broadcastable arrays; see the module table. ``loss_last`` /
    ``accuracy_last`` (values at the largest size) may each be None; both None: no point is
    amentia (a task without chance level)."""
    _check_positive("z", z)
    _check_positive("loss_tol", loss_tol)
    _check_positive("accuracy_tol", accuracy_tol)
    if accuracy_tol >= 1:   # an accuracy and 1/K both lie in [0, 1]: every point would be at chance
        raise ConfigError(f"accuracy_tol = {accuracy_tol!r}: expected a number in (0, 1) (accuracies are fractions)")
    if isinstance(amentia_alpha_tol, bool) or not isinstance(amentia_alpha_tol, (int, float)) \
            or not (np.isfinite(amentia_alpha_tol) and amentia_alpha_tol >= 0):
        raise ConfigError(f"amentia_alpha_tol = {amentia_alpha_tol!r}: expected a number >= 0")
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ConfigError(f"n_classes = {n_classes!r}: expected an integer >= 2")
    alpha, s = np.broadcast_arrays(np.asarray(alpha, float), np.asarray(alpha_stderr, float))
    at_chance = np.full(alpha.shape, loss_last is not None or accuracy_last is not None)
    if loss_last is not None:
        at_chance &= np.abs(np.asarray(loss_last, float) - math.log(n_classes)) <= loss_tol
    if accuracy_last is not None:
        at_chance &= np.abs(np.asarray(accuracy_last, float) - 1.0 / n_classes) <= accuracy_tol
    codes = np.full(alpha.shape, UNCLASSIFIED, np.int8)
    fitted = np.isfinite(alpha) & np.isfinite(s)
    codes[fitted & (alpha + z * s < 0)] = EUMENTIA
    codes[fitted & (alpha - z * s > 0)] = DEMENTIA
    compatible = fitted & (np.abs(alpha) <= z * s)
    codes[compatible] = CRITICAL
    flat = fitted & (compatible | (np.abs(alpha) <= amentia_alpha_tol))
    codes[flat & at_chance] = AMENTIA
    return codes


def _check_positive(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
            or not (np.isfinite(value) and value > 0):
        raise ConfigError(f"{name} = {value!r}: expected a number > 0")


def zero_crossings(control, alpha, alpha_stderr) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First sign change of ``alpha`` along the last axis (see the module doc).

    ``control``: 1-D increasing grid of length ``n``; ``alpha``, ``alpha_stderr``: ``(..., n)``,
    NaN where a point is to be left out. Returns ``(p_star, p_star_stderr, n_crossings)`` of shape
    ``alpha.shape[:-1]`` (NaN where there is no crossing).
    """
    control = np.asarray(control, float)
    alpha = np.asarray(alpha, float)
    s = np.broadcast_to(np.asarray(alpha_stderr, float), alpha.shape)
    lead = alpha.shape[:-1]
    flat_a, flat_s = alpha.reshape(-1, alpha.shape[-1]), s.reshape(-1, alpha.shape[-1])
    p_star = np.full(flat_a.shape[0], np.nan)
    p_err = np.full(flat_a.shape[0], np.nan)
    count = np.zeros(flat_a.shape[0], np.int64)
    for k, (a_row, s_row) in enumerate(zip(flat_a, flat_s)):
        ok = np.isfinite(a_row) & np.isfinite(s_row)
        p, a, e = control[ok], a_row[ok], s_row[ok]
        ai, aj = a[:-1], a[1:]
        change = ((ai <= 0) & (aj > 0)) | ((ai >= 0) & (aj < 0))
        count[k] = int(change.sum())
        if not count[k]:
            continue
        i = int(np.flatnonzero(change)[0])
        da = a[i] - a[i + 1]
        dp = p[i + 1] - p[i]
        p_star[k] = p[i] + dp * a[i] / da
        p_err[k] = abs(dp) / da**2 * math.hypot(a[i + 1] * e[i], a[i] * e[i + 1])
    return p_star.reshape(lead), p_err.reshape(lead), count.reshape(lead)


def _at_largest_size(da: xr.DataArray, size_dim: str) -> xr.DataArray:
    """Value at the largest size with a finite value (NaN if none), per curve."""
    da = da.transpose(..., size_dim)
    values = da.values
    finite = np.isfinite(values)
    last = values.shape[-1] - 1 - np.argmax(finite[..., ::-1], axis=-1)
    picked = np.take_along_axis(values, last[..., None], axis=-1)[..., 0]
    picked = np.where(finite.any(-1), picked, np.nan)
    dims = da.dims[:-1]
    return xr.DataArray(picked, dims=dims, coords={d: da[d] for d in dims if d in da.coords})


def classify_phases(
    data: xr.Dataset | xr.DataArray,
    var: str = "loss",
    *,
    control_dim: str | None = "p_eval",
    z: float = 2.0,
    n_classes: int = 10,
    loss_var: str | None = "loss",
    loss_tol: float = 0.15,
    accuracy_var: str | None = "accuracy",
    accuracy_tol: float = 0.05,
    amentia_alpha_tol: float = 0.02,
    **fit_options: Any,
) -> xr.Dataset:
    """Fit ``var`` with :func:`~statmech_nn.analysis.powerlaw.fit_powerlaw`, classify every
    point (module table) and estimate the eumentia-dementia boundary.

    Parameters:

    * ``data``, ``var``: as for :func:`~statmech_nn.analysis.powerlaw.fit_powerlaw`.
    * ``control_dim``: the dimension along which the boundary (the sign change of ``alpha``) is
      sought (its coordinate: distinct finite numbers); None skips the boundary.
    * ``z``: ``alpha`` counts as nonzero when ``|alpha| > z * alpha_stderr``.
    * ``n_classes``: classes of the task (``K``); chance is ``ln K`` in loss, ``1/K`` in accuracy.
    * ``loss_var``, ``loss_tol``: the loss variable and how close to ``ln K`` (nat) it must be
      at the largest size for amentia; ``loss_var=None`` drops this indicator.
    * ``accuracy_var``, ``accuracy_tol``: likewise for the accuracy and ``1/K``.
    * ``amentia_alpha_tol``: at chance, ``|alpha|`` below this also counts as not learning
      (0: the strict rule).
    * ``fit_options``: passed to ``fit_powerlaw`` (``size_dim``, ``window``, ``method``,
      ``stderr_scale``, ``seed_dim``, ``err_pool``, ``rel_err_floor``).

    Returns the fit's variables plus ``phase`` (int8, CF flags), ``loss_at_max_size`` /
    ``accuracy_at_max_size`` (seed means at the largest fitted size, where present) and, when
    ``control_dim`` is a dim of the fit, ``boundary``, ``boundary_stderr``, ``n_crossings``.
    """
    ds = data.to_dataset(name=data.name or var) if isinstance(data, xr.DataArray) else data
    if control_dim is not None and control_dim in ds.dims and control_dim in ds.coords:
        axis_values(ds[control_dim].values, control_dim, "control")
    fit = fit_powerlaw(ds, var, **fit_options)
    size_dim = fit.attrs["size_dim"]
    seed_dim = fit_options.get("seed_dim", "seed")
    inside = size_window(ds[size_dim].values, (fit.attrs["window_min"], fit.attrs["window_max"]),
                         size_dim)
    windowed = ds.isel({size_dim: np.flatnonzero(inside)})

    out = fit.copy()
    last: dict[str, xr.DataArray] = {}
    for role, name in (("loss", loss_var), ("accuracy", accuracy_var)):
        if name is None or name not in windowed.data_vars:
            continue
        if size_dim not in windowed[name].dims:
            raise DataError(f"variable {name!r} has no dimension {size_dim!r}: its dims are "
                            f"{', '.join(map(str, windowed[name].dims))}")
        y = windowed[name]
        y = y.mean(seed_dim, skipna=True) if seed_dim in y.dims else y
        last[role] = _at_largest_size(y, size_dim)
        out[f"{role}_at_max_size"] = last[role].assign_attrs(
            long_name=f"{y.attrs.get('long_name', name)} at the largest fitted {size_dim}",
            units=str(y.attrs.get("units", "1")))
    if not last and (loss_var is not None or accuracy_var is not None):
        raise DataError(
            f"cannot recognise amentia: the dataset has neither loss_var={loss_var!r} nor "
            f"accuracy_var={accuracy_var!r}; it has {', '.join(map(str, ds.data_vars))} (both None: no amentia)")
    arrays = xr.broadcast(fit["alpha"], fit["alpha_stderr"], *last.values())
    dims = arrays[0].dims
    alpha, stderr, *indicators = (a.transpose(*dims).values for a in arrays)
    at_last = dict(zip(last, indicators))
    codes = classify(alpha, stderr, at_last.get("loss"), at_last.get("accuracy"), z=z,
                     n_classes=n_classes, loss_tol=loss_tol, accuracy_tol=accuracy_tol,
                     amentia_alpha_tol=amentia_alpha_tol)
    out["phase"] = (dims, codes, {
        "long_name": "phase", "units": "1",
        "flag_values": FLAG_VALUES, "flag_meanings": FLAG_MEANINGS,
        "comment": f"unclassified: fewer than 3 finite sizes; z = {z:g}"})

    if control_dim is not None:
        if control_dim not in fit.dims:
            raise DataError(f"control_dim {control_dim!r} is not a dimension of the fit result "
                            f"(dims: {', '.join(map(str, fit.dims)) or 'none'}); use "
                            "control_dim=None to skip the boundary")
        _add_boundary(out, control_dim)
    out.attrs.update({
        "analyzer": "phases", "z": float(z), "n_classes": int(n_classes),
        "loss_tol": float(loss_tol), "accuracy_tol": float(accuracy_tol),
        "amentia_alpha_tol": float(amentia_alpha_tol),
        "amentia_indicators": ",".join(f"{role}={name}" for role, name in
                                       (("loss", loss_var), ("accuracy", accuracy_var))
                                       if role in last),
        "boundary_control_dim": control_dim or "",
    })
    return out


def _add_boundary(out: xr.Dataset, control_dim: str) -> None:
    alpha = out["alpha"].where(out["phase"] != AMENTIA).transpose(..., control_dim)
    stderr = out["alpha_stderr"].transpose(..., control_dim)
    control = out[control_dim]
    order = np.argsort(control.values)
    p_star, p_err, count = zero_crossings(control.values[order], alpha.values[..., order],
                                          stderr.values[..., order])
    dims = alpha.dims[:-1]
    units = str(control.attrs.get("units", "1"))
    what = control.attrs.get("long_name", control_dim)
    out["boundary"] = (dims, p_star, {"long_name": f"{what} where alpha changes sign",
                                      "units": units})
    out["boundary_stderr"] = (dims, p_err, {"long_name": "standard error of the boundary",
                                            "units": units})
    out["n_crossings"] = (dims, count, {"long_name": f"sign changes of alpha along {control_dim}",
                                        "units": "1"})


class PhaseAnalyzer(Analyzer):
    """``phase`` codes and boundary; options of :func:`classify_phases` and of
    :func:`~statmech_nn.analysis.powerlaw.fit_powerlaw`."""

    name = "phases"
    summary = "eumentia / dementia / amentia / critical from the sign of alpha, plus boundaries"
    option_functions = (classify_phases, fit_powerlaw)

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        check_option_names(self.name, options, *self.option_functions)
        return classify_phases(data, **options)
