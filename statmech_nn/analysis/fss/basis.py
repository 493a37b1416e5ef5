"""The Gaussian-process marginal likelihood in O(n m) per evaluation: a reduced-rank basis.

The scaling function is a Gaussian process with the squared-exponential covariance
``A^2 exp(-(u - u')^2 / (2 l^2))``. Its Hilbert-space approximation (Solin & Saerkkae, Stat.
Comput. 30, 419 (2020); Riutort-Mayol et al., Stat. Comput. 33, 17 (2023)) writes it as a
random combination of the ``m`` lowest Laplacian eigenfunctions on ``[-B, B]``::

    f(u) = sum_j beta_j phi_j(u),   phi_j(u) = sin(j theta) / sqrt(B),   theta = pi (u + B) / (2 B)
    beta_j ~ N(0, Lambda_j),        Lambda_j = A^2 sqrt(2 pi) l exp(-(l omega_j)^2 / 2),
    omega_j = pi j / (2 B),         j = 1 .. m

(the spectral density of the kernel at the eigenfrequencies). The coefficients are integrated
out analytically (Woodbury): with ``D = diag(noise^2)``, ``M = Phi' D^-1 Phi`` and
``R = I + Lambda^1/2 M Lambda^1/2``::

    C^-1 = D^-1 - D^-1 Phi Lambda^1/2 R^-1 Lambda^1/2 Phi' D^-1,     ln|C| = ln|D| + ln|R|

so nothing of size ``n x n`` is ever formed. ``M`` needs only ``2 m + 1`` weighted sums of
``cos(q theta_i)``, since ``sin(j t) sin(k t) = (cos((j-k) t) - cos((j+k) t)) / 2``; the
``cos``/``sin`` of every multiple of ``theta`` come from the Chebyshev recurrence. Cost per
walker: ``O(n m)`` for the sums plus ``O(m^3)`` for one ``m x m`` Cholesky factor, against
``O(n^3)`` for the exact GP -- the posterior time grows linearly with the number of points.

Accuracy (measured in ``tests/test_fss_likelihood.py`` against the exact GP): the rule of
thumb of Riutort-Mayol et al. (box ``B = c S`` with ``S = max |u|``, ``c >= 1.2``,
``c >= 3.2 l / S``, ``m >= 1.75 c S / l``) left errors of 0.1-1 nats at long and short length
scales on our data; with ``B = max(1.5 S, S + 3.5 l)`` (the process is unconstrained for
3.5 length scales beyond the last point) and ``m >= 4.5 B / l`` the restricted likelihood agrees
with the exact one to < 1e-3 nats over l = 0.12-5, for evenly spread and heavy-tailed ``u``.
``m`` is taken per walker from a short ladder (walkers with the same ``m`` are evaluated
together, so the cost follows what each needs); it is a function of the walker's own
parameters, so the likelihood is a fixed function of them. The ladder stops at 96 because
batched Cholesky factors of larger matrices go through multi-threaded blocked LAPACK, measured
20-700x slower on busy cores. Beyond its top (``l < 4.5 B / 96``, features narrower than ~1/20
of the box) the model is a smoother Gaussian process than the squared-exponential one: still a
proper model of a smooth scaling function, and the one the posterior is computed from.
"""

from __future__ import annotations

import numpy as np


LOG_2PI = float(np.log(2.0 * np.pi))

#: the numbers of basis functions a walker may get: the least that is >= MODES_PER_LENGTH B / l
BASIS_LADDER = (16, 24, 32, 48, 64, 96)
#: basis functions per length scale across the box [-B, B]: the first left out has
#: omega l >= 2.25 pi, a prior variance < 1e-10 of the first one's
MODES_PER_LENGTH = 4.5
#: the box half-width in units of max |u| (at least)
BOX_FACTOR = 1.5
#: the most basis functions of the correction function ``h`` (its block keeps the Cholesky factor
#: at most 96 + 32: a correction is smooth, and 2 x 96 made short length scales ~10x slower)
CORRECTION_MODES = 32


