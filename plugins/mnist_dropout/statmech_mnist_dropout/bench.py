"""``statmech-nn bench``: the naive way and the batched trainer, side by side, same budget.

Called by the CLI through :meth:`.experiment.MnistDropoutExperiment.benchmark`.

Configuration: the experiment's own defaults (width, depth, batch size, optimiser, learning
rate: :class:`~.experiment.MnistDropoutExperiment`), real MNIST, ``N = 60,000``.

* naive: one model at a time, ``nn.Sequential(Linear, ReLU, Dropout, ..., Linear)`` +
  ``DataLoader(TensorDataset, shuffle=True)`` + ``torch.optim.Adam``; ``steps`` optimiser
  steps per network.
* batched: one cell of ``n_networks`` networks (``p_train`` values x seeds) trained as the
  experiment trains it (:func:`.cell.run`: one part per core, side by side; set-up not
  timed), ``steps`` optimiser steps per network; also timed as one
  ensemble on all threads (``workers=1``), to show what the split buys.

Training throughput is network-samples per second. FLOPs per network-sample are counted
analytically over the matrix products (:func:`.flops.flops_per_sample`: ``6M - 1568 w`` with
``M = 784 w + (depth-1) w^2 + 10 w`` multiply-adds per sample). The peak is the best fp32
``torch.mm`` rate of two ``n x n`` matrices measured in the same process, once per repetition,
just before that repetition's naive and batched runs: the fraction of peak is the median over
repetitions of ``batched rate / that peak`` (a VM's clock and its neighbours move the peak too:
single measurements of it ranged over 181-307 GFLOP/s on the 2-core development machine within
five minutes). Evaluation throughput is
network-test-image evaluations per second at ``p_eval = 0.5``: naive = each network in train mode (``nn.Dropout``, per-sample masks) over a
``DataLoader`` of the test set; batched = :func:`.evaluate.evaluate` on the trained parts side
by side, with either protocol. Both ways get an untimed warm-up of a few steps first. Peak
memory (the process's own peak RSS, ``VmHWM``) is measured in a fresh subprocess that trains and evaluates a 64-network
cell at ``N = 60,000``.
"""

from __future__ import annotations

import pickle
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .cell import network_keys, prepare_part, split_spec
from .evaluate import evaluate
from .flops import flops_per_sample
from .mnist import load_mnist
from .parallel import default_workers, run_side_by_side
from .spec import N_CLASSES, N_IN, CellSpec, MnistTensors
from .train import PIXEL_SCALE, MaskSampler, train

MEMORY_LIMIT_MB = 4096
WARM_UP_STEPS = 10
#: Relative spread ``(max - min) / median`` of repetitions above which the report warns.
SPREAD_WARNING = 0.25


def sync_device(device: str) -> None:
    """Wait for the device's queued work (a no-op on the CPU), so that a timer reads its end."""
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def measure_peak(device: str, n: int = 2048, repeats: int = 5) -> float:
    """Best fp32 ``torch.mm`` rate (FLOP/s) of ``n x n`` matrices over ``repeats`` timings."""
    gen = torch.Generator(device=device).manual_seed(0)
    a = torch.rand(n, n, generator=gen, device=device)
    b = torch.rand(n, n, generator=gen, device=device)
    c = torch.empty(n, n, device=device)
    torch.mm(a, b, out=c)
    best = float("inf")
    for _ in range(repeats):
        sync_device(device)
        start = time.perf_counter()
        torch.mm(a, b, out=c)
        sync_device(device)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def naive_model(width: int, depth: int, p: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    fan_in = N_IN
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width), nn.ReLU(), nn.Dropout(p)]
        fan_in = width
    return nn.Sequential(*layers, nn.Linear(fan_in, N_CLASSES))


