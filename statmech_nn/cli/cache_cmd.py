"""``statmech-nn cache info|verify|clear|clear-artifacts``: what the sweep cache holds, checking
every entry, and deleting finished cells or kept intermediates (trained weights). Each refuses a
directory that is not a cache (:func:`statmech_nn.cache.existing_cache`); the two that delete ask
first (:func:`confirm`)."""

from __future__ import annotations

import sys

from ..cache import Damage, default_cache_root, existing_cache
from ..errors import ConfigError


def register(subparsers) -> None:
    p = subparsers.add_parser("cache", help="show, verify or trim the sweep cache")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    actions = (
        ("info", "files and sizes of the cells, point index and artifacts", run_info),
        ("verify", "check the point index and re-hash every cell and artifact; report and delete the corrupt "
                   "ones (a corrupt point index is moved aside)", run_verify),
        ("clear", "delete the finished cells and their point index (artifacts stay)", run_clear),
        ("clear-artifacts", "delete kept intermediates such as trained weights (finished cells stay)",
         run_clear_artifacts),
    )
    for name, summary, handler in actions:
        action = sub.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        action.add_argument("--cache-dir", help="cache directory (default: <data>/cache)")
        if name.startswith("clear"):
            action.add_argument("-y", "--yes", action="store_true",
                                help="delete without asking (needed where there is no terminal to ask on)")
        action.set_defaults(handler=handler)


def _cache(args):
    return existing_cache(default_cache_root(args.cache_dir))


def _human(n_bytes: int) -> str:
    size, unit = float(n_bytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            break
        size /= 1024
    return f"{n_bytes} B" if unit == "B" else f"{size:.1f} {unit}"


def run_info(args) -> int:
    cache = _cache(args)
    print(f"cache at {cache.root}")
    for part, (files, n_bytes) in cache.usage().items():
        print(f"  {part:<10} {files:>7} files  {_human(n_bytes):>10}")
    problem = cache.index.problem()
    if problem is not None:
        print(f"  point index {cache.index.path} is corrupt ({problem}): `statmech-nn cache verify` or the next "
              "sweep moves it aside and starts a new one (cells stay cached)")
    return 0


def _describe(found: Damage) -> str:
    """One line for what ``cache verify`` found and did."""
    done = "deleted" if found.moved_to is None else f"moved aside (to {found.moved_to.name})"
    return f"{done} corrupt {found.kind} {found.path}: {found.problem}"


def run_verify(args) -> int:
    cache = _cache(args)
    n_cells, n_artifacts = sum(1 for _ in cache.cells.keys()), sum(1 for _ in cache.artifacts.entries.keys())
    damage = cache.verify()
    for found in damage:
        print(_describe(found))
    print(f"checked the point index, {n_cells} cells and {n_artifacts} artifacts in {cache.root}: "
          f"{len(damage)} corrupt (removed; the next sweep recomputes or re-indexes what they held)")
    return 0


def confirm(args, n_files: int, what: str) -> None:
    """Go on only if the user agrees to delete ``what`` (``n_files`` files): ``--yes``, or "y"
    typed on a terminal. Without a terminal (a batch job, a pipe) and without ``--yes``, a
    one-line error: finished cells can cost hours of training, and nothing asks twice. Nothing
    to delete: no question."""
    if args.yes or n_files == 0:
        return
    if not sys.stdin.isatty():
        raise ConfigError(f"this deletes {what}: pass --yes to confirm (there is no terminal to ask on)")
    answer = input(f"delete {what}? [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise ConfigError(f"not confirmed ({answer or 'no answer'!r}): nothing deleted")


def run_clear(args) -> int:
    cache = _cache(args)
    files, n_bytes = cache.usage()["cells"]
    confirm(args, files, f"{files} cell files ({_human(n_bytes)}) and the point index in {cache.root}")
    cache.clear_cells()
    print(f"deleted {files} cell files ({_human(n_bytes)}) and the point index from {cache.root}; artifacts kept")
    return 0


def run_clear_artifacts(args) -> int:
    cache = _cache(args)
    files, n_bytes = cache.usage()["artifacts"]
    confirm(args, files, f"{files} artifact files ({_human(n_bytes)}) in {cache.artifacts.root}")
    cache.clear_artifacts()
    print(f"deleted {files} artifact files ({_human(n_bytes)}) from {cache.artifacts.root}; cells kept")
    return 0
