"""``statmech-nn bench``: an experiment's own benchmark (naive vs toolkit, side by side)."""

from __future__ import annotations

import json

from ..config import DEFAULT_EXPERIMENT
from ..errors import PluginError
from ..plugins import get_registry


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmark an experiment against the naive way")
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment plugin (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--quick", action="store_true", help="fewer steps: a smoke run, numbers less precise")
    p.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    p.set_defaults(handler=run)


def run(args) -> int:
    experiment_cls = get_registry().experiment(args.experiment)
    if not hasattr(experiment_cls, "benchmark"):
        raise PluginError(f"experiment {args.experiment!r} has no benchmark")
    experiment = experiment_cls(device=args.device)
    report = experiment.benchmark(quick=args.quick, log=print)
    if args.json:
        print(json.dumps(report))
    return 0
