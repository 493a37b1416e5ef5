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
``cos(q theta_i)``, since ``sin(j t) sin(k t) = (cos((j-k) t) - cos((j+k) t)) / 2``; all weighted
sums of ``exp(i q theta_i)`` come from one batched matrix product, with ``exp(i q theta) = exp(i r
theta) exp(i k b theta)`` for ``q = r + k b`` (no table of every multiple is formed), and one
Cholesky factorisation of ``R`` bordered by the right-hand sides gives both ``ln|R|`` and the
quadratic forms. Cost per walker: ``O(n m)`` for the sums plus ``O(m^3)`` for the ``(m + 2) x (m +
2)`` Cholesky factor, against ``O(n^3)`` for the exact GP -- the posterior time grows linearly
with the number of points.

Accuracy (measured in ``tests/test_fss_likelihood.py`` against the exact GP): the rule of
thumb of Riutort-Mayol et al. (box ``B = c S`` with ``S = max |u|``, ``c >= 1.2``,
``c >= 3.2 l / S``, ``m >= 1.75 c S / l``) left errors of 0.1-1 nats at long and short length
scales on our data; with ``B = max(1.5 S, S + 3.5 l)`` (the process is unconstrained for
3.5 length scales beyond the last point) and ``m >= 4.5 B / l`` the restricted likelihood agrees
with the exact one to < 1e-3 nats over l = 0.12-5, for evenly spread and heavy-tailed ``u``.
``m`` is taken per walker from a short ladder (walkers whose ``m`` lie within a factor 1.5 are
evaluated together, the modes beyond a walker's own switched off, so the cost follows what each
needs); it is a function of the walker's own
parameters, so the likelihood is a fixed function of them. The ladder stops at 96 because
batched Cholesky factors of larger matrices go through multi-threaded blocked LAPACK, measured
20-700x slower on busy cores. Beyond its top (``l < 4.5 B / 96``, features narrower than ~1/20
of the box) the model is a smoother Gaussian process than the squared-exponential one: still a
proper model of a smooth scaling function, and the one the posterior is computed from.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np


LOG_2PI = float(np.log(2.0 * np.pi))

#: the numbers of basis functions a walker may get: the least that is >= MODES_PER_LENGTH B / l
BASIS_LADDER = np.array((16, 24, 32, 48, 64, 96))
#: basis functions per length scale across the box [-B, B]: the first left out has
#: omega l >= 2.25 pi, a prior variance < 1e-10 of the first one's
MODES_PER_LENGTH = 4.5
#: walkers are evaluated together when their ``m`` lie within this factor of the smallest ``m`` of
#: their group (the matrices get the group's largest ``m``, the modes beyond a walker's own have
#: prior scale 0 and add exactly nothing): one evaluation's fixed cost saved where most walkers
#: straddle two rungs (e.g. 24 and 32), at a small cost in matrix size
MERGE_FACTOR = 1.5
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


def _powers(base: np.ndarray, count: int) -> np.ndarray:
    """``base ** j`` for ``j < count``, ``(W, count, n)`` from ``base`` ``(W, n)``, by repeated multiplication."""
    out = np.empty((base.shape[0], count, base.shape[1]), dtype=complex)
    out[:, 0] = 1.0
    for j in range(1, count):
        np.multiply(out[:, j - 1], base, out=out[:, j])
    return out


