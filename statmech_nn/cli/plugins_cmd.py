"""``statmech-nn plugins``: every plugin, what it registers, its version and origin;
``statmech-nn plugins --options EXPERIMENT``: that experiment's option sections, with defaults,
accepted values and docs (what a sweep file's ``[section]`` tables and ``--set`` may hold)."""

from __future__ import annotations

from ..options import describe_options
from ..plugins import BLOCK_ENV, get_registry
from .common import add_json, emit_json


def register(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list plugins and what they register, or an experiment's options",
                              description=f"List plugins. Block plugins by name with {BLOCK_ENV}=a,b.")
    p.add_argument("--options", metavar="EXPERIMENT",
                   help="list the options of this experiment (section.name = default, accepted values, doc)")
    add_json(p, "one JSON list (of the plugins, or of the options)")
    p.set_defaults(handler=run)


def run(args) -> int:
    if args.options is not None:
        return _run_options(args)
    infos = get_registry().plugins()
    if args.json:
        emit_json([vars(i) for i in infos])
        return 0
    for info in infos:
        status = f"FAILED: {info.error}" if info.error else ""
        print(f"{info.name} {info.version}  ({info.origin}) {status}".rstrip())
        for kind, names in sorted(info.registers.items()):
            print(f"    {kind}: {', '.join(names)}")
    return 0


def _run_options(args) -> int:
    experiment = get_registry().experiment(args.options)
    rows = describe_options(experiment.options_spec)
    if args.json:
        emit_json(rows)
        return 0
    print(f"options of experiment {experiment.name!r} (sweep file [section] tables, or --set SECTION.NAME=VALUE):")
    for row in rows:
        print(f"  {row['section']}.{row['name']} = {row['default']!r}  ({row['accepted']})\n      {row['doc']}")
    if not rows:
        print("  (none)")
    grid = ", ".join(f"{d}={list(v)}" for d, v in experiment.default_grid.items())
    print(f"grid dimensions (--grid DIM=V1,V2,...): {', '.join(experiment.dims)}; default grid: {grid}")
    return 0
