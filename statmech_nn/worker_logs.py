"""The worker side of a sweep's quiet Dask logs (imported only where ``distributed`` is installed).

:class:`QuietWorkerLogs` installs :class:`statmech_nn.cluster.UnretrievedTimeouts` in every
worker process of a cluster the sweep connects to, present and future: a worker is a process of
its own, writing to the same terminal or batch log, and its asyncio reports of close timeouts
are the same noise as the client's (seen after a sweep's last progress line with ``--workers``).
"""

from __future__ import annotations

from distributed import WorkerPlugin

from .cluster import drop_unretrieved_timeouts


class QuietWorkerLogs(WorkerPlugin):
    """``setup`` runs in each worker process: asyncio's late reports of a ``TimeoutError`` dropped."""

    name = "statmech-nn-quiet-logs"

    def setup(self, worker) -> None:
        drop_unretrieved_timeouts()
