"""The loss landscape around a network's weights, seen through a 2-D window, with its own training path.

Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets": the loss on a plane through θ*,

    θ(α, β) = θ* + α·d₁ + β·d₂,

with d₁, d₂ filter-normalized random directions, or the top two principal components of the path the
optimizer took (saved by ``Snapshots``). The path is drawn on the plane by projecting its snapshots.

Use from a live session: the training thread feeds ``snapshots.maybe_add(step, model)`` after every step,
and when a landscape is asked for, builds between two steps ``Evaluator.on_training_split(model, data)``
and a plane (``random_plane`` or ``pca_plane``); both copy what they need, so training can go on at once.
A worker thread then iterates ``grid(evaluator, plane, cancel=event)``: a coarse picture first, then the
full grid row by row, stopping at the next row once ``event`` is set.

Speed (bench/landscape.py): the evaluator runs the network as a plan of plain tensor operations on its own
weight buffer, written in place per point, not as the module: activations stay channels-last (NHWC),
where oneDNN's convolutions and a 2×2 max pool are 2–8× faster than in NCHW; the first convolution, whose
input never changes, is one matrix product with patches cut once, its max pool fused in; a max pool after
a ReLU is taken before it (the same numbers on 4× fewer values). Each rewrite gives the same numbers up to
float rounding, and the tests hold the plan to ``model.eval()`` on every kind of layer.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.data import Digits
from app.cnn.probes import finite

Number = float | None  # None: the value was NaN or infinite
DEFAULT_BUDGET = 32 * 2**20  # bytes of snapshots: ~600 of the default CNN's 13 706 float32 weights
MIN_SNAPSHOTS = 3  # the first, the latest, and one between: the least a PCA of the path needs
MAX_GRID = 51  # points per side: 51² forward passes of the whole evaluation set take ~5 s
DEFAULT_RADIUS = 1.0  # filter-normalized: α = 1 moves every filter by its own norm
PATH_MARGIN = 0.2  # PCA window: the path's extent plus this share of it on each side
COARSE = 11  # points per side of the first, coarse picture
LINE_POINTS = 61  # 1-D view: t from −0.25 to 1.25 in steps of 0.025


def flat_weights(model: nn.Module) -> torch.Tensor:
    """The model's parameters as one new float32 CPU vector, in ``model.parameters()`` order."""
    with torch.no_grad():
        return torch.cat([p.detach().reshape(-1).float().cpu() for p in model.parameters()])


# --- snapshots -------------------------------------------------------------------------------------


class Snapshots:
    """The weights θ_k along a training run, flattened (float32, CPU), saved every ``every`` steps within a
    memory budget: when full, every other snapshot is dropped and ``every`` doubles, so a long run never
    grows memory. The first snapshot (the initial weights) and the latest are always kept.

    The training thread adds, a landscape thread reads: a stored vector is never written again.
    """

    def __init__(self, budget_bytes: int = DEFAULT_BUDGET, every: int = 1) -> None:
        if every < 1:
            raise ValueError(f"every must be ≥ 1 step, got {every}")
        self.budget_bytes = budget_bytes
        self.every = every  # steps between snapshots; doubles at each thinning
        self.names: list[str] = []  # parameter names, in vector order; set by the first snapshot
        self.shapes: list[torch.Size] = []
        self._steps: list[int] = []
        self._vectors: list[torch.Tensor] = []
        self._bytes_each = 0
        self._lock = threading.Lock()

    def maybe_add(self, step: int, model: nn.Module) -> bool:
        """Save the model's weights if ``step`` is a multiple of ``every``. Call it after every step (and
        with step 0 before the first): when no snapshot is due it only tests an integer."""
        return step % self.every == 0 and self.add(step, model)

    def add(self, step: int, model: nn.Module) -> bool:
        """Save the weights now (e.g. the current ones, to draw a landscape through them); False if
        ``step`` is already the latest snapshot's."""
        vector = flat_weights(model)
        with self._lock:
            if not self._vectors:
                self._first(model, vector)
            elif vector.numel() != self._vectors[0].numel():
                raise ValueError(
                    f"the model has {vector.numel()} parameters, the snapshots {self._vectors[0].numel()}: "
                    "a new network needs a new Snapshots"
                )
            elif step <= self._steps[-1]:
                if step == self._steps[-1]:
                    return False
                raise ValueError(f"steps must increase: got {step} after {self._steps[-1]}")
            if self._vectors and len(self._vectors) == self.capacity:
                self._steps, self._vectors = self._steps[::2], self._vectors[::2]  # the first stays
                self.every *= 2
            self._steps.append(step)
            self._vectors.append(vector)
        return True

    def _first(self, model: nn.Module, vector: torch.Tensor) -> None:
        size = vector.numel() * vector.element_size()
        if self.budget_bytes < MIN_SNAPSHOTS * size:
            raise ValueError(
                f"budget_bytes must hold at least {MIN_SNAPSHOTS} snapshots of {size} bytes, "
                f"got {self.budget_bytes}"
            )
        named = list(model.named_parameters())
        self.names = [name for name, _ in named]
        self.shapes = [p.shape for _, p in named]
        self._bytes_each = size

    @property
    def capacity(self) -> int:
        """Snapshots the budget holds (0 before the first one sets their size)."""
        return self.budget_bytes // self._bytes_each if self._vectors else 0

    @property
    def nbytes(self) -> int:
        return sum(v.numel() * v.element_size() for v in self._vectors)

    def __len__(self) -> int:
        return len(self._vectors)

    def read(self) -> tuple[list[int], list[torch.Tensor]]:
        """The steps and vectors, oldest first, as one consistent set (the vectors are shared, read-only)."""
        with self._lock:
            if not self._vectors:
                raise ValueError("no snapshot yet: add the initial weights first")
            return list(self._steps), list(self._vectors)

    @property
    def first(self) -> tuple[int, torch.Tensor]:
        steps, vectors = self.read()
        return steps[0], vectors[0]

    @property
    def latest(self) -> tuple[int, torch.Tensor]:
        """The most recent snapshot; ``add(step, model)`` first to make it the current weights."""
        steps, vectors = self.read()
        return steps[-1], vectors[-1]


