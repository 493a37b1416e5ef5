"""``statmech-nn data fetch NAME``: fetch and verify an external dataset."""

from __future__ import annotations

from ..datasets import DATA_ENV, data_root
from ..errors import ConfigError
from ..plugins import get_registry


def register(subparsers) -> None:
    p = subparsers.add_parser("data", help="fetch and verify datasets")
    sub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    fetch = sub.add_parser("fetch", help="fetch a dataset (e.g. mnist) and verify its digests")
    fetch.add_argument("name", help="dataset name (see `statmech-nn plugins`)")
    fetch.add_argument("--root", help=f"data directory (default: ${DATA_ENV}, else the data folder: the "
                                      "checkout's data/ or ~/.local/share/statmech_nn)")
    fetch.set_defaults(handler=run_fetch)


def run_fetch(args) -> int:
    source = get_registry().dataset(args.name)()
    root = data_root(args.root)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"data directory {str(root)!r} is a file: give a directory (--root or ${DATA_ENV})")
    where = source.fetch(root)
    print(f"{args.name}: verified at {where}")
    return 0
