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

All parameters are views of one flat buffer, :attr:`Ensemble.flat`, which is what the optimiser
steps (:data:`FLAT_ALIGNMENT` says why).

Forward and backward are written out by hand (:func:`forward`, :func:`backward`), so that a
training step is a fixed sequence of batched products into preallocated buffers
(:class:`Workspace`, parameter gradients); the input gradient of the first layer is never
formed. Backward of cross-entropy with mean reduction
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

#: Every parameter is a view of :attr:`Ensemble.flat`, starting at a multiple of this many
#: float32 (one 64-byte cache line), and the buffer's length is one too. torch's fused CPU
#: optimisers run whole lines through vector code (Adam's moment update is a fused
#: multiply-add there) and only a tensor's last partial vector through scalar code (a
#: separate multiply and add): on a tensor whose length is not a whole number of vectors an
#: element's update depended on its position, so a network's numbers depended on which
#: ensemble it was trained in (seen on AVX2: a seed alone and the same seed in a 3-seed
#: ensemble differed in the last bit after 25 steps). Stepping one buffer of whole lines
#: sends every element through the same code.
FLAT_ALIGNMENT = 16


def nonlinearity_(kind: str, z: torch.Tensor) -> torch.Tensor:
    """``act(z)`` alone, computed in place on ``z`` (evaluation: no derivative needed)."""
    if kind not in ACTIVATIONS:
        raise ConfigError(f"model.activation = {kind!r}: expected one of {', '.join(map(repr, ACTIVATIONS))}")
    return z.relu_() if kind == "relu" else z.tanh_()


def activate_(kind: str, z: torch.Tensor, keep: torch.Tensor | None, a: torch.Tensor, d: torch.Tensor) -> None:
    """Write ``a = act(z) * keep`` and ``D = da/dz = act'(z) * keep`` into ``a`` and ``d``.

    ReLU: ``D = [z > 0] * keep`` (the comparison written straight into the float ``d``: a
    bool intermediate costs two slow, unvectorised passes), ``a = z * D``.
    """
    if kind == "relu":
        torch.gt(z, 0, out=d)
        if keep is not None:
            d.mul_(keep)
        torch.mul(z, d, out=a)
    elif kind == "tanh":
        torch.tanh(z, out=a)
        torch.mul(a, a, out=d)
        d.neg_().add_(1)
        if keep is not None:
            d.mul_(keep)
            a.mul_(keep)
    else:
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
    flat: torch.Tensor  # 1-D: every parameter above is a view of it (:func:`flat_views`)

    @property
    def n_networks(self) -> int:
        return self.n_groups * self.per_group

    def parameters(self) -> list[torch.Tensor]:
        """Every parameter, in the order of :func:`flat_views` over :attr:`flat`."""
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
        """Layer ``layer``'s weights ``(E, fan_out, fan_in)`` and biases ``(E, fan_out, 1)``, where
        the networks are (copied to ``device`` into :attr:`Ensemble.flat` below)."""
        return (torch.stack([net[layer][0] for net in networks]),
                torch.stack([net[layer][1] for net in networks]).unsqueeze(-1))

    w_first, b_first = stacked(0)
    hidden = [stacked(k) for k in range(1, n_layers - 1)]
    w_out, b_out = stacked(n_layers - 1)
    params = [w_first.view(n_groups, per_group * width, -1), b_first.view(n_groups, per_group * width, 1),
              *(w for w, _ in hidden), *(b for _, b in hidden), w_out, b_out]
    flat = torch.zeros(sum(_padded(p.numel()) for p in params), device=device)
    views = flat_views(flat, [p.shape for p in params])
    for view, p in zip(views, params):
        view.copy_(p)
    n_hidden = len(hidden)
    return Ensemble(
        n_groups=n_groups, per_group=per_group, width=width, depth=n_layers - 1,
        activation=activation, w_in=views[0], b_in=views[1],
        w_hidden=views[2:2 + n_hidden], b_hidden=views[2 + n_hidden:2 + 2 * n_hidden],
        w_out=views[-2], b_out=views[-1], flat=flat,
    )


