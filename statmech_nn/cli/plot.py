"""``statmech-nn plot loss-vs-n|phase-diagram|alpha-scan|collapse|corner FILE.nc -o FIG.png``.

``loss-vs-n`` needs the raw dataset; ``phase-diagram`` takes either the raw dataset (it is
classified first, with the same options as ``analyze phases``) or a result written by
``statmech-nn analyze phases -o``; ``alpha-scan`` draws a window scan written by ``analyze
powerlaw --scan MODE -o``. ``collapse`` and ``corner`` (FSS posteriors) live in
:mod:`statmech_nn.cli.plot_fss`.
"""

from __future__ import annotations

import argparse

import xarray as xr

from ..errors import ConfigError
from .common import (add_figure_args, add_fit_args, add_input, add_phase_args, check_figure_path,
                     fit_options, load, phase_options, save_figure)


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
    from ..plotting.alpha_profile import plot_alpha_profile
    from ..plotting.phase_diagram import plot_phase_diagram

    check_figure_path(args.output)
    if args.x == args.y:
        raise ConfigError(f"--x {args.x} and --y {args.y}: expected two different dims")
    result = _classified(load(args), args)
    fig = plot_alpha_profile(result, x=args.x) if args.y == "" else plot_phase_diagram(result, x=args.x, y=args.y)
    return save_figure(fig, args)


def run_alpha_scan(args: argparse.Namespace) -> int:
    from ..plotting.window_scan import plot_window_scan

    check_figure_path(args.output)
    return save_figure(plot_window_scan(load(args)), args)


def _fit_figure_args(p: argparse.ArgumentParser) -> None:
    add_fit_args(p)
    add_phase_args(p)
    add_figure_args(p)


def register(subparsers) -> None:
    """Add the ``plot`` group: ``loss-vs-n``, ``phase-diagram``, ``alpha-scan``, ``collapse``,
    ``corner``."""
    from . import plot_fss

    group = subparsers.add_parser("plot", help="draw figures (loss vs N, phase diagram, collapse, corner)")
    sub = group.add_subparsers(dest="plot_command", metavar="FIGURE", required=True,
                               parser_class=type(group))

    p = sub.add_parser("loss-vs-n", help="log-log VAR vs size, one panel per phase")
    _fit_figure_args(p)
    p.set_defaults(handler=run_loss_vs_n)

    p = sub.add_parser("phase-diagram", help="alpha over (p_eval, p_train) with phases and the boundary")
    _fit_figure_args(p)
    p.add_argument("--x", default="p_eval", metavar="DIM", help="horizontal dim (default: p_eval)")
    p.add_argument("--y", default="p_train", metavar="DIM",
                   help="vertical dim (default: p_train); \"\": none, alpha against --x with its error bars")
    p.set_defaults(handler=run_phase_diagram)

    p = sub.add_parser("alpha-scan", help="alpha vs fit window, from 'analyze powerlaw --scan ... -o'")
    add_input(p, "SCAN.nc", "window scan written by 'analyze powerlaw --scan MODE -o'")
    add_figure_args(p)
    p.set_defaults(handler=run_alpha_scan)

    plot_fss.register(sub)
