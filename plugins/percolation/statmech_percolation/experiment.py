"""The ``percolation`` experiment: wrapping probability of 2D site percolation over (p, L).

Grid dimensions ``("p", "L")``: ``p`` the site occupation probability (float64 in [0, 1]),
``L`` the linear size of the periodic square lattice (int64 >= 2).  There is no ``seed``
dimension: the ``n_samples`` independent Newman–Ziff runs of one ``L`` are averaged inside the
cell, and their spread is reported as ``wrapping_err``.

One cell is one ``L`` with *all* its ``p`` values, because one set of Newman–Ziff runs gives
the wrapping probability at every ``p`` (:func:`statmech_percolation.newman_ziff.canonical`).
The runs of size ``L`` draw their random orders from
``numpy.random.default_rng([sampling.seed, L])``, so a cell's numbers depend only on the
options and its ``L`` -- not on which other cells are in the sweep.

Output variables (dims ``(p, L)`` unless stated):

* ``wrapping``: canonical probability ``R(p)`` that some cluster wraps the torus
  (``observable.wrapping`` says which way: horizontal, vertical, either or both), units "1";
* ``wrapping_err``: its standard error (see ``canonical``); values at different ``p`` of one
  ``L`` come from the same runs, so their errors are strongly correlated along ``p``;
* ``n_samples`` (dim ``L``): the number of runs behind each ``L``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import xarray as xr

from statmech_nn.errors import ConfigError
from statmech_nn.experiment import Cell, Experiment, ProgressCallback
from statmech_nn.memory import available_memory
from statmech_nn.options import Option, non_negative, positive

from . import __version__
from .newman_ziff import WRAPPING_KINDS, canonical, first_wrapping_times, memory_needed

_WRAPPING_MEANING = {
    "horizontal": "a cluster wraps the torus horizontally",
    "vertical": "a cluster wraps the torus vertically",
    "either": "a cluster wraps the torus horizontally or vertically",
    "both": "clusters wrap the torus both horizontally and vertically",
}

_CORRELATION_NOTE = (
    "all p of one L reuse the same Newman-Ziff runs (binomial convolution), so values and "
    "errors at different p are strongly correlated"
)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_fits(L: int, available: int | None) -> None:
    """Raise a one-line ConfigError if one run of size ``L`` needs more than ``available`` bytes.

    Failing here, before any work, replaces a MemoryError traceback deep in numpy (or a machine
    driven into swap); ``available=None`` (unknown) accepts every size.
    """
    need = memory_needed(L)
    if available is not None and need > available:
        largest = int((available / memory_needed(1)) ** 0.5)
        raise ConfigError(f"grid L = {L}: one Newman-Ziff run needs {need / 2**30:.1f} GiB of memory, "
                          f"{available / 2**30:.1f} GiB are available; expected L <= {largest}")


class PercolationExperiment(Experiment):
    """Site percolation on periodic L×L square lattices (Newman–Ziff), wrapping probability."""

    name = "percolation"
    version = "1"
    dims = ("p", "L")
    options_spec = {
        "sampling": (
            Option("n_samples", 1000, "independent Newman-Ziff runs per lattice size", (int,),
                   check=positive, accepted="an integer > 0"),
            Option("seed", 0, "seed of the random site orders", (int,),
                   check=non_negative, accepted="an integer >= 0"),
        ),
        "observable": (
            Option("wrapping", "horizontal", "which wrapping the probability counts", (str,),
                   choices=WRAPPING_KINDS),
        ),
    }
    default_grid = {
        "p": tuple(round(0.50 + 0.01 * k, 2) for k in range(21)),
        "L": (8, 16, 32),
    }

    @classmethod
    def check_coordinate(cls, dim: str, value: Any) -> Any:
        """``p`` a number in [0, 1] (returned as float), ``L`` an integer >= 2 (as int) whose one
        run fits in the available memory (:func:`~statmech_percolation.newman_ziff.memory_needed`)."""
        if dim == "p":
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
                raise ConfigError(f"grid p = {value!r}: expected a site occupation probability in [0, 1]")
            return float(value)
        if dim == "L":
            if not _is_int(value) or value < 2:
                raise ConfigError(f"grid L = {value!r}: expected an integer lattice size >= 2")
            check_fits(int(value), available_memory())
            return int(value)
        return super().check_coordinate(dim, value)

    def plan(self, grid: dict[str, tuple]) -> list[Cell]:
        """One cell per ``L`` holding every ``p``: one set of runs serves all ``p``."""
        return [{"p": tuple(grid["p"]), "L": (L,)} for L in grid["L"]]

    def cell_cost(self, cell: Cell) -> int:
        """Site additions: ``n_samples * L**2`` (an upper bound: runs stop once fully wrapped)."""
        (L,) = cell["L"]
        return self.options["sampling"]["n_samples"] * L * L

    def provenance(self) -> dict[str, Any]:
        return {"statmech_percolation_version": __version__, "numpy_version": np.__version__}

    def run_cell(self, cell: Cell, progress: ProgressCallback = None) -> xr.Dataset:
        (L,) = cell["L"]
        p = np.asarray(cell["p"], dtype=np.float64)
        n_samples = self.options["sampling"]["n_samples"]
        kind = self.options["observable"]["wrapping"]
        rng = np.random.default_rng([self.options["sampling"]["seed"], L])
        on_batch = None if progress is None else (lambda runs: progress(runs * L * L))
        times = first_wrapping_times(L, n_samples, rng, on_batch).of(kind)
        mean, err = canonical(times, L * L, p)
        dims = ("p", "L")
        return xr.Dataset(
            {
                "wrapping": (dims, mean[:, None], {
                    "long_name": f"probability that {_WRAPPING_MEANING[kind]}",
                    "units": "1", "wrapping": kind, "comment": _CORRELATION_NOTE}),
                "wrapping_err": (dims, err[:, None], {
                    "long_name": "standard error of the wrapping probability",
                    "units": "1",
                    "comment": "standard error of the mean over runs of each run's exact canonical "
                               "probability P[Binomial(L^2, p) >= first wrapping time]; at most "
                               "sqrt(R (1 - R) / n_samples); " + _CORRELATION_NOTE}),
                "n_samples": (("L",), np.array([n_samples], dtype=np.int64), {
                    "long_name": "number of independent Newman-Ziff runs", "units": "1"}),
            },
            coords={
                "p": ("p", p, {"long_name": "site occupation probability", "units": "1"}),
                "L": ("L", np.array([L], dtype=np.int64), {
                    "long_name": "linear lattice size", "units": "1"}),
            },
        )
