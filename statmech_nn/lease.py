"""Leases: one computation of a cell at a time across every process sharing a cache.

Two sweeps (or two Dask clusters) on one cache would otherwise each compute the cells both
need. Before computing cell ``key`` a process takes the lease ``<cache>/leases/<key>``, a file
created with ``O_CREAT | O_EXCL`` (atomic, also on NFS v3+ and parallel filesystems) that
records its host and process id; another process wanting the cell waits until the lease is
gone and then reads the finished cell from the cache instead of computing it.

A holder that dies leaves its lease behind, so a lease is *stale*, and is broken, when its
holder is a process on this host that no longer exists, or when it has not been renewed for
:data:`STALE_AFTER` seconds (the holder renews it every :data:`RENEW_EVERY` seconds while it
computes, so only a dead or frozen holder -- e.g. on a node that died -- stops renewing).
Breaking renames the stale file to a unique name first, so that of two processes breaking it
at once only one succeeds, and then checks that the file it moved is the one it judged stale
(same inode, modification time and content): another process may have broken that one and
taken the lease in between, and a lease taken meanwhile is put back. Releasing likewise removes
only the holder's own lease, never one another process took after breaking it.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

RENEW_EVERY = 10.0
STALE_AFTER = 120.0
POLL_EVERY = 0.2


def lease_path(cache_root: Path, key: str) -> Path:
    return Path(cache_root) / "leases" / key


def try_acquire(path: Path) -> bool:
    """Take the lease at ``path`` if nobody holds it (or its holder is gone); ``True`` if taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            seen = _stale(path)
            if seen is None:
                return False
            _break(path, seen)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, fh)
        return True
    return False


Fingerprint = tuple[int, int, bytes]


def _fingerprint(path: Path) -> Fingerprint | None:
    """``(inode, mtime in ns, content)`` of the lease file at ``path``, ``None`` if there is none."""
    try:
        stat = path.stat()
        return stat.st_ino, stat.st_mtime_ns, path.read_bytes()
    except FileNotFoundError:
        return None


def _stale(path: Path) -> Fingerprint | None:
    """The fingerprint of the lease at ``path`` if it is stale (module docstring), else ``None``."""
    seen = _fingerprint(path)
    if seen is None:
        return None
    try:
        holder = json.loads(seen[2] or b"{}")
    except ValueError:
        holder = None
    if not isinstance(holder, dict):
        holder = {}  # being written right now, or damaged: judged by its age alone
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        return None if _alive(holder["pid"]) else seen
    return seen if time.time() - seen[1] / 1e9 > STALE_AFTER else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _break(path: Path, seen: Fingerprint) -> None:
    """Remove the stale lease at ``path`` that had fingerprint ``seen``, and nothing else."""
    _remove_if(path, lambda moved: _fingerprint(moved) == seen)


def _remove_if(path: Path, expected: Callable[[Path], bool]) -> bool:
    """Remove the lease file at ``path`` if ``expected`` recognises it; ``True`` if removed.

    The file is renamed to a unique name first and judged there, where nobody changes it, so
    that two processes never both remove a lease. A file ``expected`` rejects (a lease another
    process has taken meanwhile) is linked back into place; only if yet another process has
    taken the lease in the microseconds between does its earlier holder lose the file (the
    worst case: a cell computed twice, which the cache stores atomically)."""
    moved = path.with_name(f".{path.name}.{secrets.token_hex(4)}.broken")
    try:
        os.replace(path, moved)
    except FileNotFoundError:
        return False  # removed by somebody else first
    try:
        if expected(moved):
            return True
        try:
            os.link(moved, path)
        except FileExistsError:
            pass
        return False
    finally:
        moved.unlink(missing_ok=True)


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Keep the (acquired) lease at ``path`` renewed while the block runs; release it after,
    unless another process has broken it (it was not renewed, e.g. this process was frozen)
    and taken it meanwhile: that holder's lease stays."""
    ours = _fingerprint(path)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(RENEW_EVERY):
            try:
                os.utime(path)
            except OSError:
                return

    renewer = threading.Thread(target=renew, name=f"lease-{path.name[:8]}", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        if ours is not None:
            _remove_if(path, lambda moved: _same_lease(_fingerprint(moved), ours))


def _same_lease(a: Fingerprint | None, b: Fingerprint) -> bool:
    """The same lease file: same inode and content (renewals change only the modification time)."""
    return a is not None and (a[0], a[2]) == (b[0], b[2])


def wait_until_released(path: Path) -> None:
    """Return once nobody holds the lease at ``path`` (breaking it if its holder is gone)."""
    while path.exists():
        seen = _stale(path)
        if seen is not None:
            _break(path, seen)
            return
        time.sleep(POLL_EVERY)
