"""Timing of a full FSS posterior: ``python -m statmech_nn.analysis.fss.bench [--repeat N] [--grid 10x50 ...]``.

For each built-in form and each grid (default 5 sizes x 20 control values; ``--grid KxM``: K
sizes spaced geometrically over 8-128, M control values each): synthetic data with known truth (jittered),
the default settings (32 walkers, chains of >= 50 autocorrelation times), and the wall time of
MAP search + emcee + leave-one-size-out score. Prints one line per form, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np

from .api import fit_fss
from .posterior import summarize
from .synthetic import collapse_dataset

CASES = {"second_order": {"p_c": 0.5, "nu": 1.0}, "bkt": {"p_c": 0.5, "sigma": 0.5, "L0": 1.0}}


def run_benchmark(repeat: int = 1, n_sizes: int = 5, n_control: int = 20) -> dict:
    """``{form: {"seconds": [...], "n_steps": ..., "tau_max": ..., "n_tau": ..., "params": ...}}``."""
    results = {}
    sizes = tuple(float(round(s)) for s in np.geomspace(8, 128, n_sizes))
    for form, params in CASES.items():
        ds = collapse_dataset(form, params, sizes=sizes, n_control=n_control, jitter=1.0, seed=0)
        seconds = []
        for r in range(repeat):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                post = fit_fss(ds, "y", err="y_err", size_dim="L", control_dim="p", form=form, seed=r)
            seconds.append(time.perf_counter() - start)
        s = summarize(post)
        results[form] = {"seconds": [round(t, 2) for t in seconds], "n_steps": s["convergence"]["n_steps"],
                         "tau_max": round(max(s["convergence"]["tau"].values()), 1),
                         "n_tau": round(s["convergence"]["n_tau"], 1),
                         "acceptance": round(s["convergence"]["acceptance"], 3),
                         "params": {k: round(v["median"], 4) for k, v in s["params"].items()}}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="fits per form (different seeds)")
    parser.add_argument("--grid", action="append", default=[], metavar="KxM",
                        help="K sizes x M control values (repeatable; default 5x20)")
    args = parser.parse_args()
    grids = [tuple(int(v) for v in g.lower().split("x")) for g in args.grid] or [(5, 20)]
    out = {}
    for n_sizes, n_control in grids:
        results = run_benchmark(args.repeat, n_sizes, n_control)
        for form, r in results.items():
            print(f"{n_sizes}x{n_control} {form:>13s}: {min(r['seconds']):6.1f} s (best of {len(r['seconds'])}), "
                  f"{r['n_steps']} steps, tau_max {r['tau_max']}, {r['n_tau']} tau kept, "
                  f"acceptance {r['acceptance']}, {r['params']}")
        out[f"{n_sizes}x{n_control}"] = results
    print(json.dumps({"cpus": os.cpu_count(), "results": out}, sort_keys=True))


if __name__ == "__main__":
    main()
