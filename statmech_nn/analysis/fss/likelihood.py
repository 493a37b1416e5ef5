"""The marginal likelihood of a finite-size-scaling collapse (pure numpy, vectorised over walkers).

Model, for the points ``i`` of one observable (``y_i`` measured with standard error ``e_i`` at
control ``p_i`` and size ``L_i``; ``x_i`` and ``G_i`` from the scaling form)::

    Y_i = y_i G_i = f(x_i) + G_i eps_i,        eps_i ~ N(0, (lambda e_i)^2)
    f ~ GP(mu, A^2 s^2 exp(-(u - u')^2 / (2 l^2))),   u = (x - mean x) / std x
    mu ~ flat (improper; marginalised analytically -- "restricted" likelihood)

``s = std(y) * exp(mean_i ln G_i)`` sets the unit of ``Y``, so the amplitude ``A``, the length
scale ``l`` (in units of the spread of ``x``) and the error scale ``lambda`` are dimensionless.
With ``C = A^2 K(u; l) + diag((lambda e G / s)^2)`` and ``z = Y / s`` (n points)::

    ln p(y | theta) = -1/2 [z' C^-1 z - (1' C^-1 z)^2 / (1' C^-1 1)] - 1/2 ln|C|
                      - 1/2 ln(1' C^-1 1) - (n - 1)/2 ln(2 pi) - (n - 1) ln s + sum_i ln G_i

The last two terms are the Jacobian from ``z`` back to the data ``y``: without them a fitted
y-exponent could buy likelihood by rescaling the data. ``f`` is never fitted point by point:
it is integrated out, so the likelihood rewards a collapse only as far as one smooth function
explains all sizes together (the Occam factor is ``ln|C|``).

Everything takes arrays of shape ``(W, n)`` (``W`` walkers) and returns ``(W,)``; the Cholesky
factorisations are batched (``numpy.linalg.cholesky`` on a stack) and the triangular solves are
vectorised over the stack (:func:`forward_solve`).
"""

from __future__ import annotations

import numpy as np

LOG_2PI = float(np.log(2.0 * np.pi))


def standardise(x: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` along the last axis; a zero spread maps every point to 0."""
    centred = x - x.mean(axis=-1, keepdims=True)
    spread = centred.std(axis=-1, keepdims=True)
    return centred / np.where(spread > 0, spread, 1.0)


def _batched_cholesky(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower Cholesky factors of a stack and a mask of the ones that exist."""
    try:
        return np.linalg.cholesky(cov), np.ones(cov.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        factors = np.empty_like(cov)
        ok = np.zeros(cov.shape[0], dtype=bool)
        for w in range(cov.shape[0]):
            try:
                factors[w] = np.linalg.cholesky(cov[w])
                ok[w] = True
            except np.linalg.LinAlgError:
                factors[w] = np.eye(cov.shape[-1])
        return factors, ok


def forward_solve(chol: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """``chol^-1 rhs`` for a stack of lower-triangular ``chol`` ``(W, m, m)``, ``rhs`` ``(W, m, k)``.

    Row-by-row substitution vectorised over the stack. It avoids multi-threaded BLAS triangular
    solves, which on small matrices and busy cores are up to 100x slower than this loop.
    """
    out = np.empty_like(rhs)
    for i in range(rhs.shape[1]):
        partial = np.einsum("wj,wjk->wk", chol[:, i, :i], out[:, :i, :])
        out[:, i, :] = (rhs[:, i, :] - partial) / chol[:, i, i, None]
    return out


def restricted_gp_loglik(u: np.ndarray, z: np.ndarray, noise_sd: np.ndarray,
                         amp: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``ln N(z; mu 1, A^2 K(u; l) + diag(noise_sd^2))`` with ``mu`` marginalised (flat prior).

    ``u, z, noise_sd``: ``(W, m)``; ``amp, length``: ``(W,)``. Returns ``(W,)``; ``-inf`` where
    the covariance is not positive definite.
    """
    m = u.shape[-1]
    diff = (u[:, :, None] - u[:, None, :]) / length[:, None, None]
    cov = (amp ** 2)[:, None, None] * np.exp(-0.5 * diff * diff)
    diag = noise_sd ** 2 + 1e-10 * (amp ** 2)[:, None]
    cov[:, np.arange(m), np.arange(m)] += diag
    chol, ok = _batched_cholesky(cov)
    rhs = np.stack([z, np.ones_like(z)], axis=-1)
    sol = forward_solve(chol, rhs)
    q_zz = np.einsum("wi,wi->w", sol[..., 0], sol[..., 0])
    q_11 = np.einsum("wi,wi->w", sol[..., 1], sol[..., 1])
    q_1z = np.einsum("wi,wi->w", sol[..., 1], sol[..., 0])
    logdet = 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    value = -0.5 * (q_zz - q_1z ** 2 / q_11) - 0.5 * logdet - 0.5 * np.log(q_11) - 0.5 * (m - 1) * LOG_2PI
    return np.where(ok & np.isfinite(value), value, -np.inf)


def collapse_loglik(x: np.ndarray, log_g: np.ndarray, y: np.ndarray, err: np.ndarray, y_std: float,
                    amp: np.ndarray, length: np.ndarray, err_scale: np.ndarray,
                    keep: np.ndarray | None = None) -> np.ndarray:
    """``ln p(y | theta)`` of the module docstring, shape ``(W,)``.

    ``x, log_g``: ``(W, n)`` scaling variable and ``ln G`` of every point; ``y, err``: ``(n,)``;
    ``y_std``: ``std(y)`` over all points of the observable; ``amp, length, err_scale``: ``(W,)``.
    ``keep`` (boolean ``(n,)``) evaluates the density of a subset of the points with the units
    (``u``, ``s``) still set by all of them -- used for leave-one-size-out predictions.
    """
    u = standardise(x)
    log_s = np.log(y_std) + log_g.mean(axis=-1)
    g_over_s = np.exp(log_g - log_s[:, None])
    z = y * g_over_s
    noise_sd = err_scale[:, None] * err * g_over_s
    if keep is not None:
        u, z, noise_sd, log_g = u[:, keep], z[:, keep], noise_sd[:, keep], log_g[:, keep]
    m = u.shape[-1]
    return restricted_gp_loglik(u, z, noise_sd, amp, length) - (m - 1) * log_s + log_g.sum(axis=-1)


def overlap_fraction(x: np.ndarray, size_index: np.ndarray, n_sizes: int) -> np.ndarray:
    """Worst-size overlap of the scaled curves, shape ``(W,)``.

    For each size ``k``: the fraction of its points whose ``x`` lies inside ``[min, max]`` of
    ``x`` over all *other* sizes. The result is the minimum over sizes: 0 when some size's
    scaled curve shares no range with the rest (nothing constrains the collapse there), 1 when
    every point of every size has neighbours of other sizes on both sides.
    """
    lows = np.stack([np.min(np.where(size_index == k, x, np.inf), axis=-1) for k in range(n_sizes)], -1)
    highs = np.stack([np.max(np.where(size_index == k, x, -np.inf), axis=-1) for k in range(n_sizes)], -1)
    worst = np.ones(x.shape[0])
    for k in range(n_sizes):
        others = np.arange(n_sizes) != k
        lo = lows[:, others].min(axis=-1, keepdims=True)
        hi = highs[:, others].max(axis=-1, keepdims=True)
        member = size_index == k
        inside = (x[:, member] >= lo) & (x[:, member] <= hi)
        worst = np.minimum(worst, inside.mean(axis=-1))
    return worst
