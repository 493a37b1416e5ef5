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
complement wrap-around, the behaviour of every torch backend's integer multiply) are all
that is used: ``hi = (p >> 32) & 0xFFFFFFFF``, ``lo = p & 0xFFFFFFFF``. Inputs of a product
are masked to 32 bits first; the other words may carry sign bits above bit 31 until then.

:func:`philox4x32` is the plain function; :class:`Philox` the same rounds on preallocated
buffers, chunked on the CPU so that a round's passes stay in the cache.
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


def round_keys(k0: torch.Tensor, k1: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ten rounds' keys ``(k0 + r W0, k1 + r W1) mod 2**32``, stacked on a new first axis."""
    r = torch.arange(ROUNDS, dtype=torch.int64, device=k0.device).view(-1, *([1] * k0.dim()))
    return (k0.unsqueeze(0) + r * W0) & MASK32, (k1.unsqueeze(0) + r * W1) & MASK32


def rounds_(c: list[torch.Tensor], keys0: torch.Tensor, keys1: torch.Tensor,
            scratch: list[torch.Tensor]) -> list[torch.Tensor]:
    """Run the ten rounds on the int64 words ``c`` (four tensors of one shape, overwritten)
    with round keys ``keys0[r]``, ``keys1[r]`` (broadcastable to that shape); ``scratch`` is
    two more tensors of the shape. Returns the four output words (32-bit values), which are
    among the six buffers passed in (their roles rotate from round to round)."""
    c0, c1, c2, c3 = c
    p0, p1 = scratch
    for r in range(ROUNDS):
        c0.bitwise_and_(MASK32)
        c2.bitwise_and_(MASK32)
        torch.mul(c0, M0, out=p0)
        torch.mul(c2, M1, out=p1)
        # c0 <- hi(p1) ^ c1 ^ k0;  c2 <- hi(p0) ^ c3 ^ k1;  c1 <- lo(p1);  c3 <- lo(p0)
        torch.bitwise_right_shift(p1, 32, out=c0).bitwise_xor_(c1).bitwise_xor_(keys0[r])
        torch.bitwise_right_shift(p0, 32, out=c2).bitwise_xor_(c3).bitwise_xor_(keys1[r])
        c1, c3, p0, p1 = p1, p0, c3, c1  # lo words are the products' low halves: no copy
    out = [c0, c1, c2, c3]
    for word in out:
        word.bitwise_and_(MASK32)
    return out


def philox4x32(counter: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
               key: tuple[torch.Tensor, torch.Tensor]) -> list[torch.Tensor]:
    """Philox-4x32-10 of ``counter`` (four int64 tensors, values in ``[0, 2**32)``) under ``key``
    (two int64 tensors); all six broadcast together. Returns the four output words."""
    shape = torch.broadcast_shapes(*(t.shape for t in (*counter, *key)))
    device = counter[0].device
    c = [t.to(torch.int64).expand(shape).clone() for t in counter]
    k0, k1 = (t.to(torch.int64).expand(shape) for t in key)
    scratch = [torch.empty(shape, dtype=torch.int64, device=device) for _ in range(2)]
    return rounds_(c, *round_keys(k0, k1), scratch)


class Philox:
    """Words ``Philox((k0, k1)[row], (j, c1[row], c2, 0))`` for ``j < n_blocks`` of many rows at
    once, on preallocated buffers: ``rows`` rows, each with its own key and its own ``c1``,
    and a ``c2`` shared by a call (e.g. the training step).

    On the CPU the rows are processed ``chunk_rows`` at a time, so that the six int64 buffers of
    a chunk (about 1 MiB) stay in the cache through the 10 rounds' ~100 passes.
    """

    def __init__(self, keys: list[int], c1: list[int], n_blocks: int, device: str | torch.device,
                 chunk_elements: int = 1 << 15):
        device = torch.device(device)
        rows = len(keys)
        k = torch.tensor([key_words(key) for key in keys], dtype=torch.int64, device=device).view(rows, 2, 1)
        self.keys0, self.keys1 = round_keys(k[:, 0], k[:, 1])  # (ROUNDS, rows, 1) each
        self.c1 = torch.tensor(c1, dtype=torch.int64, device=device).view(rows, 1)
        self.n_blocks = n_blocks
        per = rows if device.type != "cpu" else max(1, min(rows, chunk_elements // max(1, n_blocks)))
        self.chunks = [slice(i, min(i + per, rows)) for i in range(0, rows, per)]
        self.blocks = torch.arange(n_blocks, dtype=torch.int64, device=device).view(1, n_blocks)
        self.buffers = [torch.empty(per, n_blocks, dtype=torch.int64, device=device) for _ in range(6)]

    def words(self, c2: int | torch.Tensor, consume) -> None:
        """For every chunk of rows ``s``: ``consume(s, words)`` with the four ``(rows in s,
        n_blocks)`` int64 words of counter ``(j, c1, c2, 0)`` (buffers reused by the next chunk).
        ``c2`` is an int or a 0-dim int64 tensor on the device (read when the work runs, as a
        CUDA graph replay needs)."""
        for s in self.chunks:
            n = s.stop - s.start
            c0, c1, c2_, c3, p0, p1 = (b[:n] for b in self.buffers)
            c0.copy_(self.blocks.expand(n, -1))
            c1.copy_(self.c1[s].expand(n, self.n_blocks))
            if isinstance(c2, torch.Tensor):  # a device scalar: a broadcast copy, no host sync
                c2_.copy_(c2.expand(n, self.n_blocks))
            else:
                c2_.fill_(c2)
            c3.zero_()
            consume(s, rounds_([c0, c1, c2_, c3], self.keys0[:, s], self.keys1[:, s], [p0, p1]))
