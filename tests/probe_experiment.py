"""A test-only experiment whose cells can be slow, fail, or kill their own process on demand:
what the distributed-sweep and cache-sharing tests need to stage faults for real.

Grid: one dimension ``x`` (integers >= 0), one cell per point. Truth: ``y = x**2 + 0.5`` exactly,
and ``noise`` is ``numpy.random.default_rng(x).random()``, so every run gives the same numbers.
Options (section ``probe``):

* ``work``: seconds each cell sleeps (to have cells in flight when a fault is staged);
* ``log``: a file each computed cell appends its ``x`` to (counts computations across processes);
* ``fail_at`` / ``trap``: the cell ``x = fail_at`` raises ValueError while the file ``trap`` exists;
* ``die_at`` / ``marker``: the cell ``x = die_at`` SIGKILLs its own process, once (it creates
  ``marker`` first, so the recomputation elsewhere succeeds).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import xarray as xr

from statmech_nn.experiment import Experiment
from statmech_nn.options import Option


class Probe(Experiment):
    name = "test_probe"
    version = "1"
    dims = ("x",)
    devices = ("cpu", "cuda")
    default_grid = {"x": [0, 1, 2]}
    options_spec = {"probe": (
        Option("work", 0.0, "seconds each cell sleeps", (int, float)),
        Option("log", "", "file each computed cell appends its x to", (str,)),
        Option("fail_at", -1, "x of the cell that raises while the trap file exists", (int,)),
        Option("trap", "", "the trap file", (str,)),
        Option("die_at", -1, "x of the cell that kills its process once", (int,)),
        Option("marker", "", "file marking that the cell has died once", (str,)),
    )}

    @classmethod
    def check_coordinate(cls, dim, value):
        return int(value)

    def run_cell(self, cell, progress=None):
        opts = self.options["probe"]
        (x,) = cell["x"]
        if x == opts["die_at"] and not Path(opts["marker"]).exists():
            Path(opts["marker"]).touch()
            os.kill(os.getpid(), signal.SIGKILL)
        if x == opts["fail_at"] and Path(opts["trap"]).exists():
            raise ValueError(f"trap sprung at x={x}")
        time.sleep(opts["work"])
        if opts["log"]:
            with open(opts["log"], "a") as fh:
                fh.write(f"{x} {os.getpid()}\n")
        return xr.Dataset(
            {"y": ("x", [x**2 + 0.5], {"long_name": "x squared plus a half", "units": "1"}),
             "noise": ("x", [np.random.default_rng(x).random()], {"long_name": "seeded uniform draw", "units": "1"})},
            coords={"x": ("x", [x], {"long_name": "probe coordinate", "units": "1"})})

