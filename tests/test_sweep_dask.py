"""Sweeps on a real local Dask cluster of worker processes (issue 9): the same file as a serial
run, faults staged for real (a worker SIGKILLed mid-cell, a cell that raises, a CUDA cell no
worker can run), and progress lines per finished cell without a terminal.

One 2-worker cluster serves the module (a start costs seconds); only the test of GPU workers
starts its own, with GPU resources. The probe experiment
(tests/probe_experiment.py) has exactly known values, y = x**2 + 1/2, so "identical to serial"
is also checked against the truth.
"""

import os

import pytest
import xarray as xr

from statmech_nn.cache import CellCache
from statmech_nn.cluster import dask_client
from statmech_nn.errors import CellError, StatmechError
from statmech_nn.plugins import get_registry
from statmech_nn.sweep import plan_sweep, run_sweep

from probe_experiment import Probe

pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with dask_client(workers=2) as client:
        yield client


def data_only(ds):
    return ds.drop_attrs(deep=False)


def calls(log):
    return sorted(int(line.split()[0]) for line in log.read_text().splitlines()) if log.exists() else []


def test_percolation_on_workers_equals_serial_and_a_rerun_submits_nothing(client, tmp_path, capsys):
    # Truth: results travel only through the cache and are read back from it, so the
    # distributed dataset must be identical to the serial one, bit for bit.
    percolation = get_registry().experiment("percolation")({"sampling": {"n_samples": 200}})
    grid = {"L": [8, 16, 24], "p": [0.55, 0.6, 0.65]}
    distributed = run_sweep(percolation, grid, CellCache(tmp_path / "d"), client=client)
    # the same cells again at once, into a new cache: computed again, not taken from the
    # scheduler's memory of the first sweep's tasks
    again = run_sweep(percolation, grid, CellCache(tmp_path / "d2"), client=client, progress=False)
    serial = run_sweep(percolation, grid, CellCache(tmp_path / "s"), progress=False)
    xr.testing.assert_identical(data_only(distributed), data_only(serial))
    xr.testing.assert_identical(data_only(again), data_only(serial))
    # not a terminal: one log line per finished cell, with an ETA
    lines = [line for line in capsys.readouterr().err.splitlines() if "percolation sweep" in line]
    assert len(lines) == 3 and all("ETA" in line for line in lines) and lines[-1].startswith("percolation sweep: 3/3 cells (100%)")
    _, planned = plan_sweep(percolation, grid, CellCache(tmp_path / "d"))
    assert all(item.todo is None for item in planned)


def test_a_worker_killed_mid_cell_is_recomputed_elsewhere(client, tmp_path):
    log, marker = tmp_path / "log", tmp_path / "died"
    probe = Probe({"probe": {"die_at": 2, "marker": str(marker), "log": str(log), "work": 0.2}})
    pids_before = set(client.run(os.getpid).values())
    ds = run_sweep(probe, {"x": [0, 1, 2, 3]}, CellCache(tmp_path / "c"), client=client, progress=False)
    assert marker.exists()  # the cell really killed its worker once ...
    assert calls(log) == [0, 1, 2, 3]  # ... and was computed once, elsewhere, afterwards
    assert list(ds["y"].values) == [0.5, 1.5, 4.5, 9.5]
    serial = run_sweep(Probe(probe.options), {"x": [0, 1, 2, 3]}, CellCache(tmp_path / "s"), progress=False)
    xr.testing.assert_identical(data_only(ds), data_only(serial))
    client.wait_for_workers(2, timeout=60)  # the nanny restarted the killed worker
    assert set(client.run(os.getpid).values()) != pids_before


def test_a_failing_cell_names_its_coordinates_and_the_rest_is_kept(client, tmp_path):
    log, trap = tmp_path / "log", tmp_path / "trap"
    trap.touch()
    probe = Probe({"probe": {"fail_at": 1, "trap": str(trap), "log": str(log)}})
    cache = CellCache(tmp_path / "c")
    with pytest.raises(CellError, match=r"cell x=1 failed: ValueError: trap sprung at x=1 \(at tests/probe_experiment.py:\d+\); "
                                        r"3 of 4 computed cells are cached"):
        run_sweep(probe, {"x": [0, 1, 2, 3]}, cache, client=client, progress=False)
    assert calls(log) == [0, 2, 3]
    trap.unlink()
    ds = run_sweep(probe, {"x": [0, 1, 2, 3]}, cache, client=client, progress=False)
    assert calls(log) == [0, 1, 2, 3]  # the rerun computed only the failed cell
    assert list(ds["y"].values) == [0.5, 1.5, 4.5, 9.5]


def test_serial_sweep_also_finishes_the_other_cells_when_one_fails(tmp_path):
    trap, log = tmp_path / "trap", tmp_path / "log"
    trap.touch()
    probe = Probe({"probe": {"fail_at": 0, "trap": str(trap), "log": str(log)}})
    with pytest.raises(CellError, match="cell x=0 failed"):
        run_sweep(probe, {"x": [0, 1, 2]}, CellCache(tmp_path / "c"), progress=False)
    assert calls(log) == [1, 2]


def test_a_cuda_cell_on_a_cluster_without_gpus_is_a_one_line_error(client, tmp_path):
    # Truth: the cluster's workers declare no GPU resource, so a task asking for one could
    # never start; the sweep must say so instead of waiting forever.
    probe = Probe(device="cuda")
    with pytest.raises(StatmechError, match="no worker of the Dask cluster at tcp://127.0.0.1:.* offers the resource GPU") as err:
        run_sweep(probe, {"x": [0]}, CellCache(tmp_path / "c"), client=client, progress=False)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").rglob("*.nc"))


