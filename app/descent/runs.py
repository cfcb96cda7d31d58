"""Whole runs computed at once on the engine: one trajectory, a basin map, a stability map.

A map steps its runners in groups of ``group`` (app/descent/cost.py sizes them so that a group's pass over a
data set stays within the memory bound and the cache). Runners never interact, and a group starts at a
multiple of 64 runners, where the vector loops of torch and NumPy put its runners in one piece: the numbers
are the same bit for bit (tests/descent/test_cost.py). One exception, as between two maps of different sizes
today: once runners diverge, the last few of a pass may change places with the scalar tail of a vector loop,
whose last bit can differ for some functions (torch's sigmoid) when a data set's size is not a multiple of 8.

Pure compute, no FastAPI: the routes validate, call these, and shape the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.descent.cost import STABILITY_TAIL
from app.descent.curvature import hessians
from app.descent.data import DATA_PROBLEMS
from app.descent.engine import Engine, Trace
from app.descent.grid import grid_axes
from app.descent.objective import FunctionObjective
from app.descent.optimizers import get_optimizer
from app.descent.surfaces import Surface


def divergence_bound(x_range: Sequence[float], y_range: Sequence[float], configured: float) -> float:
    """|θᵢ| beyond which a runner has diverged: the configured bound, or 1 000 times the domain when the
    domain itself is that large."""
    (x0, x1), (y0, y1) = x_range, y_range
    span = max(x1 - x0, y1 - y0, abs(x0), abs(x1), abs(y0), abs(y1))
    return max(configured, 1e3 * span)


def objective(surface: Surface) -> FunctionObjective:
    """The surface as an objective; its traced autograd graph is shared by every run on it."""
    if surface.id in DATA_PROBLEMS:
        return FunctionObjective(surface.fn)  # one id, many data sets: no shared trace
    key = f"expr:{surface.formula}" if surface.id == "custom" else surface.id
    return FunctionObjective(surface.fn, key=key)


@dataclass
class Trajectory:
    points: np.ndarray  # (m, 2): points[k] is θ after k updates
    losses: np.ndarray  # (m,)
    gradients: np.ndarray  # (m, 2)
    diverged_at: int | None
    reason: str | None
    curvature: np.ndarray | None = (
        None  # (m, 2): the Hessian's eigenvalues λ1 ≤ λ2 at points[k], NaN if not finite
    )


def trajectory(
    surface: Surface,
    optimizer_id: str,
    hyperparameters: dict[str, Any],
    start: Sequence[float],
    steps: int,
    bound: float,
    curvature: bool = False,
) -> Trajectory:
    """``steps`` updates from ``start``; the record stops before the first non-finite or out-of-bound step.
    With ``curvature``, the Hessian's eigenvalues at every point too (app/descent/curvature.py)."""
    engine = Engine(objective(surface), bound)
    engine.add("r", optimizer_id, hyperparameters, start)
    trace = engine.run(steps).get("r")
    points = [trace.points] if trace is not None else []
    losses = [trace.losses] if trace is not None else []
    grads = [trace.gradients] if trace is not None else []
    final = engine.evaluate().get("r")  # θ_N, J(θ_N), ∇J(θ_N), unless the runner diverged
    if final is not None:
        points.append(final[0][None, :])
        losses.append(np.array([final[1]]))
        grads.append(final[2][None, :])
    runner = engine.runners["r"]
    path = np.concatenate(points) if points else np.zeros((0, 2))
    return Trajectory(
        path,
        np.concatenate(losses) if losses else np.zeros(0),
        np.concatenate(grads) if grads else np.zeros((0, 2)),
        runner.diverged_at,
        runner.divergence,
        hessians(surface.fn, path).eigenvalues if curvature else None,
    )


@dataclass
class _Finals:
    """Where every runner of a map ended, and what it recorded last."""

    points: np.ndarray  # (R, 2): θ at the end (a diverged runner: its last finite point)
    losses: np.ndarray  # (R,)
    diverged: np.ndarray  # (R,) bool
    traces: list[Trace | None]  # (R,): the last ``tail`` steps, when asked for


