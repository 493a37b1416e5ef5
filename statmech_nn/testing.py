"""What a test of statmech_nn data needs, in the manner of :mod:`xarray.testing`.

* Assertions: :func:`assert_follows_contract` (a dataset satisfies ``docs/data_model.md``) and
  :func:`assert_same_numbers` (two datasets hold identical values, whatever their provenance
  attributes say -- e.g. a resumed sweep against an uninterrupted one).
* :func:`check_experiment` (from :mod:`statmech_nn.conformance`): run a plugin's experiment on a
  small grid and check the whole contract.
* A toy experiment plugin authors can copy or reuse: :class:`UniformMean` (the sample mean of
  ``N`` uniform(0, 1) draws per grid point; its truth is known: mean 1/2, standard error
  ``1/sqrt(12 N)``) and :class:`ToyPlugin`, which registers it.
* The synthetic sweep with a known exponent map, :func:`synthetic_dataset` /
  :class:`SyntheticTruth` (defined in :mod:`statmech_nn.synthetic`).

Assertions raise ``AssertionError`` (what pytest reports best); the toolkit's own checks raise
:class:`~statmech_nn.errors.DataError`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from .conformance import check_experiment
from .errors import DataError
from .experiment import Experiment
from .hookspecs import hookimpl
from .options import Option, positive
from .schema import set_coord_attrs, validate_dataset
from .synthetic import SyntheticTruth, synthetic_dataset

__all__ = ["assert_follows_contract", "assert_same_numbers", "check_experiment", "cpu_seconds", "crash_after_cells",
           "interruptible", "UniformMean", "ToyPlugin", "SyntheticTruth", "synthetic_dataset"]


def assert_follows_contract(ds: xr.Dataset, required_vars: tuple[str, ...] = ()) -> None:
    """``AssertionError`` (with the contract's one-line reason) unless ``ds`` satisfies the
    dataset contract (:func:`statmech_nn.schema.validate_dataset`)."""
    __tracebackhide__ = True
    try:
        validate_dataset(ds, required_vars)
    except DataError as exc:
        raise AssertionError(str(exc)) from None


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``; ``None`` where it cannot
    be read): a test that interrupts a command once its work runs waits for CPU time, not for a
    wall time that a loaded machine may spend on imports."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interruptible() -> None:
    """``preexec_fn`` of a child process a test interrupts with SIGINT: restores SIGINT's default
    disposition, which a test run started as a background job inherits as *ignored* (and Python
    then installs no KeyboardInterrupt handler, so the child never sees the Ctrl-C)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def crash_after_cells(argv: Sequence[str], cache: str | os.PathLike, *, at_least: int = 1,
                      timeout: float = 120, env: Mapping[str, str] | None = None) -> int:
    """Start the command ``argv`` (a sweep or study writing into ``cache``), SIGKILL its whole
    process group as soon as ``at_least`` cells are finished in the cache (a crash: no chance to
    clean up), and return how many finished cells the cache then holds. Raises AssertionError if
    the command ended by itself first (make its work larger) or nothing finished in ``timeout`` s."""
    cache = Path(cache)

    def finished() -> int:
        return len(list(cache.rglob("*.sha256")))

    proc = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
                            env=None if env is None else dict(env))
    deadline = time.monotonic() + timeout
    while finished() < at_least and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        raise AssertionError("the command finished before it could be interrupted: give it more work")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if finished() < at_least:
        raise AssertionError(f"fewer than {at_least} cells finished within {timeout:g} s")
    return finished()


def assert_same_numbers(a: xr.Dataset, b: xr.Dataset) -> None:
    """Identical variables, coordinates and their attributes; global attributes (dates, history,
    command lines) are ignored. ``AssertionError`` with xarray's report otherwise."""
    __tracebackhide__ = True
    xr.testing.assert_identical(a.drop_attrs(deep=False), b.drop_attrs(deep=False))


class UniformMean(Experiment):
    """Toy experiment: ``loss`` = the mean of ``N`` uniform(0, ``scale``) draws per point.

    Dims ``p_train`` (ignored by the numbers, present to give cells several points), ``N`` and
    ``seed``; one cell per ``(N, seed)`` holding every ``p_train``, so multi-point cells are
    exercised. Deterministic given ``(seed, N)``. ``fail_after`` (class attribute) raises
    ``KeyboardInterrupt`` after that many cells, to simulate Ctrl-C in the middle of a sweep;
    ``calls`` counts the cells computed.
    """

    name = "toy_uniform_mean"
    version = "1"
    dims = ("p_train", "N", "seed")
    options_spec = {"sampling": (Option("scale", 1.0, "multiplies every draw", (float,), check=positive,
                                        accepted="a number > 0"),)}
    default_grid = {"p_train": [0.0], "N": [10], "seed": [0]}
    fail_after: int | None = None
    calls = 0

    def plan(self, grid):
        return [{"p_train": grid["p_train"], "N": (n,), "seed": (s,)} for n in grid["N"] for s in grid["seed"]]

    def run_cell(self, cell, progress=None):
        type(self).calls += 1
        if self.fail_after is not None and type(self).calls > self.fail_after:
            raise KeyboardInterrupt
        (n,), (seed,) = cell["N"], cell["seed"]
        rng = np.random.default_rng([seed, n])
        means = [self.options["sampling"]["scale"] * rng.random(n).mean() for _ in cell["p_train"]]
        return set_coord_attrs(xr.Dataset(  # set_coord_attrs: CF attributes of the canonical dims
            {"loss": (("p_train", "N", "seed"), np.array(means).reshape(-1, 1, 1),
                      {"long_name": "sample mean", "units": "1"})},
            coords={"p_train": list(cell["p_train"]), "N": [n], "seed": [seed]},
        ))


class ToyPlugin:
    """A plugin object registering :class:`UniformMean` (``registry.register_plugin(ToyPlugin(), "toy")``)."""

    @hookimpl
    def register_experiments(self):
        return [UniformMean]
