"""``statmech-nn bench``: an experiment's own benchmark (naive vs toolkit, side by side)."""

from __future__ import annotations

from ..config import DEFAULT_EXPERIMENT
from ..errors import PluginError
from ..plugins import get_registry
from .common import add_json, emit_json, say


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmark an experiment against the naive way")
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment plugin (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--quick", action="store_true", help="fewer steps: a smoke run, numbers less precise")
    add_json(p, "one JSON object of the results")
    p.set_defaults(handler=run)


def run(args) -> int:
    experiment_cls = get_registry().experiment(args.experiment)
    if not hasattr(experiment_cls, "benchmark"):
        raise PluginError(f"experiment {args.experiment!r} has no benchmark")
    experiment = experiment_cls(device=args.device)
    report = experiment.benchmark(quick=args.quick, log=lambda text: say(args, text))
    if args.json:
        emit_json(report, allow_nan=True)
    return 0