# --- planes ----------------------------------------------------------------------------------------


@dataclass
class PathProjection:
    """The snapshots up to θ* as points of the plane; θ* itself is the origin."""

    steps: list[int]
    alpha: list[float]
    beta: list[float]
    in_plane: list[Number]  # share of ‖θ_k − θ*‖² the plane holds (1: on it); None at θ* itself
    meaningful: bool  # False for random directions: the path lies almost wholly off the plane


@dataclass
class PlaneInfo:
    """What the page needs to draw the plane, as plain numbers."""

    kind: Literal["random", "pca"]
    center_step: int  # θ* is the snapshot of this step
    seed: int | None  # random directions only
    explained_variance_ratio: list[float] | None  # PCA only: of d₁ and d₂, summing to ≤ 1
    alpha_range: tuple[float, float]  # the default window
    beta_range: tuple[float, float]
    path: PathProjection


@dataclass(frozen=True)
class Plane:
    """θ(α, β) = center + α·d₁ + β·d₂; the vectors are float32, (P,), in ``model.parameters()`` order."""

    center: torch.Tensor
    d1: torch.Tensor
    d2: torch.Tensor
    info: PlaneInfo


def filter_normalized_direction(
    center: torch.Tensor, shapes: Sequence[torch.Size], generator: torch.Generator
) -> torch.Tensor:
    """A random direction (P,) whose every filter has the norm of θ*'s matching filter (Li et al. §4).

    A filter is a slice along dim 0 of a weight: a conv's output channel, a linear layer's output unit.
    1-D parameters (biases, batch norm's weight and bias) are zero: the plane leaves them at θ*.
    """
    d = torch.randn(center.numel(), generator=generator)
    start = 0
    for shape in shapes:
        size = math.prod(shape)
        block, ref = d[start : start + size], center[start : start + size]
        start += size
        if len(shape) <= 1:
            block.zero_()
            continue
        rows, ref_rows = block.view(shape[0], -1), ref.view(shape[0], -1)  # (filters, fan_in)
        rows.mul_(ref_rows.norm(dim=1, keepdim=True) / (rows.norm(dim=1, keepdim=True) + 1e-10))
    return d


def _path(snapshots: Snapshots, center: int) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """The steps up to the chosen θ*, θ*, and the path's offsets θ_k − θ* (S, P) in float64."""
    steps, vectors = snapshots.read()
    if not -len(steps) <= center < len(steps):
        raise ValueError(f"center must index one of the {len(steps)} snapshots, got {center}")
    end = center % len(steps) + 1
    theta = vectors[end - 1]
    offsets = torch.stack(vectors[:end]).double() - theta.double()  # (S, P)
    return steps[:end], theta, offsets


