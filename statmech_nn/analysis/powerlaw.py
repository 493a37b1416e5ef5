"""Power-law exponents: fit ``y = amplitude * N**alpha`` along a size dimension.

Layers, from the inside out:

* :func:`loglinear_fit` -- the weighted least-squares line ``ln y = ln A + alpha ln N`` with
  ``sigma(ln y) = err / y``, in closed form and vectorised over every leading axis. It is exact
  for the log-space problem and is the starting point (``guess``) of the nonlinear fit.
* :func:`fit_curve` -- one curve with lmfit's :class:`lmfit.Model` of :func:`power_law`,
  weights ``1 / err``, started from the log-space solution.
* :func:`fit_curves` -- every curve of an array ``(..., n_sizes)``, by either method.
* :func:`fit_powerlaw` -- the xarray wrapper: mean over seeds and errors
  (:mod:`statmech_nn.analysis.standard_errors`), fit window, output Dataset over the remaining dims.
* :func:`window_scan` -- ``alpha`` as a function of the fit window (sliding or growing).

Standard errors. The covariance is first computed from the given errors alone
(``scale_covar=False``), then scaled according to ``stderr_scale``:

* ``"inflate"`` (default): by ``sqrt(max(1, chi2_red))`` -- a curve that is not a power law
  within its errors (near a phase boundary the loss falls, then rises) gets a wider error,
  but a good fit never gets a narrower one than its data support;
* ``"errors"``: not at all (errors taken as exact);
* ``"residuals"``: by ``sqrt(chi2_red)`` (lmfit's default; forced when the data carry no errors).

A curve needs at least :data:`MIN_POINTS` finite points in the window (two parameters plus one
degree of freedom for the goodness of fit); others give NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import lmfit
import numpy as np
import xarray as xr

from ..errors import ConfigError, DataError
from ..schema import axis_values, data_variable
from ._options import check_option_names
from .base import Analyzer
from .standard_errors import DEFAULT_REL_FLOOR, mean_and_error

METHODS = ("lmfit", "loglinear")
STDERR_SCALES = ("inflate", "errors", "residuals")
ERR_POOLS = ("size", "none")
SCAN_MODES = ("sliding", "growing")
MIN_POINTS = 3
FIT_FIELDS = ("alpha", "alpha_stderr", "amplitude", "amplitude_stderr", "chisqr", "redchi",
              "n_points")


def power_law(N, amplitude, alpha):
    """``amplitude * N**alpha``."""
    return amplitude * N**alpha


def loglinear_fit(size: np.ndarray, y: np.ndarray, err: np.ndarray) -> dict[str, np.ndarray]:
    """Weighted line through ``(ln N, ln y)``, vectorised over all axes but the last.

    With ``u = ln N``, ``v = ln y``, ``w = (y / err)**2`` (0 where ``y`` or ``err`` is NaN) and
    ``S = sum w``, ``Su = sum w u``, ``Sv``, ``Suu``, ``Suv``, ``D = S Suu - Su**2``::

        alpha = (S Suv - Su Sv) / D,        var(alpha) = S / D
        ln A  = (Suu Sv - Su Suv) / D,      var(ln A)  = Suu / D,   sigma(A) = A sigma(ln A)
        chisqr = sum w (v - ln A - alpha u)**2

    Stderrs are unscaled (errors taken as exact). Returns arrays of shape ``y.shape[:-1]``.
    """
    size = np.asarray(size, float)
    y = np.asarray(y, float)
    err = np.asarray(err, float)
    ok = np.isfinite(y) & np.isfinite(err) & (y > 0) & (err > 0)
    u = np.broadcast_to(np.log(size), y.shape)
    v = np.log(np.where(ok, y, 1.0))
    w = np.where(ok, (np.where(ok, y, 1.0) / np.where(ok, err, 1.0)) ** 2, 0.0)
    S, Su, Sv = w.sum(-1), (w * u).sum(-1), (w * v).sum(-1)
    Suu, Suv = (w * u * u).sum(-1), (w * u * v).sum(-1)
    n_points = ok.sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        D = np.where(n_points >= 2, S * Suu - Su**2, np.nan)
        alpha = (S * Suv - Su * Sv) / D
        log_amp = (Suu * Sv - Su * Suv) / D
        chisqr = (w * (v - log_amp[..., None] - alpha[..., None] * u) ** 2).sum(-1)
        amplitude = np.exp(log_amp)
        return {"alpha": alpha, "alpha_stderr": np.sqrt(S / D), "amplitude": amplitude,
                "amplitude_stderr": amplitude * np.sqrt(Suu / D), "chisqr": chisqr,
                "n_points": n_points}


_MODEL: lmfit.Model | None = None


def _model() -> lmfit.Model:
    global _MODEL
    if _MODEL is None:
        _MODEL = lmfit.Model(power_law, independent_vars=["N"])
    return _MODEL


def fit_curve(size: np.ndarray, y: np.ndarray, err: np.ndarray) -> dict[str, float]:
    """Fit one curve with lmfit (weights ``1/err``, unscaled covariance), started from
    :func:`loglinear_fit`. NaN points are left out; returns floats keyed like ``loglinear_fit``."""
    size, y, err = (np.asarray(a, float) for a in (size, y, err))
    ok = np.isfinite(y) & np.isfinite(err) & (err > 0)
    size, y, err = size[ok], y[ok], err[ok]
    guess = loglinear_fit(size, y, err)
    nan = {"alpha": np.nan, "alpha_stderr": np.nan, "amplitude": np.nan,
           "amplitude_stderr": np.nan, "chisqr": np.nan, "n_points": int(ok.sum())}
    if ok.sum() < 2 or not np.isfinite(guess["alpha"]):
        return nan
    model = _model()
    params = model.make_params(amplitude=float(guess["amplitude"]), alpha=float(guess["alpha"]))
    result = model.fit(y, params, N=size, weights=1.0 / err, scale_covar=False)
    p = result.params
    stderr = {k: (p[k].stderr if result.errorbars and p[k].stderr is not None else np.nan)
              for k in ("alpha", "amplitude")}
    return {"alpha": p["alpha"].value, "alpha_stderr": stderr["alpha"],
            "amplitude": p["amplitude"].value, "amplitude_stderr": stderr["amplitude"],
            "chisqr": float(result.chisqr), "n_points": int(ok.sum())}


def _stderr_factor(redchi: np.ndarray, stderr_scale: str) -> np.ndarray:
    if stderr_scale == "errors":
        return np.ones_like(redchi)
    if stderr_scale == "residuals":
        return np.sqrt(redchi)
    return np.sqrt(np.maximum(1.0, redchi))


def _check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} = {value!r}: expected one of {', '.join(map(repr, choices))}")


def fit_curves(size: np.ndarray, y: np.ndarray, err: np.ndarray, *, method: str = "lmfit",
               stderr_scale: str = "inflate") -> dict[str, np.ndarray]:
    """Fit every curve along the last axis of ``y`` / ``err`` (shape ``(..., len(size))``).

    Returns arrays of shape ``y.shape[:-1]`` for :data:`FIT_FIELDS`; stderrs scaled by
    ``stderr_scale`` (module doc), ``redchi = chisqr / (n_points - 2)``; curves with fewer than
    :data:`MIN_POINTS` finite points are NaN (``n_points`` still reported).
    """
    _check_choice("method", method, METHODS)
    _check_choice("stderr_scale", stderr_scale, STDERR_SCALES)
    y = np.asarray(y, float)
    err = np.broadcast_to(np.asarray(err, float), y.shape)
    if method == "loglinear":
        out = loglinear_fit(size, y, err)
    else:
        flat_y, flat_err = y.reshape(-1, y.shape[-1]), err.reshape(-1, y.shape[-1])
        fits = [fit_curve(size, yi, ei) for yi, ei in zip(flat_y, flat_err)]
        out = {k: np.array([f[k] for f in fits]).reshape(y.shape[:-1]) for k in fits[0]}
    n_points = np.asarray(out["n_points"])
    enough = n_points >= MIN_POINTS
    with np.errstate(divide="ignore", invalid="ignore"):
        redchi = np.where(enough, out["chisqr"] / (n_points - 2), np.nan)
    factor = _stderr_factor(redchi, stderr_scale)
    result = {
        "alpha": out["alpha"], "alpha_stderr": out["alpha_stderr"] * factor,
        "amplitude": out["amplitude"], "amplitude_stderr": out["amplitude_stderr"] * factor,
        "chisqr": out["chisqr"], "redchi": redchi,
    }
    result = {k: np.where(enough, np.asarray(v, float), np.nan) for k, v in result.items()}
    result["n_points"] = n_points.astype(np.int64)
    return result


_OUTPUT_ATTRS = {
    "alpha": ("power-law exponent of {var} vs {size}", "1"),
    "alpha_stderr": ("standard error of the power-law exponent", "1"),
    "amplitude": ("power-law amplitude A in {var} = A {size}^alpha", "{units}"),
    "amplitude_stderr": ("standard error of the power-law amplitude", "{units}"),
    "chisqr": ("chi-squared of the power-law fit", "1"),
    "redchi": ("reduced chi-squared of the power-law fit", "1"),
    "n_points": ("number of sizes in the power-law fit", "1"),
}


def size_window(sizes: np.ndarray, window: Sequence[float] | None, size_dim: str) -> np.ndarray:
    """Boolean mask of ``sizes`` inside the inclusive ``window = (min, max)`` (None: all; either
    bound may be None). Raises unless the sizes are distinct finite numbers > 0
    (:func:`~statmech_nn.schema.axis_values`) and at least :data:`MIN_POINTS` remain."""
    sizes = axis_values(sizes, size_dim, "size", positive=True)
    lo, hi = -np.inf, np.inf
    if window is not None:
        if (not isinstance(window, (tuple, list)) or len(window) != 2
                or not all(b is None or isinstance(b, (int, float, np.number)) for b in window)):
            raise ConfigError(f"window = {window!r}: expected (min, max) with numbers or None")
        lo = -np.inf if window[0] is None else float(window[0])
        hi = np.inf if window[1] is None else float(window[1])
        if not lo < hi:
            raise ConfigError(f"window = {window!r}: expected min < max")
    inside = (sizes >= lo) & (sizes <= hi)
    if inside.sum() < MIN_POINTS:
        where = "" if window is None else f" in the window {lo:g}..{hi:g}"
        raise DataError(
            f"dimension {size_dim!r} has {int(inside.sum())} size(s){where} "
            f"({', '.join(f'{s:g}' for s in sizes[inside]) or 'none'}; all: "
            f"{', '.join(f'{s:g}' for s in sizes)}): a power-law fit needs at least {MIN_POINTS}")
    return inside


def fit_powerlaw(
    data: xr.Dataset | xr.DataArray,
    var: str = "loss",
    *,
    size_dim: str = "N",
    window: Sequence[float | None] | None = None,
    method: str = "lmfit",
    stderr_scale: str = "inflate",
    seed_dim: str = "seed",
    err_pool: str = "size",
    rel_err_floor: float = DEFAULT_REL_FLOOR,
) -> xr.Dataset:
    """Fit ``var ~ amplitude * size_dim**alpha`` at every point of the other dims.

    Parameters:

    * ``data``: the sweep (Dataset), or the one variable to fit (DataArray, then ``var`` is its
      name). Never mutated.
    * ``var``: the variable to fit (values > 0), e.g. ``"loss"``.
    * ``size_dim``: the dimension along which the power law runs; its coordinate holds the sizes.
    * ``window``: ``(min, max)`` of the sizes used, inclusive, either side None for open; None
      uses every size. At least :data:`MIN_POINTS` sizes must remain.
    * ``method``: ``"lmfit"`` (nonlinear least squares in linear space, weights ``1/err``,
      started from the log-space solution) or ``"loglinear"`` (the closed-form weighted line in
      log space, :func:`loglinear_fit`).
    * ``stderr_scale``: ``"inflate"``, ``"errors"`` or ``"residuals"`` (module docstring).
    * ``seed_dim``: the dimension of independent runs, averaged into one value per point (its
      spread gives the error); absent is fine.
    * ``err_pool``: ``"size"`` pools relative errors along ``size_dim``, ``"none"`` keeps them
      per point (:func:`~statmech_nn.analysis.standard_errors.mean_and_error`).
    * ``rel_err_floor``: the least relative error of a point (default 1 %), so that no point gets
      an unbounded weight.

    NaN cells (a partial sweep) are left out of their curve. Returns a Dataset of
    :data:`FIT_FIELDS` over the remaining dims; attrs record var, size_dim, window
    (``window_min``, ``window_max``: the sizes actually used), method, stderr_scale,
    error_source, err_pool, rel_err_floor and the input's ``config_sha256``. Raises
    :class:`~statmech_nn.errors.DataError` / :class:`~statmech_nn.errors.ConfigError` with one
    line for bad input.
    """
    _check_choice("method", method, METHODS)
    _check_choice("stderr_scale", stderr_scale, STDERR_SCALES)
    _check_choice("err_pool", err_pool, ERR_POOLS)
    y = data if isinstance(data, xr.DataArray) else data_variable(data, var)
    var = str(y.name) if isinstance(data, xr.DataArray) and y.name is not None else var
    if size_dim not in y.dims:
        raise DataError(f"variable {var!r} has no dimension {size_dim!r}: its dims are "
                        f"{', '.join(map(str, y.dims)) or '(none)'}")
    if size_dim not in data.coords:
        raise DataError(f"dimension {size_dim!r} has no coordinate holding the sizes")
    inside = size_window(data[size_dim].values, window, size_dim)
    data = data.isel({size_dim: np.flatnonzero(inside)})
    values = np.asarray(data.values if isinstance(data, xr.DataArray) else data[var].values, float)
    if np.any(values <= 0):
        raise DataError(f"variable {var!r} has values <= 0 (min {np.nanmin(values):.3g}): "
                        "a power law needs positive values")

    measured = mean_and_error(data, var, seed_dim=seed_dim, rel_floor=rel_err_floor,
                              pool_dim=size_dim if err_pool == "size" else None)
    if measured.source == "none":
        stderr_scale = "residuals"
    mean = measured.mean.transpose(..., size_dim)
    err = measured.err.transpose(..., size_dim)
    if not bool((mean.count(size_dim) >= MIN_POINTS).any()):
        raise DataError(f"variable {var!r} has fewer than {MIN_POINTS} finite values along "
                        f"{size_dim!r} in every curve: nothing to fit")
    sizes = mean[size_dim].values
    fits = fit_curves(sizes, mean.values, err.values, method=method, stderr_scale=stderr_scale)

    other = [d for d in mean.dims if d != size_dim]
    coords = {d: mean[d] for d in other if d in mean.coords}
    units = str(y.attrs.get("units", "1"))
    out = xr.Dataset(coords=coords)
    for name in FIT_FIELDS:
        long_name, unit = _OUTPUT_ATTRS[name]
        out[name] = (other, fits[name],
                     {"long_name": long_name.format(var=var, size=size_dim),
                      "units": unit.format(units=units)})
    used = sizes[np.isfinite(mean.values).reshape(-1, len(sizes)).any(0)]
    out.attrs = {
        "analyzer": "powerlaw", "model": f"{var} = amplitude * {size_dim}**alpha", "var": var,
        "size_dim": size_dim, "window_min": float(used.min()), "window_max": float(used.max()),
        "method": method, "stderr_scale": stderr_scale, "error_source": measured.source,
        "err_pool": err_pool, "rel_err_floor": float(rel_err_floor),
    }
    if isinstance(data, xr.Dataset) and "config_sha256" in data.attrs:
        out.attrs["input_config_sha256"] = data.attrs["config_sha256"]
    return out


def scan_windows(sizes: Sequence[float], mode: str = "sliding", points: int = 4) -> list[tuple[float, float]]:
    """Fit windows ``(min, max)`` over the sorted ``sizes``.

    ``"sliding"``: every run of ``points`` consecutive sizes; ``"growing"``: from the smallest
    size up to the ``k``-th, for ``k = points .. len(sizes)``.
    """
    _check_choice("mode", mode, SCAN_MODES)
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < MIN_POINTS:
        raise ConfigError(f"points = {points!r}: expected an integer >= {MIN_POINTS}")
    s = np.sort(np.asarray(sizes, float))
    if len(s) < points:
        raise DataError(f"a window scan of {points} points needs at least {points} sizes, got "
                        f"{len(s)} ({', '.join(f'{v:g}' for v in s)})")
    if mode == "sliding":
        return [(s[i], s[i + points - 1]) for i in range(len(s) - points + 1)]
    return [(s[0], s[k - 1]) for k in range(points, len(s) + 1)]


def window_scan(
    data: xr.Dataset | xr.DataArray,
    var: str = "loss",
    *,
    size_dim: str = "N",
    mode: str = "sliding",
    points: int = 4,
    method: str = "lmfit",
    stderr_scale: str = "inflate",
    seed_dim: str = "seed",
    err_pool: str = "size",
    rel_err_floor: float = DEFAULT_REL_FLOOR,
) -> xr.Dataset:
    """:func:`fit_powerlaw` in each window of :func:`scan_windows`, stacked along a new dim
    ``window`` with coordinates ``window_min`` / ``window_max``: how ``alpha`` drifts with the
    sizes used (a pure power law gives a flat scan; a crossover shows as a trend)."""
    if size_dim not in data.coords:
        raise DataError(f"dataset has no coordinate {size_dim!r}: it has "
                        f"{', '.join(map(str, data.coords)) or '(none)'}")
    windows = scan_windows(axis_values(data[size_dim].values, size_dim, "size", positive=True), mode, points)
    fits = [fit_powerlaw(data, var, size_dim=size_dim, window=w, method=method,
                         stderr_scale=stderr_scale, seed_dim=seed_dim, err_pool=err_pool,
                         rel_err_floor=rel_err_floor)
            for w in windows]
    out = xr.concat(fits, dim="window", combine_attrs="drop_conflicts")
    out = out.assign_coords(
        window_min=("window", [w[0] for w in windows],
                    {"long_name": f"smallest {size_dim} in the fit window", "units": "1"}),
        window_max=("window", [w[1] for w in windows],
                    {"long_name": f"largest {size_dim} in the fit window", "units": "1"}))
    out.attrs.update({"analyzer": "powerlaw_scan", "scan_mode": mode, "scan_points": points})
    return out


class PowerLawAnalyzer(Analyzer):
    """``alpha``, ``alpha_stderr``, amplitude and goodness of fit; options of :func:`fit_powerlaw`."""

    name = "powerlaw"
    summary = "power-law exponent alpha of a variable vs size (y ~ A N^alpha), with errors"
    option_functions = (fit_powerlaw,)

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        check_option_names(self.name, options, *self.option_functions)
        return fit_powerlaw(data, **options)


class PowerLawScanAnalyzer(Analyzer):
    """``alpha`` vs fit window; options of :func:`window_scan`."""

    name = "powerlaw_scan"
    summary = "power-law exponent as a function of the fit window (sliding or growing)"
    option_functions = (window_scan,)

    def run(self, data: xr.Dataset | xr.DataArray, **options: Any) -> xr.Dataset:
        check_option_names(self.name, options, *self.option_functions)
        return window_scan(data, **options)
