"""The numbers of the Learn tab's lessons, every one computed by torch (autograd, or torch.optim):

1. gradient.py — a gradient: J(x) = (x − t)², dJ/dx at x, and where one step lands against t; 2. the same
   descent with several learning rates, each judged by its factor 1 − 2η.
3. chain.py — the chain rule as a graph: u = W·x, ŷ = u + b, r = ŷ − t, L = r², each local derivative with
   its rule, times the gradient arriving from above.
4. backprop.py — backpropagation layer by layer: δ(l) = (W(l+1)ᵀ δ(l+1)) ⊙ σ′(z(l)) with sigmoid or ReLU.
5. batches.py — mini-batch gradients on a real data set: variance ∝ 1/B, spread ∝ 1/√B.
6. (momentum and Adam: text, links and an exercise)
7. stability.py — why η can be too large: the factor 1 − ηλ per curvature direction, stable for η < 2/λ_max.
exercises.py — one exercise per lesson, checked here.
"""

from app.lessons.backprop import (
    BackpropLesson,
    BackpropRequest,
    LayerNumbers,
    backprop_lesson,
    backprop_network,
)
from app.lessons.batches import BatchesLesson, BatchesRequest, BatchRow, batches_lesson
from app.lessons.chain import ChainLesson, ChainRequest, GraphEdge, GraphNode, chain_lesson
from app.lessons.exercises import (
    EXERCISES,
    MISTAKES,
    ExerciseCheck,
    ExerciseQuestion,
    ExerciseResult,
    check,
    question,
)
from app.lessons.gradient import (
    CURVE_POINTS,
    DescentLesson,
    DescentRequest,
    DescentRun,
    GradientLesson,
    GradientRequest,
    descent_lesson,
    gradient_lesson,
    step_outcome,
    verdict,
)
from app.lessons.stability import (
    BowlLesson,
    BowlRequest,
    CurvatureDirection,
    StepFactorLesson,
    StepFactorRequest,
    bowl_hessian,
    bowl_lesson,
    second_derivative,
    stability_lesson,
)

__all__ = [
    "CURVE_POINTS",
    "EXERCISES",
    "MISTAKES",
    "BackpropLesson",
    "BackpropRequest",
    "BatchRow",
    "BowlLesson",
    "BowlRequest",
    "BatchesLesson",
    "BatchesRequest",
    "ChainLesson",
    "ChainRequest",
    "DescentLesson",
    "DescentRequest",
    "DescentRun",
    "CurvatureDirection",
    "ExerciseCheck",
    "ExerciseQuestion",
    "ExerciseResult",
    "GradientLesson",
    "GradientRequest",
    "GraphEdge",
    "GraphNode",
    "LayerNumbers",
    "StepFactorLesson",
    "StepFactorRequest",
    "backprop_lesson",
    "backprop_network",
    "batches_lesson",
    "bowl_hessian",
    "bowl_lesson",
    "chain_lesson",
    "check",
    "descent_lesson",
    "gradient_lesson",
    "question",
    "second_derivative",
    "stability_lesson",
    "step_outcome",
    "verdict",
]
