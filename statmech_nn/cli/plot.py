"""``statmech-nn plot ...``: figures from NetCDF files."""

from __future__ import annotations


def register(subparsers) -> None:
    from . import plot_basic, plot_fss

    p = subparsers.add_parser("plot", help="draw figures (loss vs N, phase diagram, collapse, corner)")
    sub = p.add_subparsers(dest="plot_command", metavar="FIGURE", required=True, parser_class=type(p))
    plot_basic.register_plot(sub)
    plot_fss.register(sub)
