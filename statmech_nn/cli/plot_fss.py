"""``statmech-nn plot collapse|corner POSTERIOR.nc -o FIG.png`` from ``analyze fss -o`` output.

``--group FORM`` reads one form's posterior from a ``--compare`` file (one group per form).
"""

from __future__ import annotations

import argparse

from .common import add_figure_args, check_figure_path, save_figure


def _load(args: argparse.Namespace):
    from ..analysis.fss.layout import read_posterior

    return read_posterior(args.file, args.group)


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
