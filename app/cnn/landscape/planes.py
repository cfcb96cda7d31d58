"""The planes θ(α, β) = θ* + α·d₁ + β·d₂: filter-normalized random or PCA directions, the path projected."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from app.cnn.landscape.path import MIN_SNAPSHOTS, WeightPath
from app.cnn.probes import finite
from app.cnn.reports import Number

DEFAULT_RADIUS = 1.0  # filter-normalized: α = 1 moves every filter by its own norm
PATH_MARGIN = 0.2  # PCA window: the path's extent plus this share of it on each side


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


def _path_up_to(path: WeightPath, center: int) -> tuple[list[int], torch.Tensor, torch.Tensor]:
    """The steps up to the chosen θ*, θ*, and the path's offsets θ_k − θ* (S, P) in float64."""
    steps, vectors = path.read()
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


def random_plane(path: WeightPath, seed: int = 0, center: int = -1, radius: float = DEFAULT_RADIUS) -> Plane:
    """Two filter-normalized random directions through snapshot ``center`` (the latest by default).

    The path is placed by least squares, but two random directions in thousands of dimensions hold almost
    none of it (``in_plane`` says how little): its points are not where the loss surface shows them.
    """
    steps, theta, offsets = _path_up_to(path, center)
    generator = torch.Generator().manual_seed(seed)
    d1 = filter_normalized_direction(theta, path.shapes, generator)
    d2 = filter_normalized_direction(theta, path.shapes, generator)
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


def pca_plane(path: WeightPath, center: int = -1) -> Plane:
    """The top two principal components of the path up to snapshot ``center`` (the latest by default).

    As Li et al. (sklearn's PCA): the rows θ_k − θ* are centered, d₁, d₂ are the top right singular vectors,
    orthonormal, and each explains s_i² / Σ s² of the variance. The path's coordinates are the projections
    (θ_k − θ*)·d_i, so θ* is the origin; d_i's sign puts the first snapshot at α, β ≤ 0.
    """
    steps, theta, offsets = _path_up_to(path, center)
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
