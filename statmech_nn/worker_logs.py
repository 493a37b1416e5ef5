"""The worker side of a sweep's quiet Dask logs (imported only where ``distributed`` is installed).

:class:`QuietWorkerLogs` installs two filters in every worker process of a cluster the sweep
connects to, present and future (a worker is a process of its own, writing to the same terminal
or batch log): :class:`statmech_nn.cluster.UnretrievedTimeouts`, as the client has it (asyncio's
reports of close timeouts, seen after a sweep's last progress line with ``--workers``), and
:class:`CellFailureReports` (a failed cell's multi-line "Compute Failed" report, which the sweep
gives as one line naming the cell and where the exception was raised).
"""

from __future__ import annotations

import logging

from distributed import WorkerPlugin

from .cluster import drop_unretrieved_timeouts
from .plugin_faults import debugging


class CellFailureReports(logging.Filter):
    """Drops a worker's "Compute Failed" report of a task (with ``STATMECH_NN_DEBUG`` set it
    stays: its traceback is where a plugin author looks)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return debugging() or not record.getMessage().startswith("Compute Failed")


class QuietWorkerLogs(WorkerPlugin):
    """``setup`` runs in each worker process: the two filters of the module docstring installed."""

    name = "statmech-nn-quiet-logs"

    def setup(self, worker) -> None:
        drop_unretrieved_timeouts()
        logger = logging.getLogger("distributed.worker")
        if not any(isinstance(f, CellFailureReports) for f in logger.filters):
            logger.addFilter(CellFailureReports())
