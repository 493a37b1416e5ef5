"""Model comparison between scaling forms: leave-one-size-out expected log predictive density.

For every size ``L_k`` the score asks: *does the collapse of the other sizes predict this one?*

    elpd_k = ln p(y_k | y_-k) = ln  integral p(y_k | y_-k, theta) p(theta | y_-k) d theta
    score  = sum_k elpd_k                     (natural log; higher is better)

``p(y_k | y_-k, theta)`` is exact for the Gaussian-process model (the ratio of the restricted
likelihoods of all points and of the points without size ``L_k``). The integral over
``p(theta | y_-k)`` is estimated from draws of the full posterior by importance sampling with
weights ``1 / p(y_k | y_-k, theta)``, truncated at ``sqrt(S)`` times their mean (Ionides 2008)
so that one influential draw cannot dominate. The difference of two forms has the standard
error ``sqrt(K var_k(elpd_k^A - elpd_k^B))`` over the ``K`` sizes.

Why this score: it is a proper predictive density of held-out data, so forms with different
numbers of parameters compete fairly without a penalty recipe; it barely depends on the prior
boxes (an evidence would depend on them directly); and holding out whole sizes tests exactly
the claim of finite-size scaling -- that a form extrapolates the collapse across sizes.
"""

from __future__ import annotations

import numpy as np

from .model import CollapseModel


def loso_elpd(model: CollapseModel, vectors: np.ndarray) -> np.ndarray:
    """``elpd_k`` of every size (sorted sizes of ``model.data``) from posterior draws ``(S, D)``."""
    full = model.loglik(vectors)
    sizes = model.data.sizes
    scores = np.empty(len(sizes))
    for k, size in enumerate(sizes):
        log_pred = full - model.loglik(vectors, drop_size=float(size))   # ln p(y_k | y_-k, theta_s)
        log_w = -log_pred - np.max(-log_pred)
        weights = np.exp(log_w)
        weights = np.minimum(weights, np.sqrt(len(weights)) * weights.mean())
        peak = np.max(log_pred)
        scores[k] = peak + np.log(np.sum(weights * np.exp(log_pred - peak)) / np.sum(weights))
    return scores


def rank_forms(per_size: dict[str, np.ndarray]) -> tuple[str, float, float]:
    """``(preferred form, score difference to the runner-up, its standard error)``."""
    ordered = sorted(per_size, key=lambda name: -float(np.sum(per_size[name])))
    best = ordered[0]
    if len(ordered) == 1:
        return best, 0.0, 0.0
    diff = per_size[best] - per_size[ordered[1]]
    return best, float(np.sum(diff)), float(np.sqrt(len(diff) * np.var(diff, ddof=1))) if len(diff) > 1 else 0.0
