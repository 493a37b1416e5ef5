"""A comparison's fits in worker processes: the same numbers as in one process, Ctrl-C stops
the workers with the command's one line, and SIGUSR1 shows where a running command is."""

import os
import signal
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager, suppress

import numpy as np

from statmech_nn.analysis.fss import collapse_dataset, compare_forms
from statmech_nn.testing import cpu_seconds, interruptible

QUICK = dict(n_tau=10, n_walkers=16, max_steps=1000, seed=4)


def test_comparison_in_two_processes_gives_the_numbers_of_one():
    # truth: every fit carries its own seed, so where it runs cannot change a single draw
    ds = collapse_dataset("second_order", {"p_c": 0.5, "nu": 1.0}, sizes=(8, 16, 32), n_control=8, jitter=1.0, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one, two = (compare_forms(ds, "y", err="y_err", size_dim="L", control_dim="p", variants=False, processes=n,
                                  **QUICK) for n in (1, 2))
    assert (one.preferred, one.delta, one.delta_se) == (two.preferred, two.delta, two.delta_se)
    for name in one.results:
        np.testing.assert_array_equal(one.results[name]["p_c"].values, two.results[name]["p_c"].values)
    assert one.warnings == two.warnings   # the < 4 sizes warning, raised here both times


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


@contextmanager
def endless_comparison(tmp_path):
    """``statmech-nn analyze fss --compare`` of a never-ending length in its own process group,
    yielded once its two workers have spent 6 s of CPU between them (a fixed wall time could
    land during the imports on a loaded machine) as ``(process, workers, output path)``; the
    group is killed at the end whatever happened, so that a failure never leaves busy workers
    to the rest of the suite."""
    ds = collapse_dataset("bkt", {"p_c": 0.5, "sigma": 0.6, "L0": 1.0}, sizes=(8, 16, 32, 64), n_control=10,
                          jitter=1.0, seed=3)
    data, out = tmp_path / "bkt.nc", tmp_path / "never.nc"
    ds.to_netcdf(data)
    proc = subprocess.Popen([sys.executable, "-c", "from statmech_nn.cli import entry; entry()", "analyze", "fss",
                             str(data), "--var", "y", "--err", "y_err", "--size", "L", "--control", "p", "--compare",
                             "second_order,bkt", "--processes", "2", "--n-tau", "10000", "--max-steps", "1000000",
                             "-o", str(out)], stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=interruptible)
    try:
        start, workers = time.monotonic(), []
        while proc.poll() is None and time.monotonic() - start < 180:
            workers = _children(proc.pid) or workers
            if len(workers) >= 2 and sum(cpu_seconds(w) or 0.0 for w in workers) >= 6:
                break
            time.sleep(0.5)
        assert len(workers) >= 2, "the comparison never started its worker processes"
        yield proc, workers, out
    finally:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def test_ctrl_c_during_a_comparison_in_processes_stops_every_worker(tmp_path):
    # truth: a terminal's Ctrl-C goes to the whole foreground process group; the command must
    # end with 130 and its one line (no worker traceback), write nothing, and leave no worker
    with endless_comparison(tmp_path) as (proc, workers, out):
        os.killpg(proc.pid, signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:  # stuck: its threads' stacks (cli.entry's SIGUSR1) say where
            os.kill(proc.pid, signal.SIGUSR1)
            time.sleep(2)
            os.killpg(proc.pid, signal.SIGKILL)
            _, err = proc.communicate()
            raise AssertionError(f"the command did not end within 60 s of Ctrl-C; its threads:\n{err[-6000:]}") from None
        assert proc.returncode == 130, err
        assert err.strip().splitlines() == [err.strip().splitlines()[-1]] and "nothing was written" in err, err
        assert not out.exists()
        deadline = time.monotonic() + 10
        while any(os.path.exists(f"/proc/{w}") for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(os.path.exists(f"/proc/{w}") for w in workers), "a worker outlived the command"


def test_sigusr1_prints_every_thread_of_a_running_command_and_it_goes_on(tmp_path):
    # truth: faulthandler's dump format ("Thread 0x... (most recent call first):", one block per
    # thread, the pool's handler threads among them); the command must keep running after it.
    with endless_comparison(tmp_path) as (proc, _, _):
        os.kill(proc.pid, signal.SIGUSR1)
        time.sleep(2)
        assert proc.poll() is None
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    assert err.count("(most recent call first):") >= 2 and "starmap_in_processes" in err, err[-3000:]
    assert proc.returncode == 130
