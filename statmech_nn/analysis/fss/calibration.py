"""Simulation-based calibration: do a design's posterior intervals mean what they say?

For ``n_replicas`` replicas, a truth is drawn (each parameter uniform on its range in
``truth_ranges``; the y-exponent ``a`` on ``a_range`` when ``fit_a``), a synthetic data set of the
design is simulated from it (:func:`.synthetic.collapse_dataset`: ``sizes`` x ``n_control``
jittered control values, noise drawn from the stated errors; with ``offset_sd`` every size's
curve shifted by its own ``N(0, offset_sd^2)``, with ``offset_tilt_sd`` also tilted) and fitted (:func:`.api.fit_fss`,
``priors`` as given). With ``seeds = R >= 2`` the fit is not told the true errors but, as from a
sweep of ``R`` seeds, estimates of them: ``e_i * sqrt(chi2_(R-1) / (R - 1))`` (the standard error of
a mean of ``R`` normal replicas, whose variance estimate is independent of the mean), used as
they are (``seed_errors = "per_point"``) or moderated towards one level per size
(``"moderated"``, :mod:`statmech_nn.analysis.moderated_variance`). Reported per parameter:

* ``coverage68``/``coverage95``: the fraction of replicas whose 68 % (95 %) interval holds the
  truth. A calibrated interval covers in 68 % (95 %) of replicas *when the truths are drawn
  from the prior the fit uses* (Talts et al. 2018, arXiv:1804.06788); truths drawn from a
  narrower range than the prior add the prior's pull (shrinkage) to what is measured.
* ``bias``: the mean over replicas of ``z = (median - truth) / half-width(68 %)`` -- the bias
  in units of the parameter's own standard error -- and ``bias_se``, the standard error of that
  mean (``sd(z) / sqrt(n)``).

:func:`calibrate_comparison` asks the same of a *comparison*: on replicas simulated from one
form, how often does :func:`.api.compare_forms` prefer it, and how often the other form by more
than one or two standard errors of the score difference (a calibrated standard error would let
the wrong form lead by more than 2 of them in about 2 % of replicas, were the difference
normal).

The truths are drawn in order from ``numpy.random.default_rng(truth_seed)`` and replica ``r``
is simulated and fitted with seed ``r``, so the numbers do not depend on ``processes``: the
replicas run in that many spawned processes (:func:`statmech_nn.processes.starmap_in_processes`;
a script that calls :func:`calibrate` with ``processes`` other than 1 needs Python's
``if __name__ == "__main__":`` guard).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from ...errors import ConfigError
from ...processes import starmap_in_processes
from .._options import ERROR_METHODS
from ..moderated_variance import moderated_grid
from .api import compare_forms, fit_fss
from .posterior import summarize, unreliable_sizes
from .synthetic import collapse_dataset


@dataclass(frozen=True)
class Design:
    """What is simulated and how it is fitted (see the module docstring)."""

    form: str
    truth_ranges: Mapping[str, tuple[float, float]]
    fit_a: bool = False
    a_range: tuple[float, float] = (-0.5, 0.5)
    sizes: tuple[float, ...] = (8, 16, 32, 64)
    n_control: int = 10
    noise: float = 0.02
    jitter: float = 1.0
    window: str = "scaled"
    priors: Mapping[str, tuple[float, float]] | None = None
    n_tau: float = 20.0
    n_walkers: int = 24
    #: per-size shifts of the simulated data, ``delta_k ~ N(0, offset_sd^2)`` in units of ``y``
    offset_sd: float = 0.0
    #: per-size tilts of the simulated data: every size's curve also tilted by ``gamma_k u``,
    #: ``gamma_k ~ N(0, offset_tilt_sd^2)``, ``u`` the control value mapped onto [-1, 1] over that
    #: size's window -- an error correlated along the control axis that a shift does not describe
    offset_tilt_sd: float = 0.0
    #: fit with the error model of size offsets, of size tilts (:func:`.api.fit_fss`)
    size_offsets: bool = False
    size_tilts: bool = False
    #: 0: the fits are given the true errors; ``R >= 2``: errors estimated from ``R`` seeds
    seeds: int = 0
    #: how the estimated errors are used: "per_point" or "moderated" (the module docstring)
    seed_errors: str = "per_point"


P_C_RANGE = {"p_c": (0.45, 0.55)}
BKT_NUISANCE = {"L0": (0.5, 2.0), "kappa": (0.95, 1.0)}
#: the designs of ``tests/test_fss_sbc.py`` (``Design(**SBC_DESIGNS[form], fit_a=...)``): exponents
#: from physically sensible ranges inside their default priors; the BKT form's nuisance parameters
#: drawn from the priors the fits are given (``docs/fss.md`` says why)
SBC_DESIGNS = {
    "second_order": dict(form="second_order", truth_ranges={**P_C_RANGE, "nu": (0.8, 1.4)}),
    "bkt": dict(form="bkt", truth_ranges={**P_C_RANGE, "sigma": (0.4, 1.0), **BKT_NUISANCE}, priors=BKT_NUISANCE),
}


@dataclass(frozen=True)
class Calibration:
    """Per parameter: coverage of the 68 % and 95 % intervals, mean bias in standard errors."""

    coverage68: dict[str, float]
    coverage95: dict[str, float]
    bias: dict[str, float]
    bias_se: dict[str, float]
    min_n_tau: float
    z: dict[str, list[float]] = field(repr=False)


def draw_truths(design: Design, n_replicas: int, truth_seed: int) -> list[dict[str, float]]:
    """The truth of every replica, ``a`` included when fitted (0 otherwise, and not listed)."""
    rng = np.random.default_rng(truth_seed)
    truths = []
    for _ in range(n_replicas):
        truth = {name: float(rng.uniform(*bounds)) for name, bounds in design.truth_ranges.items()}
        if design.fit_a:
            truth["a"] = float(rng.uniform(*design.a_range))
        truths.append(truth)
    return truths


def simulate_replica(design: Design, truth: Mapping[str, float], seed: int) -> xr.Dataset:
    """The synthetic data set of one replica (``y``, ``y_err`` over ``L`` and ``p``)."""
    params = {k: v for k, v in truth.items() if k != "a"}
    ds = collapse_dataset(design.form, params, sizes=design.sizes, n_control=design.n_control, jitter=design.jitter,
                          noise=design.noise, window=design.window, a=truth.get("a", 0.0), seed=seed)
    if design.offset_sd:
        shift = design.offset_sd * np.random.default_rng([seed, 1]).standard_normal(ds.sizes["L"])
        ds["y"] = ds["y"] + xr.DataArray(shift, dims="L")
    if design.offset_tilt_sd:
        tilt = design.offset_tilt_sd * np.random.default_rng([seed, 2]).standard_normal(ds.sizes["L"])
        window = ds["p"].where(np.isfinite(ds["y"]))
        low, high = window.min("p"), window.max("p")
        ds["y"] = ds["y"] + xr.DataArray(tilt, dims="L") * (2 * ds["p"] - low - high) / (high - low)
    if design.seeds:
        ds["y_err"] = estimated_errors(ds["y_err"], design.seeds, design.seed_errors, seed)
    return ds


def estimated_errors(err: xr.DataArray, seeds: int, how: str, seed: int) -> xr.DataArray:
    """The errors ``err`` (over ``p`` x ``L``, NaN where unmeasured) as ``seeds`` replicas would
    estimate them (module docstring), drawn from ``default_rng([seed, 3])``; ``how`` is
    :data:`~statmech_nn.analysis._options.ERROR_METHODS`."""
    if seeds < 2 or how not in ERROR_METHODS:
        raise ConfigError(f"seeds = {seeds!r}, seed_errors = {how!r}: expected seeds >= 2 and one of "
                          f"{', '.join(ERROR_METHODS)}")
    err = err.transpose("p", "L")
    draw = np.random.default_rng([seed, 3]).chisquare(seeds - 1, err.shape) / (seeds - 1)
    variance = err**2 * draw
    if how == "moderated":
        dof = xr.full_like(variance, seeds - 1.0).where(np.isfinite(variance))
        variance, _ = moderated_grid(variance, dof, size_dim="L", control_dim="p")
    return np.sqrt(variance)


def fit_replica(design: Design, truth: Mapping[str, float], seed: int) -> dict:
    """Simulate and fit one replica; its summary (:func:`.posterior.summarize`)."""
    ds = simulate_replica(design, truth, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summarize(fit_fss(ds, "y", err="y_err", size_dim="L", control_dim="p", form=design.form,
                                 fit_a=design.fit_a, priors=design.priors, n_tau=design.n_tau,
                                 n_walkers=design.n_walkers, seed=seed, size_offsets=design.size_offsets,
                                 size_tilts=design.size_tilts))


def compare_replica(design: Design, truth: Mapping[str, float], seed: int) -> dict:
    """Simulate one replica and compare the two built-in forms on it as a user would
    (:func:`.api.compare_forms`: each form without and with its correction, the forms' default
    priors; ``fit_a``, chains, ``size_offsets`` and ``size_tilts`` from ``design``). Returns ``z``
    -- the score difference truth minus the other form in units of its standard error, ``> 0``
    when the truth is preferred -- and ``unreliable`` (some held-out score has Pareto
    ``k > 0.7``)."""
    (other,) = (form for form in SBC_DESIGNS if form != design.form)
    ds = simulate_replica(design, truth, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        comparison = compare_forms(ds, "y", err="y_err", size_dim="L", control_dim="p", forms=(design.form, other),
                                   fit_a=design.fit_a, n_tau=design.n_tau, n_walkers=design.n_walkers, seed=seed,
                                   size_offsets=design.size_offsets, size_tilts=design.size_tilts)
    sign = 1.0 if comparison.preferred == design.form else -1.0
    return {"z": sign * comparison.delta / comparison.delta_se,
            "unreliable": any(unreliable_sizes(post) for post in comparison.results.values())}


def calibrate(design: Design, n_replicas: int = 50, *, processes: int | None = 1,
              truth_seed: int = 12345) -> Calibration:
    """Fit ``n_replicas`` simulated replicas of ``design`` and measure coverage and bias
    (``processes``: ``None`` or 0 for one per core)."""
    truths = draw_truths(design, n_replicas, truth_seed)
    summaries = starmap_in_processes(fit_replica, [(design, truth, r) for r, truth in enumerate(truths)], processes)
    return _score(truths, summaries)


@dataclass(frozen=True)
class ComparisonCalibration:
    """How often a comparison picks the form the data were simulated from (:func:`calibrate_comparison`)."""

    truth_form: str
    #: per replica: the score difference truth minus the other form over its standard error
    z: tuple[float, ...]
    #: per replica: some held-out score was unreliable (Pareto k > 0.7)
    unreliable: tuple[bool, ...]

    @property
    def right(self) -> float:
        """The fraction of replicas in which the truth is preferred (``z > 0``)."""
        return float(np.mean(np.asarray(self.z) > 0))

    def wrong_beyond(self, n_se: float) -> float:
        """The fraction of replicas preferring the other form by more than ``n_se`` standard errors."""
        return float(np.mean(np.asarray(self.z) < -n_se))


def calibrate_comparison(design: Design, n_replicas: int = 24, *, processes: int | None = 1,
                         truth_seed: int = 12345) -> ComparisonCalibration:
    """Compare the two built-in forms on ``n_replicas`` replicas simulated from ``design.form``
    (truths as in :func:`calibrate`, fits as in :func:`compare_replica`)."""
    if design.form not in SBC_DESIGNS:
        raise ConfigError(f"form {design.form!r}: a comparison is calibrated for {' or '.join(SBC_DESIGNS)}")
    truths = draw_truths(design, n_replicas, truth_seed)
    rows = starmap_in_processes(compare_replica, [(design, truth, r) for r, truth in enumerate(truths)], processes)
    return ComparisonCalibration(truth_form=design.form, z=tuple(float(r["z"]) for r in rows),
                                 unreliable=tuple(bool(r["unreliable"]) for r in rows))


def _score(truths: Sequence[Mapping[str, float]], summaries: Sequence[dict]) -> Calibration:
    names = list(truths[0])
    hits68 = {n: [] for n in names}
    hits95 = {n: [] for n in names}
    z = {n: [] for n in names}
    for truth, s in zip(truths, summaries):
        for name, value in truth.items():
            row = s["params"][name]
            hits68[name].append(row["lo"] <= value <= row["hi"])
            hits95[name].append(row["lo95"] <= value <= row["hi95"])
            z[name].append((row["median"] - value) / (0.5 * (row["hi"] - row["lo"])))
    return Calibration(coverage68={n: float(np.mean(v)) for n, v in hits68.items()},
                       coverage95={n: float(np.mean(v)) for n, v in hits95.items()},
                       bias={n: float(np.mean(v)) for n, v in z.items()},
                       bias_se={n: float(np.std(v, ddof=1) / np.sqrt(len(v))) for n, v in z.items()},
                       min_n_tau=float(min(s["convergence"]["n_tau"] for s in summaries)),
                       z={n: [float(x) for x in v] for n, v in z.items()})