def _run_many(
    surface: Surface,
    optimizer_id: str,
    hyper_rows: list[dict[str, Any]],
    starts: np.ndarray,
    steps: int,
    bound: float,
    tail: int = 0,
    group: int | None = None,
) -> _Finals:
    """Step R runners, ``group`` at a time (all together: None); record each one's last ``tail`` steps."""
    count = len(starts)
    size = group or max(count, 1)
    shared = objective(surface)  # one objective: its traced graph is checked once for all groups
    finals = _Finals(np.empty((count, 2)), np.empty(count), np.empty(count, dtype=bool), [None] * count)
    for first in range(0, count, size):
        rows = range(first, min(first + size, count))
        engine = Engine(shared, bound)
        ids = [str(k) for k in rows]
        engine.add_many(ids, optimizer_id, hyper_rows[first : rows.stop], starts[first : rows.stop])
        engine.run(steps - tail, record=False)
        traces = engine.run(tail, record=True) if tail else {}
        _final(engine, surface, ids, finals, first)
        for k, rid in zip(rows, ids, strict=True):
            finals.traces[k] = traces.get(rid)
    return finals


def _final(engine: Engine, surface: Surface, ids: list[str], finals: _Finals, first: int) -> None:
    """Final points, losses and diverged flags of one group, written at rows ``first``... of ``finals``."""
    evaluated = engine.evaluate()
    points = np.array([engine.point(rid) for rid in ids]).reshape(-1, 2)
    diverged = np.array([not engine.runners[rid].running for rid in ids])
    with np.errstate(all="ignore"):
        losses = FunctionObjective(surface.fn).value(
            np.ascontiguousarray(points[:, 0]), np.ascontiguousarray(points[:, 1])
        )
    losses = np.array(losses, dtype=np.float64)
    for k, rid in enumerate(ids):
        if rid in evaluated:
            losses[k] = evaluated[rid][1]
    rows = slice(first, first + len(ids))
    finals.points[rows], finals.losses[rows], finals.diverged[rows] = points, losses, diverged


def nearest_minimum(points: np.ndarray, minima: Sequence[Sequence[float]], radius: float) -> np.ndarray:
    """Index of the listed minimum within ``radius`` of each point (the nearest one), else -1."""
    if not minima:
        return np.full(len(points), -1)
    m = np.asarray(minima, dtype=np.float64)  # (M, 2)
    dist = np.linalg.norm(points[:, None, :] - m[None, :, :], axis=2)  # (N, M)
    idx = dist.argmin(axis=1)
    return np.where(dist[np.arange(len(points)), idx] <= radius, idx, -1)


@dataclass
class BasinMap:
    x: np.ndarray  # (n,)
    y: np.ndarray  # (n,)
    basin: np.ndarray  # (n, n) [j, i] for start (x[i], y[j]): minimum index, -1 elsewhere, -2 diverged
    final_points: np.ndarray  # (n, n, 2)
    final_losses: np.ndarray  # (n, n)


def basin_map(
    surface: Surface,
    optimizer_id: str,
    hyperparameters: dict[str, Any],
    x_range: Sequence[float],
    y_range: Sequence[float],
    n: int,
    steps: int,
    bound: float,
    tolerance: float,
    group: int | None = None,
) -> BasinMap:
    """Every start of an n×n grid stepped ``steps`` times, ``group`` runners at a time (all: None)."""
    xs, ys = grid_axes(x_range, y_range, n)
    gx, gy = np.meshgrid(xs, ys)  # [j, i]
    starts = np.stack([gx.ravel(), gy.ravel()], axis=1)
    shared = dict(hyperparameters)  # one dict for all: the kernel merges it once
    ends = _run_many(surface, optimizer_id, [shared] * len(starts), starts, steps, bound, group=group)
    span = max(x_range[1] - x_range[0], y_range[1] - y_range[0])
    basin = np.where(ends.diverged, -2, nearest_minimum(ends.points, surface.minima, tolerance * span))
    return BasinMap(xs, ys, basin.reshape(n, n), ends.points.reshape(n, n, 2), ends.losses.reshape(n, n))


