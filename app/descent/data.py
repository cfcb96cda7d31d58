"""Two-parameter problems backed by real (seeded) data, where batch, stochastic and mini-batch descent
differ for real: the noise in a mini-batch gradient comes from sampling the data, not from added noise.

- ``linreg``: y = w·x + b with squared error, θ = (w, b) — the tutorial's own model.
- ``logreg``: p = σ(w₁x₁ + w₂x₂) with cross-entropy on two overlapping classes, θ = (w₁, w₂).
- ``logreg_ill``: the same with features on very different scales (an ill-conditioned surface), and a
  ``standardize`` switch that shows what feature scaling does.

The surface shown for a problem is its full-batch mean loss J(θ) = (1/N)·Σᵢ ℓᵢ(θ). Runners sample batches
per runner: each has its own torch.Generator seeded from the session seed and its id; every epoch draws
``torch.randperm(N)`` and batches are its consecutive slices of k samples (the last one may be smaller);
full batch uses all N samples in their natural order.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor
from torch.nn import functional as F

from app.descent.surfaces import Surface

PARAMS = ConfigDict(extra="forbid", allow_inf_nan=False)


class LinearParams(BaseModel):
    model_config = PARAMS
    n: int = Field(200, ge=4, le=2000, description="number of samples")
    noise: float = Field(1.0, ge=0, le=10, description="standard deviation of the noise added to y")
    true_w: float = Field(2.0, ge=-10, le=10, description="slope the data is drawn from")
    true_b: float = Field(1.0, ge=-10, le=10, description="intercept the data is drawn from")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the data set")


class LogisticParams(BaseModel):
    model_config = PARAMS
    n: int = Field(200, ge=4, le=2000, description="number of samples")
    separation: float = Field(1.0, ge=0.1, le=5, description="distance of each class centre from the origin")
    scale: float = Field(
        1.0, ge=0.01, le=100, description="multiplies the second feature (1: balanced scales)"
    )
    standardize: bool = Field(False, description="rescale each feature to unit variance before fitting")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the data set")


@dataclass
class DataProblem:
    """A data set, its per-sample loss ℓᵢ(θ), and its full-batch surface."""

    id: str
    kind: Literal["linear", "logistic"]
    params: BaseModel
    features: Tensor  # (N, d) float64
    targets: Tensor  # (N,) float64
    optimum: tuple[float, float]  # minimizer of the full-batch loss
    surface: Surface = field(init=False)

    @property
    def n(self) -> int:
        return len(self.targets)

    def sample_losses(self, a: Tensor, b: Tensor, index: Tensor | None = None) -> Tensor:
        """ℓᵢ(θ) for θ = (a, b) of shape (R, 1) (or broadcastable) and samples ``index`` (R, K) or all.

        Linear: ℓᵢ = (a·xᵢ + b − yᵢ)². Logistic: ℓᵢ = BCE(σ(a·x₁ᵢ + b·x₂ᵢ), yᵢ), computed from logits.
        """
        X, Y = self.features, self.targets
        if index is None:
            x, t = (X[:, 0], X[:, 1] if X.shape[1] > 1 else None), Y
        else:
            x, t = (X[index, 0], X[index, 1] if X.shape[1] > 1 else None), Y[index]
        if self.kind == "linear":
            return (a * x[0] + b - t) ** 2
        logits = a * x[0] + b * x[1]
        return F.binary_cross_entropy_with_logits(logits, t.expand_as(logits), reduction="none")

    def full_loss(self, a: Tensor, b: Tensor) -> Tensor:
        """J(θ), elementwise over any shape of a and b (the surface's fn)."""
        a_, b_ = torch.broadcast_tensors(a, b)
        losses = self.sample_losses(a_.unsqueeze(-1), b_.unsqueeze(-1))  # (..., N)
        return losses.mean(dim=-1)

    def closed_form_gradient(self, w: float, b: float) -> tuple[float, float]:
        """Linear regression's full-batch gradient 2/n·Xᵀ(Xθ − y), with X = [x, 1]."""
        X = torch.stack([self.features[:, 0], torch.ones(self.n, dtype=torch.float64)], dim=1)
        residual = X @ torch.tensor([w, b], dtype=torch.float64) - self.targets
        g = 2.0 / self.n * (X.T @ residual)
        return float(g[0]), float(g[1])


def _linear(params: LinearParams) -> DataProblem:
    g = torch.Generator().manual_seed(params.seed)
    x = torch.rand(params.n, generator=g, dtype=torch.float64) * 4 - 2  # x ∈ [−2, 2]
    y = (
        params.true_w * x
        + params.true_b
        + params.noise * torch.randn(params.n, generator=g, dtype=torch.float64)
    )
    # Least squares: the normal equations, solved exactly.
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w, b = torch.linalg.lstsq(A, y.unsqueeze(1)).solution.squeeze(1).tolist()
    return DataProblem("linreg", "linear", params, x.unsqueeze(1), y, (w, b))


def _logistic(params: LogisticParams, problem_id: str) -> DataProblem:
    g = torch.Generator().manual_seed(params.seed)
    labels = (torch.arange(params.n) % 2).to(torch.float64)  # balanced classes
    centre = params.separation * torch.tensor([1.0, 0.6], dtype=torch.float64)
    sign = (2 * labels - 1).unsqueeze(1)
    X = sign * centre + torch.randn(params.n, 2, generator=g, dtype=torch.float64)
    X[:, 1] *= params.scale
    if params.standardize:
        X = X / X.std(dim=0, keepdim=True)
    problem = DataProblem(problem_id, "logistic", params, X, labels, (0.0, 0.0))
    problem.optimum = _newton(problem)
    return problem


def _newton(problem: DataProblem, iterations: int = 50) -> tuple[float, float]:
    """The logistic loss's minimizer, by Newton's method on the full batch (the classes overlap, so it is
    finite and unique)."""
    theta = torch.zeros(2, dtype=torch.float64)
    for _ in range(iterations):
        theta = theta.detach().requires_grad_()
        loss = problem.full_loss(theta[0], theta[1])
        grad = torch.autograd.grad(loss, theta, create_graph=True)[0]
        hess = torch.stack([torch.autograd.grad(grad[i], theta, retain_graph=True)[0] for i in range(2)])
        step = torch.linalg.solve(hess, grad)
        theta = theta.detach() - step.detach()
        if float(step.detach().abs().max()) < 1e-14:
            break
    return float(theta[0]), float(theta[1])


@dataclass(frozen=True)
class DataProblemSpec:
    id: str
    name: str
    formula: str
    description: str
    params: type[BaseModel]
    build: Callable[[Any], DataProblem]
    defaults: dict[str, Any] = field(default_factory=dict)  # overrides of the params model's defaults


DATA_PROBLEMS: dict[str, DataProblemSpec] = {
    spec.id: spec
    for spec in (
        DataProblemSpec(
            "linreg",
            "Linear regression (data)",
            "J(w, b) = (1/N)·Σᵢ (w·xᵢ + b − yᵢ)²",
            "fit a line to noisy points: full batch, SGD and mini-batch see the same data differently",
            LinearParams,
            _linear,
        ),
        DataProblemSpec(
            "logreg",
            "Logistic regression (data)",
            "J(w₁, w₂) = (1/N)·Σᵢ BCE(σ(w₁x₁ᵢ + w₂x₂ᵢ), yᵢ)",
            "separate two overlapping classes: cross-entropy on real samples",
            LogisticParams,
            lambda p: _logistic(p, "logreg"),
        ),
        DataProblemSpec(
            "logreg_ill",
            "Logistic regression, unscaled features (data)",
            "J(w₁, w₂) = (1/N)·Σᵢ BCE(σ(w₁x₁ᵢ + w₂x₂ᵢ), yᵢ), x₂ ×10",
            "one feature ten times the other: a narrow valley, until the features are standardized",
            LogisticParams,
            lambda p: _logistic(p, "logreg_ill"),
            {"scale": 10.0},
        ),
    )
}


def build_problem(problem_id: str, params: dict[str, Any] | BaseModel | None = None) -> DataProblem:
    spec = DATA_PROBLEMS[problem_id]
    if not isinstance(params, BaseModel):
        params = spec.params.model_validate({**spec.defaults, **(params or {})})
    problem = spec.build(params)
    ow, ob = problem.optimum
    half = 3.0 if problem.kind == "linear" else 4.0
    x_range, y_range = (ow - half, ow + half), (ob - half, ob + half)
    minimum = float(
        problem.full_loss(torch.tensor(ow, dtype=torch.float64), torch.tensor(ob, dtype=torch.float64))
    )
    problem.surface = Surface(
        id=problem_id,
        name=spec.name,
        formula=spec.formula,
        fn=problem.full_loss,
        x_range=x_range,
        y_range=y_range,
        minima=((ow, ob),),
        minimum_value=minimum,
        default_start=(ow - 0.8 * half, ob + 0.7 * half),
        log_scale=False,
        description=spec.description,
        suggested_lr=0.1 if problem.kind == "linear" else 0.5,
    )
    return problem


def runner_seed(session_seed: int, runner_id: str) -> int:
    """Each runner's sampling seed: stable across sessions, different for each runner id."""
    return (session_seed * 1_000_003 + zlib.crc32(runner_id.encode())) % 2**63


class BatchSampler:
    """Without replacement within an epoch, reshuffled each epoch, from the runner's own generator."""

    def __init__(self, n: int, seed: int):
        self.n = n
        self.generator = torch.Generator().manual_seed(seed)
        self.order = torch.arange(n)
        self.position = n  # an epoch starts on the first draw
        self.epoch = -1

    def draw(self, k: int) -> Tensor:
        if self.position >= self.n:
            self.order = torch.randperm(self.n, generator=self.generator)
            self.position, self.epoch = 0, self.epoch + 1
        batch = self.order[self.position : self.position + k]
        self.position += len(batch)
        return batch


@dataclass
class RunnerBatch:
    mode: Literal["full", "stochastic", "minibatch"]
    size: int  # samples per step (N for full batch)
    sampler: BatchSampler
    steps_in_epoch: int = 0


class DataObjective:
    """The engine's objective for a data problem: each runner's loss and gradient on its own batch, and the
    full-batch loss and gradient beside it, all by autograd in two batched passes."""

    per_runner = True  # a PerRunnerObjective (app/descent/objective.py): the engine calls evaluate()

    def __init__(self, problem: DataProblem, seed: int = 0):
        self.problem = problem
        self.seed = seed
        self.batches: dict[str, RunnerBatch] = {}

    def configure(self, runner_id: str, mode: str, size: int | None = None) -> None:
        """Set a runner's batch mode; a new mode or size keeps its place in the current epoch."""
        n = self.problem.n
        k = {"full": n, "stochastic": 1}.get(mode, min(max(1, size or 1), n))
        current = self.batches.get(runner_id)
        if current is None:
            sampler = BatchSampler(n, runner_seed(self.seed, runner_id))
            self.batches[runner_id] = RunnerBatch(mode, k, sampler)
        else:
            current.mode, current.size = mode, k

    def restart(self, runner_id: str) -> None:
        """Back to the first batch of the first epoch (a reset runner replays the same samples)."""
        batch = self.batches[runner_id]
        batch.sampler = BatchSampler(self.problem.n, runner_seed(self.seed, runner_id))

    def forget(self, runner_id: str) -> None:
        self.batches.pop(runner_id, None)

    def _index(self, ids: list[str]) -> tuple[Tensor, Tensor]:
        """(R, K) sample indices and (R, K) weights 1/kᵣ (0 on padding) for this tick's batches."""
        n = self.problem.n
        picks = []
        for rid in ids:
            batch = self.batches[rid]
            picks.append(torch.arange(n) if batch.mode == "full" else batch.sampler.draw(batch.size))
        k = max(len(p) for p in picks)
        index = torch.zeros(len(ids), k, dtype=torch.long)
        weight = torch.zeros(len(ids), k, dtype=torch.float64)
        for r, p in enumerate(picks):
            index[r, : len(p)] = p
            weight[r, : len(p)] = 1.0 / len(p)
        return index, weight

    def evaluate(
        self, x: np.ndarray, y: np.ndarray, ids: list[str], peek: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """Batch loss and gradient (what each optimizer steps on), plus extras: the full-batch loss and
        gradient, the epoch and the batch size. ``peek``: full batch for all, no sampling."""
        full_loss, full_gx, full_gy = self._pass(x, y, None, None)
        if not peek:
            for rid in ids:  # a full-batch step sees every sample: each one is a whole epoch
                if self.batches[rid].mode == "full":
                    self.batches[rid].sampler.epoch += 1
        if peek or all(self.batches[rid].mode == "full" for rid in ids):
            loss, gx, gy = full_loss, full_gx, full_gy
            sizes = [self.problem.n] * len(ids)
        else:
            index, weight = self._index(ids)
            loss, gx, gy = self._pass(x, y, index, weight)
            sizes = [int(c) for c in (weight > 0).sum(dim=1)]
        extras = {
            "full_loss": full_loss[:, None],
            "full_gradient": np.stack([full_gx, full_gy], axis=1),
            "epoch": np.array([[max(0, self.batches[rid].sampler.epoch)] for rid in ids], dtype=np.float64),
            "batch_size": np.array(sizes, dtype=np.float64)[:, None],
        }
        return loss, gx, gy, extras

    def _pass(
        self, x: np.ndarray, y: np.ndarray, index: Tensor | None, weight: Tensor | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        a = torch.from_numpy(x).requires_grad_()
        b = torch.from_numpy(y).requires_grad_()
        with torch.enable_grad():
            losses = self.problem.sample_losses(a[:, None], b[:, None], index)  # (R, K) or (R, N)
            loss = losses.mean(dim=1) if weight is None else (losses * weight).sum(dim=1)
            ga, gb = torch.autograd.grad(loss, (a, b), torch.ones_like(loss))
        return loss.detach().numpy(), ga.numpy(), gb.numpy()

    def value_and_grad(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        loss, gx, gy = self._pass(x, y, None, None)
        return loss, gx, gy

    def value(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return self.problem.full_loss(torch.from_numpy(x), torch.from_numpy(y)).numpy()

    def sample_gradients(self, w: float, b: float) -> np.ndarray:
        """∇ℓᵢ(θ) of every sample at one θ, (N, 2): one autograd pass with θ copied once per sample."""
        n = self.problem.n
        a = torch.full((n, 1), w, dtype=torch.float64, requires_grad=True)
        c = torch.full((n, 1), b, dtype=torch.float64, requires_grad=True)
        with torch.enable_grad():
            losses = self.problem.sample_losses(a, c, torch.arange(n)[:, None])  # (N, 1): sample i at copy i
            ga, gc = torch.autograd.grad(losses.sum(), (a, c))
        return torch.cat([ga, gc], dim=1).numpy()


def gradient_spread(sample_grads: np.ndarray) -> float:
    """tr Σ = (1/N)·Σᵢ ‖∇ℓᵢ − ∇J‖²: how much single samples disagree about the gradient."""
    return float(((sample_grads - sample_grads.mean(axis=0)) ** 2).sum(axis=1).mean())


def minibatch_variance(spread: float, n: int, k: int) -> float:
    """E‖g_k − ∇J‖² for batches of k drawn without replacement from N: tr Σ/k · (N − k)/(N − 1)."""
    return spread / k * (n - k) / (n - 1) if n > 1 else 0.0
