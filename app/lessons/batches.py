"""Lesson 5, batch size and noise: on the linear-regression data set (app/descent/data.py, the tutorial's
own model), many mini-batch gradients at one θ for several batch sizes B, each by autograd on its batch's
mean loss, against the full-batch gradient.

A mini-batch gradient is the mean of B single-sample gradients drawn independently (with replacement here),
so Var[g_B] = V₁/B, V₁ = (1/N)·Σᵢ ‖∇ℓᵢ − ∇J‖² the variance of one sample's gradient; its standard
deviation, the size of the jitter, falls as 1/√B. (Drawn without replacement, as an epoch does, the
variance is smaller by (N − B)/(N − 1).)
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import BaseModel, Field

from app.descent.data import build_problem
from app.lessons.common import INPUT

PROBLEM = "linreg"
SHOWN = 150  # estimates per batch size sent back for the scatter (the statistics use every draw)
MAX_B = 200  # the data set's N: a batch is at most every sample
MAX_SIZES = 4  # batch sizes a request
MAX_DRAWS = 400  # mini-batches per size: the worst request, 4 × 400 batches of 200, is ~0.5 s of autograd

BatchSize = Annotated[int, Field(ge=1, le=MAX_B)]


class BatchesRequest(BaseModel):
    model_config = INPUT
    batch_sizes: list[BatchSize] = Field(
        [1, 4, 16, 64], min_length=1, max_length=MAX_SIZES, description="each B"
    )
    draws: int = Field(MAX_DRAWS, ge=20, le=MAX_DRAWS, description="mini-batches drawn for each B")
    w: float = Field(0.0, ge=-10, le=10, description="θ = (w, b), where the gradients are taken")
    b: float = Field(0.0, ge=-10, le=10)
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the draws (the data set is fixed)")


class BatchRow(BaseModel):
    batch_size: int
    estimates: list[tuple[float, float]] = Field(description=f"the first {SHOWN} mini-batch gradients")
    variance: float = Field(description="measured: the mean of ‖g_B − ∇J‖² over the draws")
    predicted_variance: float = Field(description="V₁/B")
    std: float = Field(description="√variance, the typical size of a mini-batch gradient's error")
    predicted_std: float = Field(description="√(V₁/B)")


class BatchesLesson(BaseModel):
    n: int = Field(description="samples in the data set")
    point: tuple[float, float] = Field(description="θ = (w, b)")
    full_gradient: tuple[float, float] = Field(description="∇J(θ) over all N samples, by autograd")
    single_variance: float = Field(description="V₁ = (1/N)·Σᵢ ‖∇ℓᵢ(θ) − ∇J(θ)‖², from per-sample autograd")
    draws: int
    rows: list[BatchRow]


def _gradients(problem, w: float, b: float, index: torch.Tensor) -> torch.Tensor:
    """(D, 2): the gradient of each row's batch mean loss, θ copied once per row, one autograd pass."""
    rows = index.shape[0]
    a = torch.full((rows, 1), w, dtype=torch.float64, requires_grad=True)
    c = torch.full((rows, 1), b, dtype=torch.float64, requires_grad=True)
    losses = problem.sample_losses(a, c, index)  # (D, B)
    ga, gc = torch.autograd.grad(losses.mean(dim=1).sum(), (a, c))
    return torch.cat([ga, gc], dim=1)


def batches_lesson(req: BatchesRequest) -> BatchesLesson:
    problem = build_problem(PROBLEM)
    n = problem.n
    full = _gradients(problem, req.w, req.b, torch.arange(n)[None, :])[0]  # (2,)
    singles = _gradients(problem, req.w, req.b, torch.arange(n)[:, None])  # (N, 2): one sample per row
    single_variance = float(((singles - full) ** 2).sum(dim=1).mean())
    g = torch.Generator().manual_seed(req.seed)
    rows = []
    for size in req.batch_sizes:
        index = torch.randint(n, (req.draws, size), generator=g)  # with replacement: independent samples
        estimates = _gradients(problem, req.w, req.b, index)  # (draws, 2)
        variance = float(((estimates - full) ** 2).sum(dim=1).mean())
        rows.append(
            BatchRow(
                batch_size=size,
                estimates=[tuple(e) for e in estimates[:SHOWN].tolist()],
                variance=variance,
                predicted_variance=single_variance / size,
                std=variance**0.5,
                predicted_std=(single_variance / size) ** 0.5,
            )
        )
    return BatchesLesson(
        n=n,
        point=(req.w, req.b),
        full_gradient=tuple(full.tolist()),
        single_variance=single_variance,
        draws=req.draws,
        rows=rows,
    )
