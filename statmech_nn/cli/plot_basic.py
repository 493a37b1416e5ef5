"""``statmech-nn plot loss-vs-n|phase-diagram FILE.nc -o FIG.png``.

``loss-vs-n`` needs the raw dataset; ``phase-diagram`` takes either the raw dataset (it is
classified first, with the same options as ``analyze phases``) or a result written by
``statmech-nn analyze phases -o``.
"""

from __future__ import annotations

import argparse

import xarray as xr

from .analyze_basic import add_fit_args, add_phase_args, fit_options, load, phase_options, select
from .figures import add_figure_args, check_figure_path, save_figure


def _classified(ds: xr.Dataset, args: argparse.Namespace) -> xr.Dataset:
    from ..analysis.phases import classify_phases

    if ds.attrs.get("analyzer") == "phases" and "phase" in ds.data_vars:
        return ds
    return classify_phases(ds, args.var, **fit_options(args), **phase_options(args))


def run_loss_vs_n(args: argparse.Namespace) -> int:
    from ..plotting.scaling_curves import plot_loss_vs_n

    check_figure_path(args.output)
    ds = load(args)
    fig = plot_loss_vs_n(ds, _classified(ds, args), var=args.var, size_dim=args.size)
    return save_figure(fig, args)


def run_phase_diagram(args: argparse.Namespace) -> int:
    from ..plotting.phase_diagram import plot_phase_diagram

    check_figure_path(args.output)
    fig = plot_phase_diagram(_classified(load(args), args), x=args.x, y=args.y)
    return save_figure(fig, args)


def run_alpha_scan(args: argparse.Namespace) -> int:
    from ..io import read_netcdf
    from ..plotting.window_scan import plot_window_scan

    check_figure_path(args.output)
    return save_figure(plot_window_scan(select(read_netcdf(args.file), args.select)), args)


def _common(p: argparse.ArgumentParser) -> None:
    add_fit_args(p)
    add_phase_args(p)
    add_figure_args(p)


def register_plot(subparsers) -> None:
    """Add ``loss-vs-n``, ``phase-diagram`` and ``alpha-scan`` to the ``plot`` group."""
    p = subparsers.add_parser("loss-vs-n", help="log-log VAR vs size, one panel per phase")
    _common(p)
    p.set_defaults(handler=run_loss_vs_n)

    p = subparsers.add_parser("phase-diagram", help="alpha over (p_eval, p_train) with phases "
                              "and the boundary")
    _common(p)
    p.add_argument("--x", default="p_eval", metavar="DIM", help="horizontal dim (default: p_eval)")
    p.add_argument("--y", default="p_train", metavar="DIM", help="vertical dim (default: p_train)")
    p.set_defaults(handler=run_phase_diagram)

    p = subparsers.add_parser("alpha-scan", help="alpha vs fit window, from 'analyze powerlaw --scan ... -o'")
    p.add_argument("file", metavar="SCAN.nc", help="window scan written by 'analyze powerlaw --scan MODE -o'")
    p.add_argument("--select", action="append", default=[], metavar="DIM=VALUE",
                   help="keep one coordinate value of a dim (repeatable), e.g. p_train=0")
    add_figure_args(p)
    p.set_defaults(handler=run_alpha_scan)
