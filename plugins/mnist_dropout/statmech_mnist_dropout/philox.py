"""Philox-4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2, 3",
SC'11), written in integer tensor ops, so that the same words come out on the CPU and on a GPU.

A counter-based generator: ``words = Philox(key, counter)`` with a 64-bit key ``(k0, k1)`` and a
128-bit counter ``(c0, c1, c2, c3)``, four 32-bit words out. No state is carried from one draw to
the next, so every random number is a pure function of *where* it is used, and any number of
them is computed in one batched tensor operation. One round::

    (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2          (32 x 32 -> 64-bit products)
    (c0, c1, c2, c3) = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0)
    (k0, k1) = (k0 + W0, k1 + W1) mod 2**32

ten times, with ``M0 = 0xD2511F53``, ``M1 = 0xCD9E8D57``, ``W0 = 0x9E3779B9``,
``W1 = 0xBB67AE85`` (Random123's ``philox4x32_10``; tested against its known-answer vectors).

Words are held in int64 tensors (torch has no full unsigned 32-bit arithmetic). A product of
two 32-bit values overflows int64 only as an unsigned 64-bit number; its low 64 bits (two's
complement wrap-around, the behaviour of every torch backend's integer multiply, and of the
C++ and Triton code ``torch.compile`` generates) are all that is used: ``hi = (p >> 32) &
0xFFFFFFFF``, ``lo = p & 0xFFFFFFFF``. Inputs of a product are masked to 32 bits first; the
other words may carry sign bits above bit 31 until the output is masked.

The functions are pure (no ``out=``, no in-place updates), so that ``torch.compile`` can fuse the
ten rounds and what follows into one kernel (:mod:`.masks`); run eagerly they make ~100 passes
over memory.
"""

from __future__ import annotations

import torch

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
ROUNDS = 10
MASK32 = 0xFFFFFFFF
TWO_32 = 2.0**32


def key_words(key: int) -> tuple[int, int]:
    """``(k0, k1)``: the low and high 32 bits of a 64-bit key."""
    return key & MASK32, (key >> 32) & MASK32


def philox4x32(counter: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
               key: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
    """Philox-4x32-10 of ``counter`` (four int64 tensors, values in ``[0, 2**32)``) under ``key``
    (two int64 tensors); all six broadcast together. Returns the four output words (int64
    tensors of the broadcast shape, values in ``[0, 2**32)``)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(ROUNDS):
        p0 = (c0 & MASK32) * M0
        p1 = (c2 & MASK32) * M1
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ ((k0 + r * W0) & MASK32), p1,
                          (p0 >> 32) ^ c3 ^ ((k1 + r * W1) & MASK32), p0)
    return [c & MASK32 for c in (c0, c1, c2, c3)]


def block_words(blocks: torch.Tensor, c1: torch.Tensor, c2: torch.Tensor, k0: torch.Tensor,
                k1: torch.Tensor) -> torch.Tensor:
    """Words ``(rows, n_blocks * 4)``: row ``r``, position ``4 j + i`` holds word ``i`` of
    ``Philox((k0[r], k1[r]), (blocks[j], c1[r], c2, 0))``. ``blocks`` is ``(1, n_blocks)``;
    ``c1``, ``k0``, ``k1`` are ``(rows, 1)``; ``c2`` is 0-dim (a device scalar: read when the
    work runs, as a CUDA graph's replay needs). All int64."""
    words = philox4x32((blocks, c1, c2, torch.zeros_like(blocks)), (k0, k1))
    return torch.stack(words, dim=-1).flatten(-2)


def keep_multipliers(blocks: torch.Tensor, c1: torch.Tensor, c2: torch.Tensor, k0: torch.Tensor,
                     k1: torch.Tensor, thresholds: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Float32 ``(rows, n_blocks * 4)``: ``scales[r]`` where the word of :func:`block_words` is
    ``>= thresholds[r]``, else 0 (``thresholds`` int64 and ``scales`` float32, ``(rows, 1)``)."""
    words = block_words(blocks, c1, c2, k0, k1)
    return torch.where(words >= thresholds, scales, torch.zeros_like(scales))
