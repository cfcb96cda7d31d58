"""Lesson 7, why η can be too large: gradient descent multiplies the error along each curvature direction by
1 − ηλ per step, so it converges exactly when |1 − ηλ| < 1 for every λ, that is η < 2/λ_max.

1. On J(x) = (x − 4)² (lesson 1's curve) J″ = 2, by autograd: η < 1 converges, η = 1 bounces between x₀ and
   its mirror point for ever, η > 1 diverges.
2. On the bowl J(x, y) = ½·(a·x² + b·y²) the Hessian's eigenvalues (autograd) are a and b: each direction has
   its own factor, the steep one sets the limit 2/λ_max, and the one with the largest |1 − ηλ| sets the pace.
The words follow the numbers: each verdict is ``verdict`` of lesson 2 applied to the factor 1 − ηλ.
"""

from __future__ import annotations

import torch
from pydantic import BaseModel, Field

from app.lessons.common import INPUT, leaf, num
from app.lessons.gradient import Verdict, verdict

TARGET = 4.0  # J(x) = (x − 4)², lesson 1's curve
CURVE_POINTS = 101
GRID_N = 41  # contour grid of the bowl, per side
ESCAPE = 1e12  # a diverging path stops here: it has made its point, and the numbers stay finite in JSON
MAX_STEPS = 200
ON_CURVE = 12  # the first points of the path drawn on the parabola: enough to see the pattern, few to read


def _line_loss(x: torch.Tensor) -> torch.Tensor:
    return (x - TARGET) ** 2


def _bowl_loss(p: torch.Tensor, a: float, b: float) -> torch.Tensor:
    return 0.5 * (a * p[0] ** 2 + b * p[1] ** 2)


def second_derivative(x: float) -> float:
    """J″(x) by autograd: the gradient of the gradient (create_graph keeps dJ/dx differentiable)."""
    t = leaf(x)
    (g,) = torch.autograd.grad(_line_loss(t), t, create_graph=True)
    (h,) = torch.autograd.grad(g, t)
    return float(h)


def bowl_hessian(a: float, b: float, at: tuple[float, float] = (0.0, 0.0)) -> tuple[torch.Tensor, ...]:
    """The bowl's Hessian at a point by autograd, its eigenvalues (ascending) and eigenvectors (columns)."""
    point = torch.tensor(at, dtype=torch.float64)
    hessian = torch.autograd.functional.hessian(lambda p: _bowl_loss(p, a, b), point)  # (2, 2)
    eigenvalues, eigenvectors = torch.linalg.eigh(hessian)  # (2,), (2, 2)
    return hessian, eigenvalues, eigenvectors


# --- 1. one curvature -----------------------------------------------------------------------------


class StepFactorRequest(BaseModel):
    model_config = INPUT
    lr: float = Field(0.9, gt=0, le=10, description="η")
    x: float = Field(2.0, ge=-100, le=100, description="the start x₀")
    steps: int = Field(20, ge=1, le=MAX_STEPS)


class StepFactorLesson(BaseModel):
    lr: float
    target: float = Field(description="the minimum of J(x) = (x − 4)²")
    curvature: float = Field(description="J″ by autograd (2 everywhere)")
    limit: float = Field(description="2/J″: the largest η that converges is any η below it")
    factor: float = Field(description="1 − η·J″: each step multiplies x − 4 by it")
    contraction: float = Field(description="|1 − η·J″|: below 1 the error shrinks, above 1 it grows")
    verdict: Verdict = Field(description="lesson 2's verdict of the factor")
    xs: list[float] = Field(description=f"x₀, x₁, … by autograd steps; stops once |x| > {ESCAPE:g}")
    losses: list[float]
    on_curve: int = Field(description=f"how many of the first points the curve spans (at most {ON_CURVE})")
    curve: list[tuple[float, float]] = Field(description="(x, J(x)) over the span of those points, to draw J")


@torch.no_grad()
def _curve(xs: list[float]) -> list[tuple[float, float]]:
    low, high = min(TARGET, *xs), max(TARGET, *xs)
    pad = max((high - low) / 8, 1.0)
    grid = torch.linspace(low - pad, high + pad, CURVE_POINTS, dtype=torch.float64)  # (CURVE_POINTS,)
    return list(zip(grid.tolist(), _line_loss(grid).tolist(), strict=True))


