"""Curvature of a 2-D objective and what it says about step sizes: exact Hessians by autograd, quadratic
detection, the stability limits of GD and momentum, and the threshold each optimizer's sharpness meets.

On a quadratic with Hessian H, gradient descent multiplies the error along each eigenvector (eigenvalue λ)
by 1 − ηλ per step, so it is stable exactly when η < 2/λ_max. Neural networks trained by full-batch GD
raise λ_max ("sharpness") until it reaches 2/η and hover there: the edge of stability (Cohen et al. 2021,
arXiv 2103.00065). Adaptive methods do the same with the preconditioned sharpness λ_max(P⁻¹H) against
their own threshold (Cohen et al. 2022, arXiv 2207.14484). ``stability_threshold`` says which quantity
and which threshold belong to each optimizer id.

Pure compute: torch and NumPy, no FastAPI. ~455 lines in one module on purpose: the Hessians, the limits
they set and the preconditioned sharpness of the race all read the same eigen-decompositions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from numpy.typing import ArrayLike

from app.descent.optimizers import get_optimizer

SurfaceFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # elementwise f(x, y), as Surface.fn

# Peak memory of one autograd pass is the graph of f and of ∇f kept for the second backward pass, plus
# six (N,) outputs. Measured by bytes_per_point: 65 B (quadratic bowl) to 273 B (Goldstein–Price)
# per point for the built-in surfaces, and ~24 B per sample per point for a data problem's full-batch
# loss (48 kB per point at N = 2000). So points go in chunks sized from a measured probe pass.
PASS_BUDGET = 32 * 2**20  # bytes of graph per autograd pass
PROBE_POINTS = 64  # points of the probe pass that measures a function's bytes per point
UNPROBED = 256  # up to this many points run in one pass without a probe (≤ 12 MB even at N = 2000)
OUTPUT_BYTES = 6 * 8  # f, two first and three second derivatives per point, float64
QUADRATIC_RTOL = 1e-9  # relative agreement of Hessians and of the Taylor model that makes f "quadratic"
QUADRATIC_SAMPLES = 9  # seeded points across the domain at which the quadratic test looks


@dataclass(frozen=True)
class PointCurvature:
    """The Hessian at one point and its eigen-decomposition."""

    hessian: np.ndarray  # (2, 2) float64, symmetric
    eigenvalues: np.ndarray  # (2,) λ1 ≤ λ2
    eigenvectors: np.ndarray  # (2, 2): column i is the unit eigenvector of eigenvalues[i]


@dataclass(frozen=True)
class Curvatures:
    """Hessians at N points; where f, ∇f or ∇²f is not finite (outside f's domain, at a kink, an overflow)
    the row is NaN and ``finite`` False."""

    hessians: np.ndarray  # (N, 2, 2) float64
    eigenvalues: np.ndarray  # (N, 2), ascending: λ1 ≤ λ2
    eigenvectors: np.ndarray  # (N, 2, 2): [n, :, i] is the unit eigenvector of eigenvalues[n, i], x ≥ 0
    finite: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.finite)

    def at(self, i: int) -> PointCurvature | None:
        """Point i's curvature, or None where it is not finite."""
        if not self.finite[i]:
            return None
        return PointCurvature(self.hessians[i], self.eigenvalues[i], self.eigenvectors[i])


def _derivatives(fn: SurfaceFn, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """f, ∂f/∂x, ∂f/∂y, ∂²f/∂x², ∂²f/∂x∂y, ∂²f/∂y² at each point, (N,) float64 each.

    f is elementwise, so each f_n depends on (x_n, y_n) only: one backward pass of Σf gives every point's
    gradient, and one more pass of Σ ∂f/∂x (then of Σ ∂f/∂y) gives every point's row of the Hessian.
    """
    x, y = x.detach().requires_grad_(), y.detach().requires_grad_()
    zero = torch.zeros_like(x)
    with torch.enable_grad():
        f = fn(x, y)
        if f.shape != x.shape:  # a constant written without x or y
            f = f.expand(x.shape)
        if not f.requires_grad:
            return f.detach(), zero, zero, zero, zero, zero
        gx, gy = torch.autograd.grad(f.sum(), (x, y), create_graph=True, allow_unused=True)

        def row(g: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
            if g is None or not g.requires_grad:  # ∂f/∂· absent or constant: its derivatives are 0
                return zero, zero
            dx, dy = torch.autograd.grad(g.sum(), (x, y), retain_graph=True, allow_unused=True)
            return (zero if dx is None else dx.detach()), (zero if dy is None else dy.detach())

        hxx, hxy = row(gx)
        hyx, hyy = row(gy)
    gx = zero if gx is None else gx.detach()
    gy = zero if gy is None else gy.detach()
    # ∂²f/∂x∂y and ∂²f/∂y∂x come from different passes and may differ in the last bit: use their mean.
    return f.detach(), gx, gy, hxx, 0.5 * (hxy + hyx), hyy


def _points(points: ArrayLike) -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 2:
        raise ValueError(f"points must have shape (N, 2), got {p.shape}")
    return p


def bytes_per_point(fn: SurfaceFn, points: ArrayLike) -> int:
    """Peak bytes one point adds to a Hessian pass of fn: the tensors its autograd graph saves, measured on
    these points, plus the outputs."""
    p = torch.from_numpy(_points(points))
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()  # shared storage counts once
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        _derivatives(fn, p[:, 0], p[:, 1])
    return math.ceil(sum(saved.values()) / max(1, len(p))) + OUTPUT_BYTES


def hessians(fn: SurfaceFn, points: ArrayLike) -> Curvatures:
    """The exact Hessian of f at each of N points (x, y), in float64 by autograd, with its eigenvalues
    λ1 ≤ λ2 and unit eigenvectors. f is a surface's elementwise function (Surface.fn, a compiled
    expression, a data problem's full-batch loss)."""
    p = _points(points)
    n = len(p)
    h = np.empty((n, 2, 2))
    defined = np.empty(n, dtype=bool)
    step = max(1, n) if n <= UNPROBED else max(1, PASS_BUDGET // bytes_per_point(fn, p[:PROBE_POINTS]))
    for start in range(0, n, step):
        chunk = torch.from_numpy(p[start : start + step])  # (C, 2)
        f, gx, gy, hxx, hxy, hyy = _derivatives(fn, chunk[:, 0], chunk[:, 1])
        h[start : start + step] = torch.stack([hxx, hxy, hxy, hyy], dim=1).view(-1, 2, 2).numpy()
        defined[start : start + step] = (torch.isfinite(f) & torch.isfinite(gx) & torch.isfinite(gy)).numpy()
    finite = np.isfinite(h).all(axis=(1, 2)) & defined
    eigenvalues = np.full((n, 2), np.nan)
    eigenvectors = np.full((n, 2, 2), np.nan)
    if finite.any():
        w, v = np.linalg.eigh(h[finite])  # (M, 2), (M, 2, 2), ascending
        flip = (v[:, 0, :] < 0) | ((v[:, 0, :] == 0) & (v[:, 1, :] < 0))  # (M, 2): make x ≥ 0
        v = np.where(flip[:, None, :], -v, v)
        eigenvalues[finite], eigenvectors[finite] = w, v
    h[~finite] = np.nan
    return Curvatures(h, eigenvalues, eigenvectors, finite)


def quadratic_hessian(
    fn: SurfaceFn,
    domain: tuple[tuple[float, float], tuple[float, float]],
    samples: int = QUADRATIC_SAMPLES,
    seed: int = 0,
    rtol: float = QUADRATIC_RTOL,
) -> np.ndarray | None:
    """The constant Hessian (2, 2) of f if f is quadratic on domain ((x_low, x_high), (y_low, y_high)),
    else None.

    Quadratic means: at the domain's centre and ``samples`` seeded points across it, the Hessians agree to
    ``rtol`` relative to their largest entry, and f equals its second-order Taylor model about the centre
    to ``rtol`` relative to the size of the model's terms (so a function whose Hessian happens to repeat
    at the sampled points is still refused).
    """
    (x0, x1), (y0, y1) = domain
    rng = np.random.default_rng(seed)
    centre = np.array([[(x0 + x1) / 2, (y0 + y1) / 2]])
    spread = rng.uniform((x0, y0), (x1, y1), size=(samples, 2))
    p = torch.from_numpy(np.concatenate([centre, spread]))  # (S + 1, 2)
    f, gx, gy, hxx, hxy, hyy = (t.numpy() for t in _derivatives(fn, p[:, 0], p[:, 1]))
    h = np.stack([hxx, hxy, hxy, hyy], axis=1).reshape(-1, 2, 2)  # (S + 1, 2, 2)
    if not (np.isfinite(h).all() and np.isfinite(f).all() and np.isfinite(gx[0]) and np.isfinite(gy[0])):
        return None
    h0 = h[0]
    scale = np.abs(h).max()
    if np.abs(h - h0).max() > rtol * max(scale, np.finfo(np.float64).tiny):
        return None
    d = (p - p[0]).numpy()  # (S + 1, 2)
    linear = d @ np.array([gx[0], gy[0]])
    quadratic = 0.5 * np.einsum("ni,ij,nj->n", d, h0, d)
    model = f[0] + linear + quadratic
    size = np.abs(f[0]) + np.abs(linear) + np.abs(quadratic) + np.abs(f)
    if (np.abs(f - model) > rtol * np.maximum(size, np.finfo(np.float64).tiny)).any():
        return None
    return h0


def condition_number(eigenvalues: ArrayLike) -> float:
    """κ = λ_max/λ_min of a positive-definite Hessian; inf when λ_min ≤ 0 (no bowl: GD has no rate)."""
    w = np.asarray(eigenvalues, dtype=np.float64)
    low, high = float(w.min()), float(w.max())
    return high / low if low > 0 else math.inf


def optimal_step(eigenvalues: ArrayLike) -> float | None:
    """η* = 2/(λ_min + λ_max): the step that minimizes max |1 − ηλ| over a positive-definite Hessian's
    eigenvalues (both extremes then contract by (κ − 1)/(κ + 1)); None unless λ_min > 0."""
    w = np.asarray(eigenvalues, dtype=np.float64)
    low, high = float(w.min()), float(w.max())
    return 2.0 / (low + high) if low > 0 else None


def contraction_per_direction(lr: float, eigenvalues: ArrayLike) -> np.ndarray:
    """|1 − ηλ| for each eigenvalue: the factor GD multiplies the error along that eigenvector by per step
    on a quadratic (< 1: it shrinks; > 1: it grows)."""
    return np.abs(1.0 - lr * np.asarray(eigenvalues, dtype=np.float64))


def _largest_root(trace: np.ndarray, det: np.ndarray) -> np.ndarray:
    """max |z| over the roots of z² − trace·z + det, elementwise."""
    root = np.sqrt((trace * trace - 4.0 * det).astype(np.complex128))
    return np.maximum(np.abs(trace + root), np.abs(trace - root)) / 2.0


def heavy_ball_spectral_radius(lr: ArrayLike, beta: ArrayLike, eigenvalues: ArrayLike) -> np.ndarray:
    """Spectral radius of heavy-ball momentum on a quadratic: max over eigenvalues λ of the spectral radius
    of the iteration matrix [[1 + β − ηλ, −β], [1, 0]] acting on (θₜ, θₜ₋₁). < 1: converges at that rate.

    torch's form (v ← βv + g, θ ← θ − ηv, dampening 0) has the same characteristic polynomial
    z² − (1 + β − ηλ)z + β. lr and beta broadcast together, so a whole (η, β) map comes in one call:
    the result has their broadcast shape.
    """
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    a = lr[..., None] * np.asarray(eigenvalues, dtype=np.float64).reshape(-1)  # (..., K): ηλ
    b = beta[..., None]
    return _largest_root(1.0 + b - a, b + 0.0 * a).max(axis=-1)


def nesterov_spectral_radius(lr: ArrayLike, beta: ArrayLike, eigenvalues: ArrayLike) -> np.ndarray:
    """As heavy_ball_spectral_radius, for torch's Nesterov form (v ← βv + g, θ ← θ − η(g + βv)).

    Per eigen-direction, with a = ηλ and state (θₜ, vₜ₋₁), the iteration matrix is
    [[1 − a(1 + β), −ηβ²], [λ, β]]: trace (1 + β)(1 − a), determinant β(1 − a).
    """
    lr, beta = np.broadcast_arrays(np.asarray(lr, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    a = lr[..., None] * np.asarray(eigenvalues, dtype=np.float64).reshape(-1)
    b = beta[..., None]
    return _largest_root((1.0 + b) * (1.0 - a), b * (1.0 - a)).max(axis=-1)


def heavy_ball_max_lr(beta: ArrayLike, lambda_max: float) -> np.ndarray:
    """The stability boundary of an (η, β) map: for each β, heavy ball on a quadratic with largest
    eigenvalue λ_max is stable exactly for η < 2(1 + β)/λ_max."""
    return 2.0 * (1.0 + np.asarray(beta, dtype=np.float64)) / lambda_max


def nesterov_max_lr(beta: ArrayLike, lambda_max: float) -> np.ndarray:
    """The same boundary for torch's Nesterov form: η < 2(1 + β)/((1 + 2β)·λ_max)."""
    b = np.asarray(beta, dtype=np.float64)
    return 2.0 * (1.0 + b) / ((1.0 + 2.0 * b) * lambda_max)


# --- the threshold each optimizer's sharpness meets ------------------------------------------------------

COHEN_2021 = (
    "Cohen et al. 2021, Gradient Descent on Neural Networks Typically Occurs at the Edge of Stability,"
    " arXiv 2103.00065"
)
COHEN_2022 = "Cohen et al. 2022, Adaptive Gradient Methods at the Edge of Stability, arXiv 2207.14484"
QUADRATIC = "linear stability on a quadratic (the characteristic polynomial's roots inside the unit circle)"


@dataclass(frozen=True)
class StabilityThreshold:
    """What must stay below what for an optimizer to be stable on a quadratic model of the loss."""

    quantity: Literal["sharpness", "preconditioned_sharpness"] | None  # None: no threshold is known
    threshold: float | None  # the value the quantity must stay below; None with quantity None
    formula: str  # plain Unicode, with the hyperparameters' symbols
    source: str  # where the threshold comes from


_NO_THRESHOLD = {
    "adagrad": "Adagrad's accumulator only grows, so P⁻¹H is pushed down rather than held at an edge",
    "adadelta": "Adadelta's step is scaled by its own past updates, not by a fixed learning rate",
    "nadam": "NAdam's momentum schedule μₜ changes every step",
    "radam": "RAdam switches from momentum SGD to a rectified Adam whose factor r(ρₜ) changes every step",
    "adamax": "Adamax's denominator is a running maximum of |g|, not a root mean square",
}


def stability_threshold(optimizer_id: str, hyperparameters: dict[str, Any]) -> StabilityThreshold:
    """The quantity and the threshold it must stay below, for an optimizer id of the registry and its
    hyperparameters (omitted ones take the id's defaults; lr is the coming step's, after any schedule).

    - sgd: λ_max(H) < 2/η − λ_wd (coupled weight decay λ_wd adds λ_wd·I to the Hessian).
    - momentum (torch: v ← μv + (1 − τ)g, θ ← θ − ηv): λ_max(H) < 2(1 + μ)/((1 − τ)η) − λ_wd.
    - nesterov (torch: v ← μv + g, θ ← θ − η(g + μv)): λ_max(H) < 2(1 + μ)/((1 + 2μ)η) − λ_wd, from the
      roots of z² − (1 + μ)(1 − ηλ)z + μ(1 − ηλ) (see nesterov_spectral_radius).
    - adam: λ_max(P⁻¹(H + λ_wd·I)) < (2 + 2β₁)/((1 − β₁)η), 38/η at β₁ = 0.9 (Cohen et al. 2022), where
      torch's update θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), is θ ← θ − η·P⁻¹m with
      P = (1 − β₁ᵗ)·diag(√v̂ + ε), v̂ = v/(1 − β₂ᵗ) (max_exp_avg_sq for v with amsgrad): with P frozen this
      is heavy ball with momentum β₁ and step η(1 − β₁) on P⁻¹H.
    - adamw: the same frozen-preconditioner analysis with θ first shrunk by c = 1 − ηλ_wd gives the roots of
      z² − (c + β₁ − η(1 − β₁)s)z + cβ₁ for eigenvalue s of P⁻¹H, stable for
      s < (2 − ηλ_wd)(1 + β₁)/((1 − β₁)η) (Cohen et al. 2022's threshold at λ_wd = 0).
    - rmsprop (torch: P = diag(√E[g²] + ε), no bias correction; centered: √(E[g²] − E[g]²) + ε; momentum
      buf ← μ·buf + P⁻¹g, θ ← θ − η·buf): λ_max(P⁻¹(H + λ_wd·I)) < 2(1 + μ)/η.
    - adagrad, adadelta, nadam, radam, adamax: no published threshold; quantity and threshold are None.
    """
    spec = get_optimizer(optimizer_id)
    h = spec.torch_kwargs(hyperparameters)
    lr, wd = float(h["lr"]), float(h.get("weight_decay", 0.0))
    if optimizer_id in ("sgd", "momentum", "nesterov"):
        return _sgd_threshold(optimizer_id, lr, float(h["momentum"]), float(h["dampening"]), wd)
    if optimizer_id in ("adam", "adamw"):
        beta1 = float(h["betas"][0])
        base = (2.0 + 2.0 * beta1) / ((1.0 - beta1) * lr)
        if optimizer_id == "adamw":
            return StabilityThreshold(
                "preconditioned_sharpness",
                base * (1.0 - lr * wd / 2.0),
                "λ_max(P⁻¹H) < (2 − ηλ)(1 + β₁)/((1 − β₁)η),  P = (1 − β₁ᵗ)·diag(√v̂ + ε)",
                f"{COHEN_2022} (λ = 0); the decoupled decay by the same frozen-preconditioner analysis",
            )
        return StabilityThreshold(
            "preconditioned_sharpness",
            base,
            "λ_max(P⁻¹(H + λI)) < (2 + 2β₁)/((1 − β₁)η),  P = (1 − β₁ᵗ)·diag(√v̂ + ε)",
            COHEN_2022,
        )
    if optimizer_id == "rmsprop":
        mu = float(h["momentum"])
        return StabilityThreshold(
            "preconditioned_sharpness",
            2.0 * (1.0 + mu) / lr,
            "λ_max(P⁻¹(H + λI)) < 2(1 + μ)/η,  P = diag(√E[g²] + ε)",
            f"{COHEN_2022}, frozen-preconditioner analysis (μ = 0); with μ, heavy ball on P⁻¹H: {QUADRATIC}",
        )
    return StabilityThreshold(
        None,
        None,
        f"none known: {_NO_THRESHOLD[optimizer_id]}",
        f"none published, to our knowledge; {COHEN_2022} treats Adam and RMSProp",
    )


def _sgd_threshold(optimizer_id: str, lr: float, mu: float, tau: float, wd: float) -> StabilityThreshold:
    if optimizer_id == "sgd" or mu == 0.0:  # torch skips the buffer (and so the dampening) when μ = 0
        return StabilityThreshold(
            "sharpness", 2.0 / lr - wd, "λ_max(H) < 2/η − λ", f"{COHEN_2021}; {QUADRATIC}"
        )
    if optimizer_id == "nesterov":
        return StabilityThreshold(
            "sharpness",
            2.0 * (1.0 + mu) / ((1.0 + 2.0 * mu) * lr) - wd,
            "λ_max(H) < 2(1 + μ)/((1 + 2μ)η) − λ",
            f"{COHEN_2021} (its momentum experiments); {QUADRATIC}",
        )
    if tau >= 1.0:  # after the first step the gradient no longer enters the velocity
        return StabilityThreshold(
            None, None, "none: with τ = 1 the gradient never reaches the velocity", QUADRATIC
        )
    return StabilityThreshold(
        "sharpness",
        2.0 * (1.0 + mu) / ((1.0 - tau) * lr) - wd,
        "λ_max(H) < 2(1 + μ)/((1 − τ)η) − λ",
        f"{COHEN_2021} (τ = 0); the dampening τ scales the gradient's share: {QUADRATIC}",
    )


# --- what the race shows: the 2-D preconditioner, the sharpness its threshold is about ----------------------

PRECONDITIONED = ("adam", "adamw", "rmsprop")  # the optimizers whose threshold is on λ_max(P⁻¹H)


def preconditioner(
    optimizer_id: str, hyperparameters: dict[str, Any], state: dict[str, np.ndarray]
) -> np.ndarray | None:
    """The diagonal of P (M, 2) at each of M steps from the optimizer's state after that step (the engine's
    names and shapes, as torch.optim's), as ``stability_threshold`` defines it: Adam and AdamW
    P = (1 − β₁ᵗ)·(√v̂ + ε), v̂ = v/(1 − β₂ᵗ) (v = max_exp_avg_sq with amsgrad); RMSprop P = √E[g²] + ε
    (centered: √(E[g²] − E[g]²) + ε). None for an optimizer without a diagonal preconditioner, or when the
    state lacks what P needs."""
    if optimizer_id not in PRECONDITIONED:
        return None
    h = get_optimizer(optimizer_id).torch_kwargs(hyperparameters)
    eps = float(h["eps"])
    if optimizer_id == "rmsprop":
        if "square_avg" not in state:
            return None
        avg = np.asarray(state["square_avg"], dtype=np.float64)
        if h.get("centered") and "grad_avg" in state:
            avg = avg - np.asarray(state["grad_avg"], dtype=np.float64) ** 2
        return np.sqrt(np.maximum(avg, 0.0)) + eps
    name = "max_exp_avg_sq" if h.get("amsgrad") else "exp_avg_sq"
    if name not in state or "step" not in state:
        return None
    beta1, beta2 = (float(b) for b in h["betas"])
    t = np.asarray(state["step"], dtype=np.float64).reshape(-1, 1)  # (M, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        v_hat = np.asarray(state[name], dtype=np.float64) / (1.0 - beta2**t)
        return (1.0 - beta1**t) * (np.sqrt(v_hat) + eps)


def preconditioned_sharpness(hessians: np.ndarray, diagonal: np.ndarray) -> np.ndarray:
    """λ_max(P⁻¹H) for Hessians (M, 2, 2) and positive diagonals P (M, 2): the largest eigenvalue of the
    symmetric P^(−1/2)·H·P^(−1/2), which P⁻¹H shares. NaN where either is not finite or P is not positive."""
    h = np.asarray(hessians, dtype=np.float64)
    p = np.asarray(diagonal, dtype=np.float64)
    out = np.full(len(h), np.nan)
    ok = np.isfinite(h).all(axis=(1, 2)) & np.isfinite(p).all(axis=1) & (p > 0).all(axis=1)
    if ok.any():
        d = 1.0 / np.sqrt(p[ok])  # (K, 2)
        out[ok] = np.linalg.eigvalsh(d[:, :, None] * h[ok] * d[:, None, :])[:, -1]
    return out


@dataclass(frozen=True)
class SharpnessTrack:
    """Per step: the quantity an optimizer's threshold is about, and that threshold."""

    quantity: Literal["sharpness", "preconditioned_sharpness"] | None  # None: λ_max(H), no threshold known
    values: np.ndarray  # (M,): λ_max(H), or λ_max(P⁻¹(H + λI)) for Adam and RMSprop (P⁻¹H for AdamW)
    threshold: float | None
    formula: str


def sharpness_track(
    optimizer_id: str, hyperparameters: dict[str, Any], curvatures: Curvatures, state: dict[str, np.ndarray]
) -> SharpnessTrack:
    """The quantity ``stability_threshold`` names for this optimizer at each of M steps of a 2-D run, from
    the Hessians there and the optimizer's state after each step. Where that quantity cannot be measured
    (no preconditioner in the state), λ_max(H) with ``quantity`` None and no threshold."""
    limit = stability_threshold(optimizer_id, hyperparameters)
    lambda_max = curvatures.eigenvalues[:, -1]
    if limit.quantity != "preconditioned_sharpness":
        return SharpnessTrack(limit.quantity, lambda_max, limit.threshold, limit.formula)
    p = preconditioner(optimizer_id, hyperparameters, state)
    if p is None or len(p) != len(curvatures):
        return SharpnessTrack(None, lambda_max, None, limit.formula)
    h = curvatures.hessians
    wd = float(get_optimizer(optimizer_id).torch_kwargs(hyperparameters).get("weight_decay", 0.0))
    if optimizer_id != "adamw":  # coupled weight decay adds λ·I to the Hessian the preconditioner sees
        h = h + wd * np.eye(2)
    return SharpnessTrack(limit.quantity, preconditioned_sharpness(h, p), limit.threshold, limit.formula)


@dataclass(frozen=True)
class Quadratic:
    """A quadratic surface's constant Hessian and what it says: κ, η* (None unless positive definite)."""

    hessian: np.ndarray  # (2, 2)
    eigenvalues: np.ndarray  # (2,) ascending
    condition_number: float | None  # None where λ_min ≤ 0 (κ would be infinite)
    optimal_step: float | None


def quadratic(fn: SurfaceFn, domain: tuple[tuple[float, float], tuple[float, float]]) -> Quadratic | None:
    """``quadratic_hessian`` with its eigenvalues, κ and η*; None when f is not quadratic on domain."""
    h = quadratic_hessian(fn, domain)
    if h is None:
        return None
    w = np.linalg.eigvalsh(h)
    kappa = condition_number(w)
    return Quadratic(h, w, kappa if math.isfinite(kappa) else None, optimal_step(w))
