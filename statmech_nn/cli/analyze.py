"""``statmech-nn analyze ...``: the analyzer sub-commands (power law, phases, FSS)."""

from __future__ import annotations


def register(subparsers) -> None:
    from . import analyze_basic, analyze_fss

    p = subparsers.add_parser("analyze", help="fit exponents, classify phases, finite-size scaling")
    sub = p.add_subparsers(dest="analyze_command", metavar="ANALYZER", required=True,
                           parser_class=type(p))
    analyze_basic.register_analyze(sub)
    analyze_fss.register(sub)
