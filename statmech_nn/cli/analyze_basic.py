"""``statmech-nn analyze powerlaw|phases FILE.nc``: exponents and phases from a NetCDF file.

Also the argument helpers shared with :mod:`statmech_nn.cli.plot_basic` (input file, variable,
size dim, fit window, ``--select dim=value``, classification thresholds).
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any

import numpy as np
import xarray as xr

from ..config import parse_assignment
from ..errors import ConfigError
from ..selection import select_values


# -- shared argument helpers ---------------------------------------------------------------
def add_fit_args(p: argparse.ArgumentParser) -> None:
    """FILE, --var, --size, --window, --select, --method."""
    p.add_argument("file", metavar="FILE.nc", help="dataset (NetCDF) to analyse")
    p.add_argument("--var", default="loss", help="variable to fit (default: loss)")
    p.add_argument("--size", default="N", metavar="DIM", help="size dimension (default: N)")
    p.add_argument("--window", metavar="MIN:MAX",
                   help="fit only sizes in [MIN, MAX]; either side may be empty (e.g. 1000:)")
    p.add_argument("--select", action="append", default=[], metavar="DIM=VALUE",
                   help="keep one coordinate value of a dim (repeatable), e.g. width=128")
    p.add_argument("--method", choices=("lmfit", "loglinear"), default="lmfit",
                   help="nonlinear lmfit fit (default) or the closed-form log-space fit")


def add_phase_args(p: argparse.ArgumentParser) -> None:
    """Classification thresholds of :func:`statmech_nn.analysis.phases.classify_phases`."""
    p.add_argument("--z", type=float, default=2.0,
                   help="alpha is nonzero when |alpha| > z * stderr (default: 2)")
    p.add_argument("--n-classes", type=int, default=10, help="classes of the task (default: 10)")
    p.add_argument("--loss-tol", type=float, default=0.15,
                   help="amentia: |loss - ln K| <= this at the largest size (default: 0.15 nat)")
    p.add_argument("--accuracy-tol", type=float, default=0.05,
                   help="amentia: |accuracy - 1/K| <= this at the largest size (default: 0.05)")
    p.add_argument("--amentia-alpha-tol", type=float, default=0.02,
                   help="amentia also when |alpha| <= this (default: 0.02; 0: strict)")
    p.add_argument("--control", default="p_eval", metavar="DIM",
                   help="dim along which the boundary (alpha = 0) is sought; 'none' to skip")


def parse_window(text: str) -> tuple[float | None, float | None]:
    """``"MIN:MAX"`` -> ``(min, max)``; an empty side is None."""
    parts = text.split(":")
    try:
        if len(parts) != 2:
            raise ValueError
        bounds = tuple(float(s) if s.strip() else None for s in parts)
    except ValueError:
        raise ConfigError(f"--window {text!r}: expected MIN:MAX with numbers, e.g. 1000:60000 "
                          "or 1000:") from None
    return bounds  # type: ignore[return-value]


def parse_select(items: list[str]) -> dict[str, str]:
    """``["seed=0", "N=128"]`` -> ``{"seed": "0", "N": "128"}``."""
    return dict(parse_assignment(item, "--select", "DIM=VALUE") for item in items)


def select(ds: xr.Dataset, items: list[str]) -> xr.Dataset:
    """Apply ``--select DIM=VALUE`` items (:func:`statmech_nn.selection.select_values`)."""
    return select_values(ds, parse_select(items))


def load(args: argparse.Namespace) -> xr.Dataset:
    from ..io import read_netcdf

    return select(read_netcdf(args.file), args.select)


def fit_options(args: argparse.Namespace) -> dict[str, Any]:
    window = None if args.window is None else parse_window(args.window)
    return {"size_dim": args.size, "window": window, "method": args.method}


def phase_options(args: argparse.Namespace) -> dict[str, Any]:
    return {"z": args.z, "n_classes": args.n_classes, "loss_tol": args.loss_tol,
            "accuracy_tol": args.accuracy_tol, "amentia_alpha_tol": args.amentia_alpha_tol,
            "control_dim": None if args.control.lower() == "none" else args.control}


def check_output(path: str | None) -> None:
    if path is not None:
        from ..io import check_writable

        check_writable(path)


def records(ds: xr.Dataset, names: list[str]) -> list[dict[str, Any]]:
    """One dict per point of ``ds[names]`` (coordinates included), NaN as None."""
    present = [n for n in names if n in ds.data_vars]
    if not present:
        return []
    sub = ds[present]
    if not sub.dims:
        rows = [{n: sub[n].item() for n in present}]
    else:
        rows = sub.to_dataframe().reset_index().to_dict("records")
    return [{str(k): _plain(v) for k, v in row.items()} for row in rows]


def _plain(value: Any) -> Any:
    value = value.item() if isinstance(value, np.generic) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def print_table(rows: list[dict[str, Any]]) -> None:
    """Aligned plain-text table of ``rows`` (floats to 4 significant digits)."""
    if not rows:
        return
    keys = list(rows[0])
    cells = [[_fmt(r[k]) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    print("  ".join(k.rjust(w) for k, w in zip(keys, widths)))
    for c in cells:
        print("  ".join(v.rjust(w) for v, w in zip(c, widths)))


def _fmt(value: Any) -> str:
    if value is None:
        return "nan"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def finish(args: argparse.Namespace, result: xr.Dataset, summary: dict[str, Any]) -> int:
    """Write ``-o`` if given, print the JSON summary if ``--json``; exit status 0."""
    if args.output is not None:
        from ..io import write_netcdf
        from ..schema import netcdf_safe_attrs

        result = result.copy()
        result.attrs = netcdf_safe_attrs(result.attrs)
        write_netcdf(result, args.output)
        print(f"wrote {args.output}")
    if args.json:
        print(json.dumps({**summary, "output": args.output}, allow_nan=False))
    return 0


# -- powerlaw --------------------------------------------------------------------------------
FIT_COLUMNS = ["alpha", "alpha_stderr", "amplitude", "redchi", "n_points"]


def run_powerlaw(args: argparse.Namespace) -> int:
    from ..analysis.powerlaw import fit_powerlaw, window_scan

    if args.scan is not None and args.window is not None:
        raise ConfigError("--window and --scan exclude each other: a scan chooses its own windows")
    check_output(args.output)
    ds = load(args)
    if args.scan is not None:
        opts = {k: v for k, v in fit_options(args).items() if k != "window"}
        result = window_scan(ds, args.var, mode=args.scan, points=args.scan_points, **opts)
        rows = records(result, FIT_COLUMNS)
    else:
        result = fit_powerlaw(ds, args.var, **fit_options(args))
        rows = records(result, FIT_COLUMNS)
    print(f"{args.var} ~ amplitude * {args.size}^alpha over {args.size} in "
          f"[{result.attrs['window_min']:g}, {result.attrs['window_max']:g}] "
          f"(errors: {result.attrs['error_source']}, stderr: {result.attrs['stderr_scale']})"
          if args.scan is None else f"{args.var}: alpha vs {args.scan} fit window")
    print_table(rows)
    return finish(args, result, {
        "analyzer": result.attrs["analyzer"], "file": args.file, "var": args.var,
        "size_dim": args.size, "results": rows})


# -- phases ----------------------------------------------------------------------------------
def run_phases(args: argparse.Namespace) -> int:
    from ..analysis.phases import PHASES, UNCLASSIFIED, classify_phases

    check_output(args.output)
    ds = load(args)
    result = classify_phases(ds, args.var, **fit_options(args), **phase_options(args))
    rows = records(result, ["alpha", "alpha_stderr", "phase"])
    names = dict(enumerate(PHASES)) | {UNCLASSIFIED: "unclassified"}
    for row in rows:
        row["phase"] = names[row["phase"]]
    print_table(rows)
    boundary = records(result, ["boundary", "boundary_stderr", "n_crossings"])
    if boundary:
        print(f"\nboundary: {args.control} where alpha changes sign")
        print_table(boundary)
    return finish(args, result, {
        "analyzer": "phases", "file": args.file, "var": args.var, "results": rows,
        "boundary": boundary})


def register_analyze(subparsers) -> None:
    """Add ``powerlaw`` and ``phases`` to the ``analyze`` group."""
    p = subparsers.add_parser("powerlaw", help="power-law exponent alpha of VAR vs size")
    add_fit_args(p)
    p.add_argument("--scan", choices=("sliding", "growing"),
                   help="fit alpha in a series of windows instead (how alpha drifts with N)")
    p.add_argument("--scan-points", type=int, default=4, metavar="K",
                   help="sizes per sliding window / in the first growing window (default: 4)")
    p.add_argument("-o", "--output", metavar="OUT.nc", help="write the result as NetCDF")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    p.set_defaults(handler=run_powerlaw)

    p = subparsers.add_parser("phases", help="eumentia/dementia/amentia/critical and boundaries")
    add_fit_args(p)
    add_phase_args(p)
    p.add_argument("-o", "--output", metavar="OUT.nc", help="write the result as NetCDF")
    p.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    p.set_defaults(handler=run_phases)

