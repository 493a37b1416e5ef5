"""A tiny, real, test-only experiment: the sample mean of n uniform(0, 1) draws per grid point.

Its truth is known (mean 1/2, standard error 1/sqrt(12 n)), it is deterministic given the seed,
and it is cheap, which is what the sweep/cache tests need. ``fail_after`` raises
KeyboardInterrupt after that many cells, to simulate Ctrl-C in the middle of a sweep.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statmech_nn.experiment import Experiment
from statmech_nn.hookspecs import hookimpl
from statmech_nn.options import Option, positive


class UniformMean(Experiment):
    name = "toy_uniform_mean"
    version = "1"
    dims = ("p_train", "N", "seed")
    options_spec = {"sampling": (Option("scale", 1.0, "multiplies every draw", (float,), check=positive,
                                        accepted="a number > 0"),)}
    default_grid = {"p_train": [0.0], "N": [10], "seed": [0]}
    fail_after: int | None = None
    calls = 0

    def plan(self, grid):
        # one cell per (N, seed), all p_train together: exercises multi-point cells
        return [{"p_train": grid["p_train"], "N": (n,), "seed": (s,)} for n in grid["N"] for s in grid["seed"]]

    def run_cell(self, cell, progress=None):
        type(self).calls += 1
        if self.fail_after is not None and type(self).calls > self.fail_after:
            raise KeyboardInterrupt
        (n,), (seed,) = cell["N"], cell["seed"]
        rng = np.random.default_rng([seed, n])
        means = [self.options["sampling"]["scale"] * rng.random(n).mean() for _ in cell["p_train"]]
        ds = xr.Dataset(
            {"loss": (("p_train", "N", "seed"), np.array(means).reshape(-1, 1, 1),
                      {"long_name": "sample mean", "units": "1"})},
            coords={"p_train": list(cell["p_train"]), "N": [n], "seed": [seed]},
        )
        return ds


class ToyPlugin:
    @hookimpl
    def register_experiments(self):
        return [UniformMean]
