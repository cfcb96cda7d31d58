"""Measurements a trainer takes every few steps, beyond the per-step probes: the sharpness against the
optimizer's stability threshold (the edge of stability, Cohen et al. 2021, arXiv 2103.00065; 2022,
arXiv 2207.14484), and the gradient noise scale B_simple (McCandlish et al. 2018, arXiv 1812.06162).

Both are taken on one fixed evaluation subset of the training split, between steps, in the training's own
compute; their cost is bounded before a setting is accepted (``measurement_cost``), so a measurement never
holds the training lane for long. Costs on this host, one core, bench/cnn.py: a Hessian-vector product is
~0.2–0.6 ns per digit and multiply-add of the network (26 ms on 512 digits of the default CNN), and the
per-example gradients of the noise scale ~20 ns per digit and parameter (160 ms on 512 digits of the default
CNN; the first call in a process adds ~2 s of torch.func's set-up).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from app.cnn.data import Digits
from app.cnn.models import describe
from app.cnn.probes import finite
from app.cnn.sharpness import evaluation_subset, gradient_noise_scale, preconditioned_sharpness, sharpness
from app.descent.curvature import stability_threshold

TOLERANCE = 1e-2  # ‖Hy − θy‖ ≤ 1e-2·θ: θ within ~1e-4·θ²/gap of λ_max (≤ 4e-3 relative on the EoS run)
MAX_ITERATIONS = 20  # Hessian-vector products per measurement: a cold start needs 7–16, a warm one 2–6
BASIS_BYTES = 32 * 2**20  # Lanczos basis held at once: fewer products on networks past ~400 k parameters
# Bounds on one measurement, ~1.7 s of one core at the rates above; a setting past them is refused.
MAX_SHARPNESS_WORK = 3 * 10**9  # digits × multiply-adds per digit × (products + 1, the gradient)
MAX_NOISE_WORK = 85 * 10**6  # digits × parameters: the per-example gradients' entries

Quantity = Literal["sharpness", "preconditioned_sharpness"]


@dataclass
class SharpnessReport:
    """One measurement of the sharpness (or the preconditioned sharpness), with the threshold it meets."""

    step: Annotated[int, Field(description="optimizer steps taken: the weights measured are those after it")]
    quantity: Annotated[
        Quantity,
        Field(
            description="sharpness: λ_max(H), for sgd, momentum, nesterov and the optimizers without a "
            "threshold; preconditioned_sharpness: λ_max(P⁻¹H), for adam, adamw, rmsprop"
        ),
    ]
    lambda_max: Annotated[float | None, Field(description="the top Ritz value: a lower bound of λ_max")]
    threshold: Annotated[
        float | None, Field(description="the value it must stay below to be stable; null where none is known")
    ]
    formula: Annotated[str, Field(description="the threshold's formula, or why none is known")]
    optimizer: str
    lr: Annotated[float, Field(description="the learning rate of the coming step, which the threshold uses")]
    iterations: Annotated[int, Field(description="Hessian-vector products it took (Lanczos)")]
    converged: Annotated[bool, Field(description="the residual met the tolerance within the cap")]
    samples: Annotated[int, Field(description="digits of the evaluation subset")]
    seconds: Annotated[float, Field(description="wall-clock time of the measurement")]


@dataclass
class NoiseScaleReport:
    """One measurement of the gradient noise scale B_simple = tr Σ/‖G‖² on the evaluation subset."""

    step: int
    b_simple: Annotated[
        float | None,
        Field(
            description="the batch size at which a batch gradient's noise equals the gradient; null when "
            "‖G‖² is not positive (lost in noise) or the estimate is unavailable"
        ),
    ]
    trace_sigma: Annotated[float | None, Field(description="tr Σ of the per-example gradients")]
    gradient_norm_sq: Annotated[float | None, Field(description="‖G‖², unbiased")]
    batch_size: Annotated[int, Field(description="digits per step of the training now")]
    samples: int
    estimator: Literal["population", "sample"]
    seconds: float
    unavailable: Annotated[str | None, Field(description="why there is no estimate (batch norm)")] = None


def multiply_adds(model: nn.Sequential) -> int:
    """Multiply-adds of the conv and linear layers in one digit's forward pass."""
    total = 0
    for layer in describe(model):
        if layer.kind not in ("conv", "linear"):
            continue
        weight = next(p for p in layer.parameters if p.name.endswith(".weight"))
        per_output = math.prod(weight.shape)
        total += per_output * (math.prod(layer.output_shape[1:]) if layer.kind == "conv" else 1)
    return total


