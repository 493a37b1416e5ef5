"""``statmech-nn plot collapse|corner POSTERIOR.nc -o FIG.png`` from ``analyze fss -o`` output.

``--group FORM`` reads one form's posterior from a ``--compare`` file (one group per form).
"""

from __future__ import annotations

import argparse
import json

from ..errors import DataError
from .common import add_figure_args, check_figure_path, save_figure


def _load(args: argparse.Namespace):
    import xarray as xr

    from ..io import read_netcdf

    if args.group is None:
        ds = read_netcdf(args.file)
    else:
        read_netcdf(args.file)  # one-line errors for a missing or unreadable file
        try:
            with xr.open_dataset(args.file, group=args.group, engine="netcdf4") as opened:
                ds = opened.load()
        except OSError:
            raise DataError(f"{args.file!r} has no group {args.group!r} (written by analyze fss --compare -o)") from None
    if "comparison_json" in ds.attrs:
        preferred = json.loads(ds.attrs["comparison_json"])["preferred"]
        raise DataError(f"{args.file!r} holds a comparison of forms: choose one with --group (e.g. --group {preferred})")
    if "summary" not in ds or "form" not in ds.attrs:
        raise DataError(f"{args.file!r} is not a posterior written by 'statmech-nn analyze fss -o'")
    return ds


def run_collapse(args: argparse.Namespace) -> int:
    from ..plotting.collapse import plot_collapse
    from ..plugins import get_registry

    check_figure_path(args.output)
    posterior = _load(args)
    form = get_registry().scaling_form(posterior.attrs["form"])
    return save_figure(plot_collapse(posterior, form), args)


def run_corner(args: argparse.Namespace) -> int:
    from ..plotting.corner import plot_corner

    check_figure_path(args.output)
    params = [p for p in (args.params or "").split(",") if p] or None
    return save_figure(plot_corner(_load(args), params), args)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="POSTERIOR.nc", help="posterior written by 'analyze fss -o'")
    p.add_argument("--group", metavar="FORM", help="form group of a --compare file")
    add_figure_args(p)


def register(subparsers) -> None:
    """Add ``collapse`` and ``corner`` to the ``plot`` group."""
    p = subparsers.add_parser("collapse", help="raw and collapsed curves per size (FSS posterior)")
    _common(p)
    p.set_defaults(handler=run_collapse)
    p = subparsers.add_parser("corner", help="corner plot of an FSS posterior")
    _common(p)
    p.add_argument("--params", metavar="A,B,...", help="parameters to show (default: the physical ones)")
    p.set_defaults(handler=run_corner)
