"""Central values and their standard errors: how a fit gets its weights (not to be confused with
the weights of trained networks, which the experiment plugins handle).

:func:`mean_and_error` reduces a variable to one value per grid point (averaging over seeds)
and attaches a standard error ``err`` to it, chosen per point in this order:

1. ``seed`` dimension with ``n >= 2`` finite values at the point:
   ``mean = (1/n) sum_s y_s``, ``err = std_s(y, ddof=1) / sqrt(n)`` (the standard error of the
   mean over independent training runs; it already contains the mask-to-mask noise).
2. otherwise, a companion spread ``<var>_std`` over evaluation masks:
   ``err = <var>_std / sqrt(n_masks)`` (``n_masks`` from a variable or global attribute of that
   name; if it is absent, ``n_masks = 1``, i.e. the spread itself -- the conservative choice).
3. otherwise no error is known. If that holds at every point, ``err = |y|`` (equal *relative*
   weights) and ``source == "none"``: the fit must then take its scale from the residuals. A
   lone point without an error among points with one gets ``err = NaN`` and is left out.

Then, if ``pool_dim`` is given (the fits pass their size dim), the *relative* errors are pooled
along it, ``err_i = |mean_i| * sqrt(mean_j (err_j / mean_j)**2)``: one relative error per curve,
estimated from ``n_sizes * (n_seeds - 1)`` degrees of freedom instead of ``n_seeds - 1``. With 2-5
seeds the per-point standard error is so noisy that some points get wildly large weights: on
:func:`statmech_nn.synthetic.synthetic_dataset` (3 % noise, 10 sizes) the pulls of fitted exponents
had standard deviation 5.6 / 1.7 / 1.3 for 2 / 3 / 5 seeds unpooled, and 0.95 / 0.93 / 0.94
pooled (0.93 / 0.92 / 0.92 with the true errors). Pooling assumes the relative scatter varies
little with size; the fit's ``chi2_red`` and the ``"inflate"`` rule catch gross departures.

Finally a floor: ``err = max(err, rel_floor * |mean|)``. Two seeds estimate a spread poorly
(by chance it can be near 0), and at ``p_eval = 0`` every mask gives the same network, so the
mask spread is exactly 0; either would give one point an unbounded weight. The default floor,
1 %, is below the seed-to-seed scatter of test losses (several per cent) so it only guards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from ..errors import ConfigError, DataError
from ..schema import data_variable

DEFAULT_REL_FLOOR = 0.01


@dataclass(frozen=True)
class Measured:
    """``mean`` and ``err`` DataArrays of the same dims (no seed dim); ``source`` says how
    ``err`` was obtained: "seeds", "masks", "seeds+masks" (some points each), or "none"."""

    mean: xr.DataArray
    err: xr.DataArray
    source: str


def _n_masks(ds: xr.Dataset | None) -> xr.DataArray | float:
    if ds is None:
        return 1.0
    if "n_masks" in ds.variables:
        return ds["n_masks"]
    return float(ds.attrs.get("n_masks", 1))


def _check_non_negative(da: xr.DataArray, name: str) -> None:
    values = np.asarray(da.values, dtype=float)
    if np.any(values < 0):
        raise DataError(f"variable {name!r} has negative values (min {np.nanmin(values):.3g}): "
                        "a spread must be >= 0")


def mean_and_error(
    data: xr.Dataset | xr.DataArray,
    var: str = "loss",
    *,
    seed_dim: str = "seed",
    pool_dim: str | None = None,
    rel_floor: float = DEFAULT_REL_FLOOR,
) -> Measured:
    """Average ``var`` over ``seed_dim`` and give each point a standard error (module doc).

    ``data`` may be a Dataset (``var`` names the variable; ``<var>_std`` and ``n_masks`` are
    used when present) or a DataArray (only the seed spread is available).
    """
    if not (np.isfinite(rel_floor) and rel_floor >= 0):
        raise ConfigError(f"rel_err_floor = {rel_floor!r}: expected a number >= 0")
    if isinstance(data, xr.DataArray):
        ds, y = None, data
        var = str(data.name) if data.name is not None else var
    else:
        ds, y = data, data_variable(data, var)
    y = y.astype(float)
    if np.any(np.isinf(y.values)):
        raise DataError(f"variable {var!r} has infinite values: expected finite numbers or NaN "
                        "for missing cells")

    err_seed = None
    if seed_dim in y.dims:
        n = y.count(seed_dim)
        mean = y.mean(seed_dim, skipna=True)
        sem = y.std(seed_dim, ddof=1, skipna=True) / np.sqrt(n)
        err_seed = sem.where(n >= 2)
    else:
        mean = y

    err_mask = None
    std_name = f"{var}_std"
    if ds is not None and std_name in ds.data_vars:
        std = ds[std_name].astype(float)
        _check_non_negative(std, std_name)
        if seed_dim in std.dims:  # the mask spread of the mean over seeds (or of the one seed)
            n = y.count(seed_dim)
            std = np.sqrt((std**2).where(y.notnull()).sum(seed_dim, skipna=True)) / n
        err_mask = std / np.sqrt(_n_masks(ds))

    if err_seed is not None and err_mask is not None:
        err = err_seed.fillna(err_mask)
        used_seed = bool(err_seed.notnull().any())
        used_mask = bool((err_seed.isnull() & err_mask.notnull() & mean.notnull()).any())
        source = "+".join(s for s, used in (("seeds", used_seed), ("masks", used_mask)) if used)
    elif err_seed is not None:
        err, source = err_seed, "seeds"
    elif err_mask is not None:
        err, source = err_mask, "masks"
    else:
        err, source = xr.full_like(mean, np.nan), ""
    if not source or bool((err.isnull() & mean.notnull()).all()):
        return Measured(mean, abs(mean), "none")
    if pool_dim is not None and pool_dim in err.dims:
        err = abs(mean) * np.sqrt(((err / mean) ** 2).mean(pool_dim, skipna=True))
    floor = rel_floor * abs(mean)
    err = xr.where(err < floor, floor, err).where(mean.notnull())
    return Measured(mean, err, source)
