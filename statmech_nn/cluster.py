"""Dask clusters for sweeps: a local one of N worker processes, or an existing one.

:func:`dask_client` gives the ``client=`` of :func:`statmech_nn.sweep.run_sweep`:

* ``workers=N``: a cluster of N worker processes on this machine (one thread each: a cell uses
  its process's cores through torch/numpy, and Dask's nanny caps each process's BLAS/OpenMP
  threads at one). With ``cuda=True`` each worker sees one of the machine's GPUs
  (``CUDA_VISIBLE_DEVICES``, round-robin) and declares the resource ``GPU=1``, which CUDA cells
  ask for (:data:`statmech_nn.executor.GPU_RESOURCE`).
* ``scheduler="tcp://host:8786"`` or ``scheduler_file=PATH``: an existing cluster (e.g. started
  by ``dask-jobqueue`` or by ``dask scheduler`` / ``dask worker`` in a batch job; docs/scaling.md).

Dask is an optional dependency (``pip install 'statmech-nn[distributed]'``); asking for a
cluster without it is a one-line error.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import ConfigError, StatmechError
from .executor import GPU_RESOURCE

#: Seconds to wait for an existing scheduler to answer.
CONNECT_TIMEOUT = 30


def _distributed():
    try:
        import distributed
    except ImportError:
        raise StatmechError("Dask is not installed: pip install 'statmech-nn[distributed]'") from None
    return distributed


def visible_gpus() -> int:
    """Number of CUDA devices torch sees here (0 without torch or CUDA)."""
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def local_cluster(n_workers: int, *, gpus: int = 0) -> Any:
    """A ``distributed.SpecCluster`` of ``n_workers`` worker processes on this machine; with
    ``gpus`` > 0, worker ``i`` sees GPU ``i % gpus`` only and offers ``GPU=1``."""
    if not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1:
        raise ConfigError(f"--workers {n_workers!r}: expected an integer >= 1")
    distributed = _distributed()
    workers = {}
    for i in range(n_workers):
        options: dict[str, Any] = {"nthreads": 1, "host": "127.0.0.1", "silence_logs": logging.ERROR}
        if gpus:
            options["resources"] = {GPU_RESOURCE: 1}
            options["env"] = {"CUDA_VISIBLE_DEVICES": str(i % gpus)}
        workers[f"statmech-{i}"] = {"cls": distributed.Nanny, "options": options}
    scheduler = {"cls": distributed.Scheduler, "options": {"host": "127.0.0.1", "dashboard": False, "dashboard_address": ":0"}}
    return distributed.SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR,
                                   name="statmech-nn")


@contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None,
                scheduler_file: str | os.PathLike | None = None, cuda: bool = False) -> Iterator[Any]:
    """A connected ``distributed.Client`` for one of the three ways (see the module docstring),
    closed (with its local cluster) on exit; ``None`` if none was asked for, or ``workers=0``
    (a serial sweep, here)."""
    workers = None if workers == 0 else workers
    chosen = [name for name, value in (("--workers", workers), ("--scheduler", scheduler),
                                        ("--scheduler-file", scheduler_file)) if value is not None]
    if len(chosen) > 1:
        raise ConfigError(f"{' and '.join(chosen)} exclude each other: give one")
    if not chosen:
        yield None
        return
    distributed = _distributed()
    with _quiet_dask_logs():
        yield from _connect(distributed, workers, scheduler, scheduler_file, cuda)


class UnretrievedTimeouts(logging.Filter):
    """Drops asyncio's "Future exception was never retrieved" report of a ``TimeoutError``.

    A local cluster's worker whose close times out on a loaded machine leaves such a future
    behind; asyncio reports it when the future is garbage-collected, which can be after the
    client is closed and the sweep's file written (seen under load in the --workers CLI test:
    three lines of noise after the per-cell log). Any other unretrieved exception still shows.
    The worker processes write to the same stream and get it too
    (:class:`statmech_nn.worker_logs.QuietWorkerLogs`): session 13 saw the report once more with
    this filter in the client's process."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, TimeoutError)
                    and record.getMessage().startswith("Future exception was never retrieved"))


def drop_unretrieved_timeouts() -> None:
    """Install :class:`UnretrievedTimeouts` on the ``asyncio`` logger, once per process (for good:
    the report comes whenever the garbage collector finds the future)."""
    logger = logging.getLogger("asyncio")
    if not any(isinstance(f, UnretrievedTimeouts) for f in logger.filters):
        logger.addFilter(UnretrievedTimeouts())


@contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    """Dask logs connection losses and worker deaths with tracebacks; the sweep reports them
    itself in one line, so only critical Dask messages are shown while a client is open (and
    asyncio's late reports of close timeouts are dropped for good, :class:`UnretrievedTimeouts`)."""
    drop_unretrieved_timeouts()
    names = ["distributed", "asyncio", *(n for n in logging.root.manager.loggerDict if n.startswith("distributed."))]
    levels = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _connect(distributed, workers, scheduler, scheduler_file, cuda) -> Iterator[Any]:
    from .worker_logs import QuietWorkerLogs

    if workers is not None:
        with local_cluster(workers, gpus=visible_gpus() if cuda else 0) as cluster, \
                distributed.Client(cluster) as client:
            client.register_plugin(QuietWorkerLogs())
            yield client
        return
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise StatmechError(f"scheduler file {str(scheduler_file)!r} does not exist (the scheduler writes it "
                            "when it starts: dask scheduler --scheduler-file FILE)")
    where = scheduler or f"the scheduler file {str(scheduler_file)!r}"
    try:
        client = distributed.Client(scheduler, scheduler_file=scheduler_file, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise StatmechError(f"cannot reach the Dask scheduler at {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    with client:
        client.register_plugin(QuietWorkerLogs())
        yield client
