"""Simulation-based calibration of an FSS design: coverage and bias of every parameter.

Without options, the designs of ``tests/test_fss_sbc.py`` (``SBC_DESIGNS``, 50 replicas): the
numbers quoted in ``docs/fss.md``. Options change the design, e.g. the critical-phase probe of
``docs/fss.md`` (truth held near sigma 0.5, L0 1, kappa 0.2; priors pinned to it)::

    python scripts/fss_calibration.py bkt [--fit-a]
    python scripts/fss_calibration.py bkt --replicas 24 --truth sigma=0.49,0.51 --truth L0=0.98,1.02 \\
        --truth kappa=0.19,0.21 --prior sigma=0.49,0.51 --prior L0=0.98,1.02 --prior kappa=0.19,0.21 \\
        [--window fixed] [--noise 0.005] [--n-walkers 64 --n-tau 60]
    python scripts/fss_calibration.py second_order --replicas 24 --offset-sd 0.05 [--size-offsets]
    python scripts/fss_calibration.py bkt --compare --replicas 24 --offset-sd 0.05 [--tilt-sd 0.05] \
        [--size-offsets] [--size-tilts]
    python scripts/fss_calibration.py second_order --compare --replicas 24 --seeds 3 --seed-errors moderated

A ``--truth`` replaces that parameter's range in the design; ``--prior`` boxes are given to the
fits (with ``--prior``, the design's own priors are replaced; ``--default-priors`` drops them,
leaving the forms' defaults). Prints one line per parameter:
68 % and 95 % coverage, mean bias (median - truth) / half-width with its standard error.
With ``--compare``, replicas of FORM are given to the comparison of both forms instead
(``calibrate_comparison``: default priors, so ``--prior`` does not apply): how often FORM is
preferred, how often the other form by more than 1 and 2 standard errors. ``--seeds R`` gives the
fits errors estimated from R seeds instead of the true ones (``Design.seeds``), used per point or
moderated (``--seed-errors``).
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from statmech_nn.analysis.fss.calibration import SBC_DESIGNS, Design, calibrate, calibrate_comparison
from statmech_nn.analysis._options import ERROR_METHODS


def _box(item: str) -> tuple[str, tuple[float, float]]:
    """An argparse type: ``NAME=LO,HI`` -> ``(NAME, (LO, HI))`` (else a one-line usage error)."""
    name, _, box = item.partition("=")
    try:
        lo, hi = (float(v) for v in box.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{item!r}: expected NAME=LO,HI") from None
    return name, (lo, hi)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("form", choices=sorted(SBC_DESIGNS))
    parser.add_argument("--fit-a", action="store_true")
    parser.add_argument("--replicas", type=int, default=50)
    parser.add_argument("--truth", action="append", type=_box, default=[], metavar="NAME=LO,HI")
    parser.add_argument("--prior", action="append", type=_box, default=[], metavar="NAME=LO,HI")
    parser.add_argument("--default-priors", action="store_true", help="the forms' default priors only")
    parser.add_argument("--window", choices=("scaled", "fixed"), default="scaled")
    parser.add_argument("--noise", type=float, default=0.02)
    parser.add_argument("--n-walkers", type=int, default=24)
    parser.add_argument("--n-tau", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=0, help="default 0: one per core")
    parser.add_argument("--offset-sd", type=float, default=0.0, help="simulate per-size shifts N(0, sd^2) of y")
    parser.add_argument("--tilt-sd", type=float, default=0.0,
                        help="also tilt each size's curve by N(0, sd^2) across its window (Design.offset_tilt_sd)")
    parser.add_argument("--size-offsets", action="store_true", help="fit with the error model of size offsets")
    parser.add_argument("--size-tilts", action="store_true", help="fit with the error model of size tilts")
    parser.add_argument("--seeds", type=int, default=0, help="errors estimated from this many seeds (0: the true errors)")
    parser.add_argument("--seed-errors", choices=ERROR_METHODS, default="per_point",
                        help="with --seeds: each point's own estimate, or moderated towards one level per size")
    parser.add_argument("--compare", action="store_true", help="calibrate the comparison of both forms instead")
    args = parser.parse_args()
    design = Design(**SBC_DESIGNS[args.form], fit_a=args.fit_a)
    design = replace(design, truth_ranges={**design.truth_ranges, **dict(args.truth)},
                     priors=dict(args.prior) or (None if args.default_priors else design.priors),
                     window=args.window,
                     noise=args.noise, n_walkers=args.n_walkers, n_tau=args.n_tau, offset_sd=args.offset_sd,
                     offset_tilt_sd=args.tilt_sd,
                     size_offsets=args.size_offsets, size_tilts=args.size_tilts, seeds=args.seeds,
                     seed_errors=args.seed_errors)
    start = time.perf_counter()
    if args.compare:
        _print_comparison(calibrate_comparison(design, args.replicas, processes=args.processes), start)
        return
    result = calibrate(design, args.replicas, processes=args.processes)
    print(f"{args.form}{' with a' if args.fit_a else ''}: {args.replicas} replicas in "
          f"{time.perf_counter() - start:.0f} s")
    for name in result.bias:
        print(f"  {name:>6s}: coverage68 {result.coverage68[name]:.2f}, coverage95 {result.coverage95[name]:.2f}, "
              f"bias {result.bias[name]:+.2f} +- {result.bias_se[name]:.2f} half-widths")


def _print_comparison(result, start: float) -> None:
    z = sorted(result.z)
    print(f"comparison on {result.truth_form} replicas: {len(z)} in {time.perf_counter() - start:.0f} s")
    print(f"  truth preferred in {result.right:.2f}; the other form by > 1 se in {result.wrong_beyond(1):.2f}, "
          f"by > 2 se in {result.wrong_beyond(2):.2f}; held-out scores unreliable in "
          f"{sum(result.unreliable) / len(z):.2f}; median z {np.median(z):+.2f}")
    print("  z = (score truth - score other) / se, sorted: " + " ".join(f"{v:+.1f}" for v in z))


if __name__ == "__main__":
    main()
