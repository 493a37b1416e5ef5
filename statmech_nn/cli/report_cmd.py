"""``statmech-nn report DIR``: rebuild summary.json and report.html of a study from its files."""

from __future__ import annotations

from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "report", help="rebuild a study's summary.json and report.html from its files (computes nothing)")
    p.add_argument("directory", metavar="DIR", help="study directory written by 'statmech-nn study'")
    p.set_defaults(handler=run)


def run(args) -> int:
    from ..study.layout import StudyLayout
    from ..study.report import build_report

    layout = StudyLayout(Path(args.directory))
    check_study_files(layout)
    build_report(args.directory)
    print(f"wrote {layout.report}")
    return 0


def check_study_files(layout) -> None:
    """Raise a one-line DataError naming the first file of the study in ``layout`` that the report
    would read but that ``statmech-nn study`` did not write for it (a file swapped in or
    copied over): a sweep whose recorded configuration is not of the study's experiment, an
    analysis file without the ``study_step`` attribute every study step records. Absent files
    and the study file itself are left to :func:`~statmech_nn.study.report.build_report`."""
    import json

    from ..errors import DataError
    from ..io import read_netcdf
    from ..study.config import load_study

    if not layout.study_file.is_file():
        return
    study = load_study(layout.study_file)
    rerun = f"rerun 'statmech-nn study' with its study file and -o {str(layout.root)!r} to rewrite it"
    for path in [layout.sweep(name) for name in study.grids]:
        if path.exists():
            attrs = read_netcdf(path).attrs
            try:
                experiment = json.loads(attrs.get("config_json", "")).get("experiment")
            except (ValueError, AttributeError):
                experiment = None
            if experiment != study.experiment_name:
                raise DataError(f"{str(path)!r} is not a sweep of the study's experiment {study.experiment_name!r} "
                                f"(its title: {attrs.get('title', 'none')!r}): {rerun}")
    analyses = [layout.phases, layout.scan, layout.comparisons, layout.robustness,
                *(layout.extra(extra.name) for extra in study.extras)]
    for path in analyses:
        if path.exists() and "study_step" not in (attrs := read_netcdf(path).attrs):
            raise DataError(f"{str(path)!r} was not written by 'statmech-nn study' (it has no study_step attribute; "
                            f"its title: {attrs.get('title', 'none')!r}): {rerun}")
