"""Independent parts of a cell side by side on the CPU cores, each with its own intra-op threads.

Why: one ensemble whose every op is OpenMP-parallel over a few cores leaves cores idle in the
serial parts of a step (each network's mt19937 dropout draws, Python between ops) and pays a
barrier per op. Parts of the ensemble run in their own threads with one intra-op thread each
keep every core busy: 1.12-1.16x the training throughput of one ensemble for the default
64-network cell on 2 cores (``docs/benchmarks.md``). Parts share nothing but read-only inputs, and every network's random
streams are its own (:mod:`.rng`), so the numbers do not depend on how a cell is split
(tested: bit-identical).

``torch.set_num_threads`` in a worker sets that thread's OpenMP and MKL thread counts (both
per thread) and torch's process-wide default for threads started later, which the caller's
count is restored to afterwards.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

T = TypeVar("T")


class Cancelled(Exception):
    """Raised in a part whose ``stop`` event was set (another part failed or was interrupted)."""


def default_workers(device: torch.device | str) -> int:
    """How many parts a cell is split into: one per intra-op thread on the CPU, one on a GPU."""
    return torch.get_num_threads() if torch.device(device).type == "cpu" else 1


def serialized(callback: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """``callback`` behind a lock, for progress reports that may come from several parts."""
    if callback is None:
        return None
    lock = threading.Lock()

    def call(units: int) -> None:
        with lock:
            callback(units)

    return call


def run_side_by_side(jobs: Sequence[Callable[[threading.Event], T]], threads: int) -> list[T]:
    """``[job(stop) for job in jobs]``, each job in its own thread with ``threads // len(jobs)``
    (at least 1) intra-op threads; one job runs in the calling thread as it is. Returns the
    results in order.

    A job should check ``stop.is_set()`` now and then and raise :class:`Cancelled`: it is set
    when another job fails or the caller is interrupted (Ctrl-C), so no part runs on unseen.
    The first failure is re-raised here. The threads are daemons: an interrupted process exits
    without waiting for them.
    """
    stop = threading.Event()
    if len(jobs) == 1:
        return [jobs[0](stop)]
    threads_each = max(1, threads // len(jobs))
    results: list = [None] * len(jobs)
    errors: list[BaseException | None] = [None] * len(jobs)

    def body(i: int) -> None:
        torch.set_num_threads(threads_each)
        try:
            results[i] = jobs[i](stop)
        except BaseException as exc:  # noqa: BLE001 -- handed to the caller below
            errors[i] = exc
            stop.set()

    before = torch.get_num_threads()
    workers = [threading.Thread(target=body, args=(i,), name=f"cell-part-{i}", daemon=True)
               for i in range(len(jobs))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    except BaseException:
        stop.set()
        raise
    finally:
        torch.set_num_threads(before)
    failures = [e for e in errors if e is not None and not isinstance(e, Cancelled)]
    if failures:
        raise failures[0]
    return results
