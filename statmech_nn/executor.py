"""Where a sweep's cells are computed: here, one after another, or as tasks on a Dask cluster.

Each cell to compute is a :class:`CellTask`. :func:`compute_cell` makes one present in the
shared cache and returns only its key: results travel through the cache, never through the
scheduler, so a retried or duplicated task is harmless (it finds the cell cached), and the
client assembles the dataset from the cache exactly as a serial run does. A lease
(:mod:`statmech_nn.lease`) makes a process that wants a cell another one is computing -- a
second sweep on the same cache -- wait for it and read it, instead of computing it twice.

On Dask (:func:`run_on_dask`) every cell is one task; a worker that dies mid-cell has its task
rescheduled on another worker by the scheduler (up to ``distributed.scheduler.allowed-failures``
deaths, then the cell fails with ``KilledWorker``). A CUDA experiment's tasks ask for one unit
of the worker resource ``GPU``; a cluster where no worker offers it is a one-line error instead
of an endless wait. A cell that raises does not stop the others: every outcome is collected and
the failures are returned with their cells.
"""

from __future__ import annotations

import secrets
import time
import traceback
import warnings
from concurrent.futures import CancelledError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xarray as xr

from .cache import CellCache
from .errors import DataError, PluginError, StatmechError, StorageError
from .experiment import Cell, Experiment, ProgressCallback
from .lease import held, try_acquire, wait_until_released
from .plugin_faults import debugging, describe_failure
from .progress import SweepProgress
from .schema import set_coord_attrs, validate_dataset

#: Seconds to wait for a worker able to run the cells (an adaptive or batch cluster starts
#: its workers late) before giving up with an error.
WORKER_WAIT = 120.0
#: Seconds between checks of the cluster while no cell finishes.
WATCH_EVERY = 2.0
#: The Dask resource a CUDA cell asks one unit of (workers declare it: ``--resources GPU=1``).
GPU_RESOURCE = "GPU"


@dataclass(frozen=True)
class CellTask:
    """A cell to compute: its coordinates, cache key, cost and the keys of its points."""

    cell: Cell
    key: str
    cost: int
    point_keys: tuple[str, ...]


@dataclass(frozen=True)
class Failure:
    """A cell whose computation failed, and why (one line)."""

    cell: Cell
    reason: str


def describe_cell(cell: Cell) -> str:
    """A cell's coordinates in one line, e.g. ``L=16, p=[0.5, 0.6]``."""
    return ", ".join(f"{d}={list(v) if len(v) > 1 else v[0]}" for d, v in cell.items())


def compute_cell(experiment: Experiment, task: CellTask, cache_root: str | Path,
                 progress: ProgressCallback = None, *, wait: bool = True) -> str | None:
    """Make ``task``'s cell present and sound in the cache at ``cache_root``; return its key.

    Computes it unless it is cached already or another process (holding its lease) finishes
    it meanwhile; with ``wait=False`` returns ``None`` at once if another process holds the
    lease. Raises :class:`PluginError` if the experiment returns other coordinates than the
    cell's (a breach of the plugin contract)."""
    cache = CellCache(cache_root)
    lease = cache.lease(task.key)
    while cache.cells.problem(task.key) is not None:
        if try_acquire(lease):
            break
        if not wait:
            return None
        wait_until_released(lease)
    else:
        return task.key
    with held(lease):
        problem = cache.cells.problem(task.key)
        if problem is None:  # finished by another process just now
            return task.key
        if cache.path(task.key).exists() or cache.cells.sidecar(task.key).exists():
            warnings.warn(f"cache entry {cache.path(task.key).name} is corrupt ({problem}); recomputing it",
                          RuntimeWarning, stacklevel=2)
        experiment.artifacts = cache.artifacts
        result = experiment.run_cell(task.cell, progress)
        check_cell_result(experiment, task.cell, result)
        cache.store(task.key, result, task.point_keys)
    return task.key


def check_cell_result(experiment: Experiment, cell: Cell, result: Any) -> None:
    """A one-line :class:`PluginError` naming the experiment unless ``result`` of
    ``run_cell(cell)`` keeps the contract -- checked before it is cached, so that a plugin
    fixed after the error computes the cell again: an ``xarray.Dataset`` whose coordinates are
    the cell's values, which passes :func:`~statmech_nn.schema.validate_dataset` (the canonical
    coordinates' attributes filled in as the sweep does) and, where the experiment declares
    ``variables``, has exactly those data variables."""
    where = f"experiment {experiment.name!r}"
    if not isinstance(result, xr.Dataset):
        raise PluginError(f"{where}: run_cell returned {type(result).__name__}, expected an xarray.Dataset")
    for dim, values in cell.items():
        if dim not in result.coords or list(result[dim].values) != list(values):
            raise PluginError(f"{where} returned coordinates that differ from "
                              f"its cell in {dim!r}: {list(result[dim].values) if dim in result.coords else 'none'} "
                              f"instead of {list(values)}")
    try:
        validate_dataset(set_coord_attrs(result))
    except DataError as exc:
        raise PluginError(f"{where}: run_cell's dataset breaks the contract of docs/data_model.md: {exc}") from None
    declared = set(getattr(experiment, "variables", ()) or ())
    if declared and declared != set(map(str, result.data_vars)):
        raise PluginError(f"{where}: run_cell wrote the variables {sorted(map(str, result.data_vars))}, but "
                          f"'variables' declares {sorted(declared)}")


