"""Curvature and gradient noise of a network's training loss: the sharpness λ_max(H), the preconditioned
sharpness λ_max(P⁻¹H) of Adam and RMSprop, and the gradient noise scale B_simple.

The loss is the trainer's, F.cross_entropy (mean over the digits), on a fixed evaluation subset of the
training split, as a deterministic function of the weights: dropout is left out (a random mask would make
every Hessian-vector product a different matrix's), and batch norm normalizes with the subset's own batch
statistics, as in a training step, without touching the running statistics. Nothing here changes the
model or the optimizer; call it between steps.

Sharpness is found from Hessian-vector products (double backward, reusing one graph of ∇J), warm-started
from the previous measurement's vector, by power iteration (the Rayleigh quotient vᵀHv) or by the Lanczos
method (the top Ritz value, never below power iteration's after as many products). Either result is a
Rayleigh quotient, which never exceeds λ_max, so an unconverged result is a lower bound.

~410 lines: the three measurements share the loss as a function of the weights (``_forward``) and its
Hessian-vector products, so they stay together.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike
from torch import nn
from torch.func import functional_call, grad, vmap

from app.cnn.data import Digits

EVAL_SIZE = 512  # digits of the evaluation subset: ~⅓ of the training split; ~20 ms CPU per HVP (default CNN)
TOLERANCE = 1e-3  # stop when ‖Hv − λv‖ ≤ TOLERANCE·|λ|: then λ is within ~TOLERANCE²·λ/gap of λ_max
MAX_ITERATIONS = 100  # Hessian-vector products per power iteration (per phase: see top_eigenvalue)
LANCZOS_ITERATIONS = 30  # products per Lanczos run: it keeps one (P,) basis vector per product
NOISE_CHUNK_BYTES = 32 * 2**20  # per-example gradients held at once while B_simple accumulates

Operator = Callable[[torch.Tensor], torch.Tensor]  # a symmetric matrix as v ↦ Av on flat (P,) vectors
Method = Literal["power", "lanczos"]


@dataclass(frozen=True)
class Eigen:
    """The top eigenvalue of a symmetric operator, as power iteration found it."""

    lambda_max: float  # the Rayleigh quotient vᵀAv: ≤ the true λ_max, equal to it within the tolerance
    iterations: int  # operator applications (Hessian-vector products) it took
    vector: torch.Tensor  # (P,) unit vector, flat in parameter order: the warm start of the next call
    converged: bool  # ‖Av − λv‖ ≤ tolerance·|λ| was reached within the cap
    residual: float  # ‖Av − λv‖/|λ| at the end (inf when λ = 0 and Av ≠ 0)


@dataclass(frozen=True)
class NoiseScale:
    """B_simple = tr Σ/‖G‖² (McCandlish et al. 2018, arXiv 1812.06162, eq. 2.9): the batch size at which
    a mini-batch gradient's noise matches the gradient itself."""

    b_simple: float | None  # None when the estimate of ‖G‖² is not positive (the gradient is lost in noise)
    trace_sigma: float  # tr Σ of the per-example gradients
    gradient_norm_sq: float  # ‖G‖²
    n: int  # examples
    estimator: Literal["population", "sample"]


# --- the training loss as a function of the weights ----------------------------------------------------


