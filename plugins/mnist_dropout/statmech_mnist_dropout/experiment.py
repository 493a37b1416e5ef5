"""``mnist_dropout``: FCNNs trained on MNIST with dropout ``p_train``, tested with ``p_eval``.

Network ``784 -> depth x width -> 10``; dropout on every hidden layer, rate ``p_train`` while
training and, independently, ``p_eval`` on the 10,000 test images. Every protocol choice and
its reason is in ``docs/mnist_dropout.md``. This module imports no torch: the work happens in
:mod:`.cell`, imported by :meth:`MnistDropoutExperiment.run_cell`.

Budget: ``steps(N) = max(min_steps, ceil(epochs * N / batch_size))`` in ``epochs`` mode,
``steps`` in ``steps`` mode. A cell holds the networks of one ``(width, depth)`` whose ``N``
train for the same number of steps (all ``N`` in steps mode), every ``p_train`` and seed,
and every ``p_eval`` of the grid; cells are cut to at most ``max_networks`` networks on the CPU,
and on a GPU to as many as the memory budget ``gpu_memory_gb`` holds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr

from statmech_nn.errors import ConfigError
from statmech_nn.experiment import Cell, Experiment, ProgressCallback
from statmech_nn.memory import available_memory
from statmech_nn.options import Option, non_negative, positive
from statmech_nn.schema import check_canonical_coordinate, set_coord_attrs

from .flops import evaluation_work, training_work
from .memory import check_cell_fits, networks_in_budget
from .spec import N_TRAIN, CellResult, CellSpec, EvalConfig, MnistTensors, OptimizerConfig


MODEL = (
    Option("activation", "relu", "hidden-layer nonlinearity", (str,), choices=("relu", "tanh")),
    Option("init", "torch", "'torch': nn.Linear default U(+-1/sqrt(fan_in)); 'he': N(0, 2/fan_in), zero bias",
           (str,), choices=("torch", "he")),
)
TRAINING = (
    Option("optimizer", "adam", "optimiser", (str,), choices=("adam", "sgd")),
    Option("lr", 1e-3, "learning rate", (float,), check=positive, accepted="a number > 0"),
    Option("momentum", 0.9, "SGD momentum (sgd only)", (float,), check=lambda v: 0 <= v < 1,
           accepted="a number in [0, 1)"),
    Option("batch_size", 64, "minibatch size", (int,), check=positive, accepted="an integer > 0"),
    Option("budget", "epochs", "'epochs': steps = max(min_steps, ceil(epochs*N/batch_size)); 'steps': fixed steps",
           (str,), choices=("epochs", "steps")),
    Option("epochs", 10.0, "passes over the N training samples (epochs budget)", (float,), check=positive,
           accepted="a number > 0"),
    Option("min_steps", 1000, "least number of optimiser steps (epochs budget)", (int,), check=non_negative,
           accepted="an integer >= 0"),
    Option("steps", 2000, "optimiser steps of every network (steps budget)", (int,), check=positive,
           accepted="an integer > 0"),
    Option("max_networks", 64, "most networks trained together in one cell (CPU; on a GPU the memory budget "
           "decides, see gpu_memory_gb)", (int,), check=positive, accepted="an integer > 0"),
    Option("gpu_memory_gb", 0.0, "GPU only: memory one ensemble may use, in GiB; the networks of one shape and "
           "step count are planned into cells as large as fit (at least max_networks); 0 = automatic, half the "
           "GPU's total memory", (float,), check=non_negative, accepted="a number >= 0"),
)
EVALUATION = (
    Option("protocol", "per_network", "'per_network' (pruning: one mask per realisation, shared by all "
           "test images) or 'per_sample' (nn.Dropout: one mask per image)", (str,),
           choices=("per_network", "per_sample")),
    Option("n_masks", 20, "mask realisations averaged per network and p_eval", (int,),
           check=lambda v: v >= 2, accepted="an integer >= 2"),
    Option("rescale", True, "scale kept units by 1/(1-p_eval) (inverted dropout)", (bool,)),
)
DATA = (
    Option("balanced", True, "class-balanced nested subsets (else uniformly random)", (bool,)),
)

_LOSS = "test cross-entropy in nats"


class MnistDropoutExperiment(Experiment):
    """The reference experiment (see the module docstring)."""

    name = "mnist_dropout"
    #: 2: dropout masks from Philox-4x32-10 (masks.py) instead of per-network mt19937;
    #: 3: the optimiser steps one flat, line-aligned parameter buffer (ensemble.FLAT_ALIGNMENT)
    version = "3"
    dims = ("p_train", "p_eval", "N", "width", "depth", "seed")
    options_spec = {"model": MODEL, "training": TRAINING, "evaluation": EVALUATION, "data": DATA}
    default_grid = {
        "p_train": (0.0, 0.5),
        "p_eval": (0.0, 0.5, 0.9),
        "N": (256, 1024, 4096, 16384, 60000),
        "width": (128,),
        "depth": (2,),
        "seed": (0, 1),
    }
    devices = ("cpu", "cuda")
    variables = ("loss", "loss_std", "accuracy", "accuracy_std", "train_loss")

    def __init__(self, options: Mapping[str, Any] | None = None, *, device: str = "cpu"):
        super().__init__(options, device=device)
        self._data = None

    @classmethod
    def check_device(cls, device: str) -> None:
        """A known device name, and for ``cuda`` a GPU that torch sees (checked before any work)."""
        super().check_device(device)
        if device == "cuda":
            _require_cuda()

    # -- grid ---------------------------------------------------------------------------
    @classmethod
    def check_coordinate(cls, dim: str, value: Any) -> Any:
        """The canonical checks, and ``N`` at most the 60,000 training images."""
        return check_canonical_coordinate(dim, value, maximum=N_TRAIN if dim == "N" else None)

    def steps_for(self, n: int) -> int:
        """Optimiser steps of a network trained on ``n`` samples."""
        t = self.options["training"]
        if t["budget"] == "steps":
            return t["steps"]
        return max(t["min_steps"], math.ceil(t["epochs"] * n / t["batch_size"]))

    def plan(self, grid: Mapping[str, tuple]) -> list[Cell]:
        """Cells per (width, depth) and equal step count, cut to :meth:`ensemble_limit` networks
        (``max_networks`` on the CPU; on a GPU as many as its memory budget holds, so that the
        networks of what would be several cells train as one ensemble).

        A cell keeps every ``p_train`` when they fit, then as many seeds as fit, then as many
        ``N`` as fit.
        """
        return self.plan_with_limit(grid, self.ensemble_limit(grid))

    def ensemble_limit(self, grid: Mapping[str, tuple]) -> int:
        """Most networks in one cell: ``max_networks`` on the CPU; on a GPU as many as the
        memory budget holds (:func:`networks_in_budget`, for the grid's most demanding shape
        and step count), and at least ``max_networks``."""
        t = self.options["training"]
        if self.device != "cuda":
            return t["max_networks"]
        import torch

        budget = t["gpu_memory_gb"] * 2**30 or torch.cuda.get_device_properties(0).total_memory / 2
        fits = min(networks_in_budget(budget, w, d, t["batch_size"], self.steps_for(max(grid["N"])),
                                      len(grid["p_train"]), self.options["evaluation"]["protocol"])
                   for w in grid["width"] for d in grid["depth"])
        return max(t["max_networks"], fits)

    def plan_with_limit(self, grid: Mapping[str, tuple], limit: int) -> list[Cell]:
        """:meth:`plan` with at most ``limit`` networks per cell."""
        by_steps: dict[int, list[int]] = {}
        for n in grid["N"]:
            by_steps.setdefault(self.steps_for(n), []).append(n)
        p_chunks = _chunks(grid["p_train"], limit)
        per_p = len(p_chunks[0])
        s_chunks = _chunks(grid["seed"], max(1, limit // per_p))
        per_ps = per_p * len(s_chunks[0])
        cells = []
        for width, depth in itertools.product(grid["width"], grid["depth"]):
            for sizes in by_steps.values():
                for p, s, n in itertools.product(p_chunks, s_chunks, _chunks(tuple(sizes), max(1, limit // per_ps))):
                    cells.append({"p_train": p, "p_eval": tuple(grid["p_eval"]), "N": n,
                                  "width": (width,), "depth": (depth,), "seed": s})
        return cells

    def cell_cost(self, cell: Cell) -> int:
        """Work of the cell in network training steps, its evaluation included
        (:mod:`.flops`): a small-N cell is mostly evaluation."""
        spec = self.cell_spec(cell)
        return training_work(spec) + evaluation_work(spec)

    # -- identity -----------------------------------------------------------------------
    def training_identity(self) -> dict[str, Any]:
        """Everything besides a network's coordinates that its trained weights depend on (the
        key of :mod:`.weights`): not the evaluation options, nor ``max_networks``."""
        training = {k: v for k, v in self.options["training"].items() if k not in ("max_networks", "gpu_memory_gb")}
        return {"experiment": self.name, "version": self.version, "device": self.device,
                "model": self.options["model"], "training": training, "data": self.options["data"]}

    def provenance(self) -> dict[str, Any]:
        import torch

        return {"torch_version": torch.__version__, "device": self.device,
                "torch_num_threads": torch.get_num_threads(),
                "n_masks": self.options["evaluation"]["n_masks"],
                "eval_protocol": self.options["evaluation"]["protocol"]}

    # -- benchmark ----------------------------------------------------------------------
    def benchmark(self, quick: bool = False, log: Callable[[str], Any] = print,
                  networks: tuple[int, ...] = (64,)) -> dict[str, Any]:
        """``statmech-nn bench``: naive vs batched training and evaluation on the default
        configuration (:mod:`.bench`), for cells of ``networks`` networks (the first also for
        evaluation, mask draws and memory); logs the report, returns the numbers (JSON-safe).
        ``quick``: 20 instead of 200 steps per network, 2 evaluation masks, 2 repetitions, no
        peak-memory subprocess."""
        from .bench import format_report, run_benchmark

        if not networks or any(int(n) < 1 for n in networks):
            raise ConfigError(f"networks = {networks}: expected network counts >= 1, e.g. 64,256,1024")
        specs = [replace(self.cell_spec(self.benchmark_cell(int(n))), steps=20 if quick else 200) for n in networks]
        if quick:
            specs = [replace(s, evaluation=replace(s.evaluation, n_masks=2)) for s in specs]
        result = run_benchmark(specs[0], device=self.device, memory=not quick, scaling_specs=specs[1:],
                               repeats=2 if quick else 3)
        log(format_report(result))
        return result

    def benchmark_cell(self, n_networks: int) -> Cell:
        """The benchmark's cell: the default shape at N = 60,000, ``p_train`` 0, 0.1, ..., 0.7
        (fewer when ``n_networks < 8``) x ``n_networks / 8`` seeds, ``p_eval`` 0.5."""
        per_group = min(8, n_networks)
        return {"p_train": tuple(round(0.1 * j, 1) for j in range(per_group)), "p_eval": (0.5,),
                "N": (N_TRAIN,), "width": self.default_grid["width"][:1], "depth": self.default_grid["depth"][:1],
                "seed": tuple(range(max(1, n_networks // per_group)))}

    # -- work ---------------------------------------------------------------------------
    def cell_spec(self, cell: Cell) -> CellSpec:
        """The :class:`~.spec.CellSpec` of ``cell`` (all its ``N`` share one step count)."""
        steps = {self.steps_for(n) for n in cell["N"]}
        if len(steps) != 1:
            raise ConfigError(f"cell N = {cell['N']} mixes step counts {sorted(steps)}: plan() keeps them apart")
        m, t, e = self.options["model"], self.options["training"], self.options["evaluation"]
        return CellSpec(
            p_train=tuple(cell["p_train"]), seeds=tuple(cell["seed"]), sizes=tuple(cell["N"]),
            width=cell["width"][0], depth=cell["depth"][0], steps=steps.pop(),
            batch_size=t["batch_size"], p_eval=tuple(cell["p_eval"]),
            activation=m["activation"], init=m["init"], balanced=self.options["data"]["balanced"],
            optimizer=OptimizerConfig(name=t["optimizer"], lr=t["lr"], momentum=t["momentum"]),
            evaluation=EvalConfig(protocol=e["protocol"], n_masks=e["n_masks"], rescale=e["rescale"]),
        )

    def data(self):
        """MNIST resident on :attr:`device` (loaded, and fetched if needed, on first use)."""
        if self._data is None:
            from .mnist import load_mnist

            self._data = MnistTensors.from_arrays(load_mnist(), self.device)
        return self._data

    def run_cell(self, cell: Cell, progress: ProgressCallback = None) -> xr.Dataset:
        """Train and evaluate ``cell``; on the CPU first check that it fits in the memory
        available (:func:`.memory.check_cell_fits`; a GPU raises its own out-of-memory error)."""
        from .cell import run, split_spec
        from .parallel import default_workers
        from .weights import TrainedNetworks

        if len(cell["width"]) != 1 or len(cell["depth"]) != 1:
            raise ConfigError("a cell holds one width and one depth: use plan() to split the grid")
        spec = self.cell_spec(cell)
        if self.device == "cpu":
            check_cell_fits(spec, len(split_spec(spec, default_workers(self.device))), available_memory())
        trained = None if self.artifacts is None else TrainedNetworks(self.artifacts, self.training_identity())
        return cell_dataset(cell, run(spec, self.data(), self.device, progress, trained=trained),
                            spec.evaluation.n_masks)


def cell_dataset(cell: Cell, result: CellResult, n_masks: int) -> xr.Dataset:
    """The dataset contract (docs/data_model.md) from a :class:`~.spec.CellResult`.

    Result arrays are ``(seed, N, p_train, p_eval, mask)``; the spread is the sample standard
    deviation over masks (``ddof=1``); exactly 0 at ``p_eval = 0``, where evaluation is
    deterministic.
    """
    order = (2, 3, 1, 0)  # (S, nN, P, pe) -> (P, pe, nN, S)

    def per_mask(stat, values):
        return stat(values, axis=-1).transpose(order)[:, :, :, None, None, :]

    dims = ("p_train", "p_eval", "N", "width", "depth", "seed")
    spread_attrs = {"n_masks": n_masks, "ddof": 1}
    ds = xr.Dataset(
        {
            "loss": (dims, per_mask(np.mean, result.loss),
                     {"long_name": f"{_LOSS}, mean over evaluation masks", "units": "1", "n_masks": n_masks}),
            "loss_std": (dims, per_mask(_spread, result.loss),
                         {"long_name": f"standard deviation over evaluation masks of the {_LOSS}",
                          "units": "1", **spread_attrs}),
            "accuracy": (dims, per_mask(np.mean, result.accuracy),
                         {"long_name": "test accuracy, mean over evaluation masks", "units": "1",
                          "n_masks": n_masks}),
            "accuracy_std": (dims, per_mask(_spread, result.accuracy),
                             {"long_name": "standard deviation over evaluation masks of the test accuracy",
                              "units": "1", **spread_attrs}),
            "train_loss": (("p_train", "N", "width", "depth", "seed"),
                           result.train_loss.transpose(2, 1, 0)[:, :, None, None, :],
                           {"long_name": "final training cross-entropy in nats on the network's own "
                                         "N training samples, dropout off", "units": "1"}),
        },
        coords={d: list(cell[d]) for d in dims},
    )
    return set_coord_attrs(ds)


def _require_cuda() -> None:
    """A one-line :class:`ConfigError` unless torch sees a CUDA GPU (checked before any work)."""
    import torch

    if not torch.cuda.is_available():
        build = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(f"device 'cuda': no CUDA GPU is available here (torch {torch.__version__}, "
                          f"{build}): expected cpu")


def _spread(values: np.ndarray, axis: int) -> np.ndarray:
    """Sample standard deviation (ddof=1) along ``axis``, computed from deviations from the first
    realisation so that identical realisations give exactly 0."""
    shifted = values - np.take(values, [0], axis=axis)
    return np.std(shifted, axis=axis, ddof=1)


def _chunks(values: tuple, size: int) -> list[tuple]:
    return [tuple(values[i:i + size]) for i in range(0, len(values), size)]
