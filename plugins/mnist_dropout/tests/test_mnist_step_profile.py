"""The step profiler (python -m statmech_mnist_dropout.step_profile) that scripts/gpu_check.sh
runs on a GPU: it must run end to end here, on real MNIST and real training, so that the
one GPU session that uses it does not find it broken."""

from __future__ import annotations

import json

import pytest
import torch

from statmech_mnist_dropout import step_profile
from statmech_mnist_dropout.step_profile import OTHER, kind_of


@pytest.mark.parametrize(("name", "kind"), [
    ("aten::bmm", "matrix products"),
    ("aten::baddbmm", "matrix products"),
    ("sm90_xmma_gemm_f32f32_f32f32_f32_tn_n_tilesize128x128x8_warpgroupsize1x1x1", "matrix products"),
    ("void cutlass::Kernel2<cutlass_80_simt_sgemm_128x64_8x5_nn_align1>(...)", "matrix products"),
    ("aten::_fused_adam_", "optimiser (Adam)"),
    ("void at::native::(anonymous namespace)::multi_tensor_apply_kernel<...FusedAdamMathFunctor...>", "optimiser (Adam)"),
    ("triton_poi_fused_bitwise_and_bitwise_xor_mul_stack_where_0", "dropout masks (Philox)"),
    ("void at::native::vectorized_elementwise_kernel<4, at::native::BitwiseXorFunctor<long>, ...>", "dropout masks (Philox)"),
    ("aten::index_select", "copies and gathers"),
    ("aten::logsumexp", OTHER),
])
def test_kernel_and_operator_names_fall_into_their_kind(name, kind):
    # Truth: the names torch.profiler reports for these operators and kernels (CPU aten names;
    # cuBLAS/CUTLASS, fused-Adam, Triton and elementwise CUDA kernel names as they appear on GPUs).
    assert kind_of(name) == kind


def test_profile_runs_and_its_kinds_add_up(tmp_path, capsys):
    # Truth: the breakdown partitions the profiled self time (kinds sum to the total), the
    # products are found, and the step time and fraction of peak are positive and finite.
    out = tmp_path / "profile.json"
    assert step_profile.main(["--networks", "8", "--steps", "4", "--profile-steps", "2", "--repeats", "1",
                              "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    b = row["breakdown"]
    assert sum(b["by_kind"].values()) == pytest.approx(b["seconds_per_step"], rel=1e-9)
    assert b["by_kind"]["matrix products"] > 0
    assert 0 < row["eager"]["fraction_of_peak"] < 1
    assert "graph" not in row  # CUDA graphs only on a GPU
    assert "8 networks, 4 steps" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "named"), [(["--networks", "64", "0"], "'0'"), (["--steps", "x"], "'x'"),
                                             (["--device", "tpu"], "'tpu'")])
def test_bad_arguments_are_usage_errors(argv, named, capsys):
    # Truth: argparse's contract -- exit status 2 and a last line naming the bad value.
    with pytest.raises(SystemExit) as exit_info:
        step_profile.main(argv)
    assert exit_info.value.code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert "error: argument" in last and named in last, last


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error where there is no GPU")
def test_cuda_without_a_gpu_is_a_one_line_error(capsys):
    assert step_profile.main(["--device", "cuda"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("step_profile: device 'cuda': no CUDA GPU is available here")
