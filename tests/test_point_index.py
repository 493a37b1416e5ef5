"""The SQLite point index (statmech_nn.point_index) under the interleavings that concurrent
sweeps and Dask workers produce on one cache, and when its file is corrupt: real SQLite files,
real connections."""

import sqlite3
from contextlib import closing

import pytest

from statmech_nn.point_index import PointIndex


def test_an_index_file_another_process_is_still_creating_is_usable(tmp_path):
    # Truth: a connection creates the (empty, 0-byte) database file before its holder creates
    # the table. A second process that finds the file in that moment must still record and look
    # up points -- not fail with "no such table: points" because the file already exists.
    index = PointIndex(tmp_path)
    with closing(sqlite3.connect(index.path)):  # the other process, between connect and CREATE
        assert index.path.exists() and index.path.stat().st_size == 0
        assert index.lookup(["p1"]) == {}
        index.record("cell-a", ["p1", "p2"])
        assert index.lookup(["p1", "p2", "p3"]) == {"p1": "cell-a", "p2": "cell-a"}
        assert index.count() == 2


WRITE_PAST_A_FILE_SIZE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from statmech_nn.point_index import PointIndex

index = PointIndex(Path(sys.argv[1]))
index.record("cell-a", ["p0"])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
_, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (20000, hard))
try:
    index.record("cell-b", [f"{i:064x}" for i in range(2000)])  # ~150 KB of rows
except Exception as exc:
    print(f"{type(exc).__name__}: {exc}")
resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
print(index.count())
"""


def test_a_failed_commit_reports_its_own_error_and_leaves_the_index_intact(tmp_path):
    # Truth: when SQLite cannot write at COMMIT (here a real per-process file-size limit makes
    # the write fail with EFBIG), it rolls the transaction back itself. The error raised must be
    # SQLite's own ("disk I/O error"), not "cannot rollback - no transaction is active" from a
    # second rollback, and the index must still hold exactly the rows committed before.
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-c", WRITE_PAST_A_FILE_SIZE_LIMIT, str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    error, count = run.stdout.strip().splitlines()
    assert error == "OperationalError: disk I/O error", error
    assert count == "1"


def _legacy_index(root, pointers):
    for point, cell in pointers.items():
        (root / "points" / point[:2]).mkdir(parents=True, exist_ok=True)
        (root / "points" / point[:2] / point).write_text(cell + "\n")


def test_a_legacy_index_removed_while_another_process_migrates_it_is_harmless(tmp_path):
    # Truth: two processes may migrate one legacy per-file index at once; the first commits its
    # rows and deletes the folder while the second is still reading it. Pointer files and shard
    # folders that vanish under the second reader were committed by the first, so the second
    # must skip them -- not fail with FileNotFoundError -- and keep every row it could read.
    from statmech_nn.point_index import _legacy_pointers

    _legacy_index(tmp_path, {"aa01": "cell-a", "aa02": "cell-b", "bb01": "cell-c"})
    reader = _legacy_pointers(tmp_path / "points")
    first = next(reader)  # the second process has listed a shard and read one pointer ...
    for path in sorted((tmp_path / "points").rglob("*"), reverse=True):  # ... the first deletes all
        path.rmdir() if path.is_dir() else path.unlink()
    assert list(reader) == []
    assert first in {("aa01", "cell-a"), ("aa02", "cell-b"), ("bb01", "cell-c")}


def test_a_late_migration_does_not_overwrite_newer_rows(tmp_path):
    # Truth: every row of a legacy per-file index is older than any row in SQLite. A process
    # that migrates the legacy folder after another one did (and after a sweep recorded point
    # p0 in a newer cell) must keep the newer row, not put back the legacy one.
    index = PointIndex(tmp_path)
    index.record("cell-new", ["p0"])
    _legacy_index(tmp_path, {"p0": "cell-old", "p1": "cell-old"})
    assert index.lookup(["p0", "p1"]) == {"p0": "cell-new", "p1": "cell-old"}
    assert not (tmp_path / "points").exists()


def _damage_every_page_but_the_first(path):
    raw = bytearray(path.read_bytes())
    for offset in range(4096, len(raw), 4096):  # SQLite's default page size
        raw[offset:offset + 16] = b"\xff" * 16
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("damage", ["not a database", "malformed pages"])
def test_a_corrupt_index_is_set_aside_with_a_warning_and_a_new_one_started(tmp_path, damage):
    # Truth: the index is derived data (every row names a cell that stays in the cache), so a
    # corrupt file -- garbage, or a real database whose b-tree pages were overwritten -- must not
    # raise sqlite3.DatabaseError: it is moved aside whole (its bytes kept, with its journal),
    # one warning line says so, and the index works again, empty, on a new file.
    index = PointIndex(tmp_path)
    if damage == "not a database":
        index.path.write_text("garbage\n")
    else:
        index.record("cell-a", [f"{i:064x}" for i in range(3000)])
        _damage_every_page_but_the_first(index.path)
    journal = tmp_path / "points.sqlite-journal"
    journal.write_bytes(b"")  # SQLite's journal of the damaged file must go with it, not into the new one
    damaged = index.path.read_bytes()
    assert index.problem() is not None
    with pytest.warns(RuntimeWarning) as caught:
        assert index.lookup(["p1"]) == {}
    (message,) = [str(w.message) for w in caught]
    assert message.startswith(f"point index {index.path} is corrupt (") and "\n" not in message, message
    (aside,) = tmp_path.glob("points.sqlite.*.corrupt")
    assert aside.read_bytes() == damaged and (tmp_path / f"{aside.name}-journal").exists()
    assert not journal.exists() and index.problem() is None
    index.record("cell-b", ["p1"])
    assert index.lookup(["p1"]) == {"p1": "cell-b"}


def test_an_index_another_process_has_already_replaced_is_not_set_aside(tmp_path):
    # Truth: two processes may find the same corrupt index; the one that comes second, after the
    # first has moved it aside and recorded rows in a new index, must judge the file again and
    # keep that new index (rows and all), not move it aside too.
    first, second = PointIndex(tmp_path), PointIndex(tmp_path)
    first.path.write_text("garbage\n")
    assert first.set_aside_if_damaged() is not None
    first.record("cell-a", ["p1"])
    assert second.set_aside_if_damaged() is None
    assert second.lookup(["p1"]) == {"p1": "cell-a"} and len(list(tmp_path.glob("*.corrupt"))) == 1
