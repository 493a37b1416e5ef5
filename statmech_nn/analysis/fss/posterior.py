"""The FSS result as an ``xarray.Dataset`` (ArviZ layout) and its JSON-ready summary.

Dataset layout (see ``docs/fss.md``):

* one variable per parameter with dims ``(chain, draw)`` (emcee walkers are chains), natural
  units, and ``lp`` (log-posterior): ``arviz.convert_to_inference_data(ds[names])`` reads them;
* ``summary(param, stat)`` with stats ``median, lo68, hi68, lo95, hi95, map`` (16/84 and
  2.5/97.5 percentiles); ``correlation(param, param2)`` (Pearson, natural units);
  ``tau(param)`` (integrated autocorrelation time, steps); ``acceptance(chain)``;
  ``elpd(size)`` (leave-one-size-out score per size, :mod:`.compare`), ``pareto_k(size)`` and
  ``elpd_refit(size)`` (1 where the score is an exact refit without the size);
* the fitted points ``obs_control, obs_size, obs_y, obs_err`` and ``obs_index`` (which
  variable) along ``point``, with the source's CF attributes, so a collapse plot needs only
  this file;
* attributes: ``form``, ``variables``, ``variable_attrs_json`` (their CF attributes), ``control``, ``size``, ``physical_params``, ``score``,
  ``n_steps``, ``burn``, ``thin``, ``converged``, ``overlap_median``, ``min_overlap``,
  ``options_json``, ``priors_json``, ``warnings_json`` (all NetCDF-safe).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ...schema import canonical_json, netcdf_safe_attrs
from .compare import PARETO_K_LIMIT
from .model import CollapseModel
from .sampler import SampleResult

STATS = ("median", "lo68", "hi68", "lo95", "hi95", "map")
#: the pointwise log likelihood for ArviZ (one "observation" per size: ln p(y_k | y_-k, theta))
HELD_OUT = "size_given_others"
#: a median (or, for a physical parameter, the end of its 95 % interval) closer than this
#: fraction of the prior width to a bound triggers a warning
BOUND_FRACTION = 0.01
#: a median overlap below min_overlap + this triggers a warning (the constraint is active)
OVERLAP_MARGIN = 0.05


def widen(name: str) -> str:
    """The advice of a bound warning, for each way a user fits: the command line, a study file,
    Python."""
    return (f"widen the prior: --prior {name}=LO,HI, analysis.fss.priors {{{name} = [LO, HI]}} in a study, "
            f"priors={{'{name}': (LO, HI)}} in Python")


def _bound_warnings(model: CollapseModel, flat: np.ndarray) -> list[str]:
    """Warnings for priors that decide a result: a median at a bound (any parameter), or the 95 %
    interval of a physical parameter reaching one -- the prior, not the data, then ends the
    interval there. Bounds that are part of the form's definition
    (:attr:`~.forms.ScalingForm.natural_bounds`) are answers, not truncations, and are skipped."""
    messages = []
    width = model.upper - model.lower
    median, lo95, hi95 = np.percentile(flat, [50, 2.5, 97.5], axis=0)
    for i, name in enumerate(model.names):
        lo, hi = model.priors[name]
        natural = model.form.natural_bounds.get(name, ())
        for side, edge, median_gap, end_gap in (("lower", lo, median[i] - model.lower[i], lo95[i] - model.lower[i]),
                                                ("upper", hi, model.upper[i] - median[i], model.upper[i] - hi95[i])):
            if side in natural:
                continue
            if median_gap < BOUND_FRACTION * width[i]:
                messages.append(f"{model.form.name}: posterior median of {name} sits at its {side} prior bound "
                                f"{edge:g}; {widen(name)}")
            elif not _is_hyper(model, name) and end_gap < BOUND_FRACTION * width[i]:
                messages.append(f"{model.form.name}: the 95 % interval of {name} reaches its {side} prior bound "
                                f"{edge:g}: the prior, not the data, ends it there, so the interval is too narrow "
                                f"on that side; {widen(name)}")
    return messages


def _pareto_warnings(model: CollapseModel, pareto_k: np.ndarray) -> list[str]:
    """One message naming every size whose held-out score is unreliable (``k > PARETO_K_LIMIT``)."""
    bad = [(size, k) for size, k in zip(model.data.sizes, pareto_k) if not k <= PARETO_K_LIMIT]
    if not bad:
        return []
    sizes = ", ".join(f"{size:g}" for size, _ in bad)
    ks = ", ".join(f"{k:.2f}" for _, k in bad)
    one = len(bad) == 1
    return [f"{model.form.name}: the leave-one-size-out score{'' if one else 's'} of {model.data.size_name} = {sizes} "
            f"{'is' if one else 'are'} unreliable (Pareto k = {ks} > {PARETO_K_LIMIT}): the full posterior does not "
            f"cover the posterior without {'that size' if one else 'those sizes'}, so "
            f"{'its score' if one else 'their scores'} may be off by more than the standard error "
            f"(refit=True scores {'it' if one else 'them'} exactly)"]


def build_posterior(model: CollapseModel, result: SampleResult, held_out: np.ndarray,
                    options: dict[str, Any], scores: tuple[np.ndarray, np.ndarray],
                    refitted: Mapping[int, float] | None = None) -> xr.Dataset:
    """Assemble the result Dataset from the draws and ``held_out`` (``ln p(y_k | y_-k, theta)``,
    ``(chain, draw, size)``); emits (and records) prior-bound, overlap and Pareto-k warnings and
    the form's caveats (:meth:`.forms.ScalingForm.caveats`).
    ``scores``: ``(elpd, pareto_k)`` per size, :func:`.compare.loso_elpd` of ``held_out``;
    ``refitted``: ``{size index: exact elpd}`` replacing the PSIS estimate of those sizes
    (:func:`.compare.refit_elpd`)."""
    elpd, pareto_k = np.array(scores[0], dtype=float), scores[1]
    refitted = dict(refitted or {})
    exact = np.zeros(len(elpd), dtype=np.int8)
    for k, value in refitted.items():
        elpd[k], exact[k] = value, 1
    flat = result.chain.reshape(-1, model.ndim)
    natural = model.to_physical(flat)
    n_walkers, n_draws = result.chain.shape[:2]
    median_vector = np.median(flat, axis=0)
    map_natural = model.to_physical(result.map_vector[None, :])
    control_units = model.data.control_attrs.get("units", "1")
    data_vars: dict[str, Any] = {}
    for name in model.names:
        units = control_units if name == "p_c" else model.data.size_attrs.get("units", "1") if name == "L0" else "1"
        data_vars[name] = (("chain", "draw"), natural[name].reshape(n_walkers, n_draws),
                           {"long_name": model.form.label(name), "units": units})
    data_vars["lp"] = (("chain", "draw"), result.log_prob, {"long_name": "log posterior (unnormalised)", "units": "1"})
    table = np.array([[*np.percentile(natural[n], [50, 16, 84, 2.5, 97.5]), map_natural[n][0]] for n in model.names])
    values = np.column_stack([natural[n] for n in model.names])
    data_vars["summary"] = (("param", "stat"), table, {"long_name": "posterior summaries", "units": "1"})
    data_vars["correlation"] = (("param", "param2"), np.atleast_2d(np.corrcoef(values, rowvar=False)),
                                {"long_name": "posterior correlation (Pearson)", "units": "1"})
    data_vars["tau"] = ("param", result.tau, {"long_name": "integrated autocorrelation time", "units": "steps"})
    data_vars["acceptance"] = ("chain", result.acceptance, {"long_name": "acceptance fraction", "units": "1"})
    data_vars["elpd"] = ("size", elpd, {"long_name": "leave-one-size-out log predictive density", "units": "nat"})
    data_vars["pareto_k"] = ("size", pareto_k, {"long_name": "Pareto k of the PSIS leave-one-size-out estimate",
                                                "units": "1"})
    data_vars["elpd_refit"] = ("size", exact, {"long_name": "1 where elpd is an exact refit without the size "
                                                            "(Pareto k too large), 0 where it is the PSIS estimate",
                                               "units": "1", "flag_values": np.array([0, 1], dtype=np.int8),
                                               "flag_meanings": "psis exact_refit"})
    data_vars[HELD_OUT] = (("chain", "draw", "size"), held_out,
                           {"long_name": "log predictive density of a size given the other sizes and the parameters",
                            "units": "nat"})
    obs = model.data.observables
    data_vars["obs_control"] = ("point", np.concatenate([o.control for o in obs]), dict(model.data.control_attrs))
    data_vars["obs_size"] = ("point", np.concatenate([o.size for o in obs]), dict(model.data.size_attrs))
    data_vars["obs_y"] = ("point", np.concatenate([o.y for o in obs]), dict(obs[0].attrs))
    data_vars["obs_err"] = ("point", np.concatenate([o.err for o in obs]),
                            {"long_name": "standard error used in the fit (after the error floor)",
                             "units": obs[0].attrs.get("units", "1")})
    data_vars["obs_index"] = ("point", np.concatenate([np.full(len(o.y), j) for j, o in enumerate(obs)]),
                              {"long_name": "index into the attribute 'variables'", "units": "1"})
    for key in ("obs_control", "obs_size", "obs_y"):
        data_vars[key][2].setdefault("long_name", key[4:])
        data_vars[key][2].setdefault("units", "1")
    overlap_median = float(model.overlap(median_vector[None, :])[0])
    messages = _bound_warnings(model, flat) + _pareto_warnings(model, np.where(exact, 0.0, pareto_k))
    messages += model.form.caveats({name: float(np.median(natural[name])) for name in model.form.params})
    if overlap_median < model.min_overlap + OVERLAP_MARGIN:
        messages.append(f"{model.form.name}: at the posterior median the scaled curves barely overlap "
                        f"({overlap_median:.2f}, min_overlap = {model.min_overlap}): the overlap constraint, "
                        f"not a collapse of the data, may be setting the exponents")
    for message in messages:
        warnings.warn(message, RuntimeWarning, stacklevel=3)
    steps_kept = result.n_steps - result.burn
    attrs = {
        "title": f"finite-size-scaling posterior ({model.form.name})",
        "form": model.form.name,
        "form_options_json": canonical_json(model.form.options()),
        "variables": canonical_json([o.name for o in obs]),
        "variable_attrs_json": canonical_json({o.name: {k: str(o.attrs[k]) for k in ("long_name", "units")
                                                        if k in o.attrs} for o in obs}),
        "control": model.data.control_name,
        "size": model.data.size_name,
        "physical_params": canonical_json([n for n in model.names if not _is_hyper(model, n)]),
        "score": float(np.sum(elpd)),
        "score_name": "loso_elpd",
        "n_walkers": n_walkers,
        "n_steps": result.n_steps,
        "burn": result.burn,
        "thin": result.thin,
        "n_tau_achieved": float(steps_kept / np.max(result.tau)),
        "converged": bool(result.converged),
        "overlap_median": overlap_median,
        "min_overlap": model.min_overlap,
        "options_json": canonical_json(options),
        "priors_json": canonical_json({k: list(v) for k, v in model.priors.items()}),
        "warnings_json": canonical_json(messages),
    }
    coords = {"chain": np.arange(n_walkers), "draw": np.arange(n_draws), "param": list(model.names),
              "param2": list(model.names), "stat": list(STATS), "size": model.data.sizes.astype(float)}
    return xr.Dataset(data_vars, coords=coords, attrs=netcdf_safe_attrs(attrs))


def _is_hyper(model: CollapseModel, name: str) -> bool:
    return any(name == full for names in model.local_names for base, full in names.items() if base != "a")


def _interval(ds: xr.Dataset, name: str) -> dict[str, float]:
    row = ds["summary"].sel(param=name)
    return {"median": float(row.sel(stat="median")), "lo": float(row.sel(stat="lo68")),
            "hi": float(row.sel(stat="hi68")), "lo95": float(row.sel(stat="lo95")),
            "hi95": float(row.sel(stat="hi95")), "map": float(row.sel(stat="map"))}


def _refit_flags(ds: xr.Dataset) -> np.ndarray:
    """Which sizes' scores are exact refits (none in files written before the refit existed)."""
    return ds["elpd_refit"].values.astype(bool) if "elpd_refit" in ds else np.zeros(ds.sizes["size"], dtype=bool)