def _harmonics(theta: np.ndarray, n_q: int) -> tuple[np.ndarray, np.ndarray]:
    """``exp(i q theta)`` for ``q < n_q`` in factored form: with ``k = ceil(sqrt(n_q))`` and ``q = r +
    k b``, ``exp(i q theta) = exp(i r theta) exp(i k b theta)``; returns ``low`` (``(W, k, n)``, the
    ``r < k``) and ``high`` (``(W, ceil(n_q / k), n)``, the ``b``). Rounding error ~ ``(k + n_q / k)
    eps``, less than the ``n_q eps`` of a recurrence over every ``q``."""
    k = int(np.ceil(np.sqrt(n_q)))
    step = np.exp(1j * theta)
    low = _powers(step, k)
    return low, _powers(low[:, -1] * step, -(-n_q // k))


def _fourier_sums(harmonics: tuple[np.ndarray, np.ndarray], weights: np.ndarray, n_q: int) -> np.ndarray:
    """``S[w, v, q] = sum_n weights[w, v, n] exp(i q theta[w, n])`` for ``q < n_q`` (at most the
    table's), ``(W, V, n_q)`` complex: with the factoring of :func:`_harmonics` the sum over ``n``
    is one batched product ``(W, V k, n) @ (W, n, n_q / k)``, never an array of every multiple."""
    low, high = harmonics
    n_w, n_v, n = weights.shape
    k, n_b = low.shape[1], -(-n_q // low.shape[1])
    weighted = (weights[:, :, None, :] * low[:, None, :, :]).reshape(n_w, n_v * k, n)
    sums = weighted @ np.swapaxes(high[:, :n_b], 1, 2)                   # (W, V k, n_b)
    return np.swapaxes(sums.reshape(n_w, n_v, k, n_b), 2, 3).reshape(n_w, n_v, n_b * k)[..., :n_q]


def basis_size(half_width: np.ndarray, length: np.ndarray) -> np.ndarray:
    """``m`` per walker: the least ladder entry >= ``MODES_PER_LENGTH B / l`` (at most the top)."""
    need = MODES_PER_LENGTH * half_width / length
    return BASIS_LADDER[np.minimum(np.searchsorted(BASIS_LADDER, need), len(BASIS_LADDER) - 1)]


def restricted_basis_loglik(u: np.ndarray, z: np.ndarray, noise_sd: np.ndarray, amp: np.ndarray,
                            length: np.ndarray, half_width: np.ndarray | None = None, *,
                            corr: np.ndarray | None = None, amp_corr: np.ndarray | None = None,
                            features: np.ndarray | None = None, feature_sd: np.ndarray | None = None) -> np.ndarray:
    """:func:`basis_loglik` with ``m`` from :func:`basis_size` for each walker (a function of
    that walker's parameters only), walkers with ``m`` within :data:`MERGE_FACTOR` of each other
    evaluated together."""
    if half_width is None:
        half_width = box_half_width(u, length)
    sizes = basis_size(half_width, length)
    out = np.empty(u.shape[0])
    for low, high in _merged_rungs(np.unique(sizes)):
        rows = (sizes >= low) & (sizes <= high)
        extra = {} if corr is None else {"corr": corr[rows], "amp_corr": amp_corr[rows]}
        if features is not None:
            extra.update(features=features, feature_sd=feature_sd[rows])
        out[rows] = basis_loglik(u[rows], z[rows], noise_sd[rows], amp[rows], length[rows], half_width[rows], int(high),
                                 own_basis=sizes[rows] if low < high else None, **extra)
    return out


def _merged_rungs(rungs: np.ndarray) -> list[tuple[int, int]]:
    """``(smallest, largest)`` ``m`` of each group of the sorted ``rungs`` present: a group takes
    the next rung while it is at most :data:`MERGE_FACTOR` times the group's smallest."""
    groups: list[tuple[int, int]] = []
    for m in rungs.tolist():
        if groups and m <= MERGE_FACTOR * groups[-1][0]:
            groups[-1] = (groups[-1][0], m)
        else:
            groups.append((m, m))
    return groups


@functools.lru_cache(maxsize=None)
def _gram_indices(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """``|j - k|`` and ``j + k`` for ``j = 1 .. rows``, ``k = 1 .. cols``, each ``(rows, cols)``."""
    j, k = np.arange(1, rows + 1)[:, None], np.arange(1, cols + 1)[None, :]
    return np.abs(j - k), j + k


def _gram(cos_sums: np.ndarray, rows: int, cols: int | None = None) -> np.ndarray:
    """``B Phi_rows' diag(v) Phi_cols``, ``(W, rows, cols)`` (``cols`` defaults to ``rows``), from
    ``cos_sums[:, q] = sum_i v_i cos(q theta_i)`` (``q <= rows + cols``): ``sin(j t) sin(k t) =
    (cos((j - k) t) - cos((j + k) t)) / 2``."""
    difference, total = _gram_indices(rows, rows if cols is None else cols)
    return 0.5 * (np.take(cos_sums, difference, axis=1) - np.take(cos_sums, total, axis=1))


def _feature_blocks(harmonics, sine_weights, w, wz, features):
    """The block row and the projections of ``F`` fixed features ``E`` (``(n, F)``) appended after
    the basis blocks: ``B^1/2 E' diag(weights) Phi_count`` for each basis block's ``(weights,
    count)`` in ``sine_weights``, then ``E' D^-1 E``; and ``E' D^-1 [z, 1]`` (``(W, 2, F)``)."""
    cross = [_fourier_sums(harmonics, weights[:, None, :] * features.T, count + 1)[..., 1:].imag
             for weights, count in sine_weights]                                  # (W, F, count) each
    own = np.einsum("wn,nf,ng->wfg", w, features, features)
    return [*cross, own], np.stack([wz @ features, w @ features], axis=1)


def _prior_weighted_cholesky(lower: list[list[np.ndarray]], scales: list[np.ndarray],
                             projections: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``ln|R|`` and ``X = (L^-1 b)'`` for ``R = I + S G S = L L'`` and ``b = S P``, from one Cholesky
    factorisation. ``G`` is the symmetric block matrix with lower-triangle blocks ``lower[i][j]``
    (``(W, s_i, s_j)``, ``j <= i``), ``S = diag(scales)`` (block ``i``: ``(W, s_i)``), ``P`` the
    stacked ``projections`` (block ``i``: ``(W, K, s_i)``, ``K`` right-hand sides as rows); ``X`` is
    ``(W, K, s)``. The factor of ``[[R, b], [b', b'b + I]]`` is ``[[L, 0], [X, T]]``; that matrix
    is positive definite whenever ``R`` is, for ``R >= I`` makes the Schur complement ``b'b + I -
    X X' >= I``. Only the lower triangle is filled: ``numpy.linalg.cholesky`` reads nothing else
    (documented). Also returns which factorisations exist (``(W,)``)."""
    edges = list(itertools.accumulate((scale.shape[1] for scale in scales), initial=0))
    size, k = edges[-1], projections[0].shape[1]
    bordered = np.empty((scales[0].shape[0], size + k, size + k))
    for i, row in enumerate(lower):
        for j, block in enumerate(row):
            scaled = block * scales[i][:, :, None] * scales[j][:, None, :]
            bordered[:, edges[i]:edges[i + 1], edges[j]:edges[j + 1]] = scaled
    bordered.reshape(len(bordered), -1)[:, :size * (size + k + 1):size + k + 1] += 1.0   # R's diagonal
    rhs = np.concatenate([p * scale[:, None, :] for p, scale in zip(projections, scales)], axis=2)
    bordered[:, size:, :size] = rhs
    bordered[:, size:, size:] = np.einsum("wks,wls->wkl", rhs, rhs) + np.eye(k)
    chol, ok = _cholesky(bordered)
    logdet = 2.0 * np.log(np.diagonal(chol[:, :size, :size], axis1=-2, axis2=-1)).sum(axis=-1)
    return logdet, chol[:, size:, :size], ok


def basis_loglik(u: np.ndarray, z: np.ndarray, noise_sd: np.ndarray, amp: np.ndarray, length: np.ndarray,
                 half_width: np.ndarray, n_basis: int, corr: np.ndarray | None = None,
                 amp_corr: np.ndarray | None = None, features: np.ndarray | None = None,
                 feature_sd: np.ndarray | None = None, own_basis: np.ndarray | None = None) -> np.ndarray:
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
    ``own_basis`` (``(W,)``, each ``<= n_basis``): every walker's own ``m``; the modes beyond it get
    prior scale 0, so each walker's value is its own ``m``'s (those modes add identity rows to
    ``R`` and nothing else). Returns ``(W,)``; the restricted-likelihood formula of
    :mod:`.likelihood` with ``C`` the covariance above.
    """
    m = n_basis
    theta = (np.pi / 2.0) * (u / half_width[:, None] + 1.0)
    harmonics = _harmonics(theta, 2 * m + 1)                       # sin(j theta) = B^1/2 phi_j(u)
    w = noise_sd ** -2.0                                          # (W, n)
    wz = w * z
    omega = (np.pi / 2.0) * np.arange(1, m + 1)[None, :] / half_width[:, None]
    log_density = 0.5 * np.log(2.0 * np.pi) + np.log(length)[:, None] - 0.5 * (length[:, None] * omega) ** 2
    unit_scale = np.exp(0.5 * log_density) / np.sqrt(half_width)[:, None]   # Lambda^1/2 / (A sqrt B), (W, m)
    if own_basis is not None:
        unit_scale = np.where(np.arange(1, m + 1)[None, :] <= own_basis[:, None], unit_scale, 0.0)
    # the coefficient blocks (Phi; then diag(r) Phi_h; then E): prior scales, the lower-triangle
    # blocks of B X' D^-1 X, the projections B^1/2 X' D^-1 [z, 1], the weights of each block's sines
    if corr is None:
        sums = _fourier_sums(harmonics, np.stack([w, wz], axis=1), 2 * m + 1)
        scales = [amp[:, None] * unit_scale]
        lower = [[_gram(sums[:, 0].real, m)]]
        projections = [sums[:, [1, 0], 1:m + 1].imag]
        sine_weights = [(w, m)]
    else:
        m_h = min(m, CORRECTION_MODES)
        wr = w * corr
        sums = _fourier_sums(harmonics, np.stack([w, wr, wr * corr, wz, wz * corr], axis=1), 2 * m + 1)
        cos, sin = sums.real, sums[..., 1:m + 1].imag
        scales = [amp[:, None] * unit_scale, amp_corr[:, None] * unit_scale[:, :m_h]]
        lower = [[_gram(cos[:, 0], m)], [_gram(cos[:, 1], m_h, m), _gram(cos[:, 2], m_h)]]
        projections = [sin[:, [3, 0]], sin[:, [4, 1], :m_h]]
        sine_weights = [(w, m), (wr, m_h)]
    if features is not None:
        row, projection = _feature_blocks(harmonics, sine_weights, w, wz, features)
        scales.append(feature_sd)
        lower.append(row)
        projections.append(projection)
    logdet_r, sol, ok = _prior_weighted_cholesky(lower, scales, projections)
    q_zz = np.einsum("wn,wn->w", wz, z) - np.einsum("wi,wi->w", sol[:, 0], sol[:, 0])
    q_1z = wz.sum(axis=-1) - np.einsum("wi,wi->w", sol[:, 1], sol[:, 0])
    q_11 = w.sum(axis=-1) - np.einsum("wi,wi->w", sol[:, 1], sol[:, 1])
    logdet = 2.0 * np.log(noise_sd).sum(axis=-1) + logdet_r
    n = u.shape[-1]
    value = -0.5 * (q_zz - q_1z ** 2 / q_11) - 0.5 * logdet - 0.5 * np.log(q_11) - 0.5 * (n - 1) * LOG_2PI
    return np.where(ok & np.isfinite(value), value, -np.inf)
