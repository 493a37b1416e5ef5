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
at once only one succeeds.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
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
            if not _stale(path):
                return False
            _break(path)
            continue
        with os.fdopen(fd, "w") as fh:
            json.dump({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}, fh)
        return True
    return False


def _stale(path: Path) -> bool:
    try:
        age = time.time() - path.stat().st_mtime
        holder = json.loads(path.read_text() or "{}")
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        holder = {}  # being written right now, or damaged: judged by its age alone
    if holder.get("host") == socket.gethostname() and isinstance(holder.get("pid"), int):
        return not _alive(holder["pid"])
    return age > STALE_AFTER


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _break(path: Path) -> None:
    try:
        os.replace(path, path.with_name(f".{path.name}.{secrets.token_hex(4)}.broken"))
    except FileNotFoundError:
        return  # somebody else broke it first
    for broken in path.parent.glob(f".{path.name}.*.broken"):
        broken.unlink(missing_ok=True)


@contextmanager
def held(path: Path) -> Iterator[None]:
    """Keep the (acquired) lease at ``path`` renewed while the block runs; release it after."""
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
        path.unlink(missing_ok=True)


def wait_until_released(path: Path) -> None:
    """Return once nobody holds the lease at ``path`` (breaking it if its holder is gone)."""
    while path.exists():
        if _stale(path):
            _break(path)
            return
        time.sleep(POLL_EVERY)
