"""``statmech-nn analyze powerlaw|phases|fss|error-shape FILE.nc``: exponents, phases,
finite-size scaling and the shape of per-size errors from a NetCDF file. ``fss`` lives in
:mod:`statmech_nn.cli.analyze_fss`, ``error-shape`` in :mod:`statmech_nn.cli.analyze_error_shape`;
the options shared with ``plot`` in :mod:`statmech_nn.cli.common`."""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from .common import (add_fit_args, add_json, add_output, add_phase_args, check_output, finish,
                     fit_options, human, load, phase_options, print_table, records, say)

FIT_COLUMNS = ["alpha", "alpha_stderr", "amplitude", "redchi", "n_points"]
DEFAULT_SCAN_POINTS = 4


# -- powerlaw --------------------------------------------------------------------------------
def run_powerlaw(args: argparse.Namespace) -> int:
    from ..analysis.powerlaw import fit_powerlaw, window_scan

    if args.scan is not None and args.window is not None:
        raise ConfigError("--window and --scan exclude each other: a scan chooses its own windows")
    if args.scan is None and args.scan_points is not None:
        raise ConfigError(f"--scan-points {args.scan_points} is only used with --scan sliding|growing")
    check_output(args.output, args.file)
    ds = load(args)
    if args.scan is not None:
        opts = {k: v for k, v in fit_options(args).items() if k != "window"}
        points = DEFAULT_SCAN_POINTS if args.scan_points is None else args.scan_points
        if points < 3:
            raise ConfigError(f"--scan-points {points}: expected an integer >= 3 (a fit with a goodness of fit "
                              "needs 3 sizes)")
        result = window_scan(ds, args.var, mode=args.scan, points=points, **opts)
        say(args, f"{args.var}: alpha vs {args.scan} fit window")
    else:
        result = fit_powerlaw(ds, args.var, **fit_options(args))
        say(args, f"{args.var} ~ amplitude * {args.size}^alpha over {args.size} in "
                  f"[{result.attrs['window_min']:g}, {result.attrs['window_max']:g}] "
                  f"(errors: {result.attrs['error_source']}, stderr: {result.attrs['stderr_scale']})")
    rows = records(result, FIT_COLUMNS)
    print_table(rows, human(args))
    return finish(args, result, {
        "analyzer": result.attrs["analyzer"], "file": args.file, "var": args.var,
        "size_dim": args.size, "results": rows}, ds)


# -- phases ----------------------------------------------------------------------------------
def run_phases(args: argparse.Namespace) -> int:
    from ..analysis.phases import PHASES, UNCLASSIFIED, classify_phases

    check_output(args.output, args.file)
    ds = load(args)
    control = phase_options(args)["control_dim"]
    if control is not None and control == args.size:
        raise ConfigError(f"--control {control} is the size dimension (--size): the boundary is sought along "
                          "another one, e.g. --control p_eval; --control none skips it")
    if control is not None and args.var in ds.data_vars and control not in ds[args.var].dims:
        raise ConfigError(f"--control {control}: no such dimension of {args.var} (it has "
                          f"{', '.join(map(str, ds[args.var].dims))}); --control none skips the boundary")
    result = classify_phases(ds, args.var, **fit_options(args), **phase_options(args))
    rows = records(result, ["alpha", "alpha_stderr", "phase"])
    names = dict(enumerate(PHASES)) | {UNCLASSIFIED: "unclassified"}
    for row in rows:
        row["phase"] = names[row["phase"]]
    print_table(rows, human(args))
    boundary = records(result, ["boundary", "boundary_stderr", "n_crossings"])
    if boundary:
        say(args, f"\nboundary: {args.control} where alpha changes sign")
        print_table(boundary, human(args))
    return finish(args, result, {
        "analyzer": "phases", "file": args.file, "var": args.var, "results": rows,
        "boundary": boundary}, ds)


def register(subparsers) -> None:
    """Add the ``analyze`` group: ``powerlaw``, ``phases``, ``fss`` and ``error-shape``."""
    from . import analyze_error_shape, analyze_fss

    group = subparsers.add_parser("analyze", help="fit exponents, classify phases, finite-size scaling, per-size error shape")
    sub = group.add_subparsers(dest="analyze_command", metavar="ANALYZER", required=True,
                               parser_class=type(group))

    p = sub.add_parser("powerlaw", help="power-law exponent alpha of VAR vs size")
    add_fit_args(p)
    p.add_argument("--scan", choices=("sliding", "growing"),
                   help="fit alpha in a series of windows instead (how alpha drifts with N)")
    p.add_argument("--scan-points", type=int, metavar="K",
                   help=f"with --scan: sizes per sliding window / in the first growing window "
                        f"(default: {DEFAULT_SCAN_POINTS})")
    add_output(p)
    add_json(p)
    p.set_defaults(handler=run_powerlaw)

    p = sub.add_parser("phases", help="eumentia/dementia/amentia/critical and boundaries")
    add_fit_args(p)
    add_phase_args(p)
    add_output(p)
    add_json(p)
    p.set_defaults(handler=run_phases)

    analyze_fss.register(sub)
    analyze_error_shape.register(sub)