def naive_train(spec: CellSpec, x: torch.Tensor, y: torch.Tensor, n_networks: int, device: str) -> tuple[float, list[nn.Module]]:
    """Seconds to train ``n_networks`` models one at a time for ``spec.steps`` steps each."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=spec.batch_size,
                                         shuffle=True, generator=torch.Generator().manual_seed(0))
    models, elapsed = [], 0.0
    for j in range(n_networks):
        torch.manual_seed(j)
        model = naive_model(spec.width, spec.depth, spec.p_train[j % len(spec.p_train)]).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=spec.optimizer.lr)
        loss_fn = nn.CrossEntropyLoss()
        sync_device(device)
        start = time.perf_counter()
        done = 0
        while done < spec.steps:
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
                done += 1
                if done == spec.steps:
                    break
        sync_device(device)
        elapsed += time.perf_counter() - start
        models.append(model)
    return elapsed, models


def naive_evaluate(models: list[nn.Module], x: torch.Tensor, y: torch.Tensor, n_masks: int, p_eval: float,
                   device: str) -> float:
    """Seconds to evaluate every model ``n_masks`` times in train mode (per-sample dropout ``p_eval``)."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=1000)
    for model in models:
        for module in model:
            if isinstance(module, nn.Dropout):
                module.p = p_eval
        model.train()
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    sync_device(device)
    start = time.perf_counter()
    with torch.no_grad():
        for model in models:
            for _ in range(n_masks):
                total = 0.0
                for xb, yb in loader:
                    total += float(loss_fn(model(xb.to(device)), yb.to(device)))
    sync_device(device)
    return time.perf_counter() - start


def batched_train(spec: CellSpec, data: MnistTensors, device: str, workers: int | None = None):
    """Seconds to train the cell as :func:`.cell.run` does (``workers`` parts side by side,
    default :func:`.parallel.default_workers`; set-up excluded) and the trained
    ``(part spec, ensemble)`` pairs."""
    workers = default_workers(device) if workers is None else workers
    parts = split_spec(spec, workers)
    prepared = [prepare_part(part, data, device) for part in parts]

    def job(part: CellSpec, ens, schedule, masks, stop):
        train(ens, data.train_images, data.train_labels, schedule, masks, part.optimizer, stop=stop)
        return ens

    sync_device(device)
    start = time.perf_counter()
    trained = run_side_by_side([partial(job, part, *prep) for part, prep in zip(parts, prepared)], workers)
    sync_device(device)
    return time.perf_counter() - start, list(zip(parts, trained))


def batched_evaluate(trained, data: MnistTensors, protocol: str, device: str) -> float:
    """Seconds to evaluate trained ``(part spec, ensemble)`` pairs side by side with ``protocol``."""
    def job(part: CellSpec, ens, stop):
        config = replace(part.evaluation, protocol=protocol)
        return evaluate(ens, data.test_images, data.test_labels, part.p_eval, config,
                        network_keys("eval_mask", part))

    sync_device(device)
    start = time.perf_counter()
    run_side_by_side([partial(job, part, ens) for part, ens in trained], default_workers(device))
    sync_device(device)
    return time.perf_counter() - start


def peak_memory_mb(spec: CellSpec, device: str, steps: int = 20) -> float:
    """Peak resident memory (MiB) of a fresh process training (``steps`` steps) and evaluating
    the cell ``spec`` (handed over pickled on stdin), by :func:`own_peak_rss_mb`."""
    code = ("import pickle, sys, torch; from statmech_mnist_dropout.bench import memory_probe; "
            f"torch.set_num_threads({torch.get_num_threads()}); memory_probe(pickle.load(sys.stdin.buffer), {device!r})")
    # masks are evaluated one at a time: 2 give the peak
    probe = replace(spec, steps=steps, evaluation=replace(spec.evaluation, n_masks=2))
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(probe), capture_output=True, check=True)
    return float(done.stdout.decode().strip().splitlines()[-1])


def memory_probe(spec: CellSpec, device: str) -> None:
    """Body of :func:`peak_memory_mb`'s subprocess: prints its own peak RSS in MiB."""
    data = MnistTensors.from_arrays(load_mnist(), device)
    _, trained = batched_train(spec, data, device)
    for protocol in ("per_network", "per_sample"):
        batched_evaluate(trained, data, protocol, device)
    print(own_peak_rss_mb())


def own_peak_rss_mb() -> float:
    """This program's peak resident memory in MiB: ``VmHWM`` of ``/proc/self/status`` on Linux.
    Not ``ru_maxrss``: Linux carries the peak of the process that ``exec``'d into it (a
    ``fork`` of the parent, as large as the parent) into ``ru_maxrss``, so a probe started from
    a 3 GB test process reported 3 GB whatever it did. Elsewhere ``ru_maxrss`` (KiB on Linux and
    the BSDs, bytes on macOS)."""
    status = Path("/proc/self/status")
    if status.exists():
        return int(status.read_text().split("VmHWM:")[1].split()[0]) / 1024.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024.0


