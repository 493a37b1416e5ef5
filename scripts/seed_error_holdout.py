"""How good are errors from a few seeds? Judge them by the seeds left out.

For every subset of ``--subset`` seeds of a sweep (default: 3 of however many it has), the
errors of the subset's mean are estimated per point or moderated
(:func:`statmech_nn.analysis.moderated_errors`, one level per size plus a trend of degree 0, 1,
2 along the control axis), and judged by the mean of the other seeds: with ``d`` = the
difference of the two means and ``v = s^2 (1/k + 1/(R - k))`` its predicted variance (``s^2`` the
estimated variance of one seed), the mean log density of ``d`` under ``N(0, v)``, the standard
deviation of ``z = d / sqrt(v)`` (1 for right errors) and the share of ``|z| > 3`` (0.3 % for
right, normal errors). The table of ``docs/fss.md`` ("Errors from a few seeds")::

    statmech-nn study examples/reference_study_fixed_epochs_9seeds.toml -o data/studies/reference_fixed_epochs_9seeds
    python scripts/seed_error_holdout.py data/studies/reference_fixed_epochs_9seeds/sweeps/reference.nc \\
        --select p_train=0 --select width=128 --select depth=2 --window 0.2:0.8
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np
import scipy.stats
import xarray as xr

from statmech_nn.analysis.moderated_variance import moderated_errors
from statmech_nn.cli.common import parse_range
from statmech_nn.io import read_netcdf
from statmech_nn.selection import select_values


def per_seed_variances(y: xr.DataArray, args: argparse.Namespace) -> dict[str, np.ndarray]:
    """Each estimate of one seed's variance at every point, from the seeds of ``y``."""
    k = y.sizes[args.seed]
    estimates = {"per point": y.var(args.seed, ddof=1).transpose(args.size, args.control).values.ravel()}
    for degree in (0, 1, 2):
        err, _ = moderated_errors(y, replica_dim=args.seed, size_dim=args.size, control_dim=args.control, degree=degree)
        estimates[f"moderated, degree {degree}"] = (err**2 * k).values.ravel()
    return estimates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--var", default="loss")
    parser.add_argument("--size", default="N")
    parser.add_argument("--control", default="p_eval")
    parser.add_argument("--seed", default="seed")
    parser.add_argument("--select", action="append", default=[], metavar="DIM=VALUE")
    parser.add_argument("--window", type=lambda text: parse_range(text, "--window", "0.2:0.8"), default=None,
                        metavar="LO:HI")
    parser.add_argument("--subset", type=int, default=3)
    parser.add_argument("--raw", action="store_true", help="the variable itself, not its logarithm")
    args = parser.parse_args()
    ds = select_values(read_netcdf(args.file), dict(item.split("=", 1) for item in args.select), drop=True)
    y = ds[args.var] if args.raw else np.log(ds[args.var])
    if args.window is not None:
        lo, hi = (-np.inf if args.window[0] is None else args.window[0]), (np.inf if args.window[1] is None else args.window[1])
        y = y.sel({args.control: (y[args.control] >= lo) & (y[args.control] <= hi)})
    y = y.transpose(args.size, args.control, args.seed)
    seeds = list(y[args.seed].values)
    scores: dict[str, list[tuple[float, float, float]]] = {}
    for subset in itertools.combinations(seeds, args.subset):
        inside = y.sel({args.seed: list(subset)})
        outside = y.sel({args.seed: [s for s in seeds if s not in subset]})
        d = (outside.mean(args.seed) - inside.mean(args.seed)).values.ravel()
        for name, variance in per_seed_variances(inside, args).items():
            sd = np.sqrt(variance * (1 / args.subset + 1 / (len(seeds) - args.subset)))
            z = d / sd
            scores.setdefault(name, []).append((float(np.mean(scipy.stats.norm.logpdf(d, scale=sd))),
                                                float(np.std(z)), float(np.mean(np.abs(z) > 3))))
    print(f"{len(scores['per point'])} subsets of {args.subset} of {len(seeds)} seeds, {d.size} points each")
    for name, rows in scores.items():
        a = np.array(rows)
        print(f"  {name:22s} log density {a[:, 0].mean():+.2f} +- {a[:, 0].std() / np.sqrt(len(a)):.2f}   "
              f"median sd(z) {np.median(a[:, 1]):.2f}   |z| > 3: {100 * a[:, 2].mean():.1f} %")


if __name__ == "__main__":
    main()
