"""A cache directory is recognisable (CACHEDIR.TAG), checked before a sweep computes anything,
and a corrupt point index costs no finished cell (docs/data_model.md, "Cells and the cache"):
real folders, real SQLite files, the real command line."""

import warnings

import pytest
import xarray as xr

from statmech_nn.cache import TAG_SIGNATURE, CellCache
from statmech_nn.cli import main
from statmech_nn.io import read_netcdf

SWEEP = ["sweep", "--experiment", "percolation", "--grid", "p=0.5,0.6", "--grid", "L=8,16",
         "--set", "sampling.n_samples=50", "--no-progress"]


def snapshot(root):
    """Every path under ``root`` with its bytes (``None`` for a folder)."""
    return {p.relative_to(root): (None if p.is_dir() else p.read_bytes()) for p in root.rglob("*")}


def user_folder(root):
    """A folder of a user's own files, laid out the way a cache's could be (two-character
    folders holding .nc and .sha256 files)."""
    for name, text in {"top.nc": "mine", "my/my_results.nc": "results", "ab/cd.nc": "data",
                       "ab/cd.sha256": "not a digest", "ab/notes.sha256": "notes"}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def one_error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("statmech-nn: error: "), err
    return err[0]


@pytest.mark.parametrize("action", ["info", "verify", "clear", "clear-artifacts"])
@pytest.mark.parametrize("folder", ["user files", "empty"])
def test_cache_commands_refuse_a_folder_that_is_not_a_cache(tmp_path, capsys, action, folder):
    """Truth: `cache ACTION --cache-dir DIR` on a folder that is not a cache (no CACHEDIR.TAG, no
    points.sqlite) exits 2 with one line naming the folder and the missing tag, and changes
    nothing there: `verify` used to delete the user's .nc files as corrupt cells."""
    root = tmp_path / "mine"
    root.mkdir()
    if folder == "user files":
        user_folder(root)
    before = snapshot(root)
    assert main(["cache", action, "--cache-dir", str(root)]) == 2
    err = one_error_line(capsys)
    assert f"{str(root)!r} is not a statmech_nn cache directory (it has no CACHEDIR.TAG)" in err, err
    assert snapshot(root) == before


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_sweep_refuses_a_non_empty_folder_that_is_not_a_cache(tmp_path, capsys, dry_run):
    """Truth: a sweep pointed at a folder of other files exits 2 with one line naming it and
    what is accepted, before computing or writing anything: no cell, no tag, no output."""
    root = user_folder(tmp_path / "mine")
    before = snapshot(root)
    out = tmp_path / "out.nc"
    assert main([*SWEEP, "--cache-dir", str(root), *(["--dry-run"] if dry_run else ["-o", str(out)])]) == 2
    err = one_error_line(capsys)
    assert "is not a statmech_nn cache directory" in err and "or a new or empty one" in err, err
    assert snapshot(root) == before and not out.exists()


@pytest.mark.parametrize("folder", ["new", "empty"])
def test_a_sweep_tags_a_new_or_empty_folder(tmp_path, capsys, folder):
    """Truth: a sweep into a folder that does not exist yet, or an empty one, makes it a cache
    tagged by the Cache Directory Tagging standard (first line, the standard's signature), which
    the cache commands then accept."""
    root = tmp_path / "new" / "cache"
    if folder == "empty":
        root.mkdir(parents=True)
    assert main([*SWEEP, "--cache-dir", str(root), "-o", str(tmp_path / "out.nc")]) == 0
    assert (root / "CACHEDIR.TAG").read_text().splitlines()[0] == TAG_SIGNATURE
    assert TAG_SIGNATURE == "Signature: 8a477f597d28d172789f06886806bc55"
    assert main(["cache", "info", "--cache-dir", str(root)]) == 0


def test_an_untagged_cache_of_the_older_layout_is_accepted_and_tagged(tmp_path, capsys):
    """Truth: a cache written before the tag existed (cells and points.sqlite, no CACHEDIR.TAG)
    is still a cache: `cache verify` checks it (nothing corrupt) and tags it, and a sweep finds
    its cells."""
    root = tmp_path / "cache"
    assert main([*SWEEP, "--cache-dir", str(root), "-o", str(tmp_path / "out.nc")]) == 0
    (root / "CACHEDIR.TAG").unlink()
    capsys.readouterr()
    assert main(["cache", "verify", "--cache-dir", str(root)]) == 0
    assert "0 corrupt" in capsys.readouterr().out
    assert (root / "CACHEDIR.TAG").read_text().startswith(TAG_SIGNATURE)
    assert main([*SWEEP, "--cache-dir", str(root), "--dry-run"]) == 0
    assert "2 cells: 2 cached, 0 to compute" in capsys.readouterr().out


@pytest.mark.parametrize("left", ["leases", "artifacts", "points"])
def test_an_untagged_cache_without_an_index_is_still_a_cache(tmp_path, capsys, left):
    """Truth: caches of the previous version that hold no points.sqlite are caches too -- a sweep
    stopped before its first cell leaves leases/, `cache clear` keeps artifacts/, the oldest index
    was the points/ folder -- so a resumed sweep and the cache commands accept and tag them
    (they were refused with no way out but rm)."""
    root = tmp_path / "cache"
    (root / left).mkdir(parents=True)
    assert main([*SWEEP, "--cache-dir", str(root), "--dry-run"]) == 0
    assert main(["cache", "info", "--cache-dir", str(root)]) == 0
    assert (root / "CACHEDIR.TAG").read_text().startswith(TAG_SIGNATURE)


