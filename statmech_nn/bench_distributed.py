"""Serial against Dask sweeps, side by side in one run: ``python -m statmech_nn.bench_distributed``.

Three sweeps, each run ``--repeat`` times serially and on one local cluster of ``--workers``
worker processes, alternating which goes first, every run on a fresh cache:

* **percolation**: ``L`` = 8..64 (8 cells, one per size) x 21 ``p``, 2000 Newman-Ziff runs;
* **mnist**: 4 cells of 4 networks (width 32, depth 1, N = 512, p_train 0..0.6, seeds 0..3,
  300 steps, 2 p_eval x 4 masks) on real MNIST;
* **overhead**: 100 percolation cells that do almost nothing (L = 2..101, one p, one
  Newman-Ziff run each: well under a millisecond), so the wall time per cell is the price of
  a cell as a task: submission, scheduling, the cache write and read-back, the lease -- and
  the same per cell serially, without the scheduling.

Reported: the median wall time of each side, its spread (min-max), and the ratio of medians.
The cluster's start-up is timed once, apart (it is paid once per sweep command).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

from .cache import CellCache
from .cluster import dask_client
from .plugins import get_registry
from .sweep import run_sweep


def _sweeps() -> dict[str, tuple]:
    """``{name: (experiment class, options, grid)}``; every run gets a new instance, so that
    no side profits from data an earlier run loaded into it."""
    registry = get_registry()
    percolation, mnist = registry.experiment("percolation"), registry.experiment("mnist_dropout")
    return {
        "percolation": (percolation, {"sampling": {"n_samples": 2000}},
                        {"L": [8, 16, 24, 32, 40, 48, 56, 64], "p": [round(0.5 + 0.01 * k, 2) for k in range(21)]}),
        "mnist": (mnist, {"training": {"budget": "steps", "steps": 300, "max_networks": 4}, "evaluation": {"n_masks": 4}},
                  {"p_train": [0.0, 0.2, 0.4, 0.6], "p_eval": [0.0, 0.5], "N": [512], "width": [32], "depth": [1],
                   "seed": [0, 1, 2, 3]}),
        "overhead": (percolation, {"sampling": {"n_samples": 1}}, {"L": list(range(2, 102)), "p": [0.5]}),
    }


def _timed(kind, options, grid, client) -> float:
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        run_sweep(kind(options), grid, CellCache(cache), progress=False, client=client)
        return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="sweeps to run (default: all)")
    args = parser.parse_args(argv)
    sweeps = {k: v for k, v in _sweeps().items() if not args.only or k in args.only}
    start = time.perf_counter()
    with dask_client(workers=args.workers) as client:
        startup = time.perf_counter() - start
        results = {"cluster_startup_s": round(startup, 2), "workers": args.workers}
        for name, (kind, options, grid) in sweeps.items():
            times: dict[str, list[float]] = {"serial": [], "dask": []}
            for rep in range(args.repeat):
                order = ("serial", "dask") if rep % 2 == 0 else ("dask", "serial")
                for side in order:
                    times[side].append(_timed(kind, options, grid, client if side == "dask" else None))
            med = {side: statistics.median(t) for side, t in times.items()}
            experiment = kind(options)
            n_cells = len(experiment.plan(experiment.validate_grid(grid)))
            results[name] = {
                "cells": n_cells,
                **{f"{side}_median_s": round(m, 3) for side, m in med.items()},
                **{f"{side}_spread_s": [round(min(t), 3), round(max(t), 3)] for side, t in times.items()},
                "serial_over_dask": round(med["serial"] / med["dask"], 2),
                "per_cell_ms": {side: round(1000 * m / n_cells, 1) for side, m in med.items()},
            }
            print(json.dumps({name: results[name]}), file=sys.stderr, flush=True)
    print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
