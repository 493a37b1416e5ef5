"""The FSS likelihood of this checkout against an earlier commit's, side by side on whole fits.

Loads ``statmech_nn/analysis/fss/basis.py`` as it was at ``--against`` (``git show``) and fits
the same calibration replicas (:data:`statmech_nn.analysis.fss.calibration.SBC_DESIGNS`, replica
``r`` with seed ``r``) with that module's likelihood and with this checkout's, alternating, one
process. Prints each wall time, the median ratio old/new with its spread, and whether the
posterior medians agree (a pure speed-up must give the same chains: the likelihoods differ by
rounding only).

    python scripts/fss_basis_speed.py --against e4d34f2 [--replicas 3] [--repeats 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from statmech_nn.analysis.fss import likelihood
from statmech_nn.analysis.fss.calibration import SBC_DESIGNS, Design, draw_truths, fit_replica

BASIS = "statmech_nn/analysis/fss/basis.py"


def load_basis(commit: str, folder: Path):
    """The basis module of ``commit``, imported under its own name."""
    text = subprocess.run(["git", "show", f"{commit}:{BASIS}"], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1]).stdout
    path = folder / "basis_at_commit.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("basis_at_commit", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def timed_fits(design: Design, truths: list[dict], loglik) -> tuple[float, list[dict]]:
    likelihood.restricted_basis_loglik = loglik
    start = time.perf_counter()
    summaries = [fit_replica(design, truth, r) for r, truth in enumerate(truths)]
    return time.perf_counter() - start, summaries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", required=True, help="the commit whose basis.py is the old side")
    parser.add_argument("--replicas", type=int, default=3, help="replicas per design and side")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions of each side")
    args = parser.parse_args()
    current = likelihood.restricted_basis_loglik
    with tempfile.TemporaryDirectory() as folder:
        old = load_basis(args.against, Path(folder)).restricted_basis_loglik
        for form in SBC_DESIGNS:
            for fit_a in (False, True):
                design = Design(**SBC_DESIGNS[form], fit_a=fit_a)
                truths = draw_truths(design, args.replicas, 12345)
                seconds = {"old": [], "new": []}
                medians = {}
                for _ in range(args.repeats):
                    for side, loglik in (("old", old), ("new", current)):
                        wall, summaries = timed_fits(design, truths, loglik)
                        seconds[side].append(wall)
                        medians[side] = [{k: v["median"] for k, v in s["params"].items()} for s in summaries]
                ratios = np.array(seconds["old"]) / np.array(seconds["new"])
                spread = (ratios.max() - ratios.min()) / np.median(ratios)
                print(f"{form:>12s} fit_a={fit_a!s:5s}: old {np.median(seconds['old']):6.1f} s, new "
                      f"{np.median(seconds['new']):6.1f} s, old/new {np.median(ratios):.2f} (spread {spread:.0%}), "
                      f"same posterior medians: {medians['old'] == medians['new']}", flush=True)
    likelihood.restricted_basis_loglik = current


if __name__ == "__main__":
    sys.exit(main())
