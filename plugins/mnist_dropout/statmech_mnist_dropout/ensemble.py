"""An ensemble of fully-connected networks of one shape, stored as stacked tensors.

``E = G * P`` networks, in ``G`` groups of ``P``; network ``e = g * P + j``. The networks of a
group see the same minibatches (same training subset and data order), so their first layers
are one matrix product ``W_in[g] (P*width, n_in) @ x (n_in, B)``. Weights use ``nn.Linear``'s
layout ``(fan_out, fan_in)``; activations are *feature-major*, ``(E, width, B)``, so every
layer is one batched product ``h_{l+1} = act(W_l h_l + b_l) * keep_l``:

* ``w_in`` ``(G, P*width, n_in)``, ``b_in`` ``(G, P*width, 1)``: the first layers; the rows
  ``j*width:(j+1)*width`` of group ``g`` belong to network ``g*P + j``;
* ``w_hidden[k]`` ``(E, width, width)``, ``b_hidden[k]`` ``(E, width, 1)``, ``k < depth-1``;
* ``w_out`` ``(E, n_out, width)``, ``b_out`` ``(E, n_out, 1)``.

``keep_l`` is the dropout multiplier of hidden layer ``l``: 0 for a dropped unit and
``1/(1-p)`` for a kept one (inverted dropout), or absent.

Forward and backward are written out by hand (:func:`forward`, :func:`backward`), so that a
training step is a fixed sequence of batched products with preallocated gradients; the input
gradient of the first layer is never formed. Backward of cross-entropy with mean reduction
over the batch ``B``:  ``dlogits = (softmax(z) - onehot(y)) / B``; for a layer with input
``h``: ``dW = dz @ h^T``, ``db = sum_B dz``, ``dh = W^T dz``; through the activation
``dz = dh * D`` with ``D = act'(z) * keep`` saved by the forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from statmech_nn.errors import ConfigError

ACTIVATIONS = ("relu", "tanh")
INITS = ("torch", "he")


def nonlinearity_(kind: str, z: torch.Tensor) -> torch.Tensor:
    """``act(z)`` alone, computed in place on ``z`` (evaluation: no derivative needed)."""
    if kind not in ACTIVATIONS:
        raise ConfigError(f"model.activation = {kind!r}: expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return z.relu_() if kind == "relu" else z.tanh_()


def activate(kind: str, z: torch.Tensor, keep: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(a, D)``: ``a = act(z) * keep`` and ``D = da/dz = act'(z) * keep`` (elementwise)."""
    if kind == "relu":
        d = (z > 0).to(z.dtype)
        if keep is not None:
            d.mul_(keep)
        return z * d, d
    if kind == "tanh":
        t = torch.tanh(z)
        d = 1 - t * t
        if keep is not None:
            d.mul_(keep)
            t = t * keep
        return t, d
    raise ConfigError(f"model.activation = {kind!r}: expected one of {', '.join(map(repr, ACTIVATIONS))}")


