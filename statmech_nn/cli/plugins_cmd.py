"""``statmech-nn plugins``: every plugin, what it registers, its version and origin."""

from __future__ import annotations

import json

from ..plugins import BLOCK_ENV, get_registry


def register(subparsers) -> None:
    p = subparsers.add_parser("plugins", help="list plugins and what they register",
                              description=f"List plugins. Block plugins by name with {BLOCK_ENV}=a,b.")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run)


def run(args) -> int:
    infos = get_registry().plugins()
    if args.json:
        print(json.dumps([vars(i) for i in infos]))
        return 0
    for info in infos:
        status = f"FAILED: {info.error}" if info.error else ""
        print(f"{info.name} {info.version}  ({info.origin}) {status}".rstrip())
        for kind, names in sorted(info.registers.items()):
            print(f"    {kind}: {', '.join(names)}")
    return 0