def _project(
    steps: list[int], offsets: torch.Tensor, coords: torch.Tensor, dirs: torch.Tensor, meaningful: bool
) -> PathProjection:
    norms = offsets.square().sum(dim=1)  # (S,) ‖θ_k − θ*‖²
    held = ((coords @ (dirs @ dirs.T)) * coords).sum(dim=1)  # (S,) ‖α·d₁ + β·d₂‖², dirs (2, P)
    return PathProjection(
        steps=steps,
        alpha=coords[:, 0].tolist(),
        beta=coords[:, 1].tolist(),
        in_plane=[
            finite(h / n) if n > 0 else None for h, n in zip(held.tolist(), norms.tolist(), strict=True)
        ],
        meaningful=meaningful,
    )


def random_plane(
    snapshots: Snapshots, seed: int = 0, center: int = -1, radius: float = DEFAULT_RADIUS
) -> Plane:
    """Two filter-normalized random directions through snapshot ``center`` (the latest by default).

    The path is placed by least squares, but two random directions in thousands of dimensions hold almost
    none of it (``in_plane`` says how little): its points are not where the loss surface shows them.
    """
    steps, theta, offsets = _path(snapshots, center)
    generator = torch.Generator().manual_seed(seed)
    d1 = filter_normalized_direction(theta, snapshots.shapes, generator)
    d2 = filter_normalized_direction(theta, snapshots.shapes, generator)
    dirs = torch.stack([d1, d2]).double()  # (2, P)
    coords = torch.linalg.lstsq(dirs.T, offsets.T).solution.T  # (S, 2): min ‖α·d₁ + β·d₂ − (θ_k − θ*)‖
    info = PlaneInfo(
        kind="random",
        center_step=steps[-1],
        seed=seed,
        explained_variance_ratio=None,
        alpha_range=(-radius, radius),
        beta_range=(-radius, radius),
        path=_project(steps, offsets, coords, dirs, meaningful=False),
    )
    return Plane(center=theta, d1=d1, d2=d2, info=info)


def pca_plane(snapshots: Snapshots, center: int = -1) -> Plane:
    """The top two principal components of the path up to snapshot ``center`` (the latest by default).

    As Li et al. (sklearn's PCA): the rows θ_k − θ* are centered, d₁, d₂ are the top right singular vectors,
    orthonormal, and each explains s_i² / Σ s² of the variance. The path's coordinates are the projections
    (θ_k − θ*)·d_i, so θ* is the origin; d_i's sign puts the first snapshot at α, β ≤ 0.
    """
    steps, theta, offsets = _path(snapshots, center)
    if len(steps) < MIN_SNAPSHOTS:
        raise ValueError(f"a PCA of the path needs at least {MIN_SNAPSHOTS} snapshots, got {len(steps)}")
    centered = offsets - offsets.mean(dim=0)  # (S, P)
    # the S×S Gram matrix's eigenvectors give the singular vectors: S ≪ P, and no (P, P) matrix is formed
    eigenvalues, eigenvectors = torch.linalg.eigh(centered @ centered.T)  # ascending
    top, vectors = eigenvalues[-2:].flip(0), eigenvectors[:, -2:].flip(1)  # s₁², s₂²; (S, 2)
    if not top[1] > 1e-12 * top[0]:
        raise ValueError("the path spans fewer than two dimensions: PCA has no second direction")
    dirs, _ = torch.linalg.qr(centered.T @ vectors / top.sqrt())  # (P, 2), re-orthonormalized
    coords = offsets @ dirs  # (S, 2)
    signs = torch.where(coords[0] > 0, -1.0, 1.0).to(torch.float64)
    dirs, coords = dirs * signs, coords * signs
    ratios = (top / eigenvalues.clamp(min=0).sum()).tolist()
    info = PlaneInfo(
        kind="pca",
        center_step=steps[-1],
        seed=None,
        explained_variance_ratio=ratios,
        alpha_range=_window(coords[:, 0]),
        beta_range=_window(coords[:, 1]),
        path=_project(steps, offsets, coords, dirs.T, meaningful=True),
    )
    d1, d2 = dirs.T.float()
    return Plane(center=theta, d1=d1.contiguous(), d2=d2.contiguous(), info=info)


def _window(coords: torch.Tensor) -> tuple[float, float]:
    """The path's extent on one axis (the origin included) with PATH_MARGIN of it on each side."""
    lo, hi = min(float(coords.min()), 0.0), max(float(coords.max()), 0.0)
    margin = PATH_MARGIN * (hi - lo) if hi > lo else DEFAULT_RADIUS
    return lo - margin, hi + margin