def natural_axis(optimizer_id: str) -> str | None:
    """The hyperparameter a stability map sweeps beside the learning rate."""
    names = {hp.name for hp in get_optimizer(optimizer_id).hyperparameters}
    for name, key in (("momentum", "momentum"), ("betas", "beta1"), ("rho", "rho"), ("alpha", "alpha")):
        if name in names:
            return key
    return None


def sweepable_axes(optimizer_id: str) -> dict[str, tuple[float, float]]:
    """Float hyperparameters other than lr that a stability map can sweep, with a closed range for each."""
    axes: dict[str, tuple[float, float]] = {}
    for hp in get_optimizer(optimizer_id).hyperparameters:
        if hp.name == "lr" or hp.kind == "bool" or hp.low is None or hp.high is None:
            continue
        nudge = (hp.high - hp.low) * 0.01
        low = hp.low + nudge if hp.low_open else hp.low
        high = hp.high - nudge if hp.high_open else hp.high
        if hp.kind == "pair":
            axes["beta1"] = axes["beta2"] = (low, high)
        else:
            axes[hp.name] = (low, high)
    return axes


@dataclass
class StabilityMap:
    lr: np.ndarray  # (n,)
    axis_values: np.ndarray  # (m,)
    outcome: list[list[str]]  # [j][i] for (axis_values[j], lr[i])
    final_losses: np.ndarray  # (m, n)


def run_outcome(
    diverged: bool, at_minimum: bool, tail: Trace | None, span: float, last: int | None = None
) -> str:
    """How a run ended, from its recorded steps (``tail``; only its ``last`` ones when given, 0: none):
    diverged; converged (at a listed minimum, or settled: gradient and step both vanishing); oscillating
    (its steps still turn back more often than not); else slow. The stability map's classes, and the tune
    sweep's."""
    if diverged:
        return "diverged"
    if tail is None or last == 0:
        deltas = grads = np.zeros((0, 2))
    else:
        keep = slice(None) if last is None else slice(-last, None)
        deltas, grads = tail.deltas[keep], tail.gradients[keep]
    settled = len(grads) > 0 and np.linalg.norm(grads[-1]) < 1e-4 and np.linalg.norm(deltas[-1]) < 1e-6 * span
    if at_minimum or settled:
        return "converged"
    turns = np.einsum("ij,ij->i", deltas[1:], deltas[:-1]) < 0 if len(deltas) > 1 else np.zeros(0, bool)
    return "oscillating" if turns.size and turns.mean() > 0.4 else "slow"


def stability_map(
    surface: Surface,
    optimizer_id: str,
    hyperparameters: dict[str, Any],
    start: Sequence[float],
    lr_range: Sequence[float],
    axis: str | None,
    axis_range: Sequence[float] | None,
    n: int,
    steps: int,
    bound: float,
    span: float,
    group: int | None = None,
) -> StabilityMap:
    """Each (lr, axis) setting from one start: converged, oscillating (still bouncing), slow, or diverged;
    ``group`` settings stepped at a time (all: None)."""
    lrs = np.geomspace(lr_range[0], lr_range[1], n)
    values = np.linspace(axis_range[0], axis_range[1], n) if axis else np.array([np.nan])
    rows: list[dict[str, Any]] = []
    for a in values:
        for lr in lrs:
            hp = {**hyperparameters, "lr": float(lr)}
            if axis in ("beta1", "beta2"):
                b1, b2 = hp.get("betas", (0.9, 0.999))
                hp["betas"] = (float(a), b2) if axis == "beta1" else (b1, float(a))
            elif axis:
                hp[axis] = float(a)
            rows.append(hp)
    starts = np.repeat(np.asarray(start, dtype=np.float64)[None, :], len(rows), axis=0)
    tail = min(STABILITY_TAIL, steps // 2)
    ends = _run_many(surface, optimizer_id, rows, starts, steps, bound, tail, group)
    at_minimum = nearest_minimum(ends.points, surface.minima, 0.01 * span) >= 0
    outcome = [
        run_outcome(ends.diverged[k], at_minimum[k], trace, span) for k, trace in enumerate(ends.traces)
    ]
    m = len(values)
    return StabilityMap(
        lrs,
        values if axis else np.zeros(0),
        [outcome[j * n : (j + 1) * n] for j in range(m)],
        ends.losses.reshape(m, n),
    )
