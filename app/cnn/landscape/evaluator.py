"""The evaluator: a network's loss at any weight vector, run as a channels-last plan of tensor operations."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.data import Digits
from app.cnn.landscape.planes import Plane
from app.cnn.probes import finite
from app.cnn.reports import Number

Stage = Callable[[torch.Tensor], torch.Tensor]


def _nchw(h: torch.Tensor) -> torch.Tensor:
    """(N, H, W, C) storage seen as a channels-last (N, C, H, W) tensor, for torch's 2-D ops."""
    return h.permute(0, 3, 1, 2)


def _nhwc(h: torch.Tensor) -> torch.Tensor:
    return h.permute(0, 2, 3, 1).contiguous()  # no copy when h is channels-last, as oneDNN returns it


def _max_pool_2x2(h: torch.Tensor) -> torch.Tensor:
    """nn.MaxPool2d(2) on (N, H, W, C): two elementwise maxima (~2× faster than torch's, ~4× in NCHW)."""
    n, height, width, c = h.shape
    v = h[:, : height // 2 * 2, : width // 2 * 2].reshape(n, height // 2, 2, width // 2, 2, c)
    rows = torch.maximum(v[:, :, 0], v[:, :, 1])  # (N, H/2, W/2, 2, C)
    return torch.maximum(rows[:, :, :, 0], rows[:, :, :, 1])


def _pair(value: int | Sequence[int]) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, Sequence) else (value, value)


def _is_max_pool_2x2(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.MaxPool2d)
        and (_pair(m.kernel_size), _pair(m.stride), _pair(m.padding), _pair(m.dilation))
        == ((2, 2), (2, 2), (0, 0), (1, 1))
        and not m.ceil_mode
    )


def _is_monotone(m: nn.Module) -> bool:
    """Exactly non-decreasing in floats, so a max pool commutes with it: ReLU, LeakyReLU of slope ≥ 0."""
    return isinstance(m, nn.ReLU) or (isinstance(m, nn.LeakyReLU) and m.negative_slope >= 0)