def _reason(exc: BaseException) -> str:
    """One line for a failed cell: the toolkit's own error as it is; any other exception (the
    plugin's code) with its type and where it was raised (:func:`describe_failure`). With
    ``STATMECH_NN_DEBUG`` set the whole traceback goes to stderr first."""
    if debugging():
        traceback.print_exception(exc)
    if isinstance(exc, StatmechError):
        text = str(exc).strip().splitlines()
        return text[0] if text else type(exc).__name__
    return describe_failure(exc)


def run_serial(experiment: Experiment, tasks: list[CellTask], cache: CellCache, bar: SweepProgress) -> list[Failure]:
    """Compute ``tasks`` here, one after another; return the failures. A cell that another
    process is computing (a second sweep on the same cache) is put off until the others are
    done, then waited for, so that concurrent sweeps share the work."""
    failures = []
    queue = [(task, False) for task in tasks] + [(task, True) for task in tasks]
    finished: set[str] = set()
    for task, wait in queue:
        if task.key in finished:
            continue
        advance = bar.cell(task.cost)
        try:
            if compute_cell(experiment, task, cache.root, advance, wait=wait) is None:
                continue
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure is reported with its cell
            failures.append(Failure(task.cell, _reason(exc)))
        else:
            bar.cell_done(describe_cell(task.cell), task.cost, advance)
        finished.add(task.key)
    return failures


def run_on_dask(client: Any, experiment: Experiment, tasks: list[CellTask], cache: CellCache,
                bar: SweepProgress) -> list[Failure]:
    """Compute ``tasks`` as tasks on ``client``'s cluster; return the failures. The cache must
    be on a filesystem the workers share with this process."""
    from distributed import TimeoutError as DaskTimeout
    from distributed import wait

    if not tasks:
        return []
    resources = {GPU_RESOURCE: 1} if experiment.device.startswith("cuda") else None
    _wait_for_capable_worker(client, resources)
    # a pristine instance (options and device only): whatever the client's instance has
    # loaded or cached (the MNIST tensors, say) must not travel with every task
    shipped = type(experiment)(experiment.options, device=experiment.device)
    # a fresh key per sweep: the scheduler may still remember an earlier sweep's task of the
    # same cell (another cache, or a cache since cleared), whose result would be taken as done
    run = secrets.token_hex(4)
    futures = {client.submit(compute_cell, shipped, task, str(Path(cache.root).resolve()),
                             key=f"statmech-cell-{task.key[:16]}-{run}", resources=resources, pure=False): task
               for task in tasks}
    failures: list[Failure] = []
    pending = set(futures)
    try:
        while pending:
            try:
                done, pending = wait(pending, timeout=WATCH_EVERY, return_when="FIRST_COMPLETED")
            except (DaskTimeout, TimeoutError):
                _check_cluster(client, resources)
                continue
            for future in done:
                task = futures[future]
                if future.status == "finished":
                    bar.cell_done(describe_cell(task.cell), task.cost)
                elif future.status == "error":
                    exc = future.exception()
                    if isinstance(exc, StorageError):
                        raise exc
                    failures.append(Failure(task.cell, _reason(exc)))
                else:  # cancelled: the scheduler forgot it (it restarted or we lost it)
                    raise _lost_scheduler(client, f"task of cell {describe_cell(task.cell)} was {future.status}")
    except (OSError, TimeoutError, CancelledError) as exc:
        why = "the connection was lost" if isinstance(exc, CancelledError) else str(exc) or type(exc).__name__
        raise _lost_scheduler(client, why) from None
    finally:
        if pending:
            try:
                client.cancel(list(pending))
            except Exception:  # noqa: BLE001 - the scheduler may be gone already
                pass
    return failures


def _address(client: Any) -> str:
    return getattr(client.scheduler, "address", None) or "?"


def _lost_scheduler(client: Any, why: str) -> StatmechError:
    return StatmechError(f"lost the Dask scheduler at {_address(client)} ({why}); finished cells are cached: "
                         "rerun the same command to resume")


def _check_cluster(client: Any, resources: dict[str, int] | None) -> None:
    """Raise if the scheduler is gone, or no worker can run the cells any more."""
    if client.status not in ("running", "connecting"):
        raise _lost_scheduler(client, f"client {client.status}")
    _wait_for_capable_worker(client, resources)


def _wait_for_capable_worker(client: Any, resources: dict[str, int] | None) -> None:
    """Return once some worker offers ``resources``. A cluster whose workers all lack them is
    an error at once; a cluster with no workers is waited for up to :data:`WORKER_WAIT` s."""
    deadline = time.monotonic() + WORKER_WAIT
    while True:
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"].values()
        except (OSError, TimeoutError) as exc:
            raise _lost_scheduler(client, str(exc) or type(exc).__name__) from None
        capable = [w for w in workers
                   if all(w.get("resources", {}).get(name, 0) >= n for name, n in (resources or {}).items())]
        if capable:
            return
        if workers:
            raise StatmechError(
                f"no worker of the Dask cluster at {_address(client)} offers the resource "
                f"{', '.join(resources or {})}, which a cuda cell needs: start GPU workers with "
                "'dask worker --resources GPU=1' (one per GPU), or run with --device cpu")
        if time.monotonic() > deadline:
            raise StatmechError(f"no Dask worker joined the scheduler at {_address(client)} within "
                                f"{WORKER_WAIT:.0f} s: start workers, or use --workers N for a local cluster")
        time.sleep(0.5)