def _padded(numel: int) -> int:
    """``numel`` rounded up to a multiple of :data:`FLAT_ALIGNMENT`."""
    return -(-numel // FLAT_ALIGNMENT) * FLAT_ALIGNMENT


def flat_views(buffer: torch.Tensor, shapes: Sequence[torch.Size]) -> list[torch.Tensor]:
    """Views of the 1-D ``buffer`` with ``shapes``, one after the other, each starting at a
    multiple of :data:`FLAT_ALIGNMENT` (the layout of :attr:`Ensemble.flat`)."""
    views, start = [], 0
    for shape in shapes:
        numel = math.prod(shape)
        views.append(buffer[start:start + numel].view(shape))
        start += _padded(numel)
    return views


@dataclass
class Workspace:
    """Every buffer of a training step, allocated once. (Fresh megabyte-sized tensors each step
    cost page faults: measured ~4 ms of a ~45 ms step of 64 networks.)"""

    x_bytes: torch.Tensor  # (G, B, n_in) uint8: the gathered minibatches
    x: torch.Tensor  # (G, B, n_in) float
    z_first: torch.Tensor  # (G, P*width, B): first pre-activation, = z[0] as (E, width, B)
    z: list[torch.Tensor]  # per hidden layer, (E, width, B)
    a: list[torch.Tensor]
    d: list[torch.Tensor]
    logits: torch.Tensor  # (E, n_out, B)
    dlogits: torch.Tensor
    lse: torch.Tensor  # (E, 1, B)
    dh: torch.Tensor  # (E, width, B)
    dz: torch.Tensor

    @classmethod
    def allocate(cls, ens: "Ensemble", batch: int) -> "Workspace":
        g, e, w = ens.n_groups, ens.n_networks, ens.width
        n_in, n_out = ens.w_in.shape[-1], ens.w_out.shape[1]
        dev = ens.w_in.device

        def hidden() -> torch.Tensor:
            return torch.empty(e, w, batch, device=dev)

        z_first = torch.empty(g, ens.per_group * w, batch, device=dev)
        return cls(
            x_bytes=torch.empty(g, batch, n_in, dtype=torch.uint8, device=dev),
            x=torch.empty(g, batch, n_in, device=dev),
            z_first=z_first, z=[z_first.view(e, w, batch)] + [hidden() for _ in range(ens.depth - 1)],
            a=[hidden() for _ in range(ens.depth)], d=[hidden() for _ in range(ens.depth)],
            logits=torch.empty(e, n_out, batch, device=dev), dlogits=torch.empty(e, n_out, batch, device=dev),
            lse=torch.empty(e, 1, batch, device=dev), dh=hidden(), dz=hidden(),
        )


def forward(ens: Ensemble, ws: Workspace, keeps: Sequence[torch.Tensor | None]) -> torch.Tensor:
    """Logits ``ws.logits`` ``(E, n_out, B)`` of the input ``ws.x`` ``(G, B, n_in)`` with dropout
    multipliers ``keeps[l]``; keeps ``a`` and ``D`` of every hidden layer in ``ws``."""
    torch.baddbmm(ens.b_in, ens.w_in, ws.x.transpose(1, 2), out=ws.z_first)
    activate_(ens.activation, ws.z[0], keeps[0], ws.a[0], ws.d[0])
    for k, (wk, bk) in enumerate(zip(ens.w_hidden, ens.b_hidden)):
        torch.baddbmm(bk, wk, ws.a[k], out=ws.z[k + 1])
        activate_(ens.activation, ws.z[k + 1], keeps[k + 1], ws.a[k + 1], ws.d[k + 1])
    return torch.baddbmm(ens.b_out, ens.w_out, ws.a[-1], out=ws.logits)


def cross_entropy(ws: Workspace, labels: torch.Tensor) -> torch.Tensor:
    """Per-network mean cross-entropy ``(E,)`` of ``ws.logits`` ``(E, C, B)``; its gradient wrt
    the logits goes to ``ws.dlogits``.

    ``labels`` is ``(E, B)``. ``L = mean_B [logsumexp_c z - z_y]``,
    ``dL/dz = (softmax(z) - onehot(y)) / B``.
    """
    logits = ws.logits
    torch.logsumexp(logits, dim=1, keepdim=True, out=ws.lse)
    index = labels.unsqueeze(1)
    loss = (ws.lse - logits.gather(1, index)).mean(dim=(1, 2))
    torch.sub(logits, ws.lse, out=ws.dlogits).exp_()
    ws.dlogits.scatter_add_(1, index, torch.full_like(index, -1, dtype=logits.dtype))
    ws.dlogits.div_(logits.shape[-1])
    return loss


def backward(ens: Ensemble, ws: Workspace) -> None:
    """Write the gradients of every parameter into its ``.grad`` (preallocated by
    :func:`attach_grads`), from ``ws.dlogits`` and the forward pass kept in ``ws``."""
    dz = ws.dlogits
    weights = [*ens.w_hidden, ens.w_out]
    biases = [*ens.b_hidden, ens.b_out]
    for k in range(ens.depth, 0, -1):  # layers above the first: weights[k-1] maps a[k-1]
        wk, bk = weights[k - 1], biases[k - 1]
        torch.bmm(dz, ws.a[k - 1].transpose(1, 2), out=wk.grad)
        torch.sum(dz, dim=2, keepdim=True, out=bk.grad)
        torch.bmm(wk.transpose(1, 2), dz, out=ws.dh)
        dz = torch.mul(ws.dh, ws.d[k - 1], out=ws.dz)
    dz = dz.view(ens.n_groups, ens.per_group * ens.width, -1)
    torch.bmm(dz, ws.x, out=ens.w_in.grad)
    torch.sum(dz, dim=2, keepdim=True, out=ens.b_in.grad)


def attach_grads(ens: Ensemble) -> None:
    """Give :attr:`Ensemble.flat` a zero ``.grad`` (what the optimiser reads) and every
    parameter its view of it as ``.grad`` (what :func:`backward` overwrites; the padding between
    them stays 0, so its update is 0)."""
    ens.flat.grad = torch.zeros_like(ens.flat)
    params = ens.parameters()
    for p, grad in zip(params, flat_views(ens.flat.grad, [p.shape for p in params])):
        p.grad = grad


def detach_grads(ens: Ensemble) -> None:
    """Drop the gradient buffers of :func:`attach_grads`."""
    for p in [ens.flat, *ens.parameters()]:
        p.grad = None
