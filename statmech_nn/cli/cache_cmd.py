"""``statmech-nn cache info|clear-artifacts``: what the sweep cache holds, and freeing its kept
intermediates (trained weights) without touching finished cells."""

from __future__ import annotations

from ..cache import CellCache, default_cache_root


def register(subparsers) -> None:
    p = subparsers.add_parser("cache", help="show or trim the sweep cache")
    sub = p.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    info = sub.add_parser("info", help="files and sizes of the cells, point index and artifacts")
    clear = sub.add_parser("clear-artifacts",
                           help="delete kept intermediates such as trained weights (finished cells stay)")
    for action, handler in ((info, run_info), (clear, run_clear_artifacts)):
        action.add_argument("--cache-dir", help="cache directory (default: <data>/cache)")
        action.set_defaults(handler=handler)


def _human(n_bytes: int) -> str:
    size, unit = float(n_bytes), "B"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            break
        size /= 1024
    return f"{n_bytes} B" if unit == "B" else f"{size:.1f} {unit}"


def run_info(args) -> int:
    cache = CellCache(default_cache_root(args.cache_dir))
    print(f"cache at {cache.root}")
    for part, (files, n_bytes) in cache.usage().items():
        print(f"  {part:<10} {files:>7} files  {_human(n_bytes):>10}")
    return 0


def run_clear_artifacts(args) -> int:
    cache = CellCache(default_cache_root(args.cache_dir))
    files, n_bytes = cache.usage()["artifacts"]
    cache.clear_artifacts()
    print(f"deleted {files} artifact files ({_human(n_bytes)}) from {cache.artifacts.root}; cells kept")
    return 0