def unreliable_sizes(ds: xr.Dataset) -> list[float]:
    """The held-out sizes whose score is neither importance-sampled reliably (Pareto
    ``k <= PARETO_K_LIMIT``) nor an exact refit."""
    return [float(s) for s, k, exact in zip(ds["size"].values, ds["pareto_k"].values, _refit_flags(ds))
            if not (k <= PARETO_K_LIMIT or exact)]


def summarize(ds: xr.Dataset) -> dict[str, Any]:
    """JSON-ready summary of a posterior Dataset (the ``--json`` output of the CLI).

    ``params``: physical parameters (``p_c``, the form's exponents, ``a``) with ``median``,
    ``lo``/``hi`` (16th/84th percentiles), ``lo95``/``hi95`` and ``map``; ``hyperparams``: the
    same for the Gaussian-process hyperparameters; ``correlation``; ``convergence``; ``score``.
    """
    physical = json.loads(ds.attrs["physical_params"])
    names = [str(n) for n in ds["param"].values]
    return {
        "form": ds.attrs["form"],
        "form_options": json.loads(ds.attrs.get("form_options_json", "{}")),
        "variables": json.loads(ds.attrs["variables"]),
        "params": {n: _interval(ds, n) for n in physical},
        "hyperparams": {n: _interval(ds, n) for n in names if n not in physical},
        "correlation": {"names": names, "matrix": np.round(ds["correlation"].values, 4).tolist()},
        "convergence": {"tau": {n: float(t) for n, t in zip(names, ds["tau"].values)},
                        "acceptance": float(ds["acceptance"].mean()),
                        "n_walkers": int(ds.attrs["n_walkers"]), "n_steps": int(ds.attrs["n_steps"]),
                        "burn": int(ds.attrs["burn"]), "thin": int(ds.attrs["thin"]),
                        "n_tau": float(ds.attrs["n_tau_achieved"]), "converged": bool(ds.attrs["converged"])},
        "overlap": float(ds.attrs["overlap_median"]),
        "score": float(ds.attrs["score"]),
        "score_name": ds.attrs["score_name"],
        "score_per_size": {f"{float(s):g}": float(v) for s, v in zip(ds["size"].values, ds["elpd"].values)},
        "pareto_k": {f"{float(s):g}": float(v) for s, v in zip(ds["size"].values, ds["pareto_k"].values)},
        "refitted": [float(s) for s, r in zip(ds["size"].values, _refit_flags(ds)) if r],
        "warnings": json.loads(ds.attrs["warnings_json"]),
    }


def describe_slice(ds: xr.Dataset) -> str:
    """One line naming the data a posterior was fitted to: variables, and the slice of any
    other dimension (``--select``) or the dimension averaged over (``--average``)."""
    options = json.loads(ds.attrs.get("options_json", "{}"))
    parts = [", ".join(json.loads(ds.attrs["variables"])) + f" against {ds.attrs['control']} and {ds.attrs['size']}"]
    select = options.get("select") or {}
    if select:
        parts.append("slice " + ", ".join(f"{k} = {v}" for k, v in select.items()))
    if options.get("average"):
        parts.append(f"averaged over {options['average']}")
    if not select and not options.get("average"):
        parts.append("no other dimension")
    return "; ".join(parts)
