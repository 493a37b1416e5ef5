"""Matrix-product FLOP counts of training and evaluation, and a cell's work in training steps.

With ``M = 784 w + (depth-1) w^2 + 10 w`` multiply-adds per sample (biases and elementwise work
not counted):

* one training sample: forward ``2M``, weight gradients ``2M``, input gradients of every layer
  but the first ``2 (M - 784 w)``; total ``6M - 1568 w`` (:func:`flops_per_sample`);
* one test image under one mask realisation: forward ``2M``, of which the first layer's
  ``2 * 784 w`` is computed once per network and shared by every realisation
  (:mod:`.evaluate`; :func:`eval_flops_per_sample`).

:func:`training_work` and :func:`evaluation_work` count a cell's work in one unit, the FLOPs of
one training step of one network (``batch_size`` samples), so that the progress of a sweep and
its ETA weigh the evaluation too: with the defaults (width 128, depth 2, 10 ``p_eval`` values, 20
masks) evaluating one network on the 10,000 test images costs ~2,000 steps, against 40 training
steps at ``N = 256`` and 9,375 at ``N = 60,000`` under 10 epochs. Importing this module imports
no torch.
"""

from __future__ import annotations

import math

from .spec import N_CLASSES, N_IN, N_TEST, CellSpec


def flops_per_sample(width: int, depth: int) -> int:
    """Matrix-product FLOPs of one training sample, forward + backward: ``6M - 2 * 784 w``."""
    macs = N_IN * width + (depth - 1) * width * width + width * N_CLASSES
    return 6 * macs - 2 * N_IN * width


def eval_flops_per_sample(width: int, depth: int, first_layer_shared: bool) -> int:
    """Matrix-product FLOPs of one image's forward pass (``2M``; without the first layer's
    ``2 * 784 w`` when ``first_layer_shared``)."""
    macs = (depth - 1) * width * width + width * N_CLASSES + (0 if first_layer_shared else N_IN * width)
    return 2 * macs


def training_work(spec: CellSpec) -> int:
    """Training steps of all the networks of ``spec``."""
    return len(spec.networks()) * spec.steps


def evaluation_work(spec: CellSpec) -> int:
    """Evaluation of all the networks of ``spec``, in training steps, each network's rounded up
    (so the work of a cell is the sum of its parts')::

        sum over networks of ceil([N_TEST (2 * 784 w + R f_shared) + N f_full] / (batch_size * flops_per_sample))

    ``R`` is the number of mask realisations on the test set: ``n_masks`` per ``p_eval > 0`` and
    one for ``p_eval = 0`` (deterministic, evaluated once); ``N f_full`` is the clean loss on
    the network's own ``N`` training samples."""
    w, d = spec.width, spec.depth
    realisations = spec.evaluation.n_masks * sum(p > 0 for p in spec.p_eval) + any(p == 0 for p in spec.p_eval)
    test = N_TEST * (2 * N_IN * w + realisations * eval_flops_per_sample(w, d, True))
    step = spec.batch_size * flops_per_sample(w, d)
    return sum(math.ceil((test + n * eval_flops_per_sample(w, d, False)) / step) for _, n, _ in spec.networks())
