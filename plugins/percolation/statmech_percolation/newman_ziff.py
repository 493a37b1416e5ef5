"""Newman–Ziff site percolation on the periodic L×L square lattice, with wrapping detection.

Algorithm (M. E. J. Newman and R. M. Ziff, Phys. Rev. E 64, 016706 (2001)): occupy the
``N = L*L`` sites one at a time in a uniformly random order; after each addition, join the new
site to its occupied nearest neighbours with a weighted union–find.  Every node stores the
displacement vector ``d`` from itself to its parent *in the unwrapped (lifted) plane*, so the
displacement from a site to its cluster's root is the sum along the path.  When the new site
``i`` meets an occupied neighbour ``j = i + e`` (``e`` a unit vector) that already has the same
root, the loop closed by the bond has winding vector ``d_i - d_j - e``; a non-zero ``x``
(``y``) component, always a multiple of ``L``, means the cluster now wraps horizontally
(vertically).  Wrapping, once present, never disappears as sites are added, so the whole
microcanonical indicator ``R_n`` (wrapping with ``n`` occupied sites) of one run is the step
function ``[n >= t]`` for the run's *first wrapping time* ``t``; this module returns those times.

The canonical probability at occupation probability ``p`` is the binomial convolution
``R(p) = sum_n C(N, n) p^n (1-p)^(N-n) R_n``.  For one run with first wrapping time ``t`` it is
exactly ``r(p) = P[Binomial(N, p) >= t]`` (``scipy.stats.binom.sf(t - 1, N, p)``, computed in
a numerically stable way), and ``R(p)`` is the mean of ``r(p)`` over the independent runs.

Cost: the runs are advanced in lock-step, vectorised over samples with numpy, so the Python
overhead is per *step* (``N`` steps, each 4 bonds × a few union–find hops), not per sample.
Each run stops once every sample wraps both ways (near ``n ≈ 0.6 N`` for large ``L``).  See
``docs/percolation.md`` for measured timings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

#: The wrapping observables: a cluster wraps horizontally, vertically, either way, both ways.
WRAPPING_KINDS = ("horizontal", "vertical", "either", "both")

#: Unit vectors (ex, ey) of the four lattice bonds of a site.
_BONDS = ((1, 0), (-1, 0), (0, 1), (0, -1))


@dataclass(frozen=True)
class WrappingTimes:
    """First wrapping times of independent Newman–Ziff runs on an ``L``×``L`` torus.

    ``horizontal[s]`` (``vertical[s]``) is the number of occupied sites at which run ``s`` first
    has a cluster wrapping in the x (y) direction; int64 arrays of shape ``(n_samples,)``.
    """

    L: int
    horizontal: np.ndarray
    vertical: np.ndarray

    @property
    def n_samples(self) -> int:
        return int(self.horizontal.shape[0])

    def of(self, kind: str) -> np.ndarray:
        """First times of wrapping ``kind``: either = min(h, v), both = max(h, v)."""
        if kind == "horizontal":
            return self.horizontal
        if kind == "vertical":
            return self.vertical
        if kind == "either":
            return np.minimum(self.horizontal, self.vertical)
        if kind == "both":
            return np.maximum(self.horizontal, self.vertical)
        raise ValueError(f"unknown wrapping kind {kind!r}: expected one of {', '.join(WRAPPING_KINDS)}")


def _find(parent: np.ndarray, disp: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Roots of ``nodes`` and the displacement (x, y) from each node to its root.

    Vectorised path halving: each hop makes the current node point at its grandparent (adding
    the parent's displacement to its own), then moves there.  ``nodes`` must lie in distinct
    runs or share trees only harmlessly: every write replaces a pointer with one to an ancestor
    carrying the (invariant) displacement to that ancestor, so concurrent walkers stay correct.
    ``disp`` has shape ``(n_nodes, 2)``.
    """
    root = nodes.copy()
    acc = np.zeros((nodes.shape[0], 2), dtype=disp.dtype)
    active = np.flatnonzero(parent[root] != root)
    while active.size:
        r = root[active]
        p = parent[r]
        gp = parent[p]
        disp[r] += disp[p]
        parent[r] = gp
        acc[active] += disp[r]
        root[active] = gp
        active = active[parent[gp] != gp]
    return root, acc


#: Peak bytes per union–find node (run × site) of :func:`_run_batch`: the site order (int32),
#: ``parent`` (int64), ``size`` (int32) and the displacement ``disp`` (2 × int32).  (The tiled
#: template the order is permuted from, int32, is freed before the others are allocated.)
BYTES_PER_NODE = 4 + 8 + 4 + 8

#: Most union–find nodes (runs × sites) held at once: 2**23 nodes take about 200 MB.
MAX_NODES = 1 << 23


def memory_needed(L: int) -> int:
    """Peak bytes of one Newman–Ziff run on the ``L``×``L`` torus (a batch holds at least one run)."""
    return BYTES_PER_NODE * L * L


