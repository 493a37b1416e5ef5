"""Independent parts of a cell side by side on the CPU cores, each with its own intra-op threads.

Why: one ensemble whose every op is OpenMP-parallel over a few cores leaves cores idle in the
serial parts of a step (Python between ops, the dropout draws) and pays a barrier per op.
Parts of the ensemble run in their own threads with one intra-op thread each keep every core
busy: 1.12-1.16x the training throughput of one ensemble for the default 64-network cell on 2
cores with version 1's serial mt19937 draws; ``statmech-nn bench`` reports the current gain
(``docs/benchmarks.md``). Parts share nothing but read-only inputs, and every network's random
streams are its own (:mod:`.rng`), so the numbers do not depend on how a cell is split
(tested: bit-identical).

``torch.set_num_threads`` in a worker sets that thread's OpenMP and MKL thread counts (both
per thread) and torch's process-wide default for threads started later, which the caller's
count is restored to afterwards.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import TypeVar

import torch

T = TypeVar("T")


#: Seconds an interrupted :func:`run_side_by_side` waits, per thread, for a stopped part
#: after a second interrupt (a part stops within one training step or evaluation mask).
JOIN_GRACE_S = 30.0


class Cancelled(Exception):
    """Raised in a part whose ``stop`` event was set (another part failed or was interrupted)."""


def check_stop(stop: threading.Event | None, what: str) -> None:
    """Raise :class:`Cancelled` (naming ``what`` was stopped) when ``stop`` is set."""
    if stop is not None and stop.is_set():
        raise Cancelled(f"{what} stopped")


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
    """``[job(stop) for job in jobs]``, each job in its own worker thread with
    ``threads // len(jobs)`` (at least 1) intra-op threads while the calling thread waits (a
    single job runs in the calling thread as it is). Returns the results in order.

    A job should check ``stop.is_set()`` now and then (:func:`check_stop`; at most a training
    step or an evaluation mask apart) and raise :class:`Cancelled`: it is set when another job
    fails or the caller is interrupted (Ctrl-C), so no part runs on unseen. The first failure
    is re-raised here. An interrupted call sets ``stop`` and waits for every job to end before
    it re-raises (a second Ctrl-C shortens each wait to :data:`JOIN_GRACE_S` seconds).

    The jobs run on persistent daemon threads (:class:`_Worker`) that never exit, because a
    thread that *ends* runs torch's and OpenMP's native thread-local destructors after Python
    has let go of it; when the process exits at that moment (right after an interrupt), it
    aborts with "terminate called without an active exception" (exit 134 instead of 130;
    measured in 3 of 4 interrupted runs with a fresh thread per part, 0 of 8 with these).
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
    workers = _take_workers(len(jobs))
    try:
        done = [worker.submit(partial(body, i)) for i, worker in enumerate(workers)]
        try:
            for finished in done:
                finished.wait()
        except BaseException:
            stop.set()
            _wait_stopped(done)
            raise
    finally:
        _give_back(workers)
        torch.set_num_threads(before)
    failures = [e for e in errors if e is not None and not isinstance(e, Cancelled)]
    if failures:
        raise failures[0]
    return results


class _Worker:
    """A daemon thread that runs submitted calls one after another and never exits; idle, it
    blocks in a queue (no Python or torch code runs), which is safe at interpreter exit."""

    def __init__(self, name: str):
        self._tasks: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        while True:
            call, done = self._tasks.get()
            try:
                call()
            finally:
                done.set()

    def submit(self, call: Callable[[], None]) -> threading.Event:
        """Queue ``call`` (which must not raise); the returned event is set when it has run."""
        done = threading.Event()
        self._tasks.put((call, done))
        return done


_idle: list[_Worker] = []
_pool_lock = threading.Lock()
_started = 0


def _take_workers(n: int) -> list[_Worker]:
    """``n`` idle workers, starting new ones when too few are idle."""
    global _started
    with _pool_lock:
        taken = [_idle.pop() for _ in range(min(n, len(_idle)))]
        while len(taken) < n:
            taken.append(_Worker(f"cell-part-{_started}"))
            _started += 1
    return taken


def _give_back(workers: Sequence[_Worker]) -> None:
    with _pool_lock:
        _idle.extend(workers)


def _wait_stopped(done: Sequence[threading.Event]) -> None:
    """Wait for stopped jobs to end; a further interrupt shortens each wait to
    :data:`JOIN_GRACE_S` but does not skip it."""
    for finished in done:
        try:
            finished.wait()
        except KeyboardInterrupt:
            finished.wait(JOIN_GRACE_S)
