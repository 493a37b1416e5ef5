"""Sweeps that share a cache or lose their scheduler (issue 9): two sweeps at once on one cache
compute each cell once (leases) and write identical files; a sweep whose Dask scheduler dies
stops with one clear line, and a rerun resumes from the cells already cached.

These start real processes (two sweeps; a scheduler and a worker), so they take seconds."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import xarray as xr

from statmech_nn import cluster
from statmech_nn.cache import CellCache
from statmech_nn.cluster import dask_client
from statmech_nn.errors import StatmechError
from statmech_nn.io import read_netcdf
from statmech_nn.sweep import plan_sweep, run_sweep

from probe_experiment import Probe

TESTS = str(Path(__file__).parent)
SWEEP_SCRIPT = """
import os, sys, time
sys.path.insert(0, {tests!r})
from probe_experiment import Probe
from statmech_nn.cache import CellCache
from statmech_nn.io import write_netcdf
from statmech_nn.sweep import plan_sweep, run_sweep
probe = Probe({{"probe": {{"work": 0.3, "log": {log!r}}}}})
open({ready!r}, "w").close()
while not os.path.exists({go!r}):
    time.sleep(0.01)
write_netcdf(run_sweep(probe, {{"x": list(range(6))}}, CellCache({cache!r}), progress=False), {out!r})
"""


def calls(log):
    return sorted(int(line.split()[0]) for line in log.read_text().splitlines()) if log.exists() else []


def test_two_sweeps_sharing_a_cache_compute_each_cell_once(tmp_path):
    # Truth: the lease lets exactly one process compute a cell; the other waits and reads it.
    # Without it both sweeps compute all six cells (twelve log lines).
    log, cache = tmp_path / "log", tmp_path / "cache"
    go = tmp_path / "go"
    sweeps = [subprocess.Popen([sys.executable, "-c", SWEEP_SCRIPT.format(
        tests=TESTS, log=str(log), cache=str(cache), out=str(tmp_path / f"{name}.nc"),
        ready=str(tmp_path / f"ready-{name}"), go=str(go))]) for name in "ab"]
    while not all((tmp_path / f"ready-{name}").exists() for name in "ab"):  # start both at once
        time.sleep(0.01)
    go.touch()
    assert [p.wait(timeout=120) for p in sweeps] == [0, 0]
    assert calls(log) == list(range(6))
    assert len({line.split()[1] for line in log.read_text().splitlines()}) == 2  # both did some of the work
    a, b = read_netcdf(tmp_path / "a.nc"), read_netcdf(tmp_path / "b.nc")
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))
    assert list(a["y"].values) == [x**2 + 0.5 for x in range(6)]
    assert CellCache(cache).verify() == [] and not list((cache / "leases").iterdir())


def test_losing_the_scheduler_is_one_clear_error_and_a_rerun_resumes(tmp_path):
    pytest.importorskip("distributed")
    env = {**os.environ, "PYTHONPATH": TESTS}
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--scheduler-file", str(scheduler_file),
                                  "--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
                                 env=env, stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "dask", "worker", "--scheduler-file", str(scheduler_file),
                               "--nthreads", "1", "--no-dashboard"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = tmp_path / "log"
        probe = Probe({"probe": {"work": 0.5, "log": str(log)}})

        cache = CellCache(tmp_path / "cache")

        def kill_scheduler_after_the_first_cell():
            while not list(cache.root.glob("??/*.sha256")):
                time.sleep(0.05)
            scheduler.kill()

        threading.Thread(target=kill_scheduler_after_the_first_cell, daemon=True).start()
        with pytest.raises(StatmechError, match=r"lost the Dask scheduler at tcp://127\.0\.0\.1:\d+ .*rerun the same command to resume") as err:
            with dask_client(scheduler_file=scheduler_file) as client:
                run_sweep(probe, {"x": list(range(6))}, cache, client=client, progress=False)
        assert "\n" not in str(err.value)
    finally:
        scheduler.kill()
        worker.kill()
        worker.wait()
    before = calls(log)
    _, planned = plan_sweep(probe, {"x": list(range(6))}, cache)
    cached = [item.cell["x"][0] for item in planned if item.todo is None]
    assert 1 <= len(cached) < 6  # what finished before the scheduler died is kept
    resumed = run_sweep(probe, {"x": list(range(6))}, cache, progress=False)
    assert sorted(calls(log)) == sorted(before + [x for x in range(6) if x not in cached])  # only the rest
    assert list(resumed["y"].values) == [x**2 + 0.5 for x in range(6)]


def test_an_unreachable_scheduler_is_one_line(monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 1)
    with pytest.raises(StatmechError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"):
        with dask_client(scheduler="tcp://127.0.0.1:9"):
            pass
    with pytest.raises(StatmechError, match="scheduler file 'nowhere.json' does not exist"):
        with dask_client(scheduler_file="nowhere.json"):
            pass
