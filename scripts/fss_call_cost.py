"""What one call of the FSS log-posterior costs against the number of walkers it evaluates.

Builds the posterior of one BKT calibration replica with a fitted ``a`` (the design of
``tests/test_fss_sbc.py``), finds its MAP, and times ``log_prob`` on ``W`` walkers in a small
ball around it (median of 7 repetitions of 100 calls each, wall time). A cost that hardly grows
with ``W`` is fixed per call: what emcee, which evaluates half the ensemble per call, pays on
every step.

    python scripts/fss_call_cost.py [--walkers 6,12,24,48,96]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from statmech_nn.analysis.fss.api import prepare_data
from statmech_nn.analysis.fss.calibration import SBC_DESIGNS, Design, draw_truths, simulate_replica
from statmech_nn.analysis.fss.forms import as_form
from statmech_nn.analysis.fss.model import CollapseModel
from statmech_nn.analysis.fss.sampler import find_map


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walkers", default="6,12,24,48,96", help="walker counts, comma-separated")
    args = parser.parse_args()
    try:
        walker_counts = [int(w) for w in args.walkers.split(",")]
    except ValueError:
        walker_counts = []
    if not walker_counts or min(walker_counts) < 1:
        parser.error(f"--walkers {args.walkers!r}: expected positive integers, comma-separated")
    design = Design(**SBC_DESIGNS["bkt"], fit_a=True)
    ds = simulate_replica(design, draw_truths(design, 1, 12345)[0], 0)
    model = CollapseModel(as_form("bkt"), prepare_data(ds, "y", err="y_err", size_dim="L", control_dim="p"),
                          fit_a=True, priors=design.priors)
    rng = np.random.default_rng(0)
    centre, _ = find_map(model, rng)
    for n_walkers in walker_counts:
        points = centre + 0.002 * (model.upper - model.lower) * rng.standard_normal((n_walkers, model.ndim))
        seconds = []
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(100):
                model.log_prob(points)
            seconds.append((time.perf_counter() - start) / 100)
        per_call = float(np.median(seconds))
        print(f"{n_walkers:4d} walkers: {per_call * 1e3:.2f} ms per call, {per_call * 1e6 / n_walkers:.0f} us per walker")


if __name__ == "__main__":
    main()
