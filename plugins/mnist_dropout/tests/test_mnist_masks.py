"""Dropout masks from Philox-4x32-10: known answers, the two implementations agree bit for bit,
the uniforms' statistics, CPU = CUDA."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from scipy import stats

from statmech_mnist_dropout import masks
from statmech_mnist_dropout.masks import MaskRows, threshold, uniforms
from statmech_mnist_dropout.philox import philox4x32
from statmech_mnist_dropout.rng import derive_seed
from statmech_nn.errors import ConfigError

# Random123's known-answer vectors for philox4x32_10 (file kat_vectors of the Random123
# distribution by D. E. Shaw Research; copied verbatim in DEShawResearch/fs123,
# core123/ut/ut_philox.cpp, test_kat_philox4x32): counter (4 words), key (2 words) -> output.
KAT = [
    ((0x00000000, 0x00000000, 0x00000000, 0x00000000), (0x00000000, 0x00000000),
     (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF),
     (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]
needs_numba = pytest.mark.skipif(masks.numba is None, reason="numba not installed")
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def test_tensor_ops_give_random123_known_answers():
    # Truth: the published known-answer vectors; all three at once (broadcast over a batch).
    counter = [torch.tensor([c[i] for c, _, _ in KAT]) for i in range(4)]
    key = [torch.tensor([k[i] for _, k, _ in KAT]) for i in range(2)]
    words = philox4x32(tuple(counter), tuple(key))
    assert [[int(w[n]) for w in words] for n in range(len(KAT))] == [list(out) for *_, out in KAT]


@needs_numba
def test_compiled_cpu_path_gives_random123_known_answers():
    for counter, key, out in KAT:
        words = masks.philox_block(*(np.uint64(v) for v in (*counter, *key)))
        assert [int(w) for w in words] == list(out)


def rows_for(n_rows: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """Keys of real mask streams (as the trainer derives them) and layer numbers."""
    keys = [derive_seed("train_mask", seed, 2**31, 1000 + r, 128, 2) for r in range(n_rows)]
    return keys, [r % 3 for r in range(n_rows)]


def assert_same_masks(backend: str, n_positions: int) -> None:
    """Words and keep multipliers of ``backend`` equal the eager tensor ops' (themselves held to
    the known answers above) exactly, for several draws and rows with different keys, layers
    and rates; and the keep rule is the documented one."""
    keys, layers = rows_for(7)
    rates = [0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 0.3]
    other = MaskRows(keys, layers, n_positions, "cpu", rates=rates, backend=backend)
    plain = MaskRows(keys, layers, n_positions, "cpu", rates=rates, backend="torch")
    for draw in (0, 1, 12345, 2**32 - 1):
        assert torch.equal(other.words(draw), plain.words(draw))
        a = other.keep_(draw, torch.empty(7, n_positions))
        b = plain.keep_(draw, torch.empty(7, n_positions))
        assert torch.equal(a, b)
    assert other.backend == backend  # no silent fallback to the tensor ops
    words = plain.words(3)
    expected = (words >= torch.tensor([threshold(p) for p in rates]).view(-1, 1)).float()
    expected *= torch.tensor([1 / (1 - p) for p in rates], dtype=torch.float32).view(-1, 1)
    assert torch.equal(plain.keep_(3, torch.empty(7, n_positions)), expected)


@needs_numba
@pytest.mark.parametrize("n_positions", [64, 30])  # a whole number of blocks, and not
def test_numba_and_tensor_paths_agree_bit_for_bit(n_positions):
    # Truth: both implement the same function of (key, counter).
    assert_same_masks("numba", n_positions)


@pytest.mark.slow  # torch.compile generates and builds C++ (~30 s the first time)
@pytest.mark.parametrize("n_positions", [64, 30])
def test_torch_compiled_and_tensor_paths_agree_bit_for_bit(n_positions):
    # Truth: torch.compile fuses the same integer ops (int64 wrap-around products, arithmetic
    # shifts) into one kernel; here the C++ one, on a GPU the Triton one (test_cuda_words_...).
    assert_same_masks("compiled", n_positions)


@pytest.mark.slow
def test_a_failed_compile_warns_and_falls_back_to_the_same_numbers(tmp_path):
    # Truth: where torch.compile cannot build its kernel (here: no C++ compiler, a real
    # failure in a fresh process with an empty kernel cache) the masks are still right.
    script = (
        "import warnings, torch\n"
        "from statmech_mnist_dropout.masks import MaskRows\n"
        "args = ([11, 2**63 + 5], [0, 1], 64, 'cpu')\n"
        "rows = MaskRows(*args, rates=[0.5, 0.2], backend='compiled')\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    words = rows.words(3)\n"
        "assert torch.equal(words, MaskRows(*args, backend='torch').words(3))\n"
        "from statmech_mnist_dropout import masks\n"
        "assert 'cpu' in masks._compile_failures  # later default choices on this device skip the compile\n"
        "print(rows.backend, '|', caught[0].message)\n")
    env = {**os.environ, "CXX": str(tmp_path / "no-such-c++"), "TORCHINDUCTOR_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    backend, message = done.stdout.strip().splitlines()[-1].split(" | ")
    assert backend == "torch"
    assert message.startswith("dropout masks: torch.compile failed on cpu (")


def test_an_unknown_backend_is_a_one_line_error():
    with pytest.raises(ConfigError, match="mask backend 'cuda-fast' on cpu: expected one of 'numba', 'compiled'"):
        MaskRows([1], [0], 8, "cpu", backend="cuda-fast")


def test_keep_rule_is_u_at_least_p_in_integers():
    # Truth: x >= ceil(p 2^32) <=> x / 2^32 >= p for integer words x; checked at the edges.
    for p in (0.1, 0.25, 0.5, 0.9, 1 / 3):
        t = threshold(p)
        assert t / 2**32 >= p and (t - 1) / 2**32 < p
    assert threshold(0.0) == 0


def test_uniform_statistics():
    # Truth for i.i.d. U[0,1): mean 1/2, variance 1/12, flat histogram, no correlation. With
    # n = 2^20 uniforms (64 streams x 2 draws x 8192 positions), the mean's standard error is
    # sqrt(1/12/n) = 2.8e-4 and the variance's sqrt(1/180/n) = 7.3e-5; the bounds are 5
    # standard errors (false alarm ~6e-7). Chi-square over 64 equal bins: p-value > 1e-4.
    # Correlations between neighbouring networks (consecutive seeds' streams), steps (draw
    # t vs t+1) and units (unit i vs i+1 at one sample) each have standard error 1/sqrt(m).
    keys, _ = rows_for(64)
    width, cols = 128, 64
    rows = MaskRows(keys, [0] * 64, width * cols, "cpu")
    u0, u1 = uniforms(rows.words(0)).numpy(), uniforms(rows.words(1)).numpy()
    u = np.concatenate([u0.ravel(), u1.ravel()])
    n = u.size
    assert abs(u.mean() - 0.5) < 5 * np.sqrt(1 / 12 / n)
    assert abs(u.var() - 1 / 12) < 5 * np.sqrt(1 / 180 / n)
    counts = np.bincount((u * 64).astype(int), minlength=64)
    assert stats.chisquare(counts).pvalue > 1e-4
    grid = u0.reshape(64, width, cols)

    def corr(a, b):
        a, b = a.ravel(), b.ravel()
        r = np.corrcoef(a, b)[0, 1]
        assert abs(r) < 5 / np.sqrt(a.size), r

    corr(u0[:-1], u0[1:])  # neighbouring networks
    corr(u0, u1)  # neighbouring steps
    corr(grid[:, :-1, :], grid[:, 1:, :])  # neighbouring units
    corr(grid[:, :, :-1], grid[:, :, 1:])  # neighbouring samples (words of one block)
    # the keep fraction at p = 0.3 is Binomial(n, 0.7)/n: within 5 standard errors
    kept = (rows.words(2) >= threshold(0.3)).double().mean().item()
    assert abs(kept - 0.7) < 5 * np.sqrt(0.21 / (64 * width * cols))


def test_a_network_s_masks_do_not_depend_on_its_neighbours():
    # Truth: row r's words are a function of its own key and counter only (common random
    # numbers, rng.py): computed in a batch of 5 rows or alone, the same bits.
    keys, layers = rows_for(5)
    batch = MaskRows(keys, layers, 100, "cpu").words(7)
    for r in range(5):
        assert torch.equal(MaskRows([keys[r]], [layers[r]], 100, "cpu").words(7)[0], batch[r])


@pytest.mark.cuda
@needs_cuda
def test_cuda_words_equal_cpu_words():
    # Truth: integer arithmetic has one answer; the CUDA backends (the Triton kernel of
    # torch.compile, the default, and the eager tensor ops) must give the CPU's bits (numba's
    # where present, the tensor ops otherwise).
    keys, layers = rows_for(33)
    rates = [0.1 * (r % 9) for r in range(33)]
    cpu = MaskRows(keys, layers, 128 * 64, "cpu", rates=rates)
    for backend in ("compiled", "torch"):
        gpu = MaskRows(keys, layers, 128 * 64, "cuda", rates=rates, backend=backend)
        for draw in (0, 1, 999, torch.tensor(2**32 - 2, device="cuda")):
            cpu_draw = int(draw)
            assert torch.equal(cpu.words(cpu_draw), gpu.words(draw).cpu())
            assert torch.equal(cpu.keep_(cpu_draw, torch.empty(33, 128 * 64)),
                               gpu.keep_(draw, torch.empty(33, 128 * 64, device="cuda")).cpu())
        assert gpu.backend == backend  # the Triton kernel was built and used, no fallback
