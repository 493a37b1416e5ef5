"""The FSS fitter of this checkout against an earlier commit's, side by side on whole fits.

Checks ``--against`` out into a temporary git worktree and fits the same calibration replicas
(:data:`statmech_nn.analysis.fss.calibration.SBC_DESIGNS`, replica ``r`` with seed ``r``) with
each tree's code in turn, alternating, each run in a fresh process with one BLAS thread, timed
after the imports. Prints both wall times (medians), the median ratio old/new with its spread
``(max - min) / median``, and whether the posterior medians agree (a pure speed-up leaves the
chains as they were: the likelihoods differ by rounding only).

    python scripts/fss_speed_against.py --against e4d34f2 [--replicas 2] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
#: run with the tree as working directory, so that its ``statmech_nn`` is the one imported
DRIVER = """
import json, sys, time, warnings
from statmech_nn.analysis.fss.calibration import SBC_DESIGNS, Design, draw_truths, fit_replica
design = Design(**SBC_DESIGNS[sys.argv[1]], fit_a=sys.argv[2] == "True")
start = time.perf_counter()
medians = [{k: v["median"] for k, v in fit_replica(design, truth, r)["params"].items()}
           for r, truth in enumerate(draw_truths(design, int(sys.argv[3]), 12345))]
print(json.dumps({"seconds": time.perf_counter() - start, "medians": medians}))
"""
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def fit_in(tree: Path, form: str, fit_a: bool, replicas: int) -> dict:
    done = subprocess.run([sys.executable, "-c", DRIVER, form, str(fit_a), str(replicas)], cwd=tree,
                          env={**os.environ, **ONE_THREAD}, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit whose code is the old side")
    parser.add_argument("--replicas", type=int, default=2, help="replicas per design and run")
    parser.add_argument("--repeats", type=int, default=3, help="alternating runs of each side")
    args = parser.parse_args()
    if min(args.replicas, args.repeats) < 1:
        parser.error(f"--replicas {args.replicas} --repeats {args.repeats}: expected integers >= 1")
    if subprocess.run(["git", "rev-parse", "--verify", "--quiet", f"{args.against}^{{commit}}"], cwd=ROOT,
                      capture_output=True).returncode:
        parser.error(f"--against {args.against!r}: not a commit of this repository")
    with tempfile.TemporaryDirectory() as folder:
        old_tree = Path(folder) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(old_tree), args.against], cwd=ROOT,
                       check=True)
        try:
            for form in ("second_order", "bkt"):
                for fit_a in (False, True):
                    runs = {"old": [], "new": []}
                    for _ in range(args.repeats):
                        for side, tree in (("old", old_tree), ("new", ROOT)):
                            runs[side].append(fit_in(tree, form, fit_a, args.replicas))
                    seconds = {side: np.array([r["seconds"] for r in rs]) for side, rs in runs.items()}
                    ratios = seconds["old"] / seconds["new"]
                    same = all(o["medians"] == n["medians"] for o, n in zip(runs["old"], runs["new"]))
                    print(f"{form:>12s} fit_a={fit_a!s:5s}: old {np.median(seconds['old']):6.1f} s, new "
                          f"{np.median(seconds['new']):6.1f} s, old/new {np.median(ratios):.2f} (spread "
                          f"{(ratios.max() - ratios.min()) / np.median(ratios):.0%}), same posterior medians: {same}",
                          flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, check=True)


if __name__ == "__main__":
    main()
