"""``statmech-nn bench``: an experiment's own benchmark (naive vs toolkit, side by side)."""

from __future__ import annotations

from ..config import DEFAULT_EXPERIMENT
from ..errors import ConfigError, PluginError
from ..experiment import check_device_option
from ..plugins import get_registry
from .common import add_json, emit_json, say


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="benchmark an experiment against the naive way")
    p.add_argument("--experiment", default=DEFAULT_EXPERIMENT, help="experiment plugin (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--quick", action="store_true", help="fewer steps: a smoke run, numbers less precise")
    add_json(p, "one JSON object of the results")
    p.add_argument("--networks", help="network counts of the scaling table, e.g. 64,256,1024,4096 (experiments that have one)")
    p.set_defaults(handler=run)


def run(args) -> int:
    experiment_cls = get_registry().experiment(args.experiment)
    if not hasattr(experiment_cls, "benchmark"):
        raise PluginError(f"experiment {args.experiment!r} has no benchmark")
    check_device_option(experiment_cls, args.device)
    experiment = experiment_cls(device=args.device)
    extra = {} if args.networks is None else {"networks": _counts(args.networks)}
    report = experiment.benchmark(quick=args.quick, log=lambda text: say(args, text), **extra)
    if args.json:
        emit_json(report)
    return 0


def _counts(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise ConfigError(f"--networks {text!r}: expected comma-separated integers, e.g. 64,256,1024") from None
