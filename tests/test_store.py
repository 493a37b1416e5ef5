"""Storage faults and cache commands (issue 11): a full disk is one line and leaves no
temporary files, outputs honour the umask, a bad output path is one line, the cache is
verified and cleared on request, a dry run re-hashes what it calls cached, and Zarr output."""

import errno
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from statmech_nn.artifacts import ArtifactStore
from statmech_nn.cache import CellCache
from statmech_nn.cli import main
from statmech_nn.errors import StatmechError
from statmech_nn.io import read_dataset, read_netcdf, write_atomically, write_netcdf
from statmech_nn.sweep import plan_sweep, run_sweep

from probe_experiment import Probe

PERCOLATION = ["sweep", "--experiment", "percolation", "--grid", "p=0.5,0.6", "--grid", "L=8,16",
               "--set", "sampling.n_samples=50", "--no-progress"]


def tiny_dataset():
    return xr.Dataset({"y": ("x", np.arange(3.0), {"long_name": "y", "units": "1"})},
                      coords={"x": ("x", [0, 1, 2], {"long_name": "x", "units": "1"})})


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_written_files_honour_the_umask(tmp_path, umask):
    # Truth: a new file gets mode 0666 & ~umask; a temporary from mkstemp would be 0600 always.
    old = os.umask(umask)
    try:
        write_netcdf(tiny_dataset(), tmp_path / "out.nc")
        ArtifactStore(tmp_path / "a").save("ab" * 32, {"w": np.ones(3)})
    finally:
        os.umask(old)
    for path in (tmp_path / "out.nc", ArtifactStore(tmp_path / "a").path("ab" * 32)):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, oct(path.stat().st_mode)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "f.txt"
    target.write_text("old")
    seen = []

    def full_disk(tmp):
        seen.append(tmp)
        with open(tmp, "w") as fh:
            fh.write("partial")
        raise OSError(errno.ENOSPC, "No space left on device")  # as a write(2) on a full disk

    with pytest.raises(StatmechError, match=f"^no space left on device: {target}$"):
        write_atomically(target, full_disk)
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    # two writers of one destination never share a temporary name
    write_atomically(target, lambda tmp: (seen.append(tmp), write_atomically(target, seen.append)))
    assert len(set(seen)) == 3


def _can_mount_in_namespace():
    return shutil.which("unshare") and subprocess.run(
        ["unshare", "-rm", "mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs", "/tmp"],
        capture_output=True).returncode == 0


@pytest.mark.skipif(sys.platform != "linux" or not _can_mount_in_namespace(),
                    reason="needs a private mount namespace (unshare -rm) to mount a tiny tmpfs")
@pytest.mark.parametrize("full", ["cache", "output"])
def test_a_full_disk_is_one_line_and_leaves_no_empty_temporaries(tmp_path, full):
    # Truth: a real tmpfs of 16 KiB (cache) or 4 KiB (output) fills up while the sweep writes
    # its cache (or the ~14 KiB output file);
    # the command must name the path in one line, exit 2, and leave no 0-byte files behind.
    small = tmp_path / "small"
    small.mkdir()
    cache = small / "cache" if full == "cache" else tmp_path / "cache"
    output = small / "out.nc" if full == "output" else tmp_path / "out.nc"
    command = [sys.executable, "-m", "statmech_nn", *PERCOLATION, "--cache-dir", str(cache), "-o", str(output)]
    size = "16k" if full == "cache" else "4k"
    script = (f"mount -t tmpfs -o size={size} tmpfs {small} && {' '.join(command)}; status=$?; "
              f"find {small} -type f -size 0 -printf 'EMPTY %p\\n'; find {small} -name '*.tmp' -printf 'TEMP %p\\n'; "
              "exit $status")
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"statmech-nn: error: no space left on device: {small}"), run.stderr
    assert "EMPTY" not in run.stdout and "TEMP" not in run.stdout, run.stdout


@pytest.mark.skipif(sys.platform != "linux" or not _can_mount_in_namespace(),
                    reason="needs a private mount namespace (unshare -rm) to mount a read-only tmpfs")
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_read_only_cache_is_one_line_before_any_cell(tmp_path, dry_run):
    """Truth: a cache on a read-only filesystem (a real tmpfs remounted read-only, which binds
    root too) cannot take cells. The sweep, and its dry run, which said all was well, exit 2
    with one line naming the cache directory and the option to change -- not "cell ... failed:
    ...; rerun to compute the rest" for every cell, which a rerun cannot help."""
    read_only = tmp_path / "ro"
    read_only.mkdir()
    cache = read_only / "cache"
    command = [sys.executable, "-m", "statmech_nn", *PERCOLATION, "--cache-dir", str(cache),
               *(["--dry-run"] if dry_run else ["-o", str(tmp_path / "out.nc")])]
    script = f"mount -t tmpfs tmpfs {read_only} && mount -o remount,ro {read_only} && {' '.join(command)}"
    run = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr
    err = run.stderr.strip().splitlines()
    assert len(err) == 1 and f"cache directory {str(cache)!r} cannot be written" in err[0], run.stderr
    assert "--cache-dir (or STATMECH_NN_DATA)" in err[0] and not (tmp_path / "out.nc").exists()


