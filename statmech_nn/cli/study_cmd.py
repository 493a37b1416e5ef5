"""``statmech-nn study STUDY.toml -o DIR``: every grid, every analysis and the report, resumably."""

from __future__ import annotations

from .executor_options import add_executor_options


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "study", help="run a study file: sweeps, analyses, summary.json and report.html in one directory",
        description="Run every grid of a study file through the cell cache, then the phases, window scan, "
                    "finite-size-scaling comparisons, robustness table and any named analyzers, and write "
                    "DIR/summary.json and DIR/report.html. Interrupt at will: the same command resumes "
                    "and redoes nothing finished.")
    p.add_argument("study", metavar="STUDY.toml", help="study file (docs/study.md)")
    p.add_argument("-o", "--output", required=True, metavar="DIR",
                   help="study directory (created; a rerun of the same study resumes in it; a directory holding "
                        "anything else is refused)")
    p.add_argument("--device", help="cpu or cuda (overrides the file)")
    p.add_argument("--cache-dir", help="cell cache directory (default: <data>/cache)")
    p.add_argument("--dry-run", action="store_true",
                   help="say what would be computed (each grid's cells against the cache, digests checked) and "
                        "whether DIR is new or resumed; compute and write nothing")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (log lines only)")
    add_executor_options(p)
    p.set_defaults(handler=run, on_interrupt="finished sweep cells and analysis steps are kept (run the same "
                                             "command to resume)")


def run(args) -> int:
    from pathlib import Path

    from ..cache import CellCache, default_cache_root
    from ..cluster import dask_client
    from ..study.config import load_study
    from ..study.runner import plan_study, prepare_directory, run_study

    study = load_study(args.study, device=args.device)
    cache = CellCache(default_cache_root(args.cache_dir))
    if args.dry_run:
        print("\n".join(plan_study(study, args.output, cache)))
        return 0
    prepare_directory(study, Path(args.output))  # a refused or uncreatable -o fails before a cluster starts
    given = {k: getattr(args, k) for k in ("workers", "scheduler", "scheduler_file") if getattr(args, k) is not None}
    choice = given or study.executor_choice()  # the command line wins over the file's [executor]
    with dask_client(**choice, cuda=study.device.startswith("cuda")) as client:
        layout = run_study(study, args.output, cache, progress=False if args.no_progress else None,
                           history="statmech-nn " + " ".join(args.argv), client=client)
    print(f"wrote {layout.report}")
    return 0
