"""statmech_nn.processes: calls in spawned worker processes behave as the same calls made here."""

import warnings

import pytest

from statmech_nn.errors import ConfigError
from statmech_nn.processes import resolve_processes, starmap_in_processes


def test_results_come_back_in_order_as_the_serial_calls_give_them():
    # truth: divmod is a pure function; 2 processes must return exactly the serial list, in order
    calls = [(n, 7) for n in range(20)]
    assert starmap_in_processes(divmod, calls, 2) == [divmod(*c) for c in calls]


def test_a_worker_warning_is_raised_again_here():
    # truth: warnings.warn in a worker reaches a catch_warnings here, with its category and message
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        starmap_in_processes(warnings.warn, [("from a worker", UserWarning), ("and another", RuntimeWarning)], 2)
    assert sorted(((str(w.message), w.category) for w in caught), key=str) == [
        ("and another", RuntimeWarning), ("from a worker", UserWarning)]


def test_a_worker_error_is_raised_again_here():
    with pytest.raises(ZeroDivisionError):
        starmap_in_processes(divmod, [(1, 1), (1, 0)], 2)


def test_process_counts():
    assert resolve_processes(3, 2) == 2          # at most one per call
    assert resolve_processes(0, 100) >= 1        # one per core
    assert resolve_processes(None, 1) == 1
    with pytest.raises(ConfigError, match="processes = -1"):
        resolve_processes(-1, 4)


def test_workers_start_with_one_thread_each_unless_told_otherwise(monkeypatch):
    # truth: k workers on k cores must not each start a k-thread BLAS pool; a value the caller's
    # environment sets is kept, and the caller's environment is left as it was
    import os

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    seen = starmap_in_processes(os.getenv, [("OPENBLAS_NUM_THREADS",), ("MKL_NUM_THREADS",)], 2)
    assert seen == ["1", "3"]
    assert "OPENBLAS_NUM_THREADS" not in os.environ