def test_executor_options_exclude_each_other():
    with pytest.raises(StatmechError, match="--workers and --scheduler exclude each other"):
        with dask_client(workers=1, scheduler="tcp://127.0.0.1:1"):
            pass


@pytest.mark.cuda
@pytest.mark.slow
def test_cuda_cells_run_on_local_gpu_workers(tmp_path):
    # Truth: with --device cuda each local worker offers GPU=1 and sees one GPU, so the cells
    # run (on the GPU) instead of failing the resource check; the losses are finite numbers.
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    mnist = get_registry().experiment("mnist_dropout")(
        {"training": {"budget": "steps", "steps": 30, "max_networks": 2}, "evaluation": {"n_masks": 2}}, device="cuda")
    grid = {"p_train": [0.0, 0.5], "p_eval": [0.0, 0.5], "N": [128], "seed": [0, 1], "width": [16], "depth": [1]}
    with dask_client(workers=1, cuda=True) as gpu_client:
        resources = [w["resources"] for w in gpu_client.scheduler_info()["workers"].values()]
        assert resources == [{"GPU": 1}]
        ds = run_sweep(mnist, grid, CellCache(tmp_path / "c"), client=gpu_client, progress=False)
    assert all(bool(var.notnull().all()) for var in ds.data_vars.values())


def test_local_gpu_workers_each_see_one_gpu_and_run_the_cells_asking_for_one(tmp_path):
    # Truth: local_cluster(gpus=2) gives worker i CUDA_VISIBLE_DEVICES=i and the resource GPU=1,
    # so tasks of a cuda experiment (the probe accepts the device without touching a GPU) are
    # scheduled on them and finish; the environment and resources are read back from the
    # worker processes themselves.
    from distributed import Client

    from statmech_nn.cluster import local_cluster

    with local_cluster(2, gpus=2) as cluster, Client(cluster) as gpu_client:
        gpu_client.wait_for_workers(2, timeout=60)
        seen = sorted(gpu_client.run(lambda: os.environ.get("CUDA_VISIBLE_DEVICES")).values())
        assert seen == ["0", "1"]
        assert all(w["resources"] == {"GPU": 1} for w in gpu_client.scheduler_info()["workers"].values())
        ds = run_sweep(Probe(device="cuda"), {"x": [0, 1, 2]}, CellCache(tmp_path / "c"), client=gpu_client,
                       progress=False)
    assert list(ds["y"].values) == [0.5, 1.5, 4.5]


def test_every_worker_process_drops_late_close_timeouts_too(client):
    # Truth: the client registers QuietWorkerLogs, so the asyncio logger of each worker process
    # (which writes to the same terminal or batch log) carries the filter of the test below; the
    # report was seen once more (session 13) with the filter only in the client's process.
    import logging

    from statmech_nn.cluster import UnretrievedTimeouts

    client.wait_for_workers(2, timeout=60)
    seen = client.run(lambda: any(isinstance(f, UnretrievedTimeouts) for f in logging.getLogger("asyncio").filters))
    assert list(seen.values()) == [True, True]
    from statmech_nn.worker_logs import CellFailureReports

    seen = client.run(lambda: any(isinstance(f, CellFailureReports)
                                  for f in logging.getLogger("distributed.worker").filters))
    assert list(seen.values()) == [True, True]


def test_a_workers_compute_failed_report_is_dropped_unless_debugging(monkeypatch):
    # Truth: the sweep reports a failed cell in one line with where it raised; the worker's own
    # multi-line "Compute Failed" report (key, state, task, traceback) printed before it. It is
    # dropped, other worker records pass, and STATMECH_NN_DEBUG=1 keeps it.
    import logging

    from statmech_nn.worker_logs import CellFailureReports

    def record(msg):
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1, msg, None, None)

    failed = "Compute Failed\nKey:       statmech-cell-0123\nTraceback: ..."
    monkeypatch.delenv("STATMECH_NN_DEBUG", raising=False)
    assert not CellFailureReports().filter(record(failed))
    assert CellFailureReports().filter(record("Worker stream died during communication"))
    monkeypatch.setenv("STATMECH_NN_DEBUG", "1")
    assert CellFailureReports().filter(record(failed))


@pytest.mark.parametrize("error, shown", [(TimeoutError("Timeout"), False), (ValueError("a real fault"), True)],
                         ids=["timeout", "other"])
def test_a_late_unretrieved_close_timeout_is_not_printed_but_other_faults_are(error, shown, caplog):
    # Truth: asyncio reports a future whose exception nobody retrieved when the future is
    # garbage-collected ("Future exception was never retrieved"), which for a local cluster's
    # worker close that timed out on a loaded machine came after the client had closed and
    # printed three lines of noise after a sweep's log (seen in the --workers CLI test). Once a
    # client has been opened, that report is dropped for a TimeoutError and kept for anything else.
    import asyncio
    import gc
    import logging

    from statmech_nn.cluster import _quiet_dask_logs

    with _quiet_dask_logs():          # what every client is opened in; the report comes after it
        pass
    caplog.set_level(logging.ERROR, logger="asyncio")   # as after the last client (the module's may be open)
    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()
        future.set_exception(error)
        del future
        gc.collect()
    finally:
        loop.close()
    reported = [r for r in caplog.records if r.name == "asyncio" and "never retrieved" in r.getMessage()]
    assert bool(reported) is shown, [r.getMessage() for r in caplog.records]
