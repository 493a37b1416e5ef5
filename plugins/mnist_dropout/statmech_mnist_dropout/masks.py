"""Dropout masks from Philox-4x32-10 words: ``u = F(key of the network's stream, draw, layer,
unit, column)``, computed for every network in one batched call.

A *row* is one (hidden layer, network) pair: its key is the network's stream key
(:func:`.rng.derive_seed` of the stream's role and the network's coordinates, :mod:`.rng`) and
its counter is ``(j, layer, draw, 0)``, where ``draw`` is the training step or the evaluation
realisation. A row's ``width x cols`` uniforms (``cols`` = minibatch samples in training, 1 or
the test images in evaluation) are numbered ``q = unit * cols + column``; ``u_q`` is word
``q mod 4`` of block ``j = q // 4``, divided by ``2**32``. So the uniforms of a network depend
only on its own stream and where they are used -- not on which networks share its cell, nor on
the device.

A unit is kept iff ``u >= p``, i.e. iff its word ``x >= ceil(p * 2**32)`` (exact in integers),
and the keep multiplier is ``1/(1-p)`` (inverted dropout) or 0.

Three implementations of the same words (``backend``): integer tensor ops (:mod:`.philox`,
``"torch"``, any device); the same function compiled by ``torch.compile`` into one fused kernel
(``"compiled"``, the default on GPUs: run eagerly the ten rounds make ~100 passes over memory,
which on a GPU would cost more than the step's matrix products); and, on the CPU, a compiled
numba loop that fuses the 10 rounds with the threshold (``"numba"``, the default there: the
eager tensor ops were measured ~4x *slower* than the mt19937 draws they replace, the loop ~20x
faster, ``docs/benchmarks.md``). Tests hold all three to Random123's known-answer vectors and to
each other, bit for bit. Where numba is missing the tensor ops run on the CPU; where
``torch.compile`` fails (no Triton, no C compiler) a warning says so and the tensor ops run.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from statmech_nn.errors import ConfigError

from . import philox
from .philox import MASK32, key_words

try:  # the CPU fast path; optional
    import numba
except ImportError:  # pragma: no cover - exercised where numba is absent
    numba = None


def threshold(p: float) -> int:
    """The least 32-bit word kept at rate ``p``: ``ceil(p * 2**32)`` (``u >= p`` in integers)."""
    return math.ceil(float(p) * 2.0**32)


def keep_scale(p: float, rescale: bool = True) -> float:
    """Multiplier of a kept unit: ``1/(1-p)`` (inverted dropout), or 1 without rescaling."""
    return 1.0 / (1.0 - p) if rescale else 1.0


BACKENDS = ("numba", "compiled", "torch")

#: Rows of an eager CPU call are processed this many words at a time, so that a round's ~10
#: passes stay in the cache.
CPU_CHUNK_ELEMENTS = 1 << 15


#: device type -> why ``torch.compile`` of the masks failed there in this process (not retried)
_compile_failures: dict[str, str] = {}


def default_backend(device: torch.device) -> str:
    """``"numba"`` on the CPU (``"torch"`` where numba is missing); elsewhere ``"compiled"``
    where Triton is installed (what ``torch.compile`` needs on a GPU) and no compile has failed
    on that kind of device in this process, else ``"torch"``."""
    if device.type == "cpu":
        return "numba" if numba is not None else "torch"
    usable = importlib.util.find_spec("triton") is not None and device.type not in _compile_failures
    return "compiled" if usable else "torch"


@functools.cache
def compiled(fn: Callable) -> Callable:
    """``torch.compile`` of a :mod:`.philox` function: one kernel for all shapes (``dynamic``),
    compiled at its first call (seconds; cached on disk by torch for later processes)."""
    return torch.compile(fn, dynamic=True, fullgraph=True)


class MaskRows:
    """Philox words and keep multipliers of ``rows`` rows of ``n_positions`` positions each.

    ``keys[r]`` is row ``r``'s 64-bit stream key and ``layers[r]`` its counter word ``c1``;
    ``rates[r]`` (optional) its dropout rate for :meth:`keep_`. ``backend`` is one of
    :data:`BACKENDS` (default :func:`default_backend`); every backend gives the same bits.
    """

    def __init__(self, keys: Sequence[int], layers: Sequence[int], n_positions: int, device: str | torch.device,
                 rates: Sequence[float] | None = None, rescale: bool = True, backend: str | None = None):
        self.device = torch.device(device)
        self.rows = len(keys)
        self.n_positions = n_positions
        self.n_blocks = -(-n_positions // 4)
        self.backend = backend or default_backend(self.device)
        if self.backend not in BACKENDS or (self.backend == "numba" and (numba is None or self.device.type != "cpu")):
            raise ConfigError(f"mask backend {self.backend!r} on {self.device}: expected one of "
                              f"{', '.join(map(repr, BACKENDS))} ('numba' on the CPU, with numba installed)")
        rates = [0.0] * self.rows if rates is None else [float(p) for p in rates]
        thresholds, scales = [threshold(p) for p in rates], [keep_scale(p, rescale) for p in rates]
        self._thr = torch.tensor(thresholds, dtype=torch.int64, device=self.device).view(-1, 1)
        self._scale = torch.tensor(scales, dtype=torch.float32, device=self.device).view(-1, 1)
        words = np.array([key_words(int(k)) for k in keys], dtype=np.uint64).reshape(self.rows, 2)
        if self.backend == "numba":
            self._k0, self._k1 = words[:, 0].copy(), words[:, 1].copy()
            self._c1 = np.asarray(layers, dtype=np.uint64)
            self._thr_np = np.asarray(thresholds, dtype=np.uint64)
            self._scale_np = np.asarray(scales, dtype=np.float32)
            return
        k = torch.from_numpy(words.astype(np.int64)).to(self.device)
        self._k0, self._k1 = k[:, :1].contiguous(), k[:, 1:].contiguous()
        self._c1 = torch.tensor([int(c) for c in layers], dtype=torch.int64, device=self.device).view(-1, 1)
        self._blocks = torch.arange(self.n_blocks, dtype=torch.int64, device=self.device).view(1, -1)
        eager_cpu = self.device.type == "cpu" and self.backend == "torch"
        per = max(1, min(self.rows, CPU_CHUNK_ELEMENTS // max(1, self.n_blocks))) if eager_cpu else max(1, self.rows)
        self._chunks = [slice(i, min(i + per, self.rows)) for i in range(0, self.rows, per)]

    def words(self, draw: int | torch.Tensor) -> torch.Tensor:
        """The words ``(rows, n_positions)`` int64 (values in ``[0, 2**32)``) of ``draw`` (an int,
        or on the tensor backends a 0-dim int64 device tensor)."""
        out = torch.empty(self.rows, self.n_blocks * 4, dtype=torch.int64, device=self.device)
        if self.backend == "numba":
            _words_kernel(self._k0, self._k1, self._c1, np.uint64(int(draw)), out.numpy())
        else:
            self._tensor_rows(philox.block_words, draw, out)
        return out[:, :self.n_positions]

    def keep_(self, draw: int | torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Write the keep multipliers of ``draw`` into ``out`` (``rows x n_positions`` float32,
        contiguous): row ``r``'s scale where its word ``>= ceil(rate * 2**32)``, else 0."""
        flat = out.view(self.rows, self.n_positions)
        if self.backend != "numba":
            self._tensor_rows(philox.keep_multipliers, draw, flat, self._thr, self._scale)
        elif self.n_positions % 4 == 0:
            _keep_kernel(self._k0, self._k1, self._c1, np.uint64(int(draw)), self._thr_np, self._scale_np, flat.numpy())
        else:
            torch.ge(self.words(draw), self._thr, out=flat)
            flat.mul_(self._scale)
        return out

    def _tensor_rows(self, fn: Callable, draw: int | torch.Tensor, out: torch.Tensor, *per_row: torch.Tensor) -> None:
        """``out[s] = fn(blocks, c1[s], draw, k0[s], k1[s], *per_row[s])`` (its first
        ``out.shape[1]`` columns) for every chunk ``s`` of rows, eagerly or compiled."""
        c2 = draw if isinstance(draw, torch.Tensor) else torch.tensor(int(draw), dtype=torch.int64, device=self.device)
        for s in self._chunks:
            args = (self._blocks, self._c1[s], c2, self._k0[s], self._k1[s], *(t[s] for t in per_row))
            out[s] = self._call(fn, args)[:, :out.shape[1]]

    def _call(self, fn: Callable, args: tuple) -> torch.Tensor:
        if self.backend == "torch":
            return fn(*args)
        try:
            return compiled(fn)(*args)
        except Exception as err:  # torch.compile fails in many types: no Triton, no compiler, ...
            reason = f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}"
            _compile_failures[self.device.type] = reason
            warnings.warn(f"dropout masks: torch.compile failed on {self.device} ({reason}); using the eager "
                          "tensor ops instead (the same numbers, slower)", RuntimeWarning, stacklevel=3)
            self.backend = "torch"
            return fn(*args)


