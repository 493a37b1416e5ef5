"""Which cached cell holds each finished grid point: one SQLite file per cache.

A grid planned into different cells (an extended grid) must still find the points computed
before, so every stored cell records its points here: table ``points(point, cell)`` in
``<cache>/points.sqlite``, keyed by :func:`statmech_nn.cache.point_key`. One transactional file
instead of one small file per point, because a parallel filesystem suffers at 10^5 small files;
SQLite's locking makes concurrent writers (sweeps, Dask workers) safe, in its default rollback
journal (WAL needs shared memory, which a network filesystem does not provide).

Caches written before this file existed kept one file per point under ``<cache>/points/``; the
first write migrates them in one transaction and removes the old directory (idempotent, so two
processes migrating at once are harmless).
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing, contextmanager
from pathlib import Path

from .io import storage_error

#: SQLite waits this long for another writer's lock before failing (seconds).
LOCK_TIMEOUT = 300.0
_BATCH = 500  # parameters per query, below SQLite's limit


class PointIndex:
    """The point index of the cache at ``root``; see the module docstring."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.path = self.root / "points.sqlite"
        self.legacy = self.root / "points"

    @contextmanager
    def _transaction(self, write: bool):
        try:
            with closing(sqlite3.connect(self.path, timeout=LOCK_TIMEOUT, isolation_level=None)) as db:
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield db
                    db.execute("COMMIT")
                except BaseException:
                    if db.in_transaction:  # SQLite already rolled back after an I/O error or a full disk
                        db.execute("ROLLBACK")
                    raise
        except sqlite3.OperationalError as exc:
            error = storage_error(exc, self.path)
            if error is None:
                raise
            if self.path.exists() and self.path.stat().st_size == 0:
                self.path.unlink()  # created by the failed connection: no empty file left behind
            raise error from None

    def _ready(self) -> bool:
        """The table exists and no legacy index waits to be migrated. SQLite writes nothing
        into a new database file before its first transaction commits (here the one creating
        the table), so an empty file was just opened by a process whose table may not exist
        yet: it does not count."""
        try:
            return self.path.stat().st_size > 0 and not self.legacy.exists()
        except FileNotFoundError:
            return False

    def _ensure(self) -> None:
        """Create the table, and migrate a legacy per-file index, if not done yet."""
        if self._ready():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        with self._transaction(write=True) as db:
            db.execute("CREATE TABLE IF NOT EXISTS points (point TEXT PRIMARY KEY, cell TEXT NOT NULL) WITHOUT ROWID")
            if self.legacy.is_dir():  # older than any row here: a row recorded since wins
                db.executemany("INSERT OR IGNORE INTO points VALUES (?, ?)", _legacy_pointers(self.legacy))
        shutil.rmtree(self.legacy, ignore_errors=True)

    def lookup(self, points: Sequence[str]) -> dict[str, str]:
        """``{point: cell}`` for the given point keys that are indexed."""
        if not self.path.exists() and not self.legacy.exists():
            return {}
        self._ensure()
        found: dict[str, str] = {}
        with self._transaction(write=False) as db:
            for start in range(0, len(points), _BATCH):
                batch = list(points[start:start + _BATCH])
                marks = ",".join("?" * len(batch))
                found.update(db.execute(f"SELECT point, cell FROM points WHERE point IN ({marks})", batch))
        return found

    def record(self, cell: str, points: Iterable[str]) -> None:
        """Record that cell ``cell`` holds ``points`` (one transaction)."""
        self._ensure()
        with self._transaction(write=True) as db:
            db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?)", ((p, cell) for p in points))

    def forget(self, cells: Iterable[str]) -> None:
        """Drop every point held by ``cells`` (cells deleted as corrupt or cleared)."""
        cells = list(cells)
        if not cells or not self.path.exists():
            return
        self._ensure()
        with self._transaction(write=True) as db:
            db.executemany("DELETE FROM points WHERE cell = ?", ((c,) for c in cells))

    def count(self) -> int:
        if not self.path.exists():
            return 0
        self._ensure()
        with self._transaction(write=False) as db:
            return db.execute("SELECT COUNT(*) FROM points").fetchone()[0]

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
        shutil.rmtree(self.legacy, ignore_errors=True)


def _legacy_pointers(directory: Path) -> Iterable[tuple[str, str]]:
    """``(point, cell)`` of every pointer file ``<directory>/<shard>/<point>``. Files and
    shards that vanish while being read are skipped: another process migrating at the same
    time has committed them and is deleting the directory."""
    for shard in _entries(directory):
        for pointer in _entries(shard):
            if pointer.name.endswith(".tmp"):
                continue
            try:
                cell = pointer.read_text().strip()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            if cell:
                yield pointer.name, cell


def _entries(directory: Path) -> list[Path]:
    """The entries of ``directory``; none if it is not (or no longer) a directory."""
    try:
        return list(directory.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return []
