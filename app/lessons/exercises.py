"""One exercise per lesson, checked on the server: a table keyed by lesson id, each entry with its numbers
(seed 0: the ones the page opens with; any other seed: drawn from small sets so the arithmetic stays
doable by hand), its answer computed with torch (autograd, or torch.optim for momentum), and the wrong
answers that common mistakes give, so the feedback can name the mistake.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from pydantic import BaseModel, Field

from app.lessons.common import INPUT, leaf, num
from app.lessons.stability import bowl_hessian

Params = dict[str, float]
TOLERANCE = 5e-3  # relative, and absolute near 0: two decimals or three significant digits are enough


def _pick(g: torch.Generator, options: list[float]) -> float:
    return options[int(torch.randint(len(options), (1,), generator=g))]


# --- 1. one step ------------------------------------------------------------------------------------


def _step_params(g: torch.Generator) -> Params:
    x = _pick(g, [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5])
    target = _pick(g, [t for t in range(-4, 6) if t != x])
    return {"x": x, "target": target, "lr": _pick(g, [0.1, 0.2, 0.25, 0.5, 0.75])}


def _step_solve(p: Params) -> float:
    x = leaf(p["x"])
    ((x - p["target"]) ** 2).backward()
    return p["x"] - p["lr"] * float(x.grad)


def _step_mistakes(p: Params) -> dict[str, float]:
    grad = 2 * (p["x"] - p["target"])
    return {"no_lr": p["x"] - grad, "sign": p["x"] + p["lr"] * grad, "gradient": grad}


# --- 2. several steps -------------------------------------------------------------------------------


def _steps_params(g: torch.Generator) -> Params:
    target = _pick(g, [-2, 0, 1, 3, 4])
    return {
        "x": target - _pick(g, [-8, -4, 4, 8]),
        "target": target,
        "lr": _pick(g, [0.25, 0.75]),
        "steps": _pick(g, [2, 3]),
    }


def _steps_solve(p: Params) -> float:
    x = leaf(p["x"])
    for _ in range(int(p["steps"])):
        x.grad = None
        ((x - p["target"]) ** 2).backward()
        with torch.no_grad():
            x -= p["lr"] * x.grad
    return num(x)


def _steps_mistakes(p: Params) -> dict[str, float]:
    factor, gap = 1 - 2 * p["lr"], p["x"] - p["target"]
    return {
        "one_step": p["target"] + factor * gap,
        "no_overshoot": p["target"] + abs(factor) ** p["steps"] * gap,
    }


# --- 3. the chain rule -------------------------------------------------------------------------------


def _chain_params(g: torch.Generator) -> Params:
    W, b, x = _pick(g, [-2, -1, 1, 2, 3]), _pick(g, [-2, -1, 0, 1, 2]), _pick(g, [-3, -2, 2, 3])
    target = _pick(g, [t for t in range(-5, 6) if t != W * x + b])
    return {"W": W, "b": b, "x": x, "target": target}


def _chain_solve(p: Params) -> float:
    W = leaf(p["W"])
    ((W * p["x"] + p["b"] - p["target"]) ** 2).backward()
    return float(W.grad)


def _chain_mistakes(p: Params) -> dict[str, float]:
    r = p["W"] * p["x"] + p["b"] - p["target"]
    return {"forgot_x": 2 * r, "forgot_2": r * p["x"], "sign": -2 * r * p["x"]}


# --- 4. backpropagation through one hidden ReLU unit ------------------------------------------------


def _relu_params(g: torch.Generator) -> Params:
    return {
        "x": _pick(g, [-2, -1, 1, 2]),
        "w1": _pick(g, [-1.5, -1, -0.5, 0.5, 1, 1.5]),
        "w2": _pick(g, [-2, -1, 1, 2]),
        "target": _pick(g, [-2, -1, 0, 1, 2]),
    }


def _relu_solve(p: Params) -> float:
    w1, w2 = leaf(p["w1"]), leaf(p["w2"])
    y_hat = w2 * torch.relu(w1 * p["x"])
    (0.5 * (y_hat - p["target"]) ** 2).backward()
    return float(w1.grad)


def _relu_mistakes(p: Params) -> dict[str, float]:
    z = p["w1"] * p["x"]
    delta_out = p["w2"] * max(z, 0) - p["target"]
    active = 1.0 if z > 0 else 0.0
    as_if_on = p["w2"] * (p["w2"] * z - p["target"]) * p["x"]  # the ReLU ignored: a linear unit
    return {
        "forgot_x": p["w2"] * delta_out * active,
        "forgot_w2": delta_out * active * p["x"],
        "sign": -p["w2"] * delta_out * active * p["x"],
        "ignored_relu": as_if_on,
    }


# --- 5. the variance of a mini-batch gradient --------------------------------------------------------


def _batch_params(g: torch.Generator) -> Params:
    while True:
        values = [_pick(g, [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6]) for _ in range(4)]
        if len(set(values)) > 1:
            return {
                "g1": values[0],
                "g2": values[1],
                "g3": values[2],
                "g4": values[3],
                "batch": _pick(g, [2, 4]),
            }


def _sample_gradients(p: Params) -> torch.Tensor:
    return torch.tensor([p["g1"], p["g2"], p["g3"], p["g4"]], dtype=torch.float64)


def _batch_solve(p: Params) -> float:
    # B samples drawn independently (with replacement): the variance of their mean is V₁/B
    return float(_sample_gradients(p).var(correction=0) / p["batch"])


def _batch_mistakes(p: Params) -> dict[str, float]:
    single = float(_sample_gradients(p).var(correction=0))
    return {
        "std": math.sqrt(single / p["batch"]),
        "no_b": single,
        "sqrt_b": single / math.sqrt(p["batch"]),
        "unbiased": float(_sample_gradients(p).var(correction=1)) / p["batch"],
    }


# --- 6. momentum --------------------------------------------------------------------------------------


def _momentum_params(g: torch.Generator) -> Params:
    return {
        "mu": _pick(g, [0.5, 0.8, 0.9]),
        "lr": _pick(g, [0.1, 0.5, 1.0]),
        "g": _pick(g, [1, 2, 4]),
        "steps": _pick(g, [2, 3]),
    }


def _momentum_solve(p: Params) -> float:
    """θ₀ − θ_k for torch.optim.SGD with momentum μ on J(θ) = g·θ (a constant gradient g)."""
    theta = leaf(0.0)
    opt = torch.optim.SGD([theta], lr=p["lr"], momentum=p["mu"])
    for _ in range(int(p["steps"])):
        opt.zero_grad()
        (p["g"] * theta).backward()
        opt.step()
    return -num(theta)


def _momentum_mistakes(p: Params) -> dict[str, float]:
    v = sum(p["mu"] ** i for i in range(int(p["steps"]))) * p["g"]  # the last velocity
    return {"no_momentum": p["steps"] * p["lr"] * p["g"], "last_step": p["lr"] * v}


# --- 7. the largest η on a bowl ---------------------------------------------------------------------

STABLE_WINDOW = 0.05  # an answer within 5 % below the limit is right: "the largest η" is any η just under it
CURVATURES = [0.5, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20]


def _bowl_params(g: torch.Generator) -> Params:
    while True:
        a, b = _pick(g, CURVATURES), _pick(g, CURVATURES)
        # distinct, and not so far apart that the optimal step 2/(a + b) falls in the accepted window
        if a != b and max(a, b) / min(a, b) <= 12:
            return {"a": a, "b": b}


def _bowl_solve(p: Params) -> float:
    _, eigenvalues, _ = bowl_hessian(p["a"], p["b"])
    return 2 / float(eigenvalues[-1])


def _bowl_mistakes(p: Params) -> dict[str, float]:
    low, high = sorted((p["a"], p["b"]))
    return {"lambda_min": 2 / low, "one_over": 1 / high, "optimal": 2 / (low + high)}


def _below_limit(answer: float, limit: float) -> bool:
    return (1 - STABLE_WINDOW) * limit <= answer < limit


def _past_limit(answer: float, limit: float) -> str:
    return "diverges" if answer >= limit else "too_small" if answer > 0 else "wrong"


# --- the table ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exercise:
    first: Params  # seed 0
    draw: Callable[[torch.Generator], Params]
    solve: Callable[[Params], float]
    mistakes: Callable[[Params], dict[str, float]]  # code → the answer that mistake gives
    # (answer, expected) → right? Most answers are one number to within TOLERANCE; lesson 7's is a window.
    accepts: Callable[[float, float], bool] = lambda answer, expected: _close(answer, expected)
    otherwise: Callable[[float, float], str] = lambda answer, expected: "wrong"  # no mistake matched
    codes: tuple[str, ...] = ()  # the codes `otherwise` answers besides "wrong", for the catalogs

    def params(self, seed: int) -> Params:
        return dict(self.first) if seed == 0 else self.draw(torch.Generator().manual_seed(seed))


EXERCISES: dict[str, Exercise] = {
    "gradient": Exercise({"x": 5, "target": 2, "lr": 0.25}, _step_params, _step_solve, _step_mistakes),
    "descent": Exercise(
        {"x": 0, "target": 4, "lr": 0.75, "steps": 3}, _steps_params, _steps_solve, _steps_mistakes
    ),
    "chain": Exercise({"W": -1, "b": 2, "x": 3, "target": 1}, _chain_params, _chain_solve, _chain_mistakes),
    "backprop": Exercise(
        {"x": 2, "w1": 1.5, "w2": -2, "target": 1}, _relu_params, _relu_solve, _relu_mistakes
    ),
    "batches": Exercise(
        {"g1": 2, "g2": -1, "g3": 4, "g4": 3, "batch": 2}, _batch_params, _batch_solve, _batch_mistakes
    ),
    "beyond": Exercise(
        {"mu": 0.9, "lr": 0.1, "g": 2, "steps": 3}, _momentum_params, _momentum_solve, _momentum_mistakes
    ),
    "stability": Exercise(
        {"a": 2, "b": 8},
        _bowl_params,
        _bowl_solve,
        _bowl_mistakes,
        accepts=_below_limit,
        otherwise=_past_limit,
        codes=("diverges", "too_small"),
    ),
}
MISTAKES: dict[str, tuple[str, ...]] = {
    lesson: (*exercise.mistakes(exercise.first), *exercise.codes) for lesson, exercise in EXERCISES.items()
}


class ExerciseQuestion(BaseModel):
    lesson: str
    seed: int
    params: dict[str, float] = Field(description="the numbers of the question (its words are the page's)")


class ExerciseCheck(BaseModel):
    model_config = INPUT
    seed: int = Field(0, ge=0, le=2**31 - 1, description="which numbers: 0 the first ones")
    answer: float | None = Field(
        None, ge=-1e6, le=1e6, description="the learner's answer; null asks for the answer itself"
    )


class ExerciseResult(ExerciseQuestion):
    correct: bool | None = Field(description="null when the answer was asked for, not given")
    feedback: str = Field(
        description="correct, revealed, wrong, or the mistake the answer matches (each exercise's own codes)"
    )
    expected: float | None = Field(description="the answer, once it is right or was asked for")


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(b), 1.0)


def question(lesson: str, seed: int) -> ExerciseQuestion:
    return ExerciseQuestion(lesson=lesson, seed=seed, params=EXERCISES[lesson].params(seed))


def check(lesson: str, req: ExerciseCheck) -> ExerciseResult:
    exercise = EXERCISES[lesson]
    params = exercise.params(req.seed)
    expected = exercise.solve(params)
    base = {"lesson": lesson, "seed": req.seed, "params": params}
    if req.answer is None:
        return ExerciseResult(**base, correct=None, feedback="revealed", expected=expected)
    if exercise.accepts(req.answer, expected):
        return ExerciseResult(**base, correct=True, feedback="correct", expected=expected)
    feedback = exercise.otherwise(req.answer, expected)
    for code, value in exercise.mistakes(params).items():
        if not exercise.accepts(value, expected) and _close(req.answer, value):
            feedback = code
            break
    return ExerciseResult(**base, correct=False, feedback=feedback, expected=None)