def test_a_dedicated_mount_with_only_lost_and_found_counts_as_empty(tmp_path, capsys):
    root = tmp_path / "mount"
    (root / "lost+found").mkdir(parents=True)
    assert main([*SWEEP, "--cache-dir", str(root), "-o", str(tmp_path / "out.nc")]) == 0
    assert (root / "CACHEDIR.TAG").exists()


def test_a_sweep_starting_while_another_tags_the_same_new_folder_is_not_refused(tmp_path, capsys):
    """Truth: two sweeps may start on one new cache at once; the second may find the folder
    holding only the temporary of the tag the first is writing (write_atomically's
    ``.CACHEDIR.TAG.<pid>.<hex>.tmp``). That folder is still new, not someone else's files."""
    root = tmp_path / "cache"
    root.mkdir()
    (root / ".CACHEDIR.TAG.4242.0a1b2c3d.tmp").write_text(TAG_SIGNATURE[:10])
    assert main([*SWEEP, "--cache-dir", str(root), "--dry-run"]) == 0
    assert "2 cells: 0 cached, 2 to compute" in capsys.readouterr().out


@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("where", ["a file", "below a file"])
def test_a_cache_path_that_cannot_hold_cells_is_refused_before_any_cell(tmp_path, capsys, dry_run, where):
    """Truth: a cache path that is a file, or lies below one, cannot hold cells. The sweep (and
    its dry run, which said all was well) exits 2 with one line naming the path and the option
    to change -- not one "cell ... failed: NotADirectoryError ...; rerun" per cell, which a
    rerun cannot help -- and writes nothing."""
    blocker = tmp_path / "notes.txt"
    blocker.write_text("keep me")
    root = blocker if where == "a file" else blocker / "cache"
    out = tmp_path / "out.nc"
    assert main([*SWEEP, "--cache-dir", str(root), *(["--dry-run"] if dry_run else ["-o", str(out)])]) == 2
    err = one_error_line(capsys)
    assert f"cache directory {str(root)!r}" in err and "--cache-dir (or STATMECH_NN_DATA)" in err, err
    assert "failed" not in err and blocker.read_text() == "keep me" and not out.exists()


def corrupt_the_index(tmp_path, capsys):
    """A cache of SWEEP's 2 cells (and its output) whose points.sqlite is then overwritten with
    garbage; returns the cache root and the ``(bytes, mtime)`` of every cell file."""
    root = tmp_path / "cache"
    assert main([*SWEEP, "--cache-dir", str(root), "-o", str(tmp_path / "first.nc")]) == 0
    (root / "points.sqlite").write_text("garbage\n")
    capsys.readouterr()
    return root, {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.glob("??/*")}


@pytest.mark.parametrize("command", ["sweep --dry-run", "sweep", "cache verify"])
def test_a_corrupt_point_index_costs_no_finished_cell(tmp_path, capsys, command):
    """Truth: the point index is derived data. Whichever command meets a corrupt points.sqlite
    first exits 0 (it raised sqlite3.DatabaseError: file is not a database; verify after deleting
    cells), says so in one line, keeps the damaged file aside, deletes and recomputes no cell,
    and indexes the cells again: the same grid is then all cached, and the sweep's file equals
    the first one."""
    root, cells = corrupt_the_index(tmp_path, capsys)
    argv = {"sweep --dry-run": [*SWEEP, "--cache-dir", str(root), "--dry-run"],
            "sweep": [*SWEEP, "--cache-dir", str(root), "-o", str(tmp_path / "again.nc")],
            "cache verify": ["cache", "verify", "--cache-dir", str(root)]}[command]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(argv) == 0
    captured = capsys.readouterr()
    said = captured.out if command == "cache verify" else captured.err
    notes = [line for line in said.splitlines() if "file is not a database" in line]
    assert len(notes) == 1 and f"point index {root / 'points.sqlite'}" in notes[0], said
    (aside,) = root.glob("points.sqlite.*.corrupt")
    assert aside.read_text() == "garbage\n"
    assert main([*SWEEP, "--cache-dir", str(root), "--dry-run"]) == 0
    assert "2 cells: 2 cached, 0 to compute" in capsys.readouterr().out
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in root.glob("??/*")} == cells
    assert CellCache(root).index.count() == 4  # every point of both cells indexed again
    if command == "sweep":
        first, again = read_netcdf(tmp_path / "first.nc"), read_netcdf(tmp_path / "again.nc")
        xr.testing.assert_identical(first.drop_attrs(deep=False), again.drop_attrs(deep=False))


def test_cache_info_reports_a_corrupt_point_index_and_changes_nothing(tmp_path, capsys):
    """Truth: `cache info` on a cache whose points.sqlite is garbage says the index is corrupt
    and what will set it aside (it showed "points 8 B" as if all were well), and, a command that
    only shows, leaves the file where it is."""
    root, _ = corrupt_the_index(tmp_path, capsys)
    assert main(["cache", "info", "--cache-dir", str(root)]) == 0
    out = capsys.readouterr().out
    assert f"point index {root / 'points.sqlite'} is corrupt (file is not a database)" in out, out
    assert (root / "points.sqlite").read_text() == "garbage\n" and not list(root.glob("*.corrupt"))
