"""The sweep command end to end, with a real experiment (2D percolation): kill -9 in the middle
and the same command finishes the sweep to a file identical to an uninterrupted run's."""

import os
import signal
import subprocess
import sys
import time

import pytest
import xarray as xr

from statmech_nn.io import read_netcdf

SWEEP = ["sweep", "--experiment", "percolation", "--grid", "p=0.55,0.59,0.63",
         "--grid", "L=8,16,32,48,64", "--set", "sampling.n_samples=1500", "--no-progress"]


def cli(*args):
    return [sys.executable, "-m", "statmech_nn", *args]


def test_kill_9_then_rerun_gives_the_uninterrupted_file(tmp_path):
    cache = tmp_path / "cache"
    proc = subprocess.Popen(cli(*SWEEP, "-o", str(tmp_path / "resumed.nc"), "--cache-dir", str(cache)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not list(cache.rglob("*.sha256")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.fail("the sweep finished before it could be interrupted: make the grid larger")
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up, as in a crash
    proc.wait()
    finished_before = len(list(cache.rglob("*.sha256")))
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
