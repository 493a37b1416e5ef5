"""Wolff single-cluster Monte Carlo for O(n) spins on the periodic L×L square lattice.

Model: unit vectors ``s_i`` in R^n on the sites of an ``L``×``L`` torus, energy
``H = -J Σ_<ij> s_i·s_j`` over the ``2 L²`` nearest-neighbour bonds, ``J = 1``.  ``n = 1`` is the
Ising model (``s_i = ±1``), ``n = 2`` the XY model (plane rotator, ``s_i·s_j = cos(θ_i − θ_j)``).

One Wolff update (U. Wolff, Phys. Rev. Lett. 62, 361 (1989)): draw a uniformly random unit
vector ``r`` (for ``n = 1`` the only direction, ``r = 1``) and a random seed site; grow a cluster
from it by adding each neighbour ``j`` of a cluster site ``i`` with probability
``1 − exp(min(0, −2β (s_i·r)(s_j·r)))`` (projections taken before the flip); reflect every
spin of the cluster, ``s → s − 2 (s·r) r``.  The update satisfies detailed balance for the
Boltzmann weight ``exp(−βH)`` and flips clusters of the size of the correlation volume, so
critical slowing down is nearly absent.

Storage: spins are an ``(L*L, n)`` float64 array, site ``x + L*y``.  Random numbers come from a
``numpy.random.Generator`` passed into the numba-compiled code, so a run is reproduced exactly
by the same generator state (same seed).

Measurements (:func:`run_chain`), one row per measurement, all per-site densities:

* ``energy``  ``e = H / N``;
* ``m2``      ``|M|² / N²`` with ``M = Σ_i s_i``;
* ``fk``      ``|M(k)|² / N²`` averaged over ``k = (2π/L, 0)`` and ``(0, 2π/L)``, where
  ``M(k) = Σ_i s_i e^{i k·x_i}`` (so ``χ = N ⟨m2⟩`` and ``F = N ⟨fk⟩``);
* ``bond``    ``(Σ_x s_i·s_j + Σ_y s_i·s_j) / (2N)``, the bond energy per direction;
* ``sin2``    ``((Σ_x sin_ij)² + (Σ_y sin_ij)²) / (2N)`` with ``sin_ij`` the 1–2-plane component
  of the cross product ``s_i^(2) s_j^(1) − s_i^(1) s_j^(2)`` (``sin(θ_i − θ_j)`` for XY; 0 for
  ``n = 1``): the current fluctuation of the helicity modulus.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numba
import numpy as np

#: the measured columns of :func:`run_chain`, in order
COLUMNS = ("energy", "m2", "fk", "bond", "sin2")


@numba.njit(cache=True)
def _random_direction(n, rng):
    r = np.empty(n)
    if n == 1:
        r[0] = 1.0
        return r
    norm = 0.0
    while norm < 1e-12:
        norm = 0.0
        for a in range(n):
            r[a] = rng.standard_normal()
            norm += r[a] * r[a]
    norm = math.sqrt(norm)
    for a in range(n):
        r[a] /= norm
    return r


@numba.njit(cache=True)
def wolff_update(spins, L, beta, rng, stack, mark, proj, stamp):
    """Grow and flip one Wolff cluster; return its size.

    ``stack`` (int64, length ``N``) and ``proj`` (float64, length ``N``: each cluster site's
    projection ``s·r`` taken before its flip) are work space; ``mark`` (int64, length ``N``)
    holds the ``stamp`` of the last cluster each site joined, so it never needs clearing:
    ``stamp`` must be new, i.e. differ from every stamp used before on the same ``mark``
    (callers count up from 1; ``mark`` starts at 0).
    """
    N, n = spins.shape
    r = _random_direction(n, rng)
    seed = rng.integers(0, N)
    p0 = 0.0
    for a in range(n):
        p0 += spins[seed, a] * r[a]
    proj[seed] = p0
    for a in range(n):
        spins[seed, a] -= 2.0 * p0 * r[a]
    mark[seed] = stamp
    stack[0] = seed
    top = 1
    size = 1
    while top > 0:
        top -= 1
        i = stack[top]
        pi = proj[i]
        x = i % L
        y = i // L
        for k in range(4):
            if k == 0:
                j = (x + 1) % L + y * L
            elif k == 1:
                j = (x - 1 + L) % L + y * L
            elif k == 2:
                j = x + ((y + 1) % L) * L
            else:
                j = x + ((y - 1 + L) % L) * L
            if mark[j] == stamp:
                continue
            pj = 0.0
            for a in range(n):
                pj += spins[j, a] * r[a]
            arg = 2.0 * beta * pi * pj
            if arg <= 0.0:
                continue
            if rng.random() < 1.0 - math.exp(-arg):
                proj[j] = pj
                for a in range(n):
                    spins[j, a] -= 2.0 * pj * r[a]
                mark[j] = stamp
                stack[top] = j
                top += 1
                size += 1
    return size


@numba.njit(cache=True)
def measure(spins, L, cos_k, sin_k, out):
    """Fill ``out`` (length 5) with the :data:`COLUMNS` of the current configuration."""
    N, n = spins.shape
    bond_x = 0.0
    bond_y = 0.0
    sin_x = 0.0
    sin_y = 0.0
    M = np.zeros(n)
    re_x = np.zeros(n)
    im_x = np.zeros(n)
    re_y = np.zeros(n)
    im_y = np.zeros(n)
    for i in range(N):
        x = i % L
        y = i // L
        jx = (x + 1) % L + y * L
        jy = x + ((y + 1) % L) * L
        for a in range(n):
            s = spins[i, a]
            bond_x += s * spins[jx, a]
            bond_y += s * spins[jy, a]
            M[a] += s
            re_x[a] += s * cos_k[x]
            im_x[a] += s * sin_k[x]
            re_y[a] += s * cos_k[y]
            im_y[a] += s * sin_k[y]
        if n >= 2:
            sin_x += spins[i, 1] * spins[jx, 0] - spins[i, 0] * spins[jx, 1]
            sin_y += spins[i, 1] * spins[jy, 0] - spins[i, 0] * spins[jy, 1]
    m2 = 0.0
    fk = 0.0
    for a in range(n):
        m2 += M[a] * M[a]
        fk += 0.5 * (re_x[a] * re_x[a] + im_x[a] * im_x[a] + re_y[a] * re_y[a] + im_y[a] * im_y[a])
    out[0] = -(bond_x + bond_y) / N
    out[1] = m2 / (N * N)
    # |M(k)|^2 of a configuration with no weight at k (e.g. perfect order) is 0 up to the
    # rounding of cos/sin sums, ~(N 1e-16)^2; such residues are set to exactly 0
    out[2] = fk / (N * N) if fk > 1e-20 else 0.0
    out[3] = (bond_x + bond_y) / (2.0 * N)
    out[4] = (sin_x * sin_x + sin_y * sin_y) / (2.0 * N)


@numba.njit(cache=True)
def _thermalize(spins, L, beta, rng, n_sweeps, stack, mark, proj):
    """Wolff updates until ``n_sweeps * N`` spins have been flipped in total.

    Returns the number of clusters grown and the mean size of the clusters of the second half
    of the flips (the first half may still be far from equilibrium).
    """
    N = spins.shape[0]
    target = n_sweeps * N
    flipped = 0
    clusters = 0
    late_flips = 0
    late_clusters = 0
    while flipped < target or late_clusters == 0:
        clusters += 1
        size = wolff_update(spins, L, beta, rng, stack, mark, proj, clusters)
        flipped += size
        if 2 * flipped > target:
            late_flips += size
            late_clusters += 1
    return clusters, late_flips / late_clusters


@numba.njit(cache=True)
def _measure_chain(spins, L, beta, rng, clusters_per_measure, first_stamp, stack, mark, proj,
                   cos_k, sin_k, series):
    """Fill every row of ``series``, each after ``clusters_per_measure`` updates; return the
    spins flipped and the last stamp used."""
    stamp = first_stamp
    flipped = 0
    for m in range(series.shape[0]):
        for _ in range(clusters_per_measure):
            stamp += 1
            flipped += wolff_update(spins, L, beta, rng, stack, mark, proj, stamp)
        measure(spins, L, cos_k, sin_k, series[m])
    return flipped, stamp


#: measurements per compiled call, between which progress is reported
CHUNK = 1000


def random_spins(L: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """A uniformly random (infinite-temperature) configuration, shape ``(L*L, n)``."""
    if n == 1:
        return rng.choice(np.array([-1.0, 1.0]), size=(L * L, 1))
    v = rng.standard_normal((L * L, n))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def run_chain(L: int, n: int, T: float, n_thermalize: int, n_measure: int,
              rng: np.random.Generator,
              progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, dict[str, float]]:
    """Thermalise and measure one Markov chain; return the series and chain facts.

    Start from :func:`random_spins`; thermalise with ``n_thermalize`` *sweeps* (Wolff updates
    until ``n_thermalize * N`` spins were flipped); then measure ``n_measure`` times, every
    ``k = max(1, round(N / c))`` clusters where ``c`` is the mean cluster size of the second
    half of the thermalisation, i.e. about once per sweep.  ``k`` is fixed before measuring
    because measuring at a time chosen from the cluster sizes (say "after N flipped spins")
    would be a stopping time correlated with the state, which biases averages.

    ``progress(n_sweeps)``, if given, is called after the thermalisation and after every
    :data:`CHUNK` measurements (about one sweep each), for progress bars; the chunking does not
    change the chain.

    Returns ``series`` of shape ``(n_measure, 5)`` (columns :data:`COLUMNS`) and
    ``{"clusters_per_measurement": k, "mean_cluster_size": c, "sweeps_per_measurement":
    flipped / (n_measure N)}``.
    """
    if L < 2:
        raise ValueError(f"L = {L!r}: expected an integer >= 2")
    N = L * L
    beta = 1.0 / T
    spins = random_spins(L, n, rng)
    stack = np.empty(N, dtype=np.int64)
    mark = np.zeros(N, dtype=np.int64)
    proj = np.empty(N)
    clusters, mean_size = _thermalize(spins, L, beta, rng, n_thermalize, stack, mark, proj)
    k = max(1, int(round(N / mean_size)))
    x = np.arange(L)
    cos_k, sin_k = np.cos(2 * np.pi * x / L), np.sin(2 * np.pi * x / L)
    series = np.empty((n_measure, len(COLUMNS)))
    if progress is not None:
        progress(n_thermalize)
    flipped, stamp = 0, clusters
    for start in range(0, n_measure, CHUNK):
        rows = series[start:start + CHUNK]
        done, stamp = _measure_chain(spins, L, beta, rng, k, stamp, stack, mark, proj, cos_k, sin_k, rows)
        flipped += done
        if progress is not None:
            progress(rows.shape[0])
    return series, {"clusters_per_measurement": float(k), "mean_cluster_size": float(mean_size),
                    "sweeps_per_measurement": flipped / (n_measure * N)}