def stability_lesson(req: StepFactorRequest) -> StepFactorLesson:
    curvature = second_derivative(req.x)
    x = leaf(req.x)
    xs, losses = [], []
    for _ in range(req.steps + 1):
        x.grad = None
        loss = _line_loss(x)
        loss.backward()
        xs.append(num(x))
        losses.append(num(loss))
        with torch.no_grad():
            x -= req.lr * x.grad
        if not torch.isfinite(x) or abs(num(x)) > ESCAPE:
            break
    factor = 1 - req.lr * curvature
    return StepFactorLesson(
        lr=req.lr,
        target=TARGET,
        curvature=curvature,
        limit=2 / curvature,
        factor=factor,
        contraction=abs(factor),
        verdict=verdict(factor),
        xs=xs,
        losses=losses,
        on_curve=min(len(xs), ON_CURVE),
        curve=_curve(xs[:ON_CURVE]),
    )


# --- 2. two curvatures ----------------------------------------------------------------------------


class BowlRequest(BaseModel):
    model_config = INPUT
    lr: float = Field(0.18, gt=0, le=10, description="η")
    a: float = Field(1.0, gt=0, le=100, description="the curvature along x in ½·(a·x² + b·y²)")
    b: float = Field(10.0, gt=0, le=100, description="the curvature along y")
    x: float = Field(4.0, ge=-100, le=100, description="the start")
    y: float = Field(1.0, ge=-100, le=100)
    steps: int = Field(30, ge=1, le=MAX_STEPS)


class CurvatureDirection(BaseModel):
    eigenvalue: float = Field(description="λ, an eigenvalue of the Hessian (autograd)")
    vector: tuple[float, float] = Field(description="its unit eigenvector")
    factor: float = Field(description="1 − ηλ: each step multiplies the error along this direction by it")
    contraction: float = Field(description="|1 − ηλ|")
    limit: float = Field(description="2/λ: this direction alone converges for η below it")
    verdict: Verdict
    errors: list[float] = Field(description="|error along this direction| at each step of the path")


class BowlLesson(BaseModel):
    lr: float
    a: float
    b: float
    hessian: tuple[tuple[float, float], tuple[float, float]]
    directions: list[CurvatureDirection] = Field(description="flat first: λ ascending")
    limit: float = Field(description="2/λ_max, set by the steep direction")
    deciding: int = Field(
        description="the direction with the largest |1 − ηλ|: the slowest, or the one that diverges"
    )
    verdict: Verdict = Field(description="the deciding direction's verdict")
    points: list[tuple[float, float]] = Field(
        description=f"the path by torch.optim.SGD, stops past {ESCAPE:g}"
    )
    losses: list[float]
    axis: list[float] = Field(description=f"the contour's {GRID_N} coordinates, the same along x and y")
    grid: list[list[float]] = Field(description="J on the axis × axis grid, rows along y")


@torch.no_grad()
def _grid(a: float, b: float, span: float) -> tuple[list[float], list[list[float]]]:
    """The axis (the same for x and y) and J on the grid over it, rows along y."""
    axis = torch.linspace(-span, span, GRID_N, dtype=torch.float64)  # (G,)
    gy, gx = torch.meshgrid(axis, axis, indexing="ij")  # (G, G) each
    return axis.tolist(), _bowl_loss(torch.stack([gx, gy]), a, b).tolist()


def bowl_lesson(req: BowlRequest) -> BowlLesson:
    hessian, eigenvalues, eigenvectors = bowl_hessian(req.a, req.b, (req.x, req.y))
    p = torch.tensor([req.x, req.y], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=req.lr)
    points, losses, errors = [], [], []
    for _ in range(req.steps + 1):
        opt.zero_grad()
        loss = _bowl_loss(p, req.a, req.b)
        loss.backward()
        points.append(tuple(p.detach().tolist()))
        losses.append(num(loss))
        errors.append((eigenvectors.T @ p.detach()).abs().tolist())  # (2,): the minimum is (0, 0)
        opt.step()
        if not torch.isfinite(p).all() or float(p.detach().abs().max()) > ESCAPE:
            break
    directions = []
    for i, lam in enumerate(eigenvalues.tolist()):
        factor = 1 - req.lr * lam
        directions.append(
            CurvatureDirection(
                eigenvalue=lam,
                vector=tuple(eigenvectors[:, i].tolist()),
                factor=factor,
                contraction=abs(factor),
                limit=2 / lam,
                verdict=verdict(factor),
                errors=[e[i] for e in errors],
            )
        )
    deciding = max(range(len(directions)), key=lambda i: (directions[i].contraction, i))
    axis, grid = _grid(req.a, req.b, max(abs(req.x), abs(req.y), 1.0) * 1.25)  # the start and the minimum
    return BowlLesson(
        lr=req.lr,
        a=req.a,
        b=req.b,
        hessian=tuple(tuple(row) for row in hessian.tolist()),
        directions=directions,
        limit=2 / float(eigenvalues[-1]),
        deciding=deciding,
        verdict=directions[deciding].verdict,
        points=points,
        losses=losses,
        axis=axis,
        grid=grid,
    )
