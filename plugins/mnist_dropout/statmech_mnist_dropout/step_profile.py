"""Where a training step's time goes: one ensemble of ``n`` networks on a device.

    python -m statmech_mnist_dropout.step_profile --device cuda --networks 1024 4096 [--json FILE]

For each network count, on the benchmark's cell (:meth:`.experiment.MnistDropoutExperiment.
benchmark_cell`: the default network, width 128, depth 2, batch 64, Adam, real MNIST), trained
as *one* ensemble (as on a GPU; the CPU's parts side by side are :mod:`.bench`'s business):

* **step time**, eager and (on a GPU) replayed as a CUDA graph, ``repeats`` times each,
  alternating; medians with their spread (a way that fails is reported with its error, the
  others are still timed). A run is :func:`.train.train` of ``steps`` steps from
  fresh initial weights (set-up not timed; the graph's warm-up steps and capture are, as in a
  sweep), divided by ``steps``; the fraction of peak uses :func:`.flops.flops_per_sample` and a
  ``torch.mm`` peak measured beside each repetition.
* **breakdown** of ``profile_steps`` eager steps by ``torch.profiler``: the self time of every
  kernel (GPU) or operator (CPU), summed into the kinds of :data:`KINDS` (matched on the name,
  first match wins), and the largest entries by name.

Written for ``scripts/gpu_check.sh``: the GPU numbers of ``docs/benchmarks.md`` come from it.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

from statmech_nn.errors import StatmechError
from statmech_nn.io import write_atomically

from .bench import measure_peak, summary, sync_device
from .cell import prepare_part
from .experiment import MnistDropoutExperiment
from .flops import flops_per_sample
from .train import train

#: ``(kind, pattern)``: what a kernel or operator name says it does (searched, case-insensitive).
KINDS = (
    ("matrix products", r"gemm|bmm|addmm|\bmm\b|aten::mm|cutlass|xmma|cublas|sm\d+_|matmul"),
    ("optimiser (Adam)", r"adam|multi_tensor|foreach|_fused_sgd"),
    ("dropout masks (Philox)", r"triton|bitwise|rshift|lshift|xor|philox|aten::where|aten::ge\b"),
    ("copies and gathers", r"copy|index|gather|scatter|cat\b|stack|fill|memset|memcpy"),
)
OTHER = "other (activations, loss, sums)"


def kind_of(name: str) -> str:
    """The first kind of :data:`KINDS` whose pattern occurs in ``name``, else :data:`OTHER`."""
    for kind, pattern in KINDS:
        if re.search(pattern, name, re.IGNORECASE):
            return kind
    return OTHER


def timed_train(spec, data, device: str, graph: bool) -> float:
    """Seconds of :func:`.train.train` of ``spec`` as one ensemble (set-up excluded)."""
    ens, schedule, masks = prepare_part(spec, data, device)
    sync_device(device)
    start = time.perf_counter()
    train(ens, data.train_images, data.train_labels, schedule, masks, spec.optimizer, graph=graph)
    sync_device(device)
    return time.perf_counter() - start


#: Eager steps run before the profiled ones (the first step allocates Adam's state).
PROFILE_SKIP_STEPS = 3


def breakdown(spec, data, device: str, top: int = 12) -> dict:
    """Self time (seconds per step) of ``spec.steps`` eager steps, after
    :data:`PROFILE_SKIP_STEPS` unprofiled ones, by kind and by largest name."""
    from torch.profiler import ProfilerActivity, profile, schedule

    ens, batches, masks = prepare_part(replace(spec, steps=spec.steps + PROFILE_SKIP_STEPS), data, device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.startswith("cuda") else [])
    with profile(activities=activities, schedule=schedule(wait=PROFILE_SKIP_STEPS - 1, warmup=1,
                                                          active=spec.steps)) as prof:
        train(ens, data.train_images, data.train_labels, batches, masks, spec.optimizer,
              progress=lambda _: (sync_device(device), prof.step()), progress_every=1, graph=False)
    on_gpu = device.startswith("cuda")
    per_name: dict[str, float] = {}
    for event in prof.key_averages():
        if on_gpu:
            seconds = getattr(event, "self_device_time_total", getattr(event, "self_cuda_time_total", 0.0)) * 1e-6
        else:
            seconds = event.self_cpu_time_total * 1e-6 if event.key.startswith("aten::") else 0.0
        if seconds > 0:
            per_name[event.key] = per_name.get(event.key, 0.0) + seconds / spec.steps
    by_kind: dict[str, float] = {}
    for name, seconds in per_name.items():
        kind = kind_of(name)
        by_kind[kind] = by_kind.get(kind, 0.0) + seconds
    largest = sorted(per_name.items(), key=lambda item: -item[1])[:top]
    return {"clock": "device" if on_gpu else "cpu: aten operators' self time; the numba masks and Python are not in it",
            "seconds_per_step": sum(per_name.values()), "by_kind": dict(sorted(by_kind.items(), key=lambda i: -i[1])),
            "largest": [{"name": name[:120], "kind": kind_of(name), "seconds_per_step": s} for name, s in largest]}


def profile_networks(experiment: MnistDropoutExperiment, n_networks: int, steps: int, profile_steps: int,
                     repeats: int) -> dict:
    """The step time (eager, and as a CUDA graph on a GPU) and the breakdown for one network count."""
    device = experiment.device
    data = experiment.data()
    spec = replace(experiment.cell_spec(experiment.benchmark_cell(n_networks)), steps=steps)
    n = len(spec.networks())
    fps = flops_per_sample(spec.width, spec.depth)
    rows: dict[str, dict] = {}
    ways = []
    for way in ["eager", "graph"] if device.startswith("cuda") else ["eager"]:
        try:  # untimed warm-up: kernels, compilation of the masks, allocator, graph capture
            timed_train(replace(spec, steps=5), data, device, graph=way == "graph")
            ways.append(way)
        except Exception as err:  # a diagnostic tool: report the failure of one way, time the others
            rows[way] = {"error": f"{type(err).__name__}: {err}"[:2000]}
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    peaks = []
    for _ in range(repeats):
        peaks.append(measure_peak(device))
        for way in ways:
            seconds[way].append(timed_train(spec, data, device, graph=way == "graph"))
    for way in ways:
        per_step = [s / steps for s in seconds[way]]
        fractions = [n * spec.batch_size * fps / (t * p) for t, p in zip(per_step, peaks)]
        rows[way] = {"seconds_per_step": summary(per_step),
                     "samples_per_s": n * spec.batch_size / statistics.median(per_step),
                     "fraction_of_peak": statistics.median(fractions)}
    return {"n_networks": n, "steps": steps, "peak_flops": summary(peaks), "flops_per_sample": fps, **rows,
            "breakdown": breakdown(replace(spec, steps=profile_steps), data, device)}


def format_row(row: dict) -> str:
    """Human-readable lines of one :func:`profile_networks` result."""
    lines = [f"{row['n_networks']} networks, {row['steps']} steps; peak {row['peak_flops']['median'] / 1e12:.2f} "
             "TFLOP/s (median)"]
    for way in ("eager", "graph"):
        if "error" in row.get(way, {}):
            lines.append(f"  {way:5s}: FAILED: {row[way]['error'][:300]}")
        elif way in row:
            t = row[way]["seconds_per_step"]
            lines.append(f"  {way:5s}: {t['median'] * 1e3:8.3f} ms/step (spread {t['spread']:.0%}), "
                         f"{row[way]['samples_per_s']:,.0f} samples/s, {row[way]['fraction_of_peak']:.3f} of peak")
    b = row["breakdown"]
    lines.append(f"  breakdown of eager steps ({b['clock']}): {b['seconds_per_step'] * 1e3:.3f} ms/step")
    lines += [f"    {kind:32s} {s * 1e3:8.3f} ms  {s / b['seconds_per_step']:5.1%}" for kind, s in b["by_kind"].items()]
    lines += [f"      {e['seconds_per_step'] * 1e3:8.3f} ms  {e['name'][:100]}" for e in b["largest"]]
    return "\n".join(lines)


def _count(text: str) -> int:
    """An argparse type: an integer >= 1 (else a one-line usage error naming ``text``)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer >= 1")
    return int(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m statmech_mnist_dropout.step_profile",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="default cpu")
    parser.add_argument("--networks", type=_count, nargs="+", default=[64], help="network counts (default 64)")
    parser.add_argument("--steps", type=_count, default=50, help="steps of a timed run (default 50)")
    parser.add_argument("--profile-steps", type=_count, default=5, help="eager steps profiled (default 5)")
    parser.add_argument("--repeats", type=_count, default=3, help="timed runs of each way (default 3)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    try:
        experiment = MnistDropoutExperiment(device=args.device)
        rows = []
        for n in args.networks:
            rows.append(profile_networks(experiment, n, args.steps, args.profile_steps, args.repeats))
            print(format_row(rows[-1]), flush=True)
        if args.json:
            result = {"device": args.device, "torch_version": torch.__version__, "rows": rows}
            write_atomically(args.json, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1)))
    except StatmechError as err:
        print(f"step_profile: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
