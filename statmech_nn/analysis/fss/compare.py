"""Model comparison between scaling forms: leave-one-size-out expected log predictive density.

For every size ``L_k`` the score asks: *does the collapse of the other sizes predict this one?*

    elpd_k = ln p(y_k | y_-k) = ln  integral p(y_k | y_-k, theta) p(theta | y_-k) d theta
    score  = sum_k elpd_k                     (natural log; higher is better)

``p(y_k | y_-k, theta)`` is exact for the Gaussian-process model (the ratio of the restricted
likelihoods of all points and of the points without size ``L_k``); :func:`held_out_loglik`
evaluates it for every posterior draw (the ``log_likelihood`` group of the output, so ArviZ's
``loo`` and ``compare`` read the same numbers). The integral over ``p(theta | y_-k)`` is
estimated from draws of the full posterior by Pareto-smoothed importance sampling (PSIS;
Vehtari, Gelman & Gabry, Stat. Comput. 27, 1413 (2017); Vehtari et al., JMLR 25, 72 (2024)):
raw weights ``1 / p(y_k | y_-k, theta)``, their largest ``M = min(S/5, 3 sqrt(S))`` replaced by
quantiles of a generalized Pareto fit (Zhang & Stephens, Technometrics 51, 316 (2009)). The fit's
shape ``k`` says how far the estimate can be trusted: ``k <= 0.7`` reliable, above that the
full posterior does not cover ``p(theta | y_-k)``. (This is the PSIS-LOO of Buerkner, Gabry &
Vehtari, Comput. Stat. 36, 1243 (2021) for non-factorised models, with whole sizes as the
held-out units.) On request (``refit=True``) a size with ``k > 0.7`` is scored exactly
(:func:`refit_elpd`, the remedy Vehtari et al. recommend): the posterior given the other sizes
is sampled anew and ``elpd_k = ln mean_s p(y_k | y_-k, theta_s)`` over its draws.

The difference of two forms has the standard error ``sqrt(K var_k(elpd_k^A - elpd_k^B))`` over
the ``K`` sizes, widened by Student's t for ``K - 1`` degrees of freedom
(:func:`small_sample_factor`): with 3-5 sizes the spread is itself estimated from 3-5 numbers.

Why this score: it is a proper predictive density of held-out data, so forms with different
numbers of parameters compete fairly without a penalty recipe; it barely depends on the prior
boxes (an evidence would depend on them directly); and holding out whole sizes tests exactly
the claim of finite-size scaling -- that a form extrapolates the collapse across sizes.
"""

from __future__ import annotations

import numpy as np
import scipy.stats

from .model import CollapseModel
from .sampler import SamplerSettings, sample_posterior

#: Pareto k above which a size's importance-sampling estimate is unreliable
PARETO_K_LIMIT = 0.7
#: rows of draws evaluated at once (bounds memory: the basis sums hold (2m+1) x rows x n numbers)
BATCH = 64


def held_out_loglik(model: CollapseModel, vectors: np.ndarray) -> np.ndarray:
    """``ln p(y_k | y_-k, theta_s)`` for every draw ``s`` (rows of ``vectors``) and sorted size
    ``k``: shape ``(S, K)``."""
    sizes = model.data.sizes
    out = np.empty((len(vectors), len(sizes)))
    for start in range(0, len(vectors), BATCH):
        rows = vectors[start:start + BATCH]
        full = model.loglik(rows)
        for k, size in enumerate(sizes):
            out[start:start + BATCH, k] = full - model.loglik(rows, drop_size=float(size))
    return out


