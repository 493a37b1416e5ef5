"""Posterior sampling: a global MAP search seeds emcee, which runs until the chains are long.

1. **Seed.** ``scipy.optimize.differential_evolution`` over the whole prior box (vectorised
   over its population, Latin-hypercube start) finds the MAP. A user ``start`` only joins the
   initial population, so the answer does not depend on where one starts. If no point of the
   box has a finite posterior, the priors exclude the data: :class:`ConfigError`.
2. **Sample.** ``n_walkers`` walkers start in a small ball around the MAP (1 % of the box) and
   run emcee (differential-evolution moves mixed with snooker moves, which follow the narrow,
   curved ridges such as sigma-L0 of the BKT form better than the stretch move) in chunks.
   After each chunk, with ``n`` steps done, the first ``n // 3`` are discarded as burn-in and the
   integrated autocorrelation time ``tau`` of every parameter is estimated on the rest; sampling
   stops when ``(n - n // 3) >= n_tau * max(tau)`` -- so the burn-in is also ``>= n_tau/2 * tau`` --
   or at ``max_steps`` with a warning (also when a walker stood still: its autocorrelation time
   is 0/0, so no length counts as converged).
3. **Keep.** The kept part is thinned by ``max(1, floor(max(tau) / 2))`` (by 1 without a ``tau``).

Everything random is drawn from one ``numpy.random.Generator`` made from ``seed``: the same
seed gives the same numbers.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import emcee
import numpy as np
import scipy.optimize

from ...errors import ConfigError
from .model import CollapseModel

#: the fewest emcee steps a run may be capped at (below it no autocorrelation time can be estimated)
MIN_STEPS = 50
#: stand-in for -inf in the minimiser (which needs finite numbers)
_PENALTY = 1e12


@dataclass(frozen=True)
class SamplerSettings:
    """Knobs of :func:`sample_posterior` (defaults meet the speed/accuracy targets)."""

    n_walkers: int = 32
    n_tau: float = 50.0
    max_steps: int = 20000
    chunk: int = 500
    seed: int = 0

    def check(self, ndim: int) -> None:
        if self.n_walkers < 2 * ndim or self.n_walkers % 2:
            raise ConfigError(f"n_walkers = {self.n_walkers}: expected an even number >= {2 * ndim} "
                              f"(twice the {ndim} parameters)")
        if not self.n_tau > 0:
            raise ConfigError(f"n_tau = {self.n_tau}: expected a number > 0")
        if not self.max_steps >= MIN_STEPS:
            raise ConfigError(f"max_steps = {self.max_steps}: expected at least {MIN_STEPS} emcee steps")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ConfigError(f"seed = {self.seed!r}: expected an integer >= 0")


@dataclass(frozen=True)
class SampleResult:
    """Kept draws and convergence diagnostics."""

    chain: np.ndarray          # (n_walkers, n_draws, ndim), sampling coordinates
    log_prob: np.ndarray       # (n_walkers, n_draws)
    tau: np.ndarray            # (ndim,) integrated autocorrelation time, in steps
    acceptance: np.ndarray     # (n_walkers,)
    n_steps: int
    burn: int
    thin: int
    converged: bool
    map_vector: np.ndarray     # (ndim,) best point found (search or chain)
    map_log_prob: float


def find_map(model: CollapseModel, rng: np.random.Generator, start: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Global MAP in sampling coordinates by differential evolution over the prior box."""
    def objective(columns: np.ndarray) -> np.ndarray:
        lp = model.log_prob(np.atleast_2d(columns.T))
        return np.where(np.isfinite(lp), -lp, _PENALTY)

    if start is not None and not np.isfinite(model.log_prob(start[None, :])[0]):
        warnings.warn("the start point has zero posterior (outside the prior box, or the scaled curves do not "
                      "overlap); it is ignored", RuntimeWarning, stacklevel=3)
        start = None
    result = scipy.optimize.differential_evolution(
        objective, list(zip(model.lower, model.upper)), vectorized=True, updating="deferred",
        popsize=12, maxiter=150, tol=1e-3, polish=False, init="latinhypercube", x0=start, rng=rng)
    if result.fun >= _PENALTY:
        raise ConfigError(
            f"the priors exclude the data: no parameter value in the prior box of form {model.form.name!r} "
            f"gives scaled curves that overlap by min_overlap = {model.min_overlap} (widen the priors or "
            f"lower min_overlap)")
    return np.asarray(result.x), float(-result.fun)