def first_wrapping_times(L: int, n_samples: int, rng: np.random.Generator,
                         on_batch: Callable[[int], None] | None = None) -> WrappingTimes:
    """Run ``n_samples`` independent Newman–Ziff runs on the periodic ``L``×``L`` lattice.

    Each run occupies the sites in an order drawn from ``rng`` (a random permutation per run)
    and records when it first wraps horizontally and vertically.  Runs are processed in
    batches of at most ``MAX_NODES // L**2`` to bound memory; ``on_batch(n_runs)`` is called
    after each batch (progress reporting).  Deterministic given ``rng``.
    """
    if L < 2:
        raise ValueError(f"L = {L!r}: expected an integer >= 2")
    if n_samples < 1:
        raise ValueError(f"n_samples = {n_samples!r}: expected an integer >= 1")
    batch = max(1, MAX_NODES // (L * L))
    parts = []
    for start in range(0, n_samples, batch):
        size = min(batch, n_samples - start)
        parts.append(_run_batch(L, size, rng))
        if on_batch is not None:
            on_batch(size)
    return WrappingTimes(L=L, horizontal=np.concatenate([h for h, _ in parts]),
                         vertical=np.concatenate([v for _, v in parts]))


def _run_batch(L: int, n_samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First horizontal and vertical wrapping times of ``n_samples`` runs advanced in lock-step."""
    n_sites = L * L
    order = rng.permuted(np.tile(np.arange(n_sites, dtype=np.int32), (n_samples, 1)), axis=1)

    # Global node index of site k of run s: s * n_sites + k.  Unoccupied nodes have parent -1.
    total = n_samples * n_sites
    parent = np.full(total, -1, dtype=np.int64)
    size = np.zeros(total, dtype=np.int32)
    disp = np.zeros((total, 2), dtype=np.int32)
    offset = np.arange(n_samples, dtype=np.int64) * n_sites

    never = n_sites + 1
    t_h = np.full(n_samples, never, dtype=np.int64)
    t_v = np.full(n_samples, never, dtype=np.int64)
    running = np.arange(n_samples)  # runs that have not yet wrapped both ways

    for step in range(n_sites):
        site = order[running, step].astype(np.int64)
        x, y = site % L, site // L
        node = offset[running] + site
        parent[node] = node
        size[node] = 1
        for ex, ey in _BONDS:
            nbr = offset[running] + (x + ex) % L + ((y + ey) % L) * L
            hit = np.flatnonzero(parent[nbr] >= 0)
            if hit.size == 0:
                continue
            roots, d = _find(parent, disp, np.concatenate([node[hit], nbr[hit]]))
            ri, rj = roots[: hit.size], roots[hit.size:]
            di, dj = d[: hit.size], d[hit.size:]
            e = np.array([ex, ey], dtype=np.int32)
            same = ri == rj
            # Same cluster: the bond closes a loop of winding d_i - d_j - e.
            winding = di[same] - dj[same] - e
            runs = running[hit[same]]
            wrap_x = runs[winding[:, 0] != 0]
            wrap_y = runs[winding[:, 1] != 0]
            t_h[wrap_x] = np.minimum(t_h[wrap_x], step + 1)
            t_v[wrap_y] = np.minimum(t_v[wrap_y], step + 1)
            # Different clusters: hang the smaller root under the larger one.  The displacement
            # from root_i to root_j is e + d_j - d_i (and its negative the other way round).
            diff = ~same
            ri, rj, delta = ri[diff], rj[diff], (e + dj[diff] - di[diff])
            i_small = size[ri] < size[rj]
            child = np.where(i_small, ri, rj)
            new_root = np.where(i_small, rj, ri)
            parent[child] = new_root
            disp[child] = np.where(i_small[:, None], delta, -delta)
            size[new_root] += size[child]
        done = (t_h[running] <= n_sites) & (t_v[running] <= n_sites)
        running = running[~done]
        if running.size == 0:
            break
    return t_h, t_v


def microcanonical(times: np.ndarray, n_sites: int) -> np.ndarray:
    """``R_n`` for ``n = 0..n_sites``: the fraction of runs wrapping with ``n`` occupied sites."""
    counts = np.bincount(times, minlength=n_sites + 1)[: n_sites + 1]
    return np.cumsum(counts) / times.shape[0]


def canonical(times: np.ndarray, n_sites: int, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canonical wrapping probability ``R(p)`` and its standard error.

    Run ``s`` contributes ``r_s(p) = P[Binomial(n_sites, p) >= t_s]`` (its binomial convolution
    of the step ``[n >= t_s]``, exact); ``R(p)`` is the mean over runs and the error is the
    standard error of that mean, ``std_s(r_s) / sqrt(S)`` (0 for a single run).  Because
    ``0 <= r_s <= 1`` it never exceeds the binomial value ``sqrt(R (1 - R) / S)``, which it
    reaches for large lattices where ``r_s`` is a sharp step.  All ``p`` share the same runs,
    so the errors at different ``p`` are strongly correlated.
    """
    p = np.asarray(p, dtype=np.float64)
    t = np.unique(times, return_counts=True)
    r = binom.sf(t[0][:, None] - 1, n_sites, p[None, :])  # (distinct times, P)
    weights = t[1][:, None] / times.shape[0]
    mean = (weights * r).sum(axis=0)
    n = times.shape[0]
    if n < 2:
        return mean, np.zeros_like(mean)
    var = (weights * (r - mean) ** 2).sum(axis=0) * n / (n - 1)
    return mean, np.sqrt(var / n)
