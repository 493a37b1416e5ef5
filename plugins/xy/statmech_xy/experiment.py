"""The ``xy`` and ``ising`` experiments: O(n) spins on L×L tori, Wolff Monte Carlo, over (T, L, seed).

Grid dimensions ``("T", "L", "seed")`` (the sweep writes them canonical-first: ``seed, T, L``):
``T`` the temperature in units of ``J/k_B`` (float64 > 0), ``L`` the linear size of the periodic
square lattice (int64 >= 2), ``seed`` an independent Markov chain (int64 >= 0).  Every grid
point is its own cell and its own chain, drawing from
``numpy.random.default_rng([seed, L, bits of T, n])``, so its numbers depend only on the
options and the point -- not on the other cells of the sweep.

Output variables (dims ``(T, L, seed)``), each observable ``X`` with ``X_err`` (binned
jackknife standard error, :mod:`statmech_xy.estimators`): ``energy``, ``susceptibility``,
``xi_over_L``, ``binder``, and for ``n = 2`` also ``helicity``; plus ``tau_int_energy``,
``tau_int_m2`` (integrated autocorrelation times, in measurements) and
``mean_cluster_size``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any, ClassVar

import numba
import numpy as np
import xarray as xr

from statmech_nn.errors import ConfigError
from statmech_nn.experiment import Cell, Experiment, ProgressCallback
from statmech_nn.options import Option, positive

from . import __version__
from .estimators import estimate
from .wolff import run_chain

#: (long_name, units) of each output variable; errors get "standard error of ..." names
_OBSERVABLES = {
    "energy": ("energy per site, in units of J", "1"),
    "susceptibility": ("magnetic susceptibility <|M|^2>/N", "1"),
    "xi_over_L": ("second-moment correlation length divided by L", "1"),
    "binder": ("Binder cumulant (n+2)/2 - (n/2) <m^4>/<m^2>^2 (0 disordered, 1 ordered)", "1"),
    "helicity": ("helicity modulus (spin stiffness) per site, in units of J", "1"),
}

#: bins shorter than this many autocorrelation times are not independent: errors too small
MIN_BIN_TAUS = 10


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def chain_seed(seed: int, L: int, T: float, n: int) -> list[int]:
    """Entropy of the chain at one grid point: the seed, L, the IEEE bits of T, and n."""
    return [int(seed), int(L), int(np.float64(T).view(np.uint64)), int(n)]


class OnExperiment(Experiment):
    """O(n) spins on periodic L×L square lattices, Wolff updates; ``n_components`` set by subclasses."""

    n_components: ClassVar[int]
    version = "1"
    dims = ("T", "L", "seed")
    options_spec = {
        "sampling": (
            Option("n_thermalize", 1000,
                   "sweeps (Wolff updates flipping L^2 spins in all) discarded before measuring; "
                   "the measured tau_int is a few sweeps near the transition, so 1000 is > 100 tau",
                   (int,), check=positive, accepted="an integer > 0"),
            Option("n_measure", 10000,
                   "measurements, about one sweep apart; 10000 give xi/L to ~0.7 % at L <= 128",
                   (int,), check=positive, accepted="an integer > 0"),
            Option("n_bins", 50,
                   "jackknife bins; 50 bins give the error to ~10 % (1/sqrt(2*49)) while each "
                   "bin (n_measure/50 measurements) stays >> tau_int",
                   (int,), check=lambda v: v >= 2, accepted="an integer >= 2"),
        ),
    }

    @classmethod
    def check_coordinate(cls, dim: str, value: Any) -> Any:
        """``T`` a number > 0 (as float), ``L`` an integer >= 2 (as int), ``seed`` an integer >= 0."""
        if dim == "T":
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ConfigError(f"grid T = {value!r}: expected a temperature > 0 (units of J/k_B)")
            return float(value)
        if dim == "L":
            if not _is_int(value) or value < 2:
                raise ConfigError(f"grid L = {value!r}: expected an integer lattice size >= 2")
            return int(value)
        return super().check_coordinate(dim, value)

    def __init__(self, options=None, *, device: str = "cpu"):
        super().__init__(options, device=device)
        sampling = self.options["sampling"]
        if sampling["n_measure"] < 2 * sampling["n_bins"]:
            raise ConfigError(f"sampling.n_measure = {sampling['n_measure']!r}: expected at least "
                              f"2 * sampling.n_bins = {2 * sampling['n_bins']} measurements")

    def cell_cost(self, cell: Cell) -> int:
        """Spin flips, about ``(n_thermalize + n_measure) * L**2``."""
        (L,) = cell["L"]
        sampling = self.options["sampling"]
        return (sampling["n_thermalize"] + sampling["n_measure"]) * L * L

    def provenance(self) -> dict[str, Any]:
        return {"statmech_xy_version": __version__, "numpy_version": np.__version__,
                "numba_version": numba.__version__}

    def run_cell(self, cell: Cell, progress: ProgressCallback = None) -> xr.Dataset:
        (T,), (L,), (seed,) = cell["T"], cell["L"], cell["seed"]
        n = self.n_components
        sampling = self.options["sampling"]
        rng = np.random.default_rng(chain_seed(seed, L, T, n))
        on_sweeps = None if progress is None else (lambda sweeps: progress(sweeps * L * L))
        series, chain = run_chain(L, n, T, sampling["n_thermalize"], sampling["n_measure"], rng, on_sweeps)
        values = estimate(series, L, n, T, sampling["n_bins"])
        bin_length = int(values["bin_length"][0])
        tau = max(values["tau_int_energy"][0], values["tau_int_m2"][0])
        if bin_length < MIN_BIN_TAUS * tau:
            warnings.warn(f"{self.name} T={T:g} L={L} seed={seed}: jackknife bins of {bin_length} measurements "
                          f"are shorter than {MIN_BIN_TAUS} tau_int = {MIN_BIN_TAUS * tau:.0f}: errors are "
                          "underestimated; raise sampling.n_measure or lower sampling.n_bins",
                          RuntimeWarning, stacklevel=2)
        err_comment = (f"delete-one-bin jackknife over {sampling['n_bins']} consecutive bins of {bin_length} "
                       f"measurements; valid when a bin is >= ~{MIN_BIN_TAUS} tau_int")
        dims = ("T", "L", "seed")

        def point(x: float) -> np.ndarray:
            return np.array(x, dtype=np.float64).reshape(1, 1, 1)

        data = {}
        for name, (long_name, units) in _OBSERVABLES.items():
            if name not in values:
                continue
            value, err = values[name]
            data[name] = (dims, point(value), {"long_name": long_name, "units": units})
            data[f"{name}_err"] = (dims, point(err), {
                "long_name": f"standard error of the {long_name.split(',')[0]}", "units": units,
                "comment": err_comment})
        data["tau_int_energy"] = (dims, point(values["tau_int_energy"][0]), {
            "long_name": "integrated autocorrelation time of the energy, in measurements", "units": "1",
            "comment": "Sokal's automatic window, c = 6"})
        data["tau_int_m2"] = (dims, point(values["tau_int_m2"][0]), {
            "long_name": "integrated autocorrelation time of |M|^2, in measurements", "units": "1",
            "comment": "Sokal's automatic window, c = 6"})
        data["mean_cluster_size"] = (dims, point(chain["mean_cluster_size"]), {
            "long_name": "mean Wolff cluster size in the second half of the thermalisation", "units": "1"})
        data["sweeps_per_measurement"] = (dims, point(chain["sweeps_per_measurement"]), {
            "long_name": "spins flipped between measurements divided by L^2", "units": "1"})
        return xr.Dataset(data, coords={
            "T": ("T", np.array([T]), {"long_name": "temperature, in units of J/k_B", "units": "1"}),
            "L": ("L", np.array([L], dtype=np.int64), {"long_name": "linear lattice size", "units": "1"}),
            "seed": ("seed", np.array([seed], dtype=np.int64), {"long_name": "independent Markov chain",
                                                                 "units": "1"}),
        }, attrs={"n_components": n})


class XYExperiment(OnExperiment):
    """The 2D XY model (plane rotator, n = 2): BKT transition at T_BKT = 0.8929 (Hasenbusch 2005)."""

    name = "xy"
    n_components = 2
    default_grid = {"T": (0.85, 0.9, 0.95), "L": (8, 16), "seed": (0,)}


class IsingExperiment(OnExperiment):
    """The 2D Ising model (n = 1): T_c = 2/ln(1+sqrt(2)) = 2.2692, nu = 1 (Onsager 1944)."""

    name = "ising"
    n_components = 1
    default_grid = {"T": (2.2, 2.27, 2.35), "L": (8, 16), "seed": (0,)}