def _cholesky(cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def box_half_width(u: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``B = max(BOX_FACTOR max|u|, max|u| + 3.5 l)`` per walker, ``(W,)``."""
    reach = np.max(np.abs(u), axis=-1)
    return np.maximum(BOX_FACTOR * reach, reach + 3.5 * length)


def _multiples(theta: np.ndarray, n_cos: int, n_sin: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos(q theta)`` for ``q < n_cos`` and ``sin(q theta)`` for ``q < n_sin``, shapes
    ``(n_cos, W, n)`` and ``(n_sin, W, n)``, by ``T_q = 2 cos(t) T_(q-1) - T_(q-2)``."""
    cos = np.empty((n_cos, *theta.shape))
    sin = np.empty((n_sin, *theta.shape))
    cos[0], sin[0] = 1.0, 0.0
    cos[1], sin[1] = np.cos(theta), np.sin(theta)
    twice = 2.0 * cos[1]
    for out in (cos, sin):
        for q in range(2, len(out)):
            np.multiply(twice, out[q - 1], out=out[q])
            out[q] -= out[q - 2]
    return cos, sin


def basis_size(half_width: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``m`` per walker: the least ladder entry >= ``MODES_PER_LENGTH B / l`` (at most the top)."""
    need = MODES_PER_LENGTH * half_width / length
    ladder = np.asarray(BASIS_LADDER)
    return ladder[np.minimum(np.searchsorted(ladder, need), len(ladder) - 1)]


def restricted_basis_loglik(u: np.ndarray, z: np.ndarray, noise_sd: np.ndarray, amp: np.ndarray,
                            length: np.ndarray, half_width: np.ndarray | None = None, *,
                            corr: np.ndarray | None = None, amp_corr: np.ndarray | None = None,
                            features: np.ndarray | None = None, feature_sd: np.ndarray | None = None) -> np.ndarray:
    """:func:`basis_loglik` with ``m`` from :func:`basis_size` for each walker (a function of
    that walker's parameters only), walkers with the same ``m`` evaluated together."""
    if half_width is None:
        half_width = box_half_width(u, length)
    sizes = basis_size(half_width, length)
    out = np.empty(u.shape[0])
    for m in np.unique(sizes):
        rows = sizes == m
        extra = {} if corr is None else {"corr": corr[rows], "amp_corr": amp_corr[rows]}
        if features is not None:
            extra.update(features=features, feature_sd=feature_sd[rows])
        out[rows] = basis_loglik(u[rows], z[rows], noise_sd[rows], amp[rows], length[rows], half_width[rows], int(m),
                                 **extra)
    return out


def _with_features(gram, proj_z, proj_1, scale, blocks, w, wz, features, feature_sd):
    """The Gram matrix, projections and prior scales of :func:`basis_loglik` with ``F`` fixed
    features ``E`` (``(n, F)``) appended: ``E' D^-1 E`` from the weighted products of the
    columns; the cross blocks are the weighted sums of each feature block's sines against every
    column (``blocks``: its ``(weights, sines)`` in order: ``B^1/2 Phi' D^-1 E`` and
    ``B^1/2 Phi_h' diag(r) D^-1 E``); prior scales ``feature_sd`` (``(W, F)``)."""
    cross = np.concatenate([np.einsum("wn,nf,qwn->wqf", weights, features, sines) for weights, sines in blocks],
                           axis=1)                                 # (W, basis features, F)
    own = np.einsum("wn,nf,ng->wfg", w, features, features)
    gram = np.block([[gram, cross], [np.swapaxes(cross, 1, 2), own]])
    proj_z = np.concatenate([proj_z, wz @ features], axis=1)
    proj_1 = np.concatenate([proj_1, w @ features], axis=1)
    return gram, proj_z, proj_1, np.concatenate([scale, feature_sd], axis=1)


def _gram(weights: np.ndarray, cos: np.ndarray, m: int) -> np.ndarray:
    """``B Phi' diag(weights) Phi``, ``(W, m, m)``, from the weighted sums of ``cos(q theta_i)``:
    ``sin(j t) sin(k t) = (cos((j - k) t) - cos((j + k) t)) / 2``."""
    c = np.einsum("wn,qwn->wq", weights, cos)                     # (W, 2m+1)
    j = np.arange(1, m + 1)
    return 0.5 * (c[:, np.abs(j[:, None] - j[None, :])] - c[:, j[:, None] + j[None, :]])


def _project(sines: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``B^1/2 Phi' diag(weights) 1``, ``(W, m)``."""
    return np.einsum("wn,qwn->wq", weights, sines)


def basis_loglik(u: np.ndarray, z: np.ndarray, noise_sd: np.ndarray, amp: np.ndarray, length: np.ndarray,
                 half_width: np.ndarray, n_basis: int, corr: np.ndarray | None = None,
                 amp_corr: np.ndarray | None = None, features: np.ndarray | None = None,
                 feature_sd: np.ndarray | None = None) -> np.ndarray:
    """``ln N(z; mu 1, Phi Lambda Phi' + diag(noise_sd^2))`` with ``mu`` marginalised (flat prior).

    ``u, z, noise_sd``: ``(W, n)``; ``amp, length``: ``(W,)``; ``half_width``: the box ``B``
    ``(W,)``, which must cover every ``u``; ``n_basis``: ``m``.
    With ``corr`` (``(W, n)``, the correction factor ``r_i`` of every point) and ``amp_corr``
    (``(W,)``) the mean is ``mu + f(u_i) + r_i h(u_i)`` with ``h`` a second, independent process
    of the same length scale and amplitude ``amp_corr``, on the first ``m_h = min(m,
    CORRECTION_MODES)`` basis functions: the features are ``[Phi, diag(r) Phi_h]`` (``m + m_h``
    coefficients; the Gram blocks are the sums with weights ``w``, ``w r``, ``w r^2``).
    With ``features`` ``E`` (``(n, F)``, fixed: the per-size errors of
    :func:`.likelihood.size_features`) and ``feature_sd`` (``(W, F)``, ``s_f``) the mean also has
    ``sum_f c_f E_if`` with independent ``c_f ~ N(0, s_f^2)``: ``C`` gains ``E diag(s^2) E'``.
    Returns ``(W,)``; the restricted-likelihood formula of :mod:`.likelihood` with ``C`` the
    covariance above.
    """
    m = n_basis
    theta = (np.pi / 2.0) * (u / half_width[:, None] + 1.0)
    cos, sin = _multiples(theta, 2 * m + 1, m + 1)
    sines = sin[1:m + 1]
    w = noise_sd ** -2.0                                          # (W, n)
    wz = w * z
    omega = (np.pi / 2.0) * np.arange(1, m + 1)[None, :] / half_width[:, None]
    log_density = 0.5 * np.log(2.0 * np.pi) + np.log(length)[:, None] - 0.5 * (length[:, None] * omega) ** 2
    unit_scale = np.exp(0.5 * log_density) / np.sqrt(half_width)[:, None]   # Lambda^1/2 / (A sqrt B), (W, m)
    if corr is None:
        gram = _gram(w, cos, m)                                   # B * Phi' D^-1 Phi, (W, m, m)
        proj_z, proj_1 = _project(sines, wz), _project(sines, w)                  # B^1/2 Phi' D^-1 [z, 1]
        scale = amp[:, None] * unit_scale
        blocks = [(w, sines)]
    else:
        m_h = min(m, CORRECTION_MODES)
        wr = w * corr
        cross = _gram(wr, cos, m)[:, :, :m_h]
        gram = np.block([[_gram(w, cos, m), cross],
                         [np.swapaxes(cross, 1, 2), _gram(wr * corr, cos, m)[:, :m_h, :m_h]]])
        proj_z = np.concatenate([_project(sines, wz), _project(sines[:m_h], wz * corr)], axis=1)
        proj_1 = np.concatenate([_project(sines, w), _project(sines[:m_h], wr)], axis=1)
        scale = np.concatenate([amp[:, None] * unit_scale, amp_corr[:, None] * unit_scale[:, :m_h]], axis=1)
        blocks = [(w, sines), (wr, sines[:m_h])]
    if features is not None:
        gram, proj_z, proj_1, scale = _with_features(gram, proj_z, proj_1, scale, blocks, w, wz, features, feature_sd)
    size = gram.shape[-1]
    r = gram * scale[:, :, None] * scale[:, None, :]
    r[:, np.arange(size), np.arange(size)] += 1.0
    chol, ok = _cholesky(r)
    rhs = np.stack([proj_z * scale, proj_1 * scale], axis=-1)     # Lambda^1/2 Phi' D^-1 [z, 1]
    sol = np.linalg.solve(chol, rhs)                              # L^-1 rhs
    q_zz = np.einsum("wn,wn->w", wz, z) - np.einsum("wi,wi->w", sol[..., 0], sol[..., 0])
    q_1z = wz.sum(axis=-1) - np.einsum("wi,wi->w", sol[..., 1], sol[..., 0])
    q_11 = w.sum(axis=-1) - np.einsum("wi,wi->w", sol[..., 1], sol[..., 1])
    logdet = 2.0 * np.log(noise_sd).sum(axis=-1) + 2.0 * np.log(np.diagonal(chol, axis1=-2, axis2=-1)).sum(axis=-1)
    n = u.shape[-1]
    value = -0.5 * (q_zz - q_1z ** 2 / q_11) - 0.5 * logdet - 0.5 * np.log(q_11) - 0.5 * (n - 1) * LOG_2PI
    return np.where(ok & np.isfinite(value), value, -np.inf)