class Mt19937Masks:
    """The dropout draws that :class:`.train.MaskSampler` replaced (experiment version 1), kept
    as the baseline of :func:`mask_draw_seconds`: one mt19937 ``torch.Generator`` per network,
    ``uniform_`` layer by layer and network by network, then one threshold pass."""

    def __init__(self, spec: CellSpec, device: str):
        rates = [p for _, _, p in spec.networks()]
        n = len(rates)
        self.uniforms = torch.zeros(spec.depth, n, spec.width, spec.batch_size, device=device)
        self.keeps = torch.empty_like(self.uniforms)
        self.threshold = torch.tensor(rates, device=device).view(n, 1, 1)
        self.scale = torch.tensor([1.0 / (1.0 - p) for p in rates], device=device).view(n, 1, 1)
        gens = [torch.Generator(device=device).manual_seed(k) for k in network_keys("train_mask", spec)]
        self.draws = [(gens[e], u[e]) for u in self.uniforms for e, p in enumerate(rates) if p > 0]

    def draw(self, step: int) -> None:
        for generator, u in self.draws:
            u.uniform_(0.0, 1.0, generator=generator)
        torch.ge(self.uniforms, self.threshold, out=self.keeps).mul_(self.scale)


def mask_draw_seconds(spec: CellSpec, device: str, steps: int, repeats: int) -> dict:
    """Seconds for ``steps`` steps' training masks of the cell ``spec``, drawn as the trainer
    draws them (its parts side by side, :func:`.parallel.default_workers`), by the Philox
    sampler (its default backend, :func:`.masks.default_backend`) and by the mt19937 baseline,
    ``repeats`` times each, alternating; off the CPU also by the eager tensor ops
    (``philox_tensor_ops``), the fallback of the compiled kernel."""
    workers = default_workers(device)
    parts = split_spec(spec, workers)

    def philox(backend: str | None) -> list[MaskSampler]:
        return [MaskSampler([p for *_, p in part.networks()], network_keys("train_mask", part), part.depth,
                            part.width, part.batch_size, device, backend=backend) for part in parts]

    samplers = {"philox": philox(None), "mt19937": [Mt19937Masks(part, device) for part in parts]}
    if not device.startswith("cpu"):
        samplers["philox_tensor_ops"] = philox("torch")

    def job(sampler, stop):
        for step in range(steps):
            sampler.draw(step)

    times: dict[str, list[float]] = {name: [] for name in samplers}
    for _ in range(repeats + 1):  # the first round is a warm-up (compilation, allocation)
        for name, parts_samplers in samplers.items():
            sync_device(device)
            start = time.perf_counter()
            run_side_by_side([partial(job, sm) for sm in parts_samplers], workers)
            sync_device(device)
            times[name].append(time.perf_counter() - start)
    return {name: t[1:] for name, t in times.items()}


def summary(values: list[float]) -> dict:
    """Median, min, max and relative spread ``(max - min) / median`` of repeated measurements."""
    med = float(np.median(values))
    return {"median": med, "min": float(min(values)), "max": float(max(values)),
            "spread": float((max(values) - min(values)) / med) if med else 0.0, "n": len(values)}


