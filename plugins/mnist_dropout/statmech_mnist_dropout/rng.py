"""Seeds of every random stream, derived from the grid coordinates it may depend on.

A stream's seed is ``SeedSequence([role, *keys])`` where ``keys`` are the coordinates the
stream is allowed to depend on. That fixes the common-random-numbers design
(``docs/mnist_dropout.md``):

==============  ===========================================  =================================
role            keys                                         shared by
==============  ===========================================  =================================
``subset``      seed                                         all N (nested subsets), p, shapes
``order``       seed, N                                      all p_train of one (seed, N)
``init``        seed, p_train, width, depth                  all N of one (seed, p_train)
``train_mask``  seed, p_train, N, width, depth               one network only
``eval_mask``   seed, p_train, N, width, depth               all p_eval of one network (nested)
==============  ===========================================  =================================

A network's random inputs therefore never depend on which other networks share its cell.
``subset`` and ``order`` seed numpy's PCG64, ``init`` a torch generator (on the CPU), and the two
mask roles' seeds are the 64-bit keys of counter-based Philox streams (:mod:`.masks`), whose
counter adds where in the training or evaluation a number is used (step or realisation, layer,
unit, sample).
"""

from __future__ import annotations

import numpy as np

ROLES = {"subset": 1, "order": 2, "init": 3, "train_mask": 4, "eval_mask": 5}
_RATE_SCALE = 2**32


def rate_key(p: float) -> int:
    """Integer key of a rate ``p`` in [0, 1): ``round(p * 2**32)``."""
    return int(round(float(p) * _RATE_SCALE))


def derive_seed(role: str, *keys: int) -> int:
    """A 63-bit seed for stream ``role`` keyed by non-negative integers ``keys``."""
    state = np.random.SeedSequence([ROLES[role], *(int(k) for k in keys)]).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))


def numpy_rng(role: str, *keys: int) -> np.random.Generator:
    """``numpy.random.Generator`` (PCG64) of stream ``role``/``keys``."""
    return np.random.default_rng(derive_seed(role, *keys))


def torch_generator(role: str, *keys: int, device: str = "cpu"):
    """``torch.Generator`` on ``device`` seeded for stream ``role``/``keys``."""
    import torch

    return torch.Generator(device=device).manual_seed(derive_seed(role, *keys))