def evaluation_subset(
    data: Digits, size: int = EVAL_SIZE, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed, seeded subset of the training split: ((n, 1, 8, 8), (n,)), in the split's order."""
    n = min(size, data.n_train)
    index = torch.randperm(data.n_train, generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return data.x_train[index], data.y_train[index]


def _forward(
    model: nn.Sequential, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None
) -> torch.Tensor:
    """The model's logits with dropout left out and batch norm on batch statistics (running ones untouched);
    ``params`` (by parameter name) stand in for the model's own, for torch.func."""
    h = x
    for name, module in model.named_children():
        own = {k: p if params is None else params[f"{name}.{k}"] for k, p in module.named_parameters()}
        if isinstance(module, nn.Dropout):
            continue
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            h = F.batch_norm(h, None, None, own.get("weight"), own.get("bias"), True, 0.0, module.eps)
        elif params is None:
            h = module(h)
        else:
            h = functional_call(module, own, (h,))
    return h


def training_loss(model: nn.Sequential, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """J(θ) = mean cross-entropy on (x, y), the function every measurement here differentiates."""
    return F.cross_entropy(_forward(model, x), y)


class Hessian:
    """v ↦ Hv for the training loss on (x, y): ∇J is built once with its graph, and each product is one
    backward pass through it. Holds that graph until dropped: on 512 digits, 8.7 MB for the default CNN and
    36 MB for the largest configurable network (1.04 M weights), measured with saved_tensors_hooks."""

    def __init__(
        self, model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, params: Sequence[nn.Parameter]
    ):
        self.params = list(params)
        self.sizes = [p.numel() for p in self.params]
        with torch.enable_grad():
            loss = training_loss(model, x, y)
            grads = torch.autograd.grad(loss, self.params, create_graph=True, allow_unused=True)
        # A gradient that is absent or constant (no second derivative through it) contributes 0 to Hv.
        self.live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
        self.grads = [grads[i] for i in self.live]

    @property
    def dim(self) -> int:
        return sum(self.sizes)

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        if not self.grads:  # J is at most linear in every parameter
            return torch.zeros_like(v)
        parts = [part.view_as(p) for part, p in zip(v.split(self.sizes), self.params, strict=True)]
        with torch.enable_grad():
            hv = torch.autograd.grad(
                self.grads, self.params, [parts[i] for i in self.live], retain_graph=True, allow_unused=True
            )
        return torch.cat(
            [
                p.new_zeros(p.numel()) if h is None else h.reshape(-1)
                for h, p in zip(hv, self.params, strict=True)
            ]
        )


# --- power iteration -------------------------------------------------------------------------------------


def _start(dim: int, previous: torch.Tensor | None, seed: int, dtype: torch.dtype) -> torch.Tensor:
    """The warm start if it fits (another network's vector does not), else a seeded random vector."""
    if previous is not None and previous.shape == (dim,) and bool(previous.norm() > 0):
        return previous.detach().to(dtype)
    return torch.randn(dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _power(apply: Operator, v: torch.Tensor, tolerance: float, cap: int) -> tuple[Eigen, float]:
    """Power iteration from v; also returns the largest ‖Av‖ seen (a lower bound on ‖A‖)."""
    v = v / torch.linalg.vector_norm(v)
    lam, residual, biggest, k = 0.0, math.inf, 0.0, 0
    for k in range(1, cap + 1):
        w = apply(v)  # (P,)
        lam = float(torch.dot(v, w))
        size = float(torch.linalg.vector_norm(w))
        biggest = max(biggest, size)
        gap = float(torch.linalg.vector_norm(w - lam * v))
        residual = gap / abs(lam) if lam != 0 else (0.0 if gap == 0 else math.inf)
        if residual <= tolerance or size == 0.0:
            return Eigen(lam, k, v, True, residual), biggest
        v = w / size
    return Eigen(lam, k, v, False, residual), biggest


def top_eigenvalue(
    apply: Operator,
    dim: int,
    previous: torch.Tensor | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Eigen:
    """λ_max of a symmetric operator on (dim,) vectors of dtype by power iteration, from ``previous`` or
    a seeded random vector.

    Power iteration finds the eigenvalue of largest magnitude. When that one is negative (or no single one
    wins within the cap with λ < 0), a second phase of up to max_iterations runs on A + ρI, ρ the largest
    ‖Av‖ seen, from the same start: its top eigenvalue is λ_max + ρ.
    """
    start = _start(dim, previous, seed, dtype)
    first, rho = _power(apply, start, tolerance, max_iterations)
    if first.lambda_max >= 0:
        return first
    shifted, _ = _power(lambda v: apply(v) + rho * v, start, tolerance, max_iterations)
    lam = shifted.lambda_max - rho
    return Eigen(
        lam,
        first.iterations + shifted.iterations,
        shifted.vector,
        shifted.converged,
        shifted.residual * abs(shifted.lambda_max) / abs(lam) if lam != 0 else math.inf,
    )


def lanczos(
    apply: Operator,
    dim: int,
    previous: torch.Tensor | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = LANCZOS_ITERATIONS,
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
) -> Eigen:
    """λ_max of a symmetric operator on (dim,) vectors by the Lanczos method, from ``previous`` or a seeded
    random vector, with full reorthogonalization (each new vector is made orthogonal to the basis twice).

    After k products the basis Q spans the Krylov space {q, Aq, …, A^(k−1)q}, and T = QᵀAQ is tridiagonal
    (α on the diagonal, β beside it). Its largest eigenvalue θ, with eigenvector s, is the largest Rayleigh
    quotient over that space: the top Ritz value, at least power iteration's after k products, at most
    λ_max, and the largest algebraic eigenvalue whatever the most negative one is. Its residual comes free:
    ‖Ay − θy‖ = |β_k·s_k| for the Ritz vector y = Qs. Holds k·dim numbers of basis.
    """
    cap = max(1, min(max_iterations, dim))
    basis = torch.empty(cap, dim, dtype=dtype)  # (k, P): the orthonormal Lanczos vectors
    q = _start(dim, previous, seed, dtype)
    q = q / torch.linalg.vector_norm(q)
    alphas: list[float] = []
    betas: list[float] = []
    theta, s, residual, k = 0.0, torch.ones(1, dtype=torch.float64), math.inf, 0
    for k in range(1, cap + 1):
        basis[k - 1] = q
        w = apply(q)  # (P,)
        alphas.append(float(torch.dot(q, w)))
        q_k = basis[:k]
        for _ in range(2):  # Gram–Schmidt twice: orthogonal to working precision
            w = w - q_k.T @ (q_k @ w)
        beta = float(torch.linalg.vector_norm(w))
        t = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if betas:
            off = torch.tensor(betas, dtype=torch.float64)
            t += torch.diag(off, 1) + torch.diag(off, -1)
        values, vectors = torch.linalg.eigh(t)  # ascending
        theta, s = float(values[-1]), vectors[:, -1]
        gap = abs(beta * float(s[-1]))
        residual = gap / abs(theta) if theta != 0 else (0.0 if gap == 0 else math.inf)
        if residual <= tolerance or beta == 0.0:  # converged, or the space is invariant: θ is exact
            break
        betas.append(beta)
        q = w / beta
    y = basis[:k].T @ s.to(dtype)  # (P,) the Ritz vector
    return Eigen(theta, k, y / torch.linalg.vector_norm(y), residual <= tolerance, residual)


def _solver(method: Method) -> Callable[..., Eigen]:
    solvers: dict[str, Callable[..., Eigen]] = {"power": top_eigenvalue, "lanczos": lanczos}
    if method not in solvers:
        raise ValueError(f"method must be one of {sorted(solvers)}, got {method!r}")
    return solvers[method]


def sharpness(
    model: nn.Sequential,
    x: torch.Tensor,
    y: torch.Tensor,
    previous: torch.Tensor | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    method: Method = "power",
) -> Eigen:
    """λ_max of the Hessian of the training loss on (x, y) with respect to all the model's parameters."""
    hessian = Hessian(model, x, y, [p for p in model.parameters() if p.requires_grad])
    solve = _solver(method)
    return solve(hessian, hessian.dim, previous, tolerance, max_iterations, dtype=x.dtype)


# --- preconditioned sharpness --------------------------------------------------------------------------


def preconditioner(optimizer: torch.optim.Optimizer) -> list[tuple[nn.Parameter, torch.Tensor, float]]:
    """(parameter, diagonal of P, coupled weight decay) for each parameter, in the optimizer's order.

    Adam and AdamW: torch's step θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), is θ ← θ − η·P⁻¹m
    with P = (1 − β₁ᵗ)·(√v̂ + ε), v = exp_avg_sq (max_exp_avg_sq with amsgrad): the P of Cohen et al. 2022
    (arXiv 2207.14484), whose λ_max(P⁻¹H) meets (2 + 2β₁)/((1 − β₁)η). RMSprop: P = √E[g²] + ε, centered
    √(E[g²] − E[g]²) + ε, no bias correction, as torch computes it.
    """
    if not isinstance(optimizer, torch.optim.Adam | torch.optim.RMSprop):
        name = type(optimizer).__name__
        raise ValueError(f"a preconditioner is defined for Adam, AdamW and RMSprop, got {name}")
    out = []
    for group in optimizer.param_groups:
        for p in group["params"]:
            state = optimizer.state.get(p)
            if not state:
                raise ValueError("the optimizer has no state yet: P exists after its first step")
            t = float(state["step"])
            if isinstance(optimizer, torch.optim.Adam):
                beta1, beta2 = group["betas"]
                v = state["max_exp_avg_sq"] if group["amsgrad"] else state["exp_avg_sq"]
                diag = (1 - beta1**t) * (v.sqrt() / math.sqrt(1 - beta2**t) + group["eps"])
                decay = 0.0 if group.get("decoupled_weight_decay", False) else float(group["weight_decay"])
            else:
                square = state["square_avg"]
                if group["centered"]:
                    square = square - state["grad_avg"] ** 2
                diag = square.sqrt() + group["eps"]
                decay = float(group["weight_decay"])
            out.append((p, diag.detach(), decay))
    return out


def preconditioned_sharpness(
    model: nn.Sequential,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    previous: torch.Tensor | None = None,
    tolerance: float = TOLERANCE,
    max_iterations: int = MAX_ITERATIONS,
    method: Method = "power",
) -> Eigen:
    """λ_max(P⁻¹(H + λI)) with P from the optimizer's state (see ``preconditioner``) and λ its coupled
    weight decay (0 for AdamW, whose decay stability_threshold accounts for instead).

    P⁻¹(H + λI) is similar to the symmetric D(H + λI)D, D = P^(-1/2), which power iteration runs on; the
    returned vector is that matrix's eigenvector (P^(1/2) times P⁻¹H's).
    """
    entries = preconditioner(optimizer)
    params = [p for p, _, _ in entries]
    hessian = Hessian(model, x, y, params)
    d = torch.cat([diag.rsqrt().reshape(-1) for _, diag, _ in entries])  # (P,) P^(-1/2)
    decay = torch.cat([torch.full((p.numel(),), wd) for p, _, wd in entries])  # (P,)

    def apply(v: torch.Tensor) -> torch.Tensor:
        u = d * v
        return d * (hessian(u) + decay * u)

    solve = _solver(method)
    return solve(apply, hessian.dim, previous, tolerance, max_iterations, dtype=x.dtype)


# --- gradient noise scale ------------------------------------------------------------------------------


def _noise_scale(mean: np.ndarray, deviation_sq: float, n: int, population: bool) -> NoiseScale:
    """From Ḡ (P,) and Σᵢ‖gᵢ − Ḡ‖²."""
    mean_sq = float(mean @ mean)
    if population:
        trace, norm_sq = deviation_sq / n, mean_sq
    else:
        trace = deviation_sq / (n - 1)
        norm_sq = mean_sq - trace / n
    b = trace / norm_sq if norm_sq > 0 else None
    return NoiseScale(b, trace, norm_sq, n, "population" if population else "sample")


def noise_scale(sample_grads: ArrayLike, population: bool) -> NoiseScale:
    """B_simple from per-example gradients gᵢ, rows of an (n, P) matrix; Ḡ = (1/n)Σᵢ gᵢ.

    population=True, the rows are every example of the data set: tr Σ = (1/n)Σᵢ‖gᵢ − Ḡ‖² and ‖G‖² = ‖Ḡ‖²,
    both exact. population=False, the rows are a uniform sample: tr Σ = (1/(n − 1))Σᵢ‖gᵢ − Ḡ‖² and
    ‖G‖² = ‖Ḡ‖² − tr Σ/n, both unbiased (McCandlish et al.'s appendix A estimators with batch sizes 1 and n);
    B_simple is their ratio.
    """
    g = np.asarray(sample_grads, dtype=np.float64)
    if g.ndim != 2 or len(g) < 2:
        raise ValueError(f"sample gradients must be (n, P) with n ≥ 2, got shape {g.shape}")
    mean = g.mean(axis=0)
    return _noise_scale(mean, float(((g - mean) ** 2).sum()), len(g), population)


def data_noise_scale(sample_grads: ArrayLike) -> NoiseScale:
    """B_simple of a 2-D data problem from its (N, 2) per-sample gradients at one θ (every sample of the
    data set, as DataObjective.sample_gradients gives them): the population estimator."""
    return noise_scale(sample_grads, population=True)


def gradient_noise_scale(
    model: nn.Sequential, x: torch.Tensor, y: torch.Tensor, population: bool = False
) -> NoiseScale:
    """B_simple of the training loss from per-example gradients (torch.func: vmap of grad over
    functional_call) on (x, y), a sample of the training split unless ``population``.

    Examples go in chunks of at most NOISE_CHUNK_BYTES of gradients; Σgᵢ and Σ‖gᵢ‖² accumulate in float64,
    and Σᵢ‖gᵢ − Ḡ‖² = Σ‖gᵢ‖² − n‖Ḡ‖².
    """
    if any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules()):
        raise ValueError(
            "per-example gradients are undefined with batch norm: each digit's loss depends on its batch"
        )
    n = len(y)
    if n < 2:
        raise ValueError(f"the gradient noise scale needs at least 2 examples, got {n}")
    params = {k: p.detach() for k, p in model.named_parameters()}
    size = sum(p.numel() for p in params.values())

    def loss_one(params: dict[str, torch.Tensor], xi: torch.Tensor, yi: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(_forward(model, xi[None], params), yi[None])

    per_example = vmap(grad(loss_one), in_dims=(None, 0, 0))
    chunk = max(1, NOISE_CHUNK_BYTES // (4 * size))
    total = torch.zeros(size, dtype=torch.float64)
    squares = 0.0
    for start in range(0, n, chunk):
        grads = per_example(params, x[start : start + chunk], y[start : start + chunk])
        flat = torch.cat([g.reshape(len(g), -1) for g in grads.values()], dim=1).double()  # (C, P)
        total += flat.sum(dim=0)
        squares += float((flat * flat).sum())
    mean = (total / n).numpy()
    return _noise_scale(mean, max(0.0, squares - n * float(mean @ mean)), n, population)
