"""``statmech-nn plugins``: every plugin, what it registers, its version and origin."""

from __future__ import annotations

from ..plugins import BLOCK_ENV, get_registry
from .common import add_json, emit_json


def register(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list plugins and what they register",
                              description=f"List plugins. Block plugins by name with {BLOCK_ENV}=a,b.")
    add_json(p, "one JSON list of the plugins")
    p.set_defaults(handler=run)


def run(args) -> int:
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