class _Plan:
    """The network as tensor operations on views of one weight vector ``w`` (P,), evaluation mode.

    Why not the module (bench/landscape.py measures each step): activations stay channels-last (NHWC),
    where oneDNN's convolutions and a 2×2 max pool are 2–8× faster than in NCHW; the first convolution,
    whose input never changes, is one matrix product with patches cut once, its max pool fused in; a max
    pool after a ReLU is taken before it (the same numbers on 4× fewer values). Each rewrite gives the same
    numbers up to float rounding, and the tests hold the plan to ``model.eval()`` on every kind of layer.
    """

    def __init__(self, model: nn.Sequential, x: torch.Tensor, w: torch.Tensor) -> None:
        self.stages: list[Stage] = []
        self.copies: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])  # (dst, src) per point
        self.input = x.permute(0, 2, 3, 1).contiguous() if x.dim() == 4 else x  # (N, H, W, C) or (N, F)
        self._x, self._w, self._at = x, w, 0
        layers = [m for m in model.children() if not isinstance(m, nn.Dropout)]  # eval: the identity
        i = 0
        while i < len(layers):
            i += self._add(layers, i)
        if self._at != w.numel():
            raise ValueError(f"the plan read {self._at} of the vector's {w.numel()} weights")

    def _take(self, p: torch.Tensor | None) -> torch.Tensor | None:
        """The next parameter's view of w (parameters are read in model.parameters() order)."""
        if p is None:
            return None
        view = self._w[self._at : self._at + p.numel()].view(p.shape)
        self._at += p.numel()
        return view

    def _copied(
        self, src: torch.Tensor, memory_format: torch.memory_format = torch.contiguous_format
    ) -> torch.Tensor:
        """A tensor the weights are copied into before each point, laid out as a stage needs them."""
        dst = torch.empty(src.shape, memory_format=memory_format)
        self.copies[0].append(dst)
        self.copies[1].append(src)
        return dst

    def _add(self, layers: list[nn.Module], i: int) -> int:
        """Stages for layers[i] (and what it fuses with); returns how many layers they cover."""
        m, after = copy.deepcopy(layers[i]), layers[i + 1 : i + 3]  # a copy: the model trains on
        if isinstance(m, nn.Conv2d) and not self.stages and self._at == 0 and m.groups == 1:
            return self._first_conv(m, after)
        if isinstance(m, nn.Conv2d):
            weight = self._copied(self._take(m.weight), torch.channels_last)  # oneDNN: NCHW weights cost 9×
            bias = self._take(m.bias)
            kwargs = dict(stride=m.stride, padding=m.padding, dilation=m.dilation, groups=m.groups)
            self.stages.append(lambda h: _nhwc(F.conv2d(_nchw(h), weight, bias, **kwargs)))
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            self._batch_norm(m)
        elif _is_monotone(m) and after and _is_max_pool_2x2(after[0]):
            self.stages += [_max_pool_2x2, m]  # max(f(a), f(b)) = f(max(a, b)), on 4× fewer values
            return 2
        elif _is_max_pool_2x2(m):
            self.stages.append(_max_pool_2x2)
        elif isinstance(m, nn.MaxPool2d | nn.AvgPool2d):
            self.stages.append(lambda h: _nhwc(m(_nchw(h))))
        elif isinstance(m, nn.Flatten):
            self.stages.append(self._flatten)
        elif isinstance(m, nn.Linear):
            self._linear(m)
        elif isinstance(m, nn.ReLU | nn.LeakyReLU | nn.Tanh | nn.Sigmoid | nn.GELU):
            self.stages.append(m)
        else:
            raise TypeError(f"the landscape evaluates conv, linear, batch norm, activation, pool, flatten "
                            f"and dropout layers, got {type(m).__name__}")  # fmt: skip
        return 1

    def _first_conv(self, m: nn.Conv2d, after: list[nn.Module]) -> int:
        """conv(x) as one matrix product: x never changes, so its patches are cut once (im2col). A 2×2 max
        pool after it (after a ReLU, maybe) is fused: the patches' rows are grouped by their place in the
        pooling window, so the pool is a max over the leading dim, and the bias is added after it
        (max(a + b) = max(a) + b: rounding is monotone)."""
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise TypeError(f"the landscape needs a conv with numeric zero padding, got {m.padding!r}")
        weight = self._take(m.weight).view(m.out_channels, -1).T  # (C_in·k·k, C_out)
        bias = self._take(m.bias)
        unfold = dict(kernel_size=m.kernel_size, dilation=m.dilation, padding=m.padding, stride=m.stride)
        x = self._x
        patches = F.unfold(x, **unfold)  # (N, C_in·k·k, H·W)
        n, k = patches.shape[:2]
        pad, dilation, kernel, stride = m.padding[0], m.dilation[0], m.kernel_size[0], m.stride[0]
        height = (x.shape[2] + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1  # as nn.Conv2d's docs
        width = patches.shape[2] // height
        patches = patches.view(n, k, height, width)
        act = copy.deepcopy(after[0]) if after and _is_monotone(after[0]) else None
        pool = after[1 if act else 0] if len(after) > (1 if act else 0) else None
        if pool is not None and _is_max_pool_2x2(pool):
            hp, wp = height // 2, width // 2
            rows = patches[:, :, : 2 * hp, : 2 * wp].reshape(n, k, hp, 2, wp, 2)
            rows = rows.permute(3, 5, 0, 2, 4, 1).reshape(4, n * hp * wp, k)  # (window place, N·H'·W', K)

            def stage(_: torch.Tensor) -> torch.Tensor:
                out = torch.matmul(rows, weight).amax(dim=0).view(n, hp, wp, m.out_channels)
                return out if bias is None else out.add_(bias)

            self.stages.append(stage)
            if act is not None:
                self.stages.append(act)
            return 2 if act is None else 3
        rows = patches.permute(0, 2, 3, 1).reshape(n * height * width, k)  # (N·H·W, K)
        shape = (n, height, width, m.out_channels)
        if bias is None:
            self.stages.append(lambda _: torch.mm(rows, weight).view(shape))
        else:
            self.stages.append(lambda _: torch.addmm(bias, rows, weight).view(shape))
        return 1

    def _batch_norm(self, m: nn.BatchNorm1d | nn.BatchNorm2d) -> None:
        weight, bias = self._take(m.weight), self._take(m.bias)
        mean, var = m.running_mean, m.running_var  # m is a copy: these are the evaluator's own
        batch_stats, eps = mean is None and var is None, m.eps  # as in eval mode without running stats

        def stage(h: torch.Tensor) -> torch.Tensor:
            if h.dim() == 2:
                return F.batch_norm(h, mean, var, weight, bias, batch_stats, 0.0, eps)
            return _nhwc(F.batch_norm(_nchw(h), mean, var, weight, bias, batch_stats, 0.0, eps))

        self.stages.append(stage)

    def _flatten(self, h: torch.Tensor) -> torch.Tensor:
        return h.reshape(len(h), -1)  # NHWC order: the next linear layer's columns are permuted to match

    def _linear(self, m: nn.Linear) -> None:
        weight = self._take(m.weight)
        shape = self._nhwc_shape()
        if shape is not None:  # columns in (C, H, W) order, the input flattened from (H, W, C)
            c, height, width = shape
            src = weight.view(m.out_features, c, height, width).permute(0, 2, 3, 1)
            weight = self._copied(src).view(m.out_features, -1)
        bias = self._take(m.bias)
        self.stages.append(lambda h: F.linear(h, weight, bias))

    def _nhwc_shape(self) -> tuple[int, int, int] | None:
        """(C, H, W) of the 4-D tensor a Flatten just made 2-D, if NHWC order differs from NCHW's."""
        if not self.stages or self.stages[-1] != self._flatten:
            return None
        h = self.input
        with torch.inference_mode():
            for stage in self.stages[:-1]:  # run once on the data for its shape: before any weights
                h = stage(h)
        _, height, width, c = h.shape if h.dim() == 4 else (0, 1, 1, 1)
        return (c, height, width) if c > 1 and height * width > 1 else None


class Evaluator:
    """The mean cross-entropy of a network at any weights θ on a fixed evaluation set, in evaluation mode
    (batch norm's running statistics, dropout off).

    Building it copies what it needs of the model (its layers' settings, batch norm's running statistics)
    and never reads the model again: build it between training steps, then use it from any thread. One
    evaluation at a time: a lock serializes callers.
    """

    def __init__(self, model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> None:
        self.names = [name for name, _ in model.named_parameters()]
        self.n_params = sum(p.numel() for p in model.parameters())
        self._w = torch.zeros(self.n_params)  # (P,) the θ being evaluated; the plan reads views of it
        self._targets = y.view(-1, 1)  # (N, 1) int64
        self._lock = threading.Lock()
        with torch.no_grad():
            self._plan = _Plan(model, x, self._w)

    @classmethod
    def on_training_split(cls, model: nn.Sequential, data: Digits) -> Evaluator:
        """The default evaluation set: the whole training split, the data the optimizer descends on."""
        return cls(model, data.x_train, data.y_train)

    def _loss(self) -> torch.Tensor:
        """The loss at self._w, as a 0-d tensor (no sync)."""
        dst, src = self._plan.copies
        if dst:
            torch._foreach_copy_(dst, src)
        h = self._plan.input
        for stage in self._plan.stages:
            h = stage(h)  # (N, 10) logits at the end
        # F.cross_entropy's mean up to rounding, 1.5–3× faster on 10 classes (bench/landscape.py)
        return (torch.logsumexp(h, dim=1) - h.gather(1, self._targets).squeeze(1)).mean()

    def _check(self, *vectors: torch.Tensor) -> None:
        for v in vectors:
            if v.shape != (self.n_params,):
                raise ValueError(f"weight vectors must have shape ({self.n_params},), got {tuple(v.shape)}")

    def loss(self, theta: torch.Tensor) -> Number:
        """The loss at θ (P,)."""
        self._check(theta)
        with self._lock, torch.inference_mode():
            self._w.copy_(theta)
            return finite(self._loss().item())

    def row(self, plane: Plane, alphas: Sequence[float], beta: float) -> list[Number]:
        """The loss at θ* + α·d₁ + β·d₂ for each α: one row of a grid."""
        self._check(plane.center, plane.d1, plane.d2)
        with self._lock, torch.inference_mode():
            base = torch.add(plane.center, plane.d2, alpha=beta)  # (P,) θ* + β·d₂, shared by the row
            losses = []
            for alpha in alphas:
                torch.add(base, plane.d1, alpha=alpha, out=self._w)
                losses.append(self._loss())
            values = torch.stack(losses).tolist() if losses else []  # the row's one sync
        return [finite(v) for v in values]

    def between(self, start: torch.Tensor, end: torch.Tensor, ts: Sequence[float]) -> list[Number]:
        """The loss at (1 − t)·start + t·end for each t: exactly start at t = 0 and end at t = 1."""
        self._check(start, end)
        with self._lock, torch.inference_mode():
            losses = []
            for t in ts:
                torch.mul(start, 1.0 - t, out=self._w).add_(end, alpha=t)
                losses.append(self._loss())
            values = torch.stack(losses).tolist() if losses else []
        return [finite(v) for v in values]
