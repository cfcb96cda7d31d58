"""Lessons 1 and 2 on J(x) = (x − t)²: one gradient step, and the same descent with several learning rates.

One step is x′ = x − η·2(x − t), so x′ − t = (1 − 2η)·(x − t): the factor 1 − 2η decides everything. The
words of both lessons follow from the numbers: where the step lands against t (short of it, on it, past it
and closer, at the mirror point, past it and farther), and what repeating it does.
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import BaseModel, Field

from app.lessons.common import INPUT, leaf, num

CURVE_POINTS = 101
SAME = 1e-12  # relative tolerance under which two distances to t count as equal (the mirror point, t itself)

Outcome = Literal["at_minimum", "toward", "lands", "overshoots_closer", "mirror", "overshoots_farther"]


class GradientRequest(BaseModel):
    model_config = INPUT
    x: float = Field(2.0, ge=-1e3, le=1e3, description="where to take the gradient")
    target: float = Field(4.0, ge=-1e3, le=1e3, description="t in J(x) = (x − t)²")
    lr: float = Field(0.1, gt=0, le=10, description="η for one step")


class GradientLesson(BaseModel):
    x: float
    target: float
    loss: float = Field(description="J(x)")
    gradient: float = Field(description="dJ/dx by autograd")
    step: float = Field(description="−η·dJ/dx, what the update adds to x")
    next_x: float = Field(description="x − η·dJ/dx")
    next_loss: float
    outcome: Outcome = Field(
        description="where the step lands against the minimum t: short of it (toward), on it (lands), past "
        "it and closer (overshoots_closer), at the same distance (mirror), past it and farther "
        "(overshoots_farther); at_minimum when the gradient is 0"
    )
    tangent: tuple[float, float] = Field(description="(slope, intercept) of the tangent line at x")
    curve: list[tuple[float, float]] = Field(
        description="(x, J(x)) at CURVE_POINTS evenly spaced x covering x, t and the next x, to draw J"
    )


@torch.no_grad()
def _curve(target: float, *xs: float) -> list[tuple[float, float]]:
    """J(x) = (x − t)² sampled over the span of t and xs, widened by a quarter on each side (at least ±1)."""
    low, high = min(target, *xs), max(target, *xs)
    pad = max((high - low) / 4, 1.0)
    grid = torch.linspace(low - pad, high + pad, CURVE_POINTS, dtype=torch.float64)  # (CURVE_POINTS,)
    return list(zip(grid.tolist(), ((grid - target) ** 2).tolist(), strict=True))


def step_outcome(x: float, next_x: float, target: float, gradient: float) -> Outcome:
    """Where x′ lies against t, from the two distances to t and whether the step crossed it."""
    if gradient == 0:
        return "at_minimum"
    before, after = abs(x - target), abs(next_x - target)
    if after <= SAME * before:
        return "lands"
    if (x - target) * (next_x - target) > 0:
        return "toward"  # same side: a step of η > 0 always shortens the distance here
    if abs(after - before) <= SAME * before:
        return "mirror"
    return "overshoots_closer" if after < before else "overshoots_farther"


def gradient_lesson(req: GradientRequest) -> GradientLesson:
    x = leaf(req.x)
    loss = (x - req.target) ** 2
    loss.backward()
    g = float(x.grad)
    with torch.no_grad():
        nxt = x - req.lr * x.grad
        next_loss = (nxt - req.target) ** 2
    return GradientLesson(
        x=req.x,
        target=req.target,
        loss=num(loss),
        gradient=g,
        step=-req.lr * g,
        next_x=num(nxt),
        next_loss=num(next_loss),
        outcome=step_outcome(req.x, num(nxt), req.target, g),
        tangent=(g, num(loss) - g * req.x),
        curve=_curve(req.target, req.x, num(nxt)),
    )


# --- 2. the learning rate ------------------------------------------

LearningRate = Annotated[float, Field(gt=0, le=10)]  # a bad one is named lrs.<i>, with its own code


class DescentRequest(BaseModel):
    model_config = INPUT
    x: float = Field(2.0, ge=-100, le=100)
    target: float = Field(4.0, ge=-100, le=100)
    lrs: list[LearningRate] = Field(
        [0.02, 0.3, 1.05], min_length=1, max_length=6, description="η for each run"
    )
    steps: int = Field(20, ge=1, le=200)


Verdict = Literal["crawls", "converges", "overshoots", "oscillates", "diverges"]


class DescentRun(BaseModel):
    lr: float
    factor: float = Field(description="1 − 2η: each step multiplies x − t by it")
    xs: list[float]
    losses: list[float]
    verdict: Verdict = Field(
        description="from the factor: crawls (0.9 < f < 1), converges (0 ≤ f ≤ 0.9), overshoots (−1 < f < 0: "
        "converges while jumping past t), oscillates (f = −1: between x₀ and its mirror 2t − x₀), "
        "diverges (f < −1)"
    )


class DescentLesson(BaseModel):
    runs: list[DescentRun]


def verdict(factor: float) -> Verdict:
    if factor < -1:
        return "diverges"
    if factor == -1:
        return "oscillates"
    if factor < 0:
        return "overshoots"
    return "crawls" if factor > 0.9 else "converges"


def descent_lesson(req: DescentRequest) -> DescentLesson:
    runs = []
    for lr in req.lrs:
        x = leaf(req.x)
        xs, losses = [], []
        for _ in range(req.steps + 1):
            x.grad = None
            loss = (x - req.target) ** 2
            loss.backward()
            xs.append(num(x))
            losses.append(num(loss))
            with torch.no_grad():
                x -= lr * x.grad
                if not torch.isfinite(x) or abs(num(x)) > 1e12:
                    break
        factor = 1 - 2 * lr  # x_{k+1} − t = (1 − 2η)·(x_k − t)
        runs.append(DescentRun(lr=lr, factor=factor, xs=xs, losses=losses, verdict=verdict(factor)))
    return DescentLesson(runs=runs)