def run_benchmark(spec: CellSpec, device: str = "cpu", n_naive: int = 2, memory: bool = True,
                  threads: int | None = None, scaling_specs: Sequence[CellSpec] = (), repeats: int = 3,
                  spread_warning: float = SPREAD_WARNING) -> dict:
    """Run both ways on the cell ``spec`` (one ``N``, one ``p_eval``; built by the experiment
    from its options); return the measured numbers (JSON-safe).

    Naive and batched training are timed ``repeats`` times each, alternating (a neighbour's
    load then hits both), and reported as medians with their spread; the speedup is the
    median of the paired ratios. ``scaling_specs``: further cells (other network counts, same
    configuration, built by the experiment) for the scaling table. ``threads sets ``torch.set_num_threads`` for the whole process. Every way gets an
    untimed warm-up. A spread above ``spread_warning`` adds a line to ``warnings``.
    """
    if threads is not None:
        torch.set_num_threads(threads)
    steps, eval_masks, (n_train,), (p_eval,) = spec.steps, spec.evaluation.n_masks, spec.sizes, spec.p_eval
    arrays = load_mnist()
    data = MnistTensors.from_arrays(arrays, device)
    x_train = torch.from_numpy(arrays.train_images[:n_train].reshape(n_train, -1).astype(np.float32)
                               * np.float32(PIXEL_SCALE))
    x_test = torch.from_numpy(arrays.test_images.reshape(len(arrays.test_images), -1).astype(np.float32)
                              * np.float32(PIXEL_SCALE))
    y_train, y_test = torch.from_numpy(arrays.train_labels[:n_train]), torch.from_numpy(arrays.test_labels)
    n_test = len(y_test)
    fps = flops_per_sample(spec.width, spec.depth)
    warnings: list[str] = []

    warm_up = replace(spec, steps=WARM_UP_STEPS)  # first calls allocate and load kernels
    naive_train(warm_up, x_train, y_train, 1, device)
    batched_train(warm_up, data, device)

    def scaling_row(cell: CellSpec) -> tuple[dict, list]:
        n_nets = len(cell.networks())
        peaks, naive_rates, batched_rates, trained, models = [], [], [], None, None
        for _ in range(repeats):
            peaks.append(measure_peak(device))
            naive_s, models = naive_train(cell, x_train, y_train, n_naive, device)
            batched_s, trained = batched_train(cell, data, device)
            naive_rates.append(n_naive * steps * cell.batch_size / naive_s)
            batched_rates.append(n_nets * steps * cell.batch_size / batched_s)
        peak, naive, batched = summary(peaks), summary(naive_rates), summary(batched_rates)
        for name, stat in (("peak FLOP/s", peak), ("naive samples/s", naive), ("batched samples/s", batched)):
            if stat["spread"] > spread_warning:
                warnings.append(f"{n_nets} networks: {name} spread {stat['spread']:.0%} over "
                                f"{repeats} repetitions (> {spread_warning:.0%}): the machine is busy, "
                                "compare ratios only")

        def paired(num: list[float], den: list[float], scale: float = 1.0) -> float:
            return float(np.median(scale * np.asarray(num) / np.asarray(den)))

        row = {"n_networks": n_nets, "peak_flops": peak, "naive_samples_per_s": naive, "batched_samples_per_s": batched,
               "fraction_of_peak": paired(batched_rates, peaks, fps),
               "naive_fraction_of_peak": paired(naive_rates, peaks, fps),
               "speedup_vs_naive": paired(batched_rates, naive_rates),
               "speedup_spread": summary(list(np.asarray(batched_rates) / np.asarray(naive_rates)))["spread"]}
        return row, [trained, models]

    first, (trained, models) = scaling_row(spec)
    scaling = [first]
    scaling += [scaling_row(cell)[0] for cell in scaling_specs]
    naive_rate = first["naive_samples_per_s"]["median"]
    batched_rate = first["batched_samples_per_s"]["median"]
    one_ensemble_s, _ = batched_train(spec, data, device, workers=1)
    one_ensemble_rate = len(spec.networks()) * steps * spec.batch_size / one_ensemble_s

    naive_eval_s = naive_evaluate(models, x_test, y_test, eval_masks, p_eval, device)
    naive_eval_rate = n_naive * eval_masks * n_test / naive_eval_s
    eval_rates = {protocol: len(spec.networks()) * eval_masks * n_test
                  / batched_evaluate(trained, data, protocol, device)
                  for protocol in ("per_network", "per_sample")}
    draws = mask_draw_seconds(spec, device, steps, repeats)
    default_protocol = spec.evaluation.protocol
    result = {
        "device": device,
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "config": {"width": spec.width, "depth": spec.depth, "batch_size": spec.batch_size,
                   "optimizer": spec.optimizer.name, "lr": spec.optimizer.lr, "N": n_train,
                   "steps_per_network": steps, "n_networks": len(spec.networks()), "n_naive": n_naive,
                   "eval_masks": eval_masks, "p_eval": p_eval, "repeats": repeats},
        "flops_per_sample": fps,
        "peak_flops": first["peak_flops"]["median"],
        "naive_samples_per_s": naive_rate,
        "batched_samples_per_s": batched_rate,
        "batched_parts": len(trained),
        "batched_one_ensemble_samples_per_s": one_ensemble_rate,
        "speedup_vs_naive": first["speedup_vs_naive"],
        "naive_flops": naive_rate * fps,
        "achieved_flops": batched_rate * fps,
        "naive_fraction_of_peak": first["naive_fraction_of_peak"],
        "fraction_of_peak": first["fraction_of_peak"],
        "scaling": scaling,
        "mask_draw_s": {name: summary(t) for name, t in draws.items()},
        "mask_draw_speedup_vs_mt19937": float(np.median(np.array(draws["mt19937"]) / np.array(draws["philox"]))),
        "eval_naive_samples_per_s": naive_eval_rate,
        "eval_batched_samples_per_s": eval_rates[default_protocol],
        "eval_batched_per_network_samples_per_s": eval_rates["per_network"],
        "eval_batched_per_sample_samples_per_s": eval_rates["per_sample"],
        "eval_speedup_vs_naive": eval_rates[default_protocol] / naive_eval_rate,
        "eval_protocol": default_protocol,
        "warnings": warnings,
    }
    if memory:
        result["peak_rss_mb_64_networks_N60000"] = peak_memory_mb(spec, device)
        result["memory_limit_mb"] = MEMORY_LIMIT_MB
    return result


