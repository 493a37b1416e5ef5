"""Test-only plugins for the study tests: a fast experiment with the reference dims and a known
phase map, and a third-party analyzer with its own table and figure.

``toy_phases`` computes, per grid point, the synthetic power law of
:class:`statmech_nn.testing.SyntheticTruth` (exact exponent ``alpha = slope (p_eval - p_c)``,
``p_c = c0 + c1 p_train`` shifted by ``-0.05 (depth - 1)``; amentia -- loss ln 10, accuracy 0.1 --
for ``p_train >= 0.9``) with ``N_ref = 1``: ``ln loss = slope (p_eval - p_c) ln N``, which is
exactly the BKT scaling form ``f(x)``, ``x = (p - p_c) ln(N / L0)^(1/sigma)`` with ``L0 = 1``,
``sigma = 1``, ``f(x) = slope x`` with 2 % multiplicative noise per seed from ``default_rng`` seeded by the
point, so the numbers depend only on the point. Cells are one per ``(N, seed)``;
``timing.delay`` sleeps that many seconds per cell (for kill -9 tests); ``noise.shared``
multiplies the loss of one (seed, N, p_train, width, depth) network at every ``p_eval`` by the same
``exp(shared z)``, ``z ~ N(0, 1)``: an error shared along ``p_eval``, as one trained network's.

``toy_line`` is the same toy at one network with the dims (p_eval, N, seed) only.

``extreme_loss`` (analyzer): the largest seed-mean loss at every ``p_train``; it presents a
table of those numbers and one figure. ``log_crossover`` (scaling form): the BKT form under a
plugin's own name, without a corrected variant.
"""

from __future__ import annotations

import math
import time

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from statmech_nn.analysis.base import Analyzer, FigureItem, Presentation, Table
from statmech_nn.analysis.fss import BKT
from statmech_nn.experiment import Experiment
from statmech_nn.hookspecs import hookimpl
from statmech_nn.options import Option, non_negative
from statmech_nn.schema import set_coord_attrs
from statmech_nn.testing import SyntheticTruth

TRUTH = SyntheticTruth(N_ref=1.0)
DEPTH_SHIFT = 0.05
REL_NOISE = 0.02


def true_boundary(p_train: float, depth: int) -> float:
    """p_eval where the toy's alpha changes sign (NaN in its amentia region)."""
    return float(TRUTH.boundary(p_train)) - DEPTH_SHIFT * (depth - 1)


class ToyPhases(Experiment):
    name = "toy_phases"
    version = "1"
    dims = ("p_train", "p_eval", "N", "width", "depth", "seed")
    options_spec = {"timing": (Option("delay", 0.0, "seconds slept per cell", (float,), check=non_negative,
                                      accepted="a number >= 0"),),
                    "noise": (Option("shared", 0.0, "sd of ln loss shared by every p_eval of a network", (float,),
                                     check=non_negative, accepted="a number >= 0"),)}
    default_grid = {"p_train": (0.0,), "p_eval": (0.0, 0.9), "N": (100, 1000, 10000), "width": (8,),
                    "depth": (1,), "seed": (0, 1)}

    def plan(self, grid):
        return [{**grid, "N": (n,), "seed": (s,)} for n in grid["N"] for s in grid["seed"]]

    def run_cell(self, cell, progress=None):
        time.sleep(self.options["timing"]["delay"])
        shape = tuple(len(cell[d]) for d in ToyPhases.dims)
        loss = np.empty(shape)
        for idx in np.ndindex(*shape):
            pt, pe, n, w, d, s = (cell[dim][i] for dim, i in zip(ToyPhases.dims, idx))
            shifted = SyntheticTruth(c0=TRUTH.c0 - DEPTH_SHIFT * (d - 1), N_ref=TRUTH.N_ref)
            clean = float(shifted.loss(pt, pe, n))
            rng = np.random.default_rng([s, n, w, d, round(pt * 1000), round(pe * 1000)])
            shared = np.random.default_rng([s, n, w, d, round(pt * 1000)]).standard_normal()
            loss[idx] = clean * (1 + REL_NOISE * rng.standard_normal()) * np.exp(self.options["noise"]["shared"] * shared)
        p_train = np.asarray(cell["p_train"], float).reshape(-1, 1, 1, 1, 1, 1)
        accuracy = np.where(p_train >= TRUTH.amentia_above, 0.1, 0.1 + 0.9 * np.exp(-loss))
        ds = xr.Dataset(
            {"loss": (ToyPhases.dims, loss, {"long_name": "test cross-entropy", "units": "nat"}),
             "accuracy": (ToyPhases.dims, accuracy, {"long_name": "test accuracy", "units": "1"})},
            coords={d: list(cell[d]) for d in ToyPhases.dims})
        return set_coord_attrs(ds)


class ToyLine(ToyPhases):
    """The toy at one network (p_train = 0, width 8, depth 1) with the dims (p_eval, N, seed)
    only: an experiment without a second control dim, as the XY plugin's (T, L, seed)."""

    name = "toy_line"
    dims = ("p_eval", "N", "seed")
    FIXED = {"p_train": (0.0,), "width": (8,), "depth": (1,)}
    default_grid = {"p_eval": (0.0, 0.9), "N": (100, 1000, 10000), "seed": (0, 1)}

    def run_cell(self, cell, progress=None):
        return super().run_cell({**cell, **self.FIXED}, progress).squeeze(list(self.FIXED), drop=True)


class ExtremeLoss(Analyzer):
    name = "extreme_loss"
    summary = "largest seed-mean loss at every p_train"

    def run(self, data, *, var: str = "loss"):
        mean = data[var].mean("seed")
        largest = mean.max([d for d in mean.dims if d != "p_train"])
        return xr.Dataset({"largest_loss": largest.assign_attrs(long_name=f"largest mean {var}", units="nat")},
                          attrs={"analyzer": self.name, "var": var})

    def present(self, result, data=None):
        values = result["largest_loss"]
        table = Table("largest", "Largest mean loss", ["p_train", "largest loss"],
                      [[float(p), float(v)] for p, v in zip(values["p_train"].values, values.values)],
                      caption="nats")
        fig = Figure(figsize=(4, 3))
        ax = fig.add_subplot()
        ax.plot(values["p_train"].values, values.values, "o-", gid="extreme")
        ax.set_xlabel("p_train")
        ax.set_ylabel("largest mean loss [nat]")
        return Presentation(tables=[table], figures=[FigureItem("extreme", "Largest loss per p_train", fig)],
                            warnings=["extreme_loss: a warning of the test analyzer"])


class LogCrossover(BKT):
    """A third-party scaling form: BKT's scaling under its own name, fitted as given (no variant)."""

    name = "log_crossover"

    def variants(self):
        return (self,)


class StudyToyPlugin:
    @hookimpl
    def register_experiments(self):
        return [ToyPhases, ToyLine]

    @hookimpl
    def register_analyzers(self):
        return [ExtremeLoss]

    @hookimpl
    def register_scaling_forms(self):
        return [LogCrossover]


def registry():
    """A registry with the built-ins and this plugin only (no installed entry points)."""
    from statmech_nn.plugins import PluginRegistry

    reg = PluginRegistry(load_entry_points=False)
    reg.register_plugin(StudyToyPlugin(), "study_toy")
    return reg


LN10 = math.log(10)