def lanczos_cap(parameters: int) -> int:
    """Products per measurement: MAX_ITERATIONS, fewer when the basis would pass BASIS_BYTES."""
    return max(2, min(MAX_ITERATIONS, BASIS_BYTES // (4 * parameters)))


def measurement_cost(model: nn.Sequential, samples: int, sharpness_on: bool, noise_on: bool) -> str | None:
    """Why a measurement on ``samples`` digits of this network would cost too much, or None."""
    parameters = sum(p.numel() for p in model.parameters())
    if sharpness_on:
        cap = lanczos_cap(parameters)
        per_digit = multiply_adds(model) * (cap + 1)
        if samples * per_digit > MAX_SHARPNESS_WORK:
            return (
                f"a sharpness measurement on {samples} digits of this network may cost "
                f"{samples * per_digit / 1e9:.2g} G multiply-adds ({cap} Hessian-vector products and the "
                f"gradient), over the bound of {MAX_SHARPNESS_WORK / 1e9:g} G (~1.7 s of CPU): measure on "
                f"at most {max(2, MAX_SHARPNESS_WORK // per_digit)} digits, or on a smaller network"
            )
    if noise_on and samples * parameters > MAX_NOISE_WORK:
        return (
            f"the noise scale on {samples} digits of this network needs {samples * parameters / 1e6:.3g} M "
            f"per-example gradient entries, over the bound of {MAX_NOISE_WORK / 1e6:g} M (~1.7 s of CPU): "
            f"measure on at most {max(2, MAX_NOISE_WORK // parameters)} digits, or on a smaller network"
        )
    return None


def _has_batch_norm(model: nn.Module) -> bool:
    return any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules())


class Monitor:
    """The evaluation subset of one training and the warm start of its next sharpness measurement."""

    def __init__(self, data: Digits, samples: int, seed: int) -> None:
        self.x, self.y = evaluation_subset(data, samples, seed)  # (n, 1, 8, 8), (n,)
        self.population = len(self.y) == data.n_train  # the whole split: B_simple's exact estimator
        self.previous: torch.Tensor | None = None  # the last Ritz vector
        self.quantity: Quantity | None = None  # what it was the vector of

    @property
    def samples(self) -> int:
        return len(self.y)

    def sharpness(
        self,
        model: nn.Sequential,
        optimizer: torch.optim.Optimizer,
        optimizer_id: str,
        hyperparameters: dict,
        lr: float,
        step: int,
    ) -> SharpnessReport | None:
        """The quantity whose threshold the optimizer has (the plain sharpness where none is known); None
        when it cannot be measured yet (an adaptive optimizer before its first step has no P)."""
        began = time.perf_counter()
        bound = stability_threshold(optimizer_id, {**hyperparameters, "lr": lr})
        quantity: Quantity = bound.quantity or "sharpness"
        if quantity != self.quantity:  # P⁻¹H's eigenvector is no start for H's
            self.previous, self.quantity = None, quantity
        cap = lanczos_cap(sum(p.numel() for p in model.parameters()))
        if quantity == "preconditioned_sharpness":
            if not all(optimizer.state.get(p) for g in optimizer.param_groups for p in g["params"]):
                return None
            eigen = preconditioned_sharpness(
                model, optimizer, self.x, self.y, self.previous, TOLERANCE, cap, method="lanczos"
            )
        else:
            eigen = sharpness(model, self.x, self.y, self.previous, TOLERANCE, cap, method="lanczos")
        value = finite(eigen.lambda_max)
        self.previous = eigen.vector if value is not None else None
        return SharpnessReport(
            step=step,
            quantity=quantity,
            lambda_max=value,
            threshold=bound.threshold,
            formula=bound.formula,
            optimizer=optimizer_id,
            lr=lr,
            iterations=eigen.iterations,
            converged=eigen.converged,
            samples=self.samples,
            seconds=time.perf_counter() - began,
        )

    def noise_scale(self, model: nn.Sequential, step: int, batch_size: int) -> NoiseScaleReport:
        began = time.perf_counter()
        estimator: Literal["population", "sample"] = "population" if self.population else "sample"
        if _has_batch_norm(model):
            return NoiseScaleReport(
                step, None, None, None, batch_size, self.samples, estimator, 0.0,
                "per-example gradients are undefined with batch norm: each digit's loss depends on its batch",
            )  # fmt: skip
        result = gradient_noise_scale(model, self.x, self.y, population=self.population)
        return NoiseScaleReport(
            step=step,
            b_simple=finite(result.b_simple) if result.b_simple is not None else None,
            trace_sigma=finite(result.trace_sigma),
            gradient_norm_sq=finite(result.gradient_norm_sq),
            batch_size=batch_size,
            samples=self.samples,
            estimator=estimator,
            seconds=time.perf_counter() - began,
        )
