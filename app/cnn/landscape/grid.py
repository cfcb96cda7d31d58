"""The loss on a grid over a plane, coarse first then row by row, cancelable; and the 1-D line θ₀ → θ*."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from app.cnn.landscape.evaluator import Evaluator
from app.cnn.landscape.planes import Plane
from app.cnn.reports import Number

MAX_GRID = 51  # points per side: 51² forward passes of the whole evaluation set take ~5 s
COARSE = 11  # points per side of the first, coarse picture
LINE_POINTS = 61  # 1-D view: t from −0.25 to 1.25 in steps of 0.025


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
