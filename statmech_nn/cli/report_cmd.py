"""``statmech-nn report DIR``: rebuild summary.json and report.html of a study from its files."""

from __future__ import annotations


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="rebuild a study's summary.json and report.html from its files (computes nothing)")
    p.add_argument("directory", metavar="DIR", help="study directory written by 'statmech-nn study'")
    p.set_defaults(handler=run)


def run(args) -> int:
    from pathlib import Path

    from ..study.layout import StudyLayout
    from ..study.report import build_report

    build_report(args.directory)
    print(f"wrote {StudyLayout(Path(args.directory)).report}")
    return 0