def refit_elpd(model: CollapseModel, size: float, settings: SamplerSettings) -> float:
    """``ln p(y_k | y_-k)`` of size ``size`` exactly: draws of ``p(theta | y_-k)`` (the model
    :meth:`~.model.CollapseModel.leaving_out` that size, sampled with ``settings``), then
    ``ln mean_s p(y_k | y_-k, theta_s)``."""
    draws = sample_posterior(model.leaving_out(size), settings).chain.reshape(-1, model.ndim)
    log_pred = np.concatenate([model.loglik(rows) - model.loglik(rows, drop_size=size)
                               for rows in np.array_split(draws, max(1, len(draws) // BATCH))])
    return _logsumexp(log_pred) - float(np.log(len(log_pred)))


def _gpd_fit(exceedances: np.ndarray) -> tuple[float, float]:
    """Shape ``k`` and scale ``sigma`` of a generalized Pareto fit to sorted positive
    exceedances: the empirical-Bayes estimate of Zhang & Stephens (2009), with ``k`` shrunk
    towards 0.5 by 10 pseudo-observations (the weakly informative prior of Vehtari et al.)."""
    x = exceedances
    n = len(x)
    grid = 30 + int(np.sqrt(n))
    b = 1.0 - np.sqrt(grid / (np.arange(1, grid + 1) - 0.5))
    b = b / (3.0 * x[int(n / 4 + 0.5) - 1]) + 1.0 / x[-1]
    k = np.mean(np.log1p(-b[:, None] * x), axis=1)
    log_lik = n * (np.log(-b / k) - k - 1.0)
    weights = 1.0 / np.sum(np.exp(log_lik - log_lik[:, None]), axis=1)
    b_post = np.sum(b * weights) / np.sum(weights)
    k_post = float(np.mean(np.log1p(-b_post * x)))
    sigma = -k_post / b_post
    return (n * k_post + 10 * 0.5) / (n + 10), float(sigma)


def psis(log_ratios: np.ndarray) -> tuple[np.ndarray, float]:
    """Pareto-smoothed log importance weights (unnormalised) and the Pareto ``k`` of one set of
    raw log ratios ``(S,)``."""
    log_w = log_ratios - np.max(log_ratios)
    n = len(log_w)
    tail = int(np.ceil(min(0.2 * n, 3.0 * np.sqrt(n))))
    if tail < 5:
        return log_w, np.inf
    order = np.argsort(log_w)
    cutoff = log_w[order[-tail - 1]]
    exceed = np.exp(log_w[order[-tail:]]) - np.exp(cutoff)
    if np.all(exceed <= 0):
        return log_w, 0.0
    exceed = np.maximum(exceed, np.finfo(float).tiny)
    k, sigma = _gpd_fit(exceed)
    quantiles = (np.arange(tail) + 0.5) / tail
    if abs(k) > 1e-12:
        smooth = sigma * np.expm1(-k * np.log1p(-quantiles)) / k
    else:
        smooth = -sigma * np.log1p(-quantiles)
    smoothed = log_w.copy()
    smoothed[order[-tail:]] = np.minimum(np.log(smooth + np.exp(cutoff)), 0.0)
    return smoothed, float(k)


def loso_elpd(held_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(elpd_k, pareto_k)`` of every size from the ``(S, K)`` matrix of :func:`held_out_loglik`."""
    n_sizes = held_out.shape[1]
    scores, shapes = np.empty(n_sizes), np.empty(n_sizes)
    for k in range(n_sizes):
        log_pred = held_out[:, k]
        log_w, shapes[k] = psis(-log_pred)
        scores[k] = _logsumexp(log_w + log_pred) - _logsumexp(log_w)
    return scores, shapes


def _logsumexp(values: np.ndarray) -> float:
    peak = float(np.max(values))
    return peak + float(np.log(np.sum(np.exp(values - peak))))


def small_sample_factor(n_sizes: int) -> float:
    """``t_(K-1)(0.8413) / z(0.8413)``: how much wider a one-standard-error interval must be when
    the spread comes from ``K`` numbers (Student's t with ``K - 1`` degrees of freedom against the
    normal): 1.32, 1.20, 1.14 for K = 3, 4, 5, -> 1 for many sizes."""
    level = scipy.stats.norm.cdf(1.0)
    return float(scipy.stats.t.ppf(level, n_sizes - 1) / scipy.stats.norm.ppf(level))


#: a score difference of at least this many standard errors is a verdict; from :data:`LEAN_SE` up
#: to it, a lean; below, no preference (docs/fss.md, "What the comparison can and cannot tell":
#: with 4 sizes the se is itself uncertain by ~40 %, and 1-2 se went the wrong way in simulation)
VERDICT_SE = 2.0
LEAN_SE = 1.0


def strength(delta: float | None, delta_se: float | None) -> str:
    """How strongly a comparison prefers its form, by the reading rule of ``docs/fss.md``:
    ``"verdict"`` where ``delta >= 2 se``, ``"lean"`` where ``1 se <= delta < 2 se``, ``"none"``
    below one standard error. A zero or undefined standard error (one form, one size, a missing
    number) gives ``"none"``: there is nothing to measure the difference against."""
    if delta is None or delta_se is None or not (np.isfinite(delta) and np.isfinite(delta_se)) or delta_se <= 0:
        return "none"
    z = abs(delta) / delta_se
    return "verdict" if z >= VERDICT_SE else "lean" if z >= LEAN_SE else "none"


def describe_preference(preferred: str, delta: float | None, delta_se: float | None, difference: str) -> str:
    """The comparison's outcome in words that carry its :func:`strength`: "bkt preferred by
    DIFFERENCE", "a lean to bkt (DIFFERENCE: 1-2 standard errors)" or "no preference (bkt ahead
    by DIFFERENCE: under one standard error)"; ``difference`` is the score difference as the
    caller prints it (e.g. "7.75 ± 5.3 nat")."""
    return {"verdict": f"{preferred} preferred by {difference}",
            "lean": f"a lean to {preferred} ({difference}: 1-2 standard errors)",
            "none": f"no preference ({preferred} ahead by {difference}: under one standard error)"}[
        strength(delta, delta_se)]


def rank_forms(per_size: dict[str, np.ndarray]) -> tuple[str, float, float]:
    """``(preferred form, score difference to the runner-up, its standard error)``; the standard
    error is ``sqrt(K var_k(difference))`` times :func:`small_sample_factor` (measured without
    it: 1.5x too small at 4 sizes, ``scripts/fss_few_sizes.py``)."""
    ordered = sorted(per_size, key=lambda name: -float(np.sum(per_size[name])))
    best = ordered[0]
    if len(ordered) == 1:
        return best, 0.0, 0.0
    diff = per_size[best] - per_size[ordered[1]]
    k = len(diff)
    return best, float(np.sum(diff)), float(np.sqrt(k * np.var(diff, ddof=1)) * small_sample_factor(k)) if k > 1 else 0.0
