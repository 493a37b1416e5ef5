"""The sweep command end to end, with a real experiment (2D percolation): kill -9 in the middle
and the same command finishes the sweep to a file identical to an uninterrupted run's; on a
local Dask cluster (--workers) the same file as serially."""

import subprocess
import sys

import pytest
import xarray as xr

from statmech_nn.io import read_netcdf
from statmech_nn.testing import crash_after_cells

SWEEP = ["sweep", "--experiment", "percolation", "--grid", "p=0.55,0.59,0.63",
         "--grid", "L=8,16,32,48,64", "--set", "sampling.n_samples=1500", "--no-progress"]


def cli(*args):
    return [sys.executable, "-m", "statmech_nn", *args]


@pytest.mark.slow
def test_kill_9_then_rerun_gives_the_uninterrupted_file(tmp_path):
    cache = tmp_path / "cache"
    finished_before = crash_after_cells(cli(*SWEEP, "-o", str(tmp_path / "resumed.nc"), "--cache-dir", str(cache)),
                                        cache)
    assert 1 <= finished_before < 5
    assert not (tmp_path / "resumed.nc").exists()

    rerun = subprocess.run(cli(*SWEEP, "--dry-run", "--cache-dir", str(cache)), capture_output=True, text=True, check=True)
    assert f"{finished_before} cached" in rerun.stdout  # the finished cells survived the crash

    subprocess.run(cli(*SWEEP, "-o", str(tmp_path / "resumed.nc"), "--cache-dir", str(cache)), check=True,
                   capture_output=True)
    subprocess.run(cli(*SWEEP, "-o", str(tmp_path / "fresh.nc"), "--cache-dir", str(tmp_path / "fresh_cache")),
                   check=True, capture_output=True)
    resumed, fresh = read_netcdf(tmp_path / "resumed.nc"), read_netcdf(tmp_path / "fresh.nc")
    xr.testing.assert_identical(resumed.drop_attrs(deep=False), fresh.drop_attrs(deep=False))
    assert resumed.attrs["config_sha256"] == fresh.attrs["config_sha256"]
    assert resumed.attrs["history"].startswith("statmech-nn sweep --experiment percolation")


@pytest.mark.slow
def test_workers_option_gives_the_serial_file_and_logs_each_cell(tmp_path):
    # Truth: a 2-worker local cluster computes the same cells into the same cache format and
    # the client assembles from the cache, so the file equals a serial run's; without a
    # terminal each finished cell is one log line with an ETA.
    small = [*SWEEP[:5], "--grid", "L=8,16,24", "--set", "sampling.n_samples=200"]
    on_workers = subprocess.run(cli(*small, "-o", str(tmp_path / "d.nc"), "--cache-dir", str(tmp_path / "dc"),
                                    "--workers", "2"), capture_output=True, text=True, timeout=300)
    assert on_workers.returncode == 0, on_workers.stderr
    lines = on_workers.stderr.strip().splitlines()
    assert len(lines) == 3 and all("ETA" in line for line in lines), on_workers.stderr
    subprocess.run(cli(*small, "-o", str(tmp_path / "s.nc"), "--cache-dir", str(tmp_path / "sc"), "--no-progress"),
                   check=True, capture_output=True)
    d, s = read_netcdf(tmp_path / "d.nc"), read_netcdf(tmp_path / "s.nc")
    xr.testing.assert_identical(d.drop_attrs(deep=False), s.drop_attrs(deep=False))


@pytest.mark.parametrize("bad, message", [
    (["--workers", "-1"], "argument --workers: '-1': expected an integer >= 0 (0: here, serially)"),
    (["--workers", "two"], "argument --workers: 'two': expected an integer >= 0"),
    (["--workers", "2", "--scheduler", "tcp://x:1"], "argument --scheduler: not allowed with argument --workers"),
])
def test_bad_executor_options_are_one_line(tmp_path, capsys, bad, message):
    # (--workers 0 is "here, serially", as workers = 0 in a study file: it overrides the file's)
    from statmech_nn.cli import main

    try:
        status = main([*SWEEP, "--cache-dir", str(tmp_path), "-o", str(tmp_path / "o.nc"), *bad])
    except SystemExit as usage_error:  # argparse's own check
        status = usage_error.code
    assert status == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