def uniforms(words: torch.Tensor) -> torch.Tensor:
    """``u = x / 2**32`` in float64 (exact): the uniforms of the words ``x``."""
    return words.to(torch.float64) * 2.0**-32


if numba is not None:
    _M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
    _W0, _W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
    _LOW, _SHIFT = np.uint64(MASK32), np.uint64(32)

    @numba.njit(inline="always")
    def philox_block(x0, x1, x2, x3, k0, k1):
        """Philox-4x32-10 of counter ``(x0..x3)`` and key ``(k0, k1)``, all np.uint64 values below
        2**32 (a product of two fits in 64 unsigned bits); returns the four words."""
        for _ in range(10):
            p0 = x0 * _M0
            p1 = x2 * _M1
            x0, x1, x2, x3 = (p1 >> _SHIFT) ^ x1 ^ k0, p1 & _LOW, (p0 >> _SHIFT) ^ x3 ^ k1, p0 & _LOW
            k0 = (k0 + _W0) & _LOW
            k1 = (k1 + _W1) & _LOW
        return x0, x1, x2, x3

    @numba.njit(cache=True, nogil=True)
    def _words_kernel(k0s, k1s, c1s, c2, out):
        zero = np.uint64(0)
        for r in range(out.shape[0]):
            for j in range(out.shape[1] // 4):
                w = philox_block(np.uint64(j), c1s[r], c2, zero, k0s[r], k1s[r])
                for i in range(4):
                    out[r, 4 * j + i] = np.int64(w[i])

    @numba.njit(cache=True, nogil=True)
    def _keep_kernel(k0s, k1s, c1s, c2, thr, scale, out):
        zero, none = np.uint64(0), np.float32(0.0)
        for r in range(out.shape[0]):
            t, s = thr[r], scale[r]
            if t == zero:  # p = 0: every unit kept, no words needed
                out[r, :] = s
                continue
            for j in range(out.shape[1] // 4):
                w = philox_block(np.uint64(j), c1s[r], c2, zero, k0s[r], k1s[r])
                for i in range(4):
                    out[r, 4 * j + i] = s if w[i] >= t else none
