"""Estimators of the O(n) observables from a measurement series, with jackknife errors.

Primary series (columns of :func:`statmech_xy.wolff.run_chain`, per-site densities):
``e`` (energy), ``m2 = |M|²/N²``, ``fk = |M(k_min)|²/N²``, ``bond`` (bond energy per direction
per site), ``sin2`` (squared spin current per direction over ``N``).  Derived quantities, for
``N = L²``, ``β = 1/T`` and ``k_min = 2π/L``:

* energy per site          ``E = ⟨e⟩``;
* susceptibility           ``χ = N ⟨m2⟩`` (``⟨|M|²⟩/N``; no ``⟨|M|⟩²`` subtracted: on a finite
  lattice ``⟨M⟩ = 0`` by symmetry, and this is the quantity whose FSS is ``L^(2−η)``);
* second-moment correlation length (Cooper, Freedman & Preston 1982)
  ``ξ_2nd = sqrt(χ/F − 1) / (2 sin(k_min/2))`` with ``F = N ⟨fk⟩``, reported as ``ξ_2nd/L``
  (infinite, with an infinite error, when at most one bin has ``F > 0``: perfect order);
* helicity modulus (``n ≥ 2``; twist in the 1–2 plane, per bond, free energy per site)
  ``Υ = ⟨bond⟩ − β ⟨sin2⟩``, i.e. ``(1/N)[⟨Σ_x cos(θ_i−θ_j)⟩ − β ⟨(Σ_x sin(θ_i−θ_j))²⟩]``
  averaged over the two directions; the BKT jump is ``Υ(T_BKT⁻) = 2T/π``;
* Binder cumulant normalised to 0 (Gaussian, disordered) and 1 (ordered):
  ``U = (n+2)/2 − (n/2) ⟨m2²⟩/⟨m2⟩²``; for ``n = 1`` it is ``3/2`` times the usual
  ``1 − ⟨m⁴⟩/(3⟨m²⟩²)``, for ``n = 2`` it is ``2 − ⟨m⁴⟩/⟨m²⟩²``.

Errors: the series is cut into ``n_bins`` consecutive bins; with bins much longer than the
integrated autocorrelation time the bin means are independent, and the delete-one-bin
jackknife gives the standard error of any smooth function of the means (for a plain mean it is
the binning error).  ``τ_int`` is estimated with Sokal's automatic window (stop at the first
``W ≥ c τ_int(W)``, ``c = 6``), in units of measurements; the binning is trustworthy when the
bin length is ≥ ~10 τ_int; :func:`estimate` returns both.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

#: Sokal's window constant: the window W is the first with W >= SOKAL_C * tau_int(W)
SOKAL_C = 6.0


def integrated_autocorrelation_time(x: np.ndarray, c: float = SOKAL_C) -> float:
    """``τ_int = 1/2 + Σ_{t=1}^{W} ρ(t)`` with Sokal's self-consistent window.

    ``ρ(t)`` is the normalised autocorrelation of ``x`` (computed by FFT).  ``τ_int = 1/2``
    for independent measurements; the error of the mean is ``sqrt(2 τ_int Var(x) / n)``.  A
    constant series (zero variance) has ``τ_int = 1/2`` by convention.
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    d = x - x.mean()
    var = d @ d / n
    if var == 0.0 or n < 2:
        return 0.5
    f = np.fft.rfft(d, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / (n * var)
    tau = 0.5
    for w in range(1, n):
        tau += acf[w]
        if w >= c * tau:
            break
    return float(tau)


def bin_means(series: np.ndarray, n_bins: int) -> np.ndarray:
    """Means of ``n_bins`` consecutive equal bins along axis 0 (a remainder at the end dropped)."""
    length = series.shape[0] // n_bins
    if length < 1:
        raise ValueError(f"{series.shape[0]} measurements cannot fill {n_bins} bins")
    return series[: length * n_bins].reshape(n_bins, length, *series.shape[1:]).mean(axis=1)


def jackknife(bins: np.ndarray, f: Callable[[np.ndarray], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected jackknife estimate of ``f(mean)`` and its standard error.

    ``bins`` has shape ``(B, ...)``; ``f`` maps a mean (shape ``(...)``) to an array.  With
    ``f_i`` the value on all bins but ``i`` and ``f̄`` their mean: estimate
    ``B f(all) − (B−1) f̄`` and error ``sqrt((B−1)/B Σ (f_i − f̄)²)``.
    """
    B = bins.shape[0]
    total = bins.sum(axis=0)
    full = np.asarray(f(total / B))
    leave = np.array([f((total - bins[i]) / (B - 1)) for i in range(B)])
    mean_leave = leave.mean(axis=0)
    estimate = B * full - (B - 1) * mean_leave
    err = np.sqrt((B - 1) / B * ((leave - mean_leave) ** 2).sum(axis=0))
    return estimate, err


def estimate(series: np.ndarray, L: int, n: int, T: float, n_bins: int) -> dict[str, tuple[float, float]]:
    """Jackknife estimates ``{name: (value, error)}`` of every observable, plus ``τ_int``.

    Extra keys: ``tau_int_energy`` and ``tau_int_m2`` (value, 0) in units of measurements, and
    ``bin_length`` (value, 0).
    """
    N = L * L
    scale = 2.0 * np.sin(np.pi / L)
    cols = np.column_stack([series, series[:, 1] ** 2])  # e, m2, fk, bond, sin2, m2^2
    bins = bin_means(cols, n_bins)
    funcs: dict[str, Callable[[np.ndarray], float]] = {
        "energy": lambda m: m[0],
        "susceptibility": lambda m: N * m[1],
        "xi_over_L": lambda m: np.sqrt(max(m[1] / m[2] - 1.0, 0.0)) / scale / L,
        "binder": lambda m: (n + 2) / 2 - (n / 2) * m[5] / m[1] ** 2,
    }
    if n >= 2:
        funcs["helicity"] = lambda m: m[3] - m[4] / T
    if np.count_nonzero(bins[:, 2] > 0) < 2:
        # no weight at k_min outside one bin (a perfectly ordered chain, e.g. Ising far below
        # T_c on a small lattice): xi is infinite in some jackknife sample, so no finite estimate
        del funcs["xi_over_L"]
    result = {name: tuple(float(v) for v in jackknife(bins, f)) for name, f in funcs.items()}
    result.setdefault("xi_over_L", (np.inf, np.inf))
    result["tau_int_energy"] = (integrated_autocorrelation_time(series[:, 0]), 0.0)
    result["tau_int_m2"] = (integrated_autocorrelation_time(series[:, 1]), 0.0)
    result["bin_length"] = (float(series.shape[0] // n_bins), 0.0)
    return result