@dataclass
class Ensemble:
    """Stacked parameters of ``n_groups * per_group`` networks ``n_in -> depth x width -> n_out``."""

    n_groups: int
    per_group: int
    width: int
    depth: int
    activation: str
    w_in: torch.Tensor
    b_in: torch.Tensor
    w_hidden: list[torch.Tensor]
    b_hidden: list[torch.Tensor]
    w_out: torch.Tensor
    b_out: torch.Tensor

    @property
    def n_networks(self) -> int:
        return self.n_groups * self.per_group

    def parameters(self) -> list[torch.Tensor]:
        return [self.w_in, self.b_in, *self.w_hidden, *self.b_hidden, self.w_out, self.b_out]

    def first_layer(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(W, b)`` of the first layers as ``(E, width, n_in)`` and ``(E, width, 1)`` views."""
        e, w = self.n_networks, self.width
        return self.w_in.view(e, w, -1), self.b_in.view(e, w, 1)

    def layers(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Every layer's ``(W (E, fan_out, fan_in), b (E, fan_out, 1))``, input to output."""
        return [self.first_layer(), *zip(self.w_hidden, self.b_hidden), (self.w_out, self.b_out)]

    def network(self, e: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Network ``e``'s layers as ``nn.Linear``-shaped ``(weight, bias)`` copies."""
        return [(w[e].clone(), b[e, :, 0].clone()) for w, b in self.layers()]


def layer_sizes(n_in: int, width: int, depth: int, n_out: int) -> list[tuple[int, int]]:
    """``(fan_in, fan_out)`` of every layer."""
    sizes = [n_in] + [width] * depth + [n_out]
    return list(zip(sizes[:-1], sizes[1:]))


def init_network(sizes: Sequence[tuple[int, int]], scheme: str, generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One network's ``(weight (fan_out, fan_in), bias (fan_out,))``, drawn on the CPU in order.

    ``"torch"``: ``nn.Linear``'s default, weight and bias ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
    ``"he"``: weight ``N(0, 2/fan_in)``, bias 0.
    """
    params = []
    for fan_in, fan_out in sizes:
        if scheme == "torch":
            bound = 1.0 / math.sqrt(fan_in)
            w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=generator)
            b = torch.empty(fan_out).uniform_(-bound, bound, generator=generator)
        elif scheme == "he":
            w = torch.empty(fan_out, fan_in).normal_(0.0, math.sqrt(2.0 / fan_in), generator=generator)
            b = torch.zeros(fan_out)
        else:
            raise ConfigError(f"model.init = {scheme!r}: expected one of {', '.join(map(repr, INITS))}")
        params.append((w, b))
    return params


def stack_ensemble(networks: Sequence[list[tuple[torch.Tensor, torch.Tensor]]], n_groups: int,
                   width: int, activation: str, device: str) -> Ensemble:
    """Stack per-network ``(weight, bias)`` lists (ordered ``e = g * P + j``) on ``device``."""
    n_layers = len(networks[0])
    per_group = len(networks) // n_groups

    def stacked(layer: int) -> tuple[torch.Tensor, torch.Tensor]:
        w = torch.stack([net[layer][0] for net in networks]).to(device)
        b = torch.stack([net[layer][1] for net in networks]).unsqueeze(-1).to(device)
        return w.contiguous(), b.contiguous()

    w_first, b_first = stacked(0)
    hidden = [stacked(k) for k in range(1, n_layers - 1)]
    w_out, b_out = stacked(n_layers - 1)
    return Ensemble(
        n_groups=n_groups, per_group=per_group, width=width, depth=n_layers - 1,
        activation=activation,
        w_in=w_first.view(n_groups, per_group * width, -1),
        b_in=b_first.view(n_groups, per_group * width, 1),
        w_hidden=[w for w, _ in hidden], b_hidden=[b for _, b in hidden],
        w_out=w_out, b_out=b_out,
    )


@dataclass
class ForwardCache:
    """What :func:`backward` needs: the input and, per hidden layer, ``a`` and ``D``."""

    x_rows: torch.Tensor  # (G, B, n_in)
    hidden: list[torch.Tensor]  # a_l, (E, width, B)
    derivs: list[torch.Tensor]  # D_l, (E, width, B)


def forward(ens: Ensemble, x_rows: torch.Tensor, keeps: Sequence[torch.Tensor | None]) -> tuple[torch.Tensor, ForwardCache]:
    """Logits ``(E, n_out, B)`` of input ``x_rows`` ``(G, B, n_in)`` with dropout ``keeps[l]``."""
    e, w = ens.n_networks, ens.width
    z = torch.baddbmm(ens.b_in, ens.w_in, x_rows.transpose(1, 2)).view(e, w, -1)
    hidden, derivs = [], []
    h, d = activate(ens.activation, z, keeps[0])
    hidden.append(h)
    derivs.append(d)
    for k, (wk, bk) in enumerate(zip(ens.w_hidden, ens.b_hidden)):
        h, d = activate(ens.activation, torch.baddbmm(bk, wk, h), keeps[k + 1])
        hidden.append(h)
        derivs.append(d)
    return torch.baddbmm(ens.b_out, ens.w_out, h), ForwardCache(x_rows, hidden, derivs)


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-network mean cross-entropy ``(E,)`` and its gradient wrt ``logits`` ``(E, C, B)``.

    ``labels`` is ``(E, B)``. ``L = mean_B [logsumexp_c z - z_y]``,
    ``dL/dz = (softmax(z) - onehot(y)) / B``.
    """
    lse = torch.logsumexp(logits, dim=1, keepdim=True)
    index = labels.unsqueeze(1)
    loss = (lse - logits.gather(1, index)).mean(dim=(1, 2))
    grad = torch.exp(logits - lse)
    grad.scatter_add_(1, index, torch.full_like(index, -1, dtype=grad.dtype))
    grad.div_(logits.shape[-1])
    return loss, grad


def backward(ens: Ensemble, cache: ForwardCache, dlogits: torch.Tensor) -> None:
    """Write the gradients of every parameter into its ``.grad`` (preallocated by
    :func:`attach_grads`)."""
    g, pw = ens.n_groups, ens.per_group * ens.width
    dz = dlogits
    weights = [*ens.w_hidden, ens.w_out]
    biases = [*ens.b_hidden, ens.b_out]
    for k in range(ens.depth, 0, -1):  # layers above the first: weights[k-1] maps hidden[k-1]
        wk, bk = weights[k - 1], biases[k - 1]
        torch.bmm(dz, cache.hidden[k - 1].transpose(1, 2), out=wk.grad)
        torch.sum(dz, dim=2, keepdim=True, out=bk.grad)
        dz = torch.bmm(wk.transpose(1, 2), dz).mul_(cache.derivs[k - 1])
    dz = dz.view(g, pw, -1)
    torch.bmm(dz, cache.x_rows, out=ens.w_in.grad)
    torch.sum(dz, dim=2, keepdim=True, out=ens.b_in.grad)


def attach_grads(ens: Ensemble) -> None:
    """Give every parameter a zero ``.grad`` buffer that :func:`backward` overwrites."""
    for p in ens.parameters():
        p.grad = torch.zeros_like(p)
