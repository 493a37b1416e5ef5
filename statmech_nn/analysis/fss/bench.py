"""Timing of a full FSS posterior: ``python -m statmech_nn.analysis.fss.bench [--repeat N]``.

For each built-in form: synthetic data with known truth (5 sizes x 20 control values, jittered),
the default settings (32 walkers, chains of >= 50 autocorrelation times), and the wall time of
MAP search + emcee + leave-one-size-out score. Prints one line per form, then one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

from .api import fit_fss
from .posterior import summarize
from .synthetic import collapse_dataset

CASES = {"second_order": {"p_c": 0.5, "nu": 1.0}, "bkt": {"p_c": 0.5, "sigma": 0.5, "L0": 1.0}}


def run_benchmark(repeat: int = 1) -> dict:
    """``{form: {"seconds": [...], "n_steps": ..., "tau_max": ..., "n_tau": ..., "p_c": ...}}``."""
    results = {}
    for form, params in CASES.items():
        ds = collapse_dataset(form, params, sizes=(8, 16, 32, 64, 128), n_control=20, jitter=1.0, seed=0)
        seconds = []
        for r in range(repeat):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                post = fit_fss(ds, "y", err="y_err", size="L", control="p", form=form, seed=r)
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
    args = parser.parse_args()
    results = run_benchmark(args.repeat)
    for form, r in results.items():
        print(f"{form:>13s}: {min(r['seconds']):6.1f} s (best of {len(r['seconds'])}), {r['n_steps']} steps, "
              f"tau_max {r['tau_max']}, {r['n_tau']} tau kept, acceptance {r['acceptance']}, {r['params']}")
    print(json.dumps({"cpus": os.cpu_count(), "results": results}, sort_keys=True))


if __name__ == "__main__":
    main()