def _initial_ball(model: CollapseModel, centre: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    width = model.upper - model.lower
    walkers = np.empty((n, model.ndim))
    todo = np.arange(n)
    for _ in range(50):
        trial = centre + 0.01 * width * rng.standard_normal((todo.size, model.ndim))
        ok = np.isfinite(model.log_prob(trial))
        walkers[todo[ok]] = trial[ok]
        todo = todo[~ok]
        if not todo.size:
            return walkers
    walkers[todo] = centre + 1e-6 * width * rng.standard_normal((todo.size, model.ndim))
    return walkers


def _unconverged_message(settings: SamplerSettings, n: int, longest_tau: float, acceptance: np.ndarray) -> str:
    """Why a run stopped at ``max_steps``. A walker that never moved in the kept part has a constant
    chain, whose autocorrelation is 0/0, so emcee's integrated time is NaN (``longest_tau``): the
    run is then unconverged whatever its length, and the message names those walkers."""
    if np.isfinite(longest_tau):
        return (f"emcee stopped at max_steps = {settings.max_steps} after {(n - n // 3) / longest_tau:.0f} "
                f"autocorrelation times (< n_tau = {settings.n_tau:g}): raise max_steps")
    stuck = np.flatnonzero(acceptance < 0.01)
    return (f"emcee stopped at max_steps = {settings.max_steps} with no autocorrelation time: walker(s) "
            f"{', '.join(map(str, stuck))} of {len(acceptance)} accepted < 1 % of their moves and stood still, "
            "so their draws repeat one point; raise max_steps or n_walkers")


class _QuietInterrupt:
    """``log_prob`` for emcee with Ctrl-C passed on without emcee's traceback: emcee prints
    "Exception while calling your likelihood function" and a traceback for anything the
    likelihood raises, a KeyboardInterrupt included. The interrupt is held instead (the walkers
    get -inf for that one proposal) and re-raised by :meth:`check` after the step."""

    def __init__(self, log_prob):
        self.log_prob, self.interrupted = log_prob, False

    def __call__(self, thetas: np.ndarray) -> np.ndarray:
        try:
            return self.log_prob(thetas)
        except KeyboardInterrupt:
            self.interrupted = True
            return np.full(len(thetas), -np.inf)

    def check(self) -> None:
        if self.interrupted:
            raise KeyboardInterrupt


def sample_posterior(model: CollapseModel, settings: SamplerSettings = SamplerSettings(),
                     start: np.ndarray | None = None) -> SampleResult:
    """MAP-seeded emcee run until ``n_tau`` autocorrelation times (see the module docstring)."""
    settings.check(model.ndim)
    rng = np.random.default_rng(settings.seed)
    map_vector, map_lp = find_map(model, rng, start)
    likelihood = _QuietInterrupt(model.log_prob)
    sampler = emcee.EnsembleSampler(
        settings.n_walkers, model.ndim, likelihood, vectorize=True,
        moves=[(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)])
    sampler.random_state = np.random.RandomState(rng.integers(2**32)).get_state()
    state = _initial_ball(model, map_vector, settings.n_walkers, rng)
    converged, tau = False, np.full(model.ndim, np.inf)
    while sampler.iteration < settings.max_steps:
        for state in sampler.sample(state, iterations=min(settings.chunk, settings.max_steps - sampler.iteration)):
            likelihood.check()
        n = sampler.iteration
        with np.errstate(invalid="ignore", divide="ignore"):    # a walker that stood still: 0/0, NaN
            tau = emcee.autocorr.integrated_time(sampler.get_chain(discard=n // 3), tol=0)
        if n - n // 3 >= settings.n_tau * np.max(tau):
            converged = True
            break
    n = sampler.iteration
    longest = float(np.max(tau))
    if not converged:
        warnings.warn(_unconverged_message(settings, n, longest, sampler.acceptance_fraction), RuntimeWarning,
                      stacklevel=3)
    burn, thin = n // 3, max(1, int(longest // 2)) if np.isfinite(longest) else 1
    chain = sampler.get_chain(discard=burn, thin=thin)              # (draws, walkers, ndim)
    log_prob = sampler.get_log_prob(discard=burn, thin=thin)
    full_lp = sampler.get_log_prob()
    if full_lp.max() > map_lp:
        step, walker = np.unravel_index(np.argmax(full_lp), full_lp.shape)
        map_vector, map_lp = sampler.get_chain()[step, walker], float(full_lp.max())
    return SampleResult(chain=np.swapaxes(chain, 0, 1), log_prob=log_prob.T, tau=np.asarray(tau),
                        acceptance=np.asarray(sampler.acceptance_fraction), n_steps=n, burn=burn, thin=thin,
                        converged=converged, map_vector=np.asarray(map_vector), map_log_prob=map_lp)
