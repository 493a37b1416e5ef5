"""The trainer on a CUDA GPU (skipped where there is none; scripts/gpu_check.sh runs them on one):
CUDA agrees with the CPU, the CUDA-graph step is the eager step, a CUDA sweep resumes to the
file of an uninterrupted run. (CPU = CUDA dropout masks: test_mnist_masks.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import xarray as xr

from statmech_mnist_dropout.cell import build_ensemble, build_schedule, network_keys, run
from statmech_mnist_dropout.mnist import load_mnist
from statmech_mnist_dropout.spec import CellSpec, EvalConfig, MnistTensors, OptimizerConfig
from statmech_mnist_dropout.train import MaskSampler, train
from statmech_nn.datasets import data_root
from statmech_nn.io import read_netcdf
from statmech_nn.testing import crash_after_cells

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")]

SPEC = CellSpec(p_train=(0.0, 0.5), seeds=(0, 1), sizes=(512,), width=64, depth=2, steps=60, batch_size=32,
                p_eval=(0.0, 0.5, 0.9), evaluation=EvalConfig(n_masks=4))


@pytest.fixture(scope="module")
def arrays():
    return load_mnist()


def test_a_small_cell_trained_on_cuda_agrees_with_the_cpu(arrays):
    # Same initial weights, minibatches and dropout masks (Philox: the same bits on both
    # devices); only the rounding of float32 sums differs (cuBLAS vs MKL blocking, ~1e-7
    # relative per product). Over 60 Adam steps of size <= lr = 1e-3 that stays below ~1e-4
    # in the weights, so the test loss agrees to 1e-3 relative, and the accuracy to 5 of the
    # 10,000 test images (argmax near-ties may flip).
    cpu = run(SPEC, MnistTensors.from_arrays(arrays, "cpu"), "cpu")
    gpu = run(SPEC, MnistTensors.from_arrays(arrays, "cuda"), "cuda")
    np.testing.assert_allclose(gpu.loss, cpu.loss, rtol=1e-3)
    np.testing.assert_allclose(gpu.train_loss, cpu.train_loss, rtol=1e-3)
    np.testing.assert_allclose(gpu.accuracy, cpu.accuracy, atol=5e-4)


def test_cuda_graph_replay_gives_the_eager_numbers(arrays):
    # Truth: the captured step replays the eager step's kernels in the eager order; losses and
    # weights after 40 steps are bit-identical with and without the graph.
    data = MnistTensors.from_arrays(arrays, "cuda")
    schedule = build_schedule(SPEC, data.train_labels_np, "cuda")
    runs = []
    for graph in (False, True):
        ens = build_ensemble(SPEC, 784, "cuda")
        masks = MaskSampler([p for *_, p in SPEC.networks()], network_keys("train_mask", SPEC), SPEC.depth,
                            SPEC.width, SPEC.batch_size, "cuda")
        curve = train(ens, data.train_images, data.train_labels, schedule[:, :40], masks, OptimizerConfig(),
                      graph=graph)
        runs.append((curve.cpu(), [p.cpu() for p in ens.parameters()]))
    assert torch.equal(runs[0][0], runs[1][0])
    assert all(torch.equal(a, b) for a, b in zip(runs[0][1], runs[1][1]))


SWEEP = ["sweep", "--device", "cuda", "--grid", "p_train=0,0.5", "--grid", "p_eval=0,0.5,0.9",
         "--grid", "N=256,16384", "--grid", "width=64", "--grid", "depth=2", "--grid", "seed=0,1",
         "--set", "evaluation.n_masks=4", "--no-progress"]  # two step counts: two cells


def test_a_cuda_sweep_killed_and_rerun_gives_the_uninterrupted_file(tmp_path):
    env = {**os.environ, "STATMECH_NN_DATA": str(data_root())}
    cache = tmp_path / "cache"

    def cli(*args):
        return [sys.executable, "-m", "statmech_nn", *args]

    crash_after_cells(cli(*SWEEP, "-o", str(tmp_path / "resumed.nc"), "--cache-dir", str(cache)), cache,
                      timeout=240, env=env)
    subprocess.run(cli(*SWEEP, "-o", str(tmp_path / "resumed.nc"), "--cache-dir", str(cache)), env=env,
                   check=True, capture_output=True)
    subprocess.run(cli(*SWEEP, "-o", str(tmp_path / "fresh.nc"), "--cache-dir", str(tmp_path / "fresh")), env=env,
                   check=True, capture_output=True)
    resumed, fresh = read_netcdf(tmp_path / "resumed.nc"), read_netcdf(tmp_path / "fresh.nc")
    xr.testing.assert_identical(resumed.drop_attrs(deep=False), fresh.drop_attrs(deep=False))
