"""``statmech-nn analyze error-shape FILE.nc --var Y --size L --control p --replica seed``.

How the replica-to-replica deviations of each size's curve split into offset, tilt, curvature
and higher Legendre terms along the control axis, against independent errors
(:func:`~statmech_nn.analysis.fss.error_shape`): which per-size error terms
(``analyze fss --size-offsets --size-tilts``) the data call for. Prints a table per size and
the pooled fractions with their independent-error 99th percentiles; ``--json`` prints one JSON
object (the table goes to stderr); ``-o OUT.nc`` writes the result.
"""

from __future__ import annotations

import argparse

import numpy as np

from ..errors import ConfigError
from .common import add_input, add_json, add_output, check_output, finish, human, load, parse_range, print_table, say


def register(subparsers) -> None:
    p = subparsers.add_parser("error-shape", help="which per-size error terms (offset, tilt, ...) the replicas call for")
    add_input(p, "FILE.nc", "NetCDF dataset with a replica dimension (e.g. seed)")
    p.add_argument("--var", default="loss", help="observable (default: loss)")
    p.add_argument("--log", action="store_true", help="use ln(VAR), as the study's collapse of the loss does")
    p.add_argument("--size", default="N", metavar="L", help="size dimension (default: N)")
    p.add_argument("--control", default="p_eval", metavar="p", help="control dimension (default: p_eval)")
    p.add_argument("--replica", default="seed", metavar="DIM", help="replica dimension (default: seed)")
    p.add_argument("--control-window", metavar="MIN:MAX", help="only control values in [MIN, MAX]")
    add_output(p)
    add_json(p)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.fss.error_shape import TERMS, error_model_hints, error_shape

    check_output(args.output, args.file)
    ds = load(args)
    if args.var not in ds.data_vars:
        raise ConfigError(f"--var {args.var!r}: no such variable in {args.file!r}; it has {sorted(ds.data_vars)}")
    y = ds[args.var]
    for flag, dim in (("--size", args.size), ("--control", args.control), ("--replica", args.replica)):
        if dim not in y.dims:
            raise ConfigError(f"{flag} {dim!r}: no such dimension of {args.var}; it has {list(y.dims)}")
    others = [d for d in y.dims if d not in (args.size, args.control, args.replica)]
    several = [d for d in others if y.sizes[d] > 1]
    if several:
        raise ConfigError(f"{args.var} has {several[0]} with {y.sizes[several[0]]} values: pick one with "
                          f"--select {several[0]}=VALUE (one curve per {args.size} and {args.replica})")
    y = y.squeeze(others, drop=True)                          # e.g. width = 128 of a one-shape sweep
    if args.control_window is not None:
        lo, hi = parse_range(args.control_window, "--control-window", "0.2:0.8")
        y = y.where((y[args.control] >= (-np.inf if lo is None else lo))
                    & (y[args.control] <= (np.inf if hi is None else hi)), drop=True)
    if args.log:
        if bool((y <= 0).any()):                              # NaN (a missing cell) is left to error_shape
            raise ConfigError(f"--log: {args.var} has values <= 0 (smallest {float(y.min()):g}); ln needs positive values")
        y = np.log(y)
    shape = error_shape(y, size_dim=args.size, control_dim=args.control, replica_dim=args.replica)
    shape = shape.assign_attrs(analyzer="error_shape", var=f"ln({args.var})" if args.log else args.var)
    rows = [{args.size: size, **{t: float(shape["energy_fraction"].sel({args.size: size, "term": t})) for t in TERMS},
             "rms_deviation": float(shape["rms_deviation"].sel({args.size: size})),
             "n_points": int(shape["n_points"].sel({args.size: size}))} for size in shape[args.size].values.tolist()]
    pooled = {t: float(shape["pooled_fraction"].sel(term=t)) for t in TERMS}
    q99 = {t: float(shape["pooled_null_q99"].sel(term=t)) for t in TERMS}
    hints = error_model_hints(shape, size_offsets=False, size_tilts=False)
    out = human(args)
    say(args, f"{shape.attrs['var']}: {args.replica}-to-{args.replica} deviations of each {args.size}'s curve "
              f"along {args.control}, energy fraction by Legendre term")
    print_table(rows, out)
    say(args, "")
    print_table([{"": "pooled", **pooled}, {"": "independent errors, 99th percentile", **q99}], out)
    for hint in hints:
        say(args, f"note: {hint}")
    return finish(args, shape, {"analyzer": "error_shape", "file": args.file, "var": shape.attrs["var"],
                                "size_dim": args.size, "control_dim": args.control, "replica_dim": args.replica,
                                "sizes": rows, "pooled": pooled, "null_q99": q99, "hints": hints}, ds)