# --- evaluating the loss at many weight vectors ----------------------------------------------------

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
    """The network as tensor operations on views of one weight vector ``w`` (P,), evaluation mode."""

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


# --- the grid, progressively -----------------------------------------------------------------------


@dataclass
class CoarseGrid:
    """The first picture: the loss at a coarse subset of the full grid's points."""

    alphas: list[float]  # the full grid's axes, n values each
    betas: list[float]
    alpha_index: list[int]  # the coarse columns and rows, as indices into alphas and betas
    beta_index: list[int]
    loss: list[list[Number]]  # [row][column], (len(beta_index), len(alpha_index))
    progress: float  # share of the full grid's points evaluated


@dataclass
class GridRow:
    """One finished row of the full grid: β = betas[index], every α."""

    index: int
    loss: list[Number]
    progress: float


def _axis(lo: float, hi: float, n: int) -> list[float]:
    """n evenly spaced values from lo to hi; one within rounding of 0 is exactly 0, so θ* is a grid point."""
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"a range must be finite with lo < hi, got ({lo}, {hi})")
    values = torch.linspace(lo, hi, n, dtype=torch.float64).tolist()
    return [0.0 if abs(v) < 1e-9 * (hi - lo) else v for v in values]


def coarse_indices(n: int, m: int) -> list[int]:
    """m indices (fewer if n < m) spread evenly over 0..n−1, both ends included."""
    m = min(m, n)
    return sorted({round(i * (n - 1) / (m - 1)) for i in range(m)})


def grid(
    evaluator: Evaluator,
    plane: Plane,
    n: int = 41,
    alpha_range: tuple[float, float] | None = None,
    beta_range: tuple[float, float] | None = None,
    coarse: int = COARSE,
    cancel: threading.Event | None = None,
) -> Iterator[CoarseGrid | GridRow]:
    """The loss on an n×n grid over the plane (the plane's default window unless ranges are given).

    Yields a CoarseGrid first (coarse×coarse points of the grid), then each row of the full grid in order,
    its coarse points reused. Stops before the next row once ``cancel`` is set.
    """
    if not 2 <= n <= MAX_GRID:
        raise ValueError(f"n must be in [2, {MAX_GRID}] points per side, got {n}")
    if coarse < 2:
        raise ValueError(f"coarse must be ≥ 2 points per side, got {coarse}")
    alphas = _axis(*(alpha_range or plane.info.alpha_range), n)
    betas = _axis(*(beta_range or plane.info.beta_range), n)
    picked = coarse_indices(n, coarse)
    rest = [i for i in range(n) if i not in set(picked)]  # the columns a coarse row still needs
    total, done = n * n, 0
    known: dict[int, list[Number]] = {}  # coarse row index → its values at the coarse columns
    for j in picked:
        if cancel is not None and cancel.is_set():
            return
        known[j] = evaluator.row(plane, [alphas[i] for i in picked], betas[j])
        done += len(picked)
    yield CoarseGrid(alphas, betas, picked, picked, [known[j] for j in picked], done / total)
    for j in range(n):
        if cancel is not None and cancel.is_set():
            return
        if j in known:
            todo = rest
            values = dict(zip(picked, known[j], strict=True))
        else:
            todo, values = list(range(n)), {}
        values.update(zip(todo, evaluator.row(plane, [alphas[i] for i in todo], betas[j]), strict=True))
        done += len(todo)
        yield GridRow(index=j, loss=[values[i] for i in range(n)], progress=done / total)


@dataclass
class LineProfile:
    """The loss along the straight line θ(t) = θ₀ + t·(θ* − θ₀): t = 0 at θ₀, t = 1 at θ*."""

    t: list[float]
    loss: list[Number]


def line_profile(
    evaluator: Evaluator,
    start: torch.Tensor,
    end: torch.Tensor,
    n: int = LINE_POINTS,
    t_range: tuple[float, float] = (-0.25, 1.25),
) -> LineProfile:
    """The 1-D view from the initial weights (start) to the current ones (end) and a bit beyond, as
    Goodfellow et al. 2015; with n = 61 over [−0.25, 1.25], t = 0 and t = 1 are points of it."""
    if not 2 <= n <= 1001:
        raise ValueError(f"n must be in [2, 1001] points, got {n}")
    ts = _axis(*t_range, n)
    ts = [1.0 if abs(t - 1.0) < 1e-9 * (t_range[1] - t_range[0]) else t for t in ts]
    return LineProfile(t=ts, loss=evaluator.between(start, end, ts))
