"""Routes of the Learn tab: each lesson's numbers, computed by torch autograd."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app import lessons
from app.api.responses import ERROR_RESPONSES, json_response
from app.errors import AppError

router = APIRouter(prefix="/api/lessons", tags=["lessons"], responses=ERROR_RESPONSES)


@router.post("/gradient", response_model=lessons.GradientLesson)
def gradient(req: lessons.GradientRequest) -> Response:
    """J(x) = (x − t)² at x: J, dJ/dx, the tangent, and x after one step of η."""
    return json_response(lessons.gradient_lesson(req))


@router.post("/descent", response_model=lessons.DescentLesson)
def descent(req: lessons.DescentRequest) -> Response:
    """The same 1-D descent with several learning rates: crawls, converges, oscillates or diverges."""
    try:
        return json_response(lessons.descent_lesson(req))
    except ValueError as exc:
        raise AppError.invalid("lrs", str(exc), "(0, 10]", req.lrs) from None


@router.post("/chain", response_model=lessons.ChainLesson)
def chain(req: lessons.ChainRequest) -> Response:
    """y = W·x + b, L = (y − t)² as a graph: forward values, and backward local × upstream gradients."""
    return json_response(lessons.chain_lesson(req))


@router.post("/backprop", response_model=lessons.BackpropLesson)
def backprop(req: lessons.BackpropRequest) -> Response:
    """A small network on one sample: z, a, δ and ∂L/∂W layer by layer, with sigmoid or ReLU."""
    return json_response(lessons.backprop_lesson(req))
