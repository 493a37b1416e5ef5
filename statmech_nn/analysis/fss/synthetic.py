"""Synthetic collapse data with known truth: validate a finite-size-scaling setup before trusting it.

:func:`collapse_dataset` draws, for each size ``L``, ``n_control`` control values ``p`` and::

    y(p, L) = L**(-a) * f(x(p, L; params)) + err * N(0, 1),      err = noise * L**(-a) * (0.75 + 0.5 u)

with ``x`` from any scaling form (computed for all points together: a form may use the set of
sizes, e.g. the BKT form's smallest size) (``u ~ U(0, 1)`` makes the errors heteroscedastic;
the stated ``y_err`` is the true standard deviation). ``f`` defaults to the logistic function
``1 / (1 + exp(-x))`` (a crossing probability). Control windows:

* ``window="scaled"``: per size, ``p = p_c + x_k / s(L)`` with ``x_k`` evenly spaced on
  ``x_range`` and ``s(L) = x(p_c + 1, L)`` (forms linear in ``p - p_c``): every size covers the
  same range of ``x``, as in a well-designed study. Control values then differ between sizes.
* ``window="fixed"``: the same ``n_control`` values on ``control_range`` for every size.

``jitter`` shifts each size's control values by up to ``jitter/2`` grid spacings at random, so
that no two sizes share values (a non-rectangular grid). ``layout="grid"`` returns dims
``(p, L)`` on the union of all control values with NaN where a size was not measured;
``layout="points"`` returns one dim ``point`` with ``p`` and ``L`` as coordinates.
The truth is recorded in the attribute ``truth_json``. Same arguments, same numbers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import xarray as xr

from ...errors import ConfigError
from .forms import ScalingForm, as_form

DEFAULT_PARAMS = {"second_order": {"p_c": 0.5, "nu": 1.0}, "bkt": {"p_c": 0.5, "sigma": 0.5, "L0": 1.0}}


def logistic(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))``."""
    return 1.0 / (1.0 + np.exp(-x))


def collapse_dataset(form: str | ScalingForm | type = "second_order", params: Mapping[str, float] | None = None,
                     *, sizes: Sequence[float] = (8, 16, 32, 64, 128), n_control: int = 20,
                     a: float = 0.0, noise: float = 0.01, window: str = "scaled",
                     x_range: tuple[float, float] = (-3.0, 3.0), control_range: tuple[float, float] = (0.3, 0.7),
                     jitter: float = 0.0, scaling_function: Callable[[np.ndarray], np.ndarray] = logistic,
                     layout: str = "grid", seed: int = 0) -> xr.Dataset:
    """Synthetic ``y`` and ``y_err`` over control ``p`` and size ``L`` (see the module docstring).

    Parameters:

    * ``form``: a :class:`ScalingForm` instance or subclass, or a built-in name.
    * ``params``: the true form parameters ``{name: value}`` (default: :data:`DEFAULT_PARAMS`
      of a built-in form).
    * ``sizes``: the system sizes ``L``; ``n_control``: control values per size.
    * ``a``: true y-exponent (``y = L^-a f(x)``); ``noise``: relative error scale (``err`` above).
    * ``window``: ``"scaled"`` (same ``x`` range per size, ``x_range``) or ``"fixed"`` (same
      control values per size, ``control_range``).
    * ``jitter``: random shift of the control values, in grid spacings (non-rectangular grid).
    * ``scaling_function``: the true ``f`` (default :func:`logistic`).
    * ``layout``: ``"grid"`` (dims ``p, L`` with NaN holes) or ``"points"`` (dim ``point``).
    * ``seed``: the random seed (same arguments, same numbers).
    """
    form = as_form(form)
    if params is None:
        if form.name not in DEFAULT_PARAMS:
            raise ConfigError(f"give params for scaling form {form.name!r}: expected values for {', '.join(form.params)}")
        params = DEFAULT_PARAMS[form.name]
    params = {**form.param_defaults, **params}
    missing = [p for p in form.params if p not in params]
    if missing:
        raise ConfigError(f"params lack {', '.join(missing)} for scaling form {form.name!r}")
    if window not in ("scaled", "fixed"):
        raise ConfigError(f"window = {window!r}: expected 'scaled' or 'fixed'")
    if layout not in ("grid", "points"):
        raise ConfigError(f"layout = {layout!r}: expected 'grid' or 'points'")
    rng = np.random.default_rng(seed)
    theta = {k: np.array([[float(v)]]) for k, v in params.items()}
    theta["a"] = np.array([[float(a)]])
    p_c = float(params["p_c"])
    controls, sizes_out, spread = [], [], []
    for size in sizes:
        size_arr = np.array([float(size)])
        if window == "scaled":
            scale = form.scaling_variable(np.array([p_c + 1.0]), size_arr, theta)[0, 0]
            grid = p_c + np.linspace(*x_range, n_control) / scale
        else:
            grid = np.linspace(*control_range, n_control)
        spacing = (grid[-1] - grid[0]) / max(n_control - 1, 1)
        controls.append(grid + jitter * spacing * rng.uniform(-0.5, 0.5, n_control))
        sizes_out.append(np.full(n_control, float(size)))
        spread.append(0.75 + 0.5 * rng.uniform(size=n_control))
    control, size = np.concatenate(controls), np.concatenate(sizes_out)
    x = form.scaling_variable(control, size, theta)[0]          # every point at once: forms may use all sizes
    log_g = np.broadcast_to(form.log_size_factor(size, theta), (1, len(size)))[0]
    err = noise * np.exp(-log_g) * np.concatenate(spread)
    y = np.exp(-log_g) * scaling_function(x) + err * rng.standard_normal(len(size))
    attrs = {"title": f"synthetic {form.name} collapse",
             "truth_json": json.dumps({"form": form.name, "params": {k: float(v) for k, v in params.items()},
                                       "a": float(a), "noise": float(noise), "seed": int(seed)}, sort_keys=True)}
    points = xr.Dataset(
        {"y": ("point", y, {"long_name": "synthetic observable", "units": "1"}),
         "y_err": ("point", err, {"long_name": "standard error of y", "units": "1"})},
        coords={"p": ("point", control, {"long_name": "control parameter", "units": "1"}),
                "L": ("point", size, {"long_name": "system size", "units": "1"})},
        attrs=attrs)
    if layout == "points":
        return points
    grid = points.set_index(point=["p", "L"]).unstack("point")
    grid = grid.transpose("p", "L")
    for name in ("p", "L", "y", "y_err"):
        grid[name].attrs = points[name].attrs
    return grid
