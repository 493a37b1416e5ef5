"""Independent CPU-bound calls in spawned worker processes: :func:`starmap_in_processes`.

Why: an FSS posterior is numpy code on one thread, and the fits of a comparison (each form
without and with its correction) or the replicas of a calibration are independent, so on ``k``
cores ``k`` of them run at once. Contract:

* ``starmap_in_processes(f, calls, processes)`` returns ``[f(*args) for args in calls]``, in
  order; the calls must not depend on which process runs them (each carries its own seed), so
  the numbers do not depend on ``processes``;
* a warning raised in a worker is raised again in the caller (same category and message), so
  ``warnings.catch_warnings`` around the call sees it as if the call had run here;
* an exception in a worker is raised again in the caller, and the other workers are stopped;
* Ctrl-C: the workers ignore SIGINT (a terminal sends it to every process of the foreground
  group: no traceback from them); the caller's ``KeyboardInterrupt`` terminates them;
* one thread each: the workers start with ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
  ``MKL_NUM_THREADS`` = 1 unless the caller's environment sets them (``k`` processes on ``k``
  cores, each with a BLAS pool of ``k`` threads, would oversubscribe the cores);
* spawned, not forked (a forked child of a process that runs OpenMP or BLAS threads may hang):
  ``f`` and the arguments must be picklable -- importable functions and classes -- and a script
  that calls this needs Python's ``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from .errors import ConfigError

T = TypeVar("T")

#: thread-pool sizes a worker starts with (where the caller's environment does not set them)
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def available_cores() -> int:
    """The CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def resolve_processes(processes: int | None, n_calls: int) -> int:
    """How many processes ``n_calls`` calls get: ``processes`` (``None`` or 0: one per available
    core), at most one per call. A negative number is a :class:`ConfigError`."""
    if processes is not None and (not isinstance(processes, int) or processes < 0):
        raise ConfigError(f"processes = {processes!r}: expected an integer >= 1, or 0 for one per core")
    wanted = available_cores() if not processes else processes
    return max(1, min(wanted, n_calls))


@contextmanager
def _defaults_in_environment(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` where it lacks them, for the block (processes spawned in
    it inherit them)."""
    added = [k for k in values if k not in os.environ]
    os.environ.update({k: values[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _call_recording_warnings(function: Callable[..., T], args: tuple) -> tuple[T, list[tuple[type, str]]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(*args)
    return result, [(w.category, str(w.message)) for w in caught]


def starmap_in_processes(function: Callable[..., T], calls: Sequence[tuple], processes: int | None = None) -> list[T]:
    """``[function(*args) for args in calls]`` in up to ``processes`` spawned processes (see the
    module docstring; ``processes`` as in :func:`resolve_processes`; 1 runs here, in order)."""
    n = resolve_processes(processes, len(calls))
    if n == 1:
        return [function(*args) for args in calls]
    context = multiprocessing.get_context("spawn")
    with _defaults_in_environment(ONE_THREAD), context.Pool(n, initializer=_ignore_sigint) as pool:
        # leaving the block terminates the workers (also on an error or Ctrl-C here)
        outcomes: list[Any] = pool.starmap(_call_recording_warnings, [(function, args) for args in calls],
                                           chunksize=1)
    for _, caught in outcomes:
        for category, message in caught:
            warnings.warn(message, category, stacklevel=2)
    return [result for result, _ in outcomes]