def test_an_unwritable_output_path_is_one_line(tmp_path, capsys):
    assert main([*PERCOLATION, "--cache-dir", str(tmp_path / "c"), "-o", "/proc/x.nc"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "/proc/x.nc" in err[0], err


@pytest.mark.parametrize("what", ["missing", "file"])
def test_cache_info_on_a_missing_directory_or_a_file_says_so(tmp_path, capsys, what):
    target = tmp_path / "nothing"
    if what == "file":
        target.write_text("x")
    assert main(["cache", "info", "--cache-dir", str(target)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(target) in err and ("does not exist" if what == "missing" else "is a file") in err


def flip_byte(path):
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_cache_verify_reports_and_drops_corrupt_cells_and_artifacts(tmp_path, capsys):
    cache = CellCache(tmp_path / "c")
    run_sweep(Probe(), {"x": [0, 1, 2]}, cache, progress=False)
    cache.artifacts.save("cd" * 32, {"w": np.ones(10)})
    cache.artifacts.save("ef" * 32, {"w": np.zeros(10)})
    victim = sorted(cache.root.glob("??/*.nc"))[0]
    flip_byte(victim)
    flip_byte(cache.artifacts.path("cd" * 32))
    assert main(["cache", "verify", "--cache-dir", str(cache.root)]) == 0
    out = capsys.readouterr().out
    assert f"deleted corrupt cell {victim}" in out and "deleted corrupt artifact" in out
    assert "checked the point index, 3 cells and 2 artifacts" in out and "2 corrupt" in out
    assert not victim.exists() and cache.artifacts.load("ef" * 32) is not None
    assert main(["cache", "verify", "--cache-dir", str(cache.root)]) == 0
    assert "0 corrupt" in capsys.readouterr().out
    _, planned = plan_sweep(Probe(), {"x": [0, 1, 2]}, cache)
    assert sum(item.todo is not None for item in planned) == 1  # its index rows went with it


def test_cache_clear_deletes_cells_and_keeps_artifacts(tmp_path, capsys):
    cache = CellCache(tmp_path / "c")
    run_sweep(Probe(), {"x": [0, 1]}, cache, progress=False)
    cache.artifacts.save("cd" * 32, {"w": np.ones(10)})
    assert main(["cache", "clear", "--yes", "--cache-dir", str(cache.root)]) == 0
    assert "deleted 4 cell files" in capsys.readouterr().out
    assert not list(cache.root.glob("??/*")) and cache.artifacts.load("cd" * 32) is not None
    _, planned = plan_sweep(Probe(), {"x": [0, 1]}, cache)
    assert all(item.todo is not None for item in planned)


def answer_on_a_terminal(argv: list[str], answer: str) -> tuple[int, str]:
    """Run ``statmech-nn ARGV`` on a real pseudo-terminal, type ``answer`` and Enter; its exit
    status and everything it printed there."""
    import pty

    leader, follower = pty.openpty()
    run = subprocess.Popen([sys.executable, "-m", "statmech_nn", *argv], stdin=follower, stdout=follower,
                           stderr=follower)
    os.close(follower)
    os.write(leader, f"{answer}\n".encode())  # the terminal holds the line until the prompt reads it
    printed = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # EIO: the program ended and closed its side
            break
        if not chunk:
            break
        printed += chunk
    os.close(leader)
    return run.wait(timeout=120), printed.decode()


def test_cache_clear_asks_before_deleting(tmp_path, capsys):
    """Truth: `cache clear` deleted every finished cell without a word. Now, with no terminal to
    ask on (pytest's standard input) and no --yes, both deleting actions refuse in one line and
    delete nothing; on a real terminal the answer "n" keeps the cells and "y" deletes them; with
    nothing to delete there is no question."""
    cache = CellCache(tmp_path / "c")
    run_sweep(Probe(), {"x": [0, 1]}, cache, progress=False)
    cache.artifacts.save("cd" * 32, {"w": np.ones(10)})
    cells = sorted(cache.root.glob("??/*"))
    for action in ("clear", "clear-artifacts"):
        assert main(["cache", action, "--cache-dir", str(cache.root)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].endswith("pass --yes to confirm (there is no terminal to ask on)"), err
    assert sorted(cache.root.glob("??/*")) == cells and cache.artifacts.load("cd" * 32) is not None
    status, printed = answer_on_a_terminal(["cache", "clear", "--cache-dir", str(cache.root)], "n")
    assert status == 2 and "delete 4 cell files" in printed and "nothing deleted" in printed, printed
    assert sorted(cache.root.glob("??/*")) == cells
    status, printed = answer_on_a_terminal(["cache", "clear", "--cache-dir", str(cache.root)], "y")
    assert status == 0 and "deleted 4 cell files" in printed, printed
    assert not list(cache.root.glob("??/*")) and cache.artifacts.load("cd" * 32) is not None
    assert main(["cache", "clear", "--cache-dir", str(cache.root)]) == 0   # nothing left: nothing to ask
    assert "deleted 0 cell files" in capsys.readouterr().out


def test_dry_run_does_not_call_a_corrupt_cell_cached(tmp_path, capsys):
    cache = tmp_path / "c"
    assert main([*PERCOLATION, "--cache-dir", str(cache), "-o", str(tmp_path / "a.nc")]) == 0
    flip_byte(sorted(cache.glob("??/*.nc"))[0])
    capsys.readouterr()
    assert main([*PERCOLATION, "--cache-dir", str(cache), "--dry-run"]) == 0
    assert "2 cells: 1 cached, 1 to compute" in capsys.readouterr().out


def test_zarr_output_holds_the_same_dataset_as_netcdf(tmp_path):
    pytest.importorskip("zarr")
    cache = str(tmp_path / "c")
    assert main([*PERCOLATION, "--cache-dir", cache, "-o", str(tmp_path / "out.zarr")]) == 0
    assert main([*PERCOLATION, "--cache-dir", cache, "-o", str(tmp_path / "out.nc")]) == 0
    assert (tmp_path / "out.zarr").is_dir()
    zarr_ds, nc_ds = read_dataset(tmp_path / "out.zarr"), read_netcdf(tmp_path / "out.nc")
    xr.testing.assert_identical(zarr_ds.drop_attrs(deep=False), nc_ds.drop_attrs(deep=False))
    assert zarr_ds.attrs["config_sha256"] == nc_ds.attrs["config_sha256"]
    # writing again replaces the store whole
    assert main([*PERCOLATION, "--cache-dir", cache, "-o", str(tmp_path / "out.zarr")]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "out.nc", "out.zarr"]


def test_zarr_output_is_written_and_read_without_warnings(tmp_path, capsys):
    # Truth: under Zarr 3, writing consolidated metadata warns that it is not part of the Zarr 3
    # specification, and reading a store without it (default consolidated=None) warns that the
    # fallback is slow; `sweep -o x.zarr` (whose warnings the CLI prints as one stderr line) and
    # read_dataset must emit neither, and the store must read back as the grid that was swept.
    pytest.importorskip("zarr")
    import warnings

    out = tmp_path / "out.zarr"
    assert main([*PERCOLATION, "--cache-dir", str(tmp_path / "c"), "-o", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = read_dataset(out)
    assert [str(w.message) for w in caught] == []
    assert ds["p"].values.tolist() == [0.5, 0.6] and ds["L"].values.tolist() == [8, 16]


def test_a_per_file_point_index_is_migrated_into_sqlite(tmp_path):
    # Truth: caches written before the SQLite index kept one file per point under points/;
    # their points must still be found (nothing recomputed) and the old files removed.
    cache = CellCache(tmp_path / "c")
    run_sweep(Probe(), {"x": [0, 1, 2]}, cache, progress=False)
    import sqlite3
    with sqlite3.connect(cache.index.path) as db:
        rows = db.execute("SELECT point, cell FROM points").fetchall()
    for point, cell in rows:  # rebuild the old layout
        (cache.root / "points" / point[:2]).mkdir(parents=True, exist_ok=True)
        (cache.root / "points" / point[:2] / point).write_text(cell + "\n")
    cache.index.path.unlink()
    _, planned = plan_sweep(Probe(), {"x": [0, 1, 2]}, cache)
    assert all(item.todo is None for item in planned)
    assert cache.index.path.exists() and not (cache.root / "points").exists()
    assert cache.index.count() == 3


def test_a_replaced_output_is_said_to_be_replaced(tmp_path, capsys):
    # Truth: a second sweep into the same -o replaced the first file silently; the line saying
    # what was written now says that it replaced a file, and only when one was there.
    out = tmp_path / "a.nc"
    for expect_replaced in (False, True):
        assert main([*PERCOLATION, "--cache-dir", str(tmp_path / "c"), "-o", str(out)]) == 0
        said = capsys.readouterr().out
        assert said.startswith(f"wrote {out}") and ("(replaced the file that was there)" in said) == expect_replaced
