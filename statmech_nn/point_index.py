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

The index is derived data: each row names a cell that stays in the cache under its own key. A
corrupt index file (SQLite: "file is not a database", "database disk image is malformed") is
therefore not an error: it is moved aside, under a unique name ``points.sqlite.<hex>.corrupt``
(with its journal), with a one-line warning, and a new, empty index takes its place. Nothing
finished is lost: a sweep finds each cell again by its key and indexes its points anew
(:meth:`statmech_nn.cache.CellCache.reindex`). Its rows cannot be recomputed from the cells alone,
since a cell file does not record the experiment identity its point keys hash.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TypeVar

from .errors import DataError
from .io import storage_error
from .lease import held, try_acquire, wait_until_released

#: SQLite waits this long for another writer's lock before failing (seconds).
LOCK_TIMEOUT = 300.0
_BATCH = 500  # parameters per query, below SQLite's limit
T = TypeVar("T")
_DELETE_IT = "delete it (the cells stay cached, and sweeps index them again)"


class PointIndex:
    """The point index of the cache at ``root``; see the module docstring."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.path = self.root / "points.sqlite"
        self.legacy = self.root / "points"
        self.repair_lease = self.root / f".{self.path.name}.repairing"

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

    def _run(self, write: bool, work: Callable[[sqlite3.Connection], T]) -> T:
        """``work(db)`` in one transaction on the ready index. A corrupt index file is set aside
        (:meth:`set_aside_if_damaged`, with a one-line warning) and the work is done on a new one;
        should that fail as corrupt too, a one-line :class:`DataError` says what to do."""
        for last_try in (False, True):
            try:
                self._ensure()
                with self._transaction(write) as db:
                    return work(db)
            except sqlite3.DatabaseError as exc:
                if not _is_corruption(exc):
                    raise
                if last_try:
                    raise DataError(f"point index {self.path} is corrupt ({exc}): {_DELETE_IT}") from None
                moved = self.set_aside_if_damaged()
                if moved is not None:
                    warnings.warn(f"point index {self.path} is corrupt ({moved[0]}); moved it to {moved[1].name} and "
                                  "started a new one: cells stay cached and sweeps index them again",
                                  RuntimeWarning, stacklevel=3)

    def lookup(self, points: Sequence[str]) -> dict[str, str]:
        """``{point: cell}`` for the given point keys that are indexed."""
        if not self.path.exists() and not self.legacy.exists():
            return {}

        def select(db: sqlite3.Connection) -> dict[str, str]:
            found: dict[str, str] = {}
            for start in range(0, len(points), _BATCH):
                batch = list(points[start:start + _BATCH])
                marks = ",".join("?" * len(batch))
                found.update(db.execute(f"SELECT point, cell FROM points WHERE point IN ({marks})", batch))
            return found

        return self._run(False, select)

    def record(self, cell: str, points: Iterable[str]) -> None:
        """Record that cell ``cell`` holds ``points`` (one transaction)."""
        rows = [(p, cell) for p in points]
        self._run(True, lambda db: db.executemany("INSERT OR REPLACE INTO points VALUES (?, ?)", rows))

    def forget(self, cells: Iterable[str]) -> None:
        """Drop every point held by ``cells`` (cells deleted as corrupt or cleared)."""
        cells = list(cells)
        if not cells or not self.path.exists():
            return
        self._run(True, lambda db: db.executemany("DELETE FROM points WHERE cell = ?", ((c,) for c in cells)))

    def count(self) -> int:
        if not self.path.exists():
            return 0
        return self._run(False, lambda db: db.execute("SELECT COUNT(*) FROM points").fetchone()[0])

    def problem(self) -> str | None:
        """What is wrong with the index file (one phrase, from SQLite's integrity check), or
        ``None`` if it is sound or absent. Reads only."""
        if not self.path.exists():
            return None
        try:
            with closing(sqlite3.connect(f"{self.path.absolute().as_uri()}?mode=ro", uri=True,
                                         timeout=LOCK_TIMEOUT)) as db:
                verdict = db.execute("PRAGMA integrity_check(1)").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if not _is_corruption(exc):
                raise
            return str(exc)
        if verdict == "ok":
            return None
        # one line, without SQLite's heading "*** in database main ***"
        detail = "; ".join(line for line in verdict.splitlines() if not line.startswith("***"))
        return f"integrity check failed: {detail}"

    def set_aside_if_damaged(self) -> tuple[str, Path] | None:
        """If the index file is corrupt, rename it (and its journal, which belongs to it) to
        ``points.sqlite.<hex>.corrupt``, so that the next use starts a new, empty index, and
        return ``(what was wrong, where it went)``; else ``None``. The verdict is re-checked under
        :attr:`repair_lease`, so two processes never both move it, nor one the new index the other
        has just started. A file that cannot be moved is a one-line :class:`DataError`."""
        if self.problem() is None:
            return None
        try:
            while not try_acquire(self.repair_lease):
                wait_until_released(self.repair_lease)
            with held(self.repair_lease):
                problem = self.problem()
                if problem is None:  # set aside by another process meanwhile
                    return None
                aside = self.path.with_name(f"{self.path.name}.{secrets.token_hex(4)}.corrupt")
                os.replace(self.path, aside)
                if _journal(self.path).exists():
                    os.replace(_journal(self.path), _journal(aside))
                return problem, aside
        except OSError as exc:
            raise DataError(f"point index {self.path} is corrupt and cannot be moved aside ({exc.strerror or exc}): "
                            f"{_DELETE_IT}") from None

    def files(self) -> list[Path]:
        """The index file, its journal and the corrupt copies set aside."""
        return sorted(self.root.glob(f"{self.path.name}*"))

    def clear(self) -> None:
        """Delete the index (with its journal, its corrupt copies set aside and a legacy index)."""
        for file in self.files():
            file.unlink(missing_ok=True)
        shutil.rmtree(self.legacy, ignore_errors=True)


def _is_corruption(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite reports the database file itself as damaged or not a database at all."""
    return (getattr(exc, "sqlite_errorname", None) or "").startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB"))


def _journal(database: Path) -> Path:
    """The rollback journal SQLite keeps beside ``database``."""
    return database.with_name(f"{database.name}-journal")


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