def format_report(result: dict) -> str:
    """Human-readable lines of a :func:`run_benchmark` result."""
    c = result["config"]
    lines = [
        f"MNIST trainer benchmark on {result['device']} ({result['threads']} threads, torch {result['torch_version']})",
        f"config: width {c['width']}, depth {c['depth']}, batch {c['batch_size']}, {c['optimizer']} lr {c['lr']}, "
        f"N {c['N']}, {c['steps_per_network']} steps per network, medians of {c['repeats']} alternating repetitions",
        f"peak fp32 matmul:   {result['peak_flops'] / 1e9:8.1f} GFLOP/s (median; each fraction of peak below is the "
        "median of per-repetition ratios to that repetition's peak)",
        f"train naive:        {result['naive_samples_per_s']:12,.0f} samples/s  "
        f"({result['naive_flops'] / 1e9:.1f} GFLOP/s, {result['naive_fraction_of_peak']:.2f} of peak)",
        f"train batched ({c['n_networks']}): {result['batched_samples_per_s']:12,.0f} samples/s  "
        f"({result['achieved_flops'] / 1e9:.1f} GFLOP/s, {result['fraction_of_peak']:.2f} of peak)",
        f"  as one ensemble:  {result['batched_one_ensemble_samples_per_s']:12,.0f} samples/s  "
        f"(parts side by side: {result['batched_parts']}, "
        f"{result['batched_samples_per_s'] / result['batched_one_ensemble_samples_per_s']:.2f}x that)",
        f"train speedup:      {result['speedup_vs_naive']:8.2f}x",
        "scaling:  networks   naive samples/s (spread)   batched samples/s (spread)   frac. of peak   speedup",
    ]
    for row in result["scaling"]:
        nv, bt = row["naive_samples_per_s"], row["batched_samples_per_s"]
        lines.append(f"          {row['n_networks']:8d}   {nv['median']:12,.0f} ({nv['spread']:4.0%})   "
                     f"{bt['median']:14,.0f} ({bt['spread']:4.0%})   {row['fraction_of_peak']:13.3f}   "
                     f"{row['speedup_vs_naive']:7.1f}x")
    draws = result["mask_draw_s"]
    lines += [
        f"mask draws, {c['steps_per_network']} steps: philox {draws['philox']['median']:.3f} s, "
        f"mt19937 {draws['mt19937']['median']:.3f} s ({result['mask_draw_speedup_vs_mt19937']:.1f}x faster)"
        + (f", eager tensor ops {draws['philox_tensor_ops']['median']:.3f} s" if "philox_tensor_ops" in draws else ""),
        f"eval naive:         {result['eval_naive_samples_per_s']:12,.0f} images/s (per-sample dropout)",
        f"eval batched:       {result['eval_batched_per_network_samples_per_s']:12,.0f} images/s per_network, "
        f"{result['eval_batched_per_sample_samples_per_s']:,.0f} per_sample",
        f"eval speedup:       {result['eval_speedup_vs_naive']:8.2f}x ({result['eval_protocol']})",
    ]
    if "peak_rss_mb_64_networks_N60000" in result:
        lines.append(f"peak RSS, 64 networks at N=60,000: {result['peak_rss_mb_64_networks_N60000']:.0f} MiB "
                     f"(limit {result['memory_limit_mb']} MiB)")
    lines += [f"warning: {w}" for w in result["warnings"]]
    return "\n".join(lines)
