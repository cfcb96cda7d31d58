"""Tune η: sweep the learning rate of several optimizers from one start, and pick each one's best.

Every (optimizer, η) pair is a runner of one engine (app/descent/engine.py): one autograd pass a tick for
all of them, one kernel call per optimizer. Runners are stepped ``group`` at a time (app/descent/cost.py
sizes the groups as it does a map's) and record their steps in pieces of ``cost.TUNE_RECORD`` ticks, of which
only the loss is kept: the loss history decides between runs that end equally low.

The pick: the lowest final loss; runs that end within ``TIE`` of it are a tie, won by the fewest steps to come
within ``TIE`` of it (then the lower final loss, then the smaller η). A diverged run is never picked. Each
run is classed as the stability map classes it (converged, oscillating, slow, diverged), on its last
``cost.STABILITY_TAIL`` steps.

Pure compute, no FastAPI: the route validates, calls ``tune``, and shapes the answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import numpy as np

from app.descent.cost import STABILITY_TAIL, TUNE_RECORD
from app.descent.engine import Engine, Trace
from app.descent.runs import nearest_minimum, objective, run_outcome
from app.descent.surfaces import Surface

TIE = 1e-6  # final losses this close to the lowest are a tie (absolute, in the loss's own units)


@dataclass
class Sweep:
    """One optimizer's learning-rate sweep."""

    optimizer: str
    lrs: np.ndarray  # (n,) the swept learning rates, increasing
    final_losses: np.ndarray  # (n,) J after the last step (diverged: at its last finite point), else NaN
    statuses: list[str]  # (n,) converged, oscillating, slow or diverged
    steps_to_best: np.ndarray  # (n,) first step within TIE of the pick's final loss, -1 never
    best: int | None  # index of the picked η, None when every run diverged


def learning_rates(lr_range: Sequence[float], n: int) -> np.ndarray:
    """n learning rates evenly spaced on a log scale, both ends included."""
    return np.geomspace(lr_range[0], lr_range[1], n)


def tune(
    surface: Surface,
    choices: Sequence[tuple[str, dict[str, Any]]],
    start: Sequence[float],
    lrs: np.ndarray,
    steps: int,
    bound: float,
    span: float,
    group: int | None = None,
) -> list[Sweep]:
    """Each (optimizer id, hyperparameters) of ``choices`` run ``steps`` times from ``start`` at every η of
    ``lrs``; ``group`` runners stepped at a time (all: None); ``span``: the domain's width, the scale of
    "at a minimum" and "settled"."""
    n = len(lrs)
    rows = [(oid, {**hyper, "lr": float(lr)}) for oid, hyper in choices for lr in lrs]
    count = len(rows)
    history = np.full((count, steps + 1), np.nan)  # [k, j]: J(θ_j) of runner k, NaN once it diverged
    points = np.empty((count, 2))
    diverged = np.empty(count, dtype=bool)
    tails: list[Trace | None] = [None] * count
    tail = min(STABILITY_TAIL, steps // 2)
    shared = objective(surface)  # one objective: its traced graph is checked once for all groups
    size = group or max(count, 1)
    for first in range(0, count, size):
        members = range(first, min(first + size, count))
        engine = Engine(shared, bound)
        for oid, run in groupby(members, key=lambda k: rows[k][0]):
            ks = list(run)
            starts = np.repeat(np.asarray(start, dtype=np.float64)[None, :], len(ks), axis=0)
            engine.add_many([str(k) for k in ks], oid, [rows[k][1] for k in ks], starts)
        # the short piece first, so the last one holds the tail (TUNE_RECORD ≥ STABILITY_TAIL)
        pieces = [steps % TUNE_RECORD] * bool(steps % TUNE_RECORD) + [TUNE_RECORD] * (steps // TUNE_RECORD)
        traces: dict[str, Trace] = {}
        for ticks in pieces:
            traces = engine.run(ticks, record=True)
            for rid, trace in traces.items():
                k, j = int(rid), trace.first_step
                history[k, j : j + len(trace.losses)] = trace.losses
        for rid, (_, loss, _) in engine.evaluate().items():  # J(θ_N); marks a non-finite θ_N diverged
            history[int(rid), steps] = loss
        for k in members:
            rid = str(k)
            points[k] = engine.point(rid)
            diverged[k] = not engine.runners[rid].running
            tails[k] = traces.get(rid)
    finals = _last_finite(history)
    at_minimum = nearest_minimum(points, surface.minima, 0.01 * span) >= 0
    statuses = [run_outcome(diverged[k], at_minimum[k], tails[k], span, last=tail) for k in range(count)]
    sweeps = []
    for i, (oid, _) in enumerate(choices):
        rows_i = slice(i * n, (i + 1) * n)
        best, reach = _pick(finals[rows_i], diverged[rows_i], history[rows_i], lrs)
        sweeps.append(Sweep(oid, lrs, finals[rows_i], statuses[rows_i], reach, best))
    return sweeps


def _last_finite(history: np.ndarray) -> np.ndarray:
    """Each row's last recorded loss (NaN when it has none)."""
    recorded = np.isfinite(history)
    last = history.shape[1] - 1 - np.argmax(recorded[:, ::-1], axis=1)
    return np.where(recorded.any(axis=1), history[np.arange(len(history)), last], np.nan)


def _pick(
    finals: np.ndarray, diverged: np.ndarray, history: np.ndarray, lrs: np.ndarray
) -> tuple[int | None, np.ndarray]:
    """The picked η's index (None when every run diverged) and each run's first step within TIE of the
    pick's final loss (-1: never)."""
    eligible = ~diverged & np.isfinite(finals)
    if not eligible.any():
        return None, np.full(len(finals), -1)
    lowest = finals[eligible].min()
    within = history <= lowest + TIE  # NaN compares False
    reach = np.where(within.any(axis=1), np.argmax(within, axis=1), -1)
    tied = np.flatnonzero(eligible & (finals <= lowest + TIE))
    best = min(tied, key=lambda k: (reach[k], finals[k], lrs[k]))
    return int(best), reach
