"""statmech_xy: O(n) spin models (2D XY and Ising) as statmech_nn experiment plugins.

Wolff single-cluster Monte Carlo (numba) on periodic L×L square lattices, emitting over
(seed, T, L) the second-moment correlation length ξ_2nd/L, the helicity modulus (XY), the
susceptibility, the energy per site and the Binder cumulant, each with a binned jackknife error,
and the integrated autocorrelation times.  The 2D XY model has a Berezinskii–Kosterlitz–Thouless
transition at T_BKT = 0.8929 (Hasenbusch 2005); the 2D Ising model a second-order one at
T_c = 2/ln(1+√2), ν = 1.  Registered through the entry point
``[project.entry-points.statmech_nn] xy = "statmech_xy.plugin"``.
"""

__version__ = "0.1.0"
