"""Routes of the Learn tab: each lesson's numbers, computed by torch autograd in the app's compute pool
(app/api/compute.py): a few milliseconds each, but torch work all the same, so it waits in the same line."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from app import lessons
from app.api.compute import BUSY_RESPONSES
from app.api.deps import Compute
from app.api.responses import ERROR_RESPONSES, json_response
from app.errors import AppError

router = APIRouter(prefix="/api/lessons", tags=["lessons"], responses={**ERROR_RESPONSES, **BUSY_RESPONSES})


@router.post("/gradient", response_model=lessons.GradientLesson)
async def gradient(req: lessons.GradientRequest, compute: Compute) -> Response:
    """J(x) = (x − t)² at x: J, dJ/dx, the tangent, and x after one step of η."""
    return await compute(lambda: json_response(lessons.gradient_lesson(req)))


@router.post("/descent", response_model=lessons.DescentLesson)
async def descent(req: lessons.DescentRequest, compute: Compute) -> Response:
    """The same 1-D descent with several learning rates, each judged by its factor 1 − 2η."""
    return await compute(lambda: json_response(lessons.descent_lesson(req)))


@router.post("/chain", response_model=lessons.ChainLesson)
async def chain(req: lessons.ChainRequest, compute: Compute) -> Response:
    """u = W·x, ŷ = u + b, r = ŷ − t, L = r² as a graph: forward values, backward local × upstream."""
    return await compute(lambda: json_response(lessons.chain_lesson(req)))


@router.post("/backprop", response_model=lessons.BackpropLesson)
async def backprop(req: lessons.BackpropRequest, compute: Compute) -> Response:
    """A small network on one sample: z, a, δ and ∂L/∂W layer by layer, with sigmoid or ReLU."""
    return await compute(lambda: json_response(lessons.backprop_lesson(req)))


@router.post("/batches", response_model=lessons.BatchesLesson)
async def batches(req: lessons.BatchesRequest, compute: Compute) -> Response:
    """Mini-batch gradients on the linear-regression data at several B: variance ∝ 1/B, spread ∝ 1/√B."""
    return await compute(lambda: json_response(lessons.batches_lesson(req)))


@router.post("/stability", response_model=lessons.StepFactorLesson)
async def stability(req: lessons.StepFactorRequest, compute: Compute) -> Response:
    """J(x) = (x − 4)²: J″ by autograd, the factor 1 − η·J″, its verdict and the path of η from x₀."""
    return await compute(lambda: json_response(lessons.stability_lesson(req)))


@router.post("/stability/bowl", response_model=lessons.BowlLesson)
async def stability_bowl(req: lessons.BowlRequest, compute: Compute) -> Response:
    """½·(a·x² + b·y²): the Hessian's eigenvalues, 1 − ηλ per direction, the limit 2/λ_max, the SGD path."""
    return await compute(lambda: json_response(lessons.bowl_lesson(req)))


def _exercise(lesson: str) -> str:
    if lesson not in lessons.EXERCISES:
        known = ", ".join(lessons.EXERCISES)
        raise AppError.not_found(f"no exercise for lesson {lesson!r}; lessons: {known}")
    return lesson


@router.get("/{lesson}/exercise", response_model=lessons.ExerciseQuestion)
async def exercise(lesson: str, compute: Compute, seed: int = Query(0, ge=0, le=2**31 - 1)) -> Response:
    """The numbers of a lesson's exercise: seed 0 the first ones, any other seed new ones."""
    _exercise(lesson)
    return await compute(lambda: json_response(lessons.question(lesson, seed)))


@router.post("/{lesson}/check", response_model=lessons.ExerciseResult)
async def check(lesson: str, req: lessons.ExerciseCheck, compute: Compute) -> Response:
    """A learner's answer to a lesson's exercise, against the one torch computes; names a common mistake."""
    _exercise(lesson)
    return await compute(lambda: json_response(lessons.check(lesson, req)))
