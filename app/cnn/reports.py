"""What the trainer returns: plain numbers and lists, ready for JSON.

A value that is not finite is reported as None (JSON null), never NaN. Per-parameter and per-layer
measurements come as columns (one list per measurement, aligned with ``names``): compact on the wire and
what a chart plots. Reports are built with ``model_construct`` on the hot path: the numbers come from
torch, already of the declared types, so validating them again would only cost time.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Number = float | None  # None: the value was NaN or infinite

DeadRule = Literal["zero", "abs<1e-6"]


class ParameterStats(BaseModel):
    """One entry per parameter tensor (e.g. conv1.weight), aligned with names."""

    names: list[str]
    grad_norm: list[Number] = Field(description="‖g‖₂ of the gradient that step used")
    grad_mean: list[Number]
    grad_std: list[Number] = Field(description="population standard deviation of the gradient's entries")
    grad_max_abs: list[Number] = Field(description="max |g|")
    weight_norm: list[Number] = Field(description="‖θ‖₂ after the step")
    update_norm: list[Number] = Field(description="‖Δθ‖₂, the change the optimizer step made")
    update_ratio: list[Number] = Field(description="‖Δθ‖ / ‖θ‖ (θ after the step); ~1e-3 is healthy")


class LayerStats(BaseModel):
    """One entry per conv, linear and activation layer (e.g. conv1, act1), aligned with names."""

    names: list[str]
    kinds: list[str] = Field(description="conv, linear or activation")
    act_mean: list[Number] = Field(description="mean of the layer's output over the batch")
    act_std: list[Number] = Field(description="population standard deviation of the output's entries")
    dead_fraction: list[Number] = Field(
        description="activation layers: share of units (channels after a conv, features after a dense "
        "layer) dead on the whole batch, by dead_rule; None for conv and linear layers"
    )
    dead_rule: list[DeadRule | None] = Field(
        description="'zero': output exactly 0 for every sample and position (ReLU); 'abs<1e-6': |output| < "
        "1e-6 for all of them (the other activations, which are never exactly 0); None: not an activation"
    )
    grad_norm: list[Number] = Field(description="‖∂L/∂a‖₂: the loss gradient reaching this layer's output")


class EvalReport(BaseModel):
    """Loss and accuracy on the whole validation split, in eval mode (dropout off, batch norm frozen)."""

    step: int = Field(description="optimizer steps taken when evaluated")
    epoch: float
    loss: Number
    accuracy: float = Field(description="share of validation digits classified right, 0..1")
    samples: int = Field(description="validation digits evaluated")


class StepReport(BaseModel):
    """One optimizer step on one batch, with every per-step measurement."""

    step: int = Field(description="optimizer steps taken, this one included (1 for the first)")
    epoch: float = Field(description="epochs completed, as a fraction")
    batch_size: int
    lr: float = Field(description="learning rate this step used, the schedule applied")
    loss: Number = Field(description="mean cross-entropy of the batch, before the step")
    accuracy: float = Field(description="share of the batch classified right, before the step")
    diverged: bool = Field(description="the loss was not finite")
    params: ParameterStats
    layers: LayerStats
    eval: EvalReport | None = Field(None, description="present on steps where an evaluation was due")


class Histogram(BaseModel):
    """Counts on 41 bins over [-limit, limit]; limit is the smallest power of 2 ≥ max |x|, so it changes
    rarely and a histogram-over-time heatmap can keep its bins."""

    name: str = Field(description="parameter, e.g. conv1.weight")
    limit: float
    edges: list[float] = Field(description="42 bin edges, -limit..limit")
    counts: list[int] = Field(description="41 counts")
    nonfinite: int = Field(description="entries that were NaN or infinite, left out of the counts")


class Filters(BaseModel):
    """The first layer's weights as small images: conv1's k×k kernels, or fc1's rows as 8×8 images."""

    layer: str
    weights: list[list[list[Number]]] = Field(description="[unit][row][column]")
    grads: list[list[list[Number]]] | None = Field(description="same shape; None before the first step")


class Prediction(BaseModel):
    """One validation digit: its pixels, its label and what the network says."""

    index: int = Field(description="index in the validation split")
    pixels: list[list[float]] = Field(description="8×8, 0 (paper) .. 1 (ink)")
    label: int
    predicted: int
    confidence: Number = Field(description="softmax probability of the predicted class")


class SlowReport(BaseModel):
    """On-demand measurements, heavier than a step's."""

    step: int
    grad_histograms: list[Histogram] = Field(description="one per parameter tensor; empty before a step")
    weight_histograms: list[Histogram]
    filters: Filters
    predictions: list[Prediction]
    confusion: list[list[int]] = Field(description="[true][predicted] counts on the validation split")
    eval: EvalReport
