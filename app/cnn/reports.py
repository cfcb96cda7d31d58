"""What the trainer returns: plain numbers and lists, ready for JSON.

Reports are dataclasses, not pydantic models: one is built every step, and a dataclass costs ~1 µs to
build where ``BaseModel.model_construct`` costs ~13. orjson serializes them as they are, and pydantic
still gives their JSON Schema (``TypeAdapter(StepReport).json_schema()``) or embeds them in a message.

A value that is not finite is None (JSON null), never NaN. Per-parameter and per-layer measurements come
as columns (one list per measurement, aligned with ``names``): compact on the wire, and what a chart plots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

Number = float | None  # None: the value was NaN or infinite
Column = list[Number]
DeadRule = Literal["zero", "mean|a|<1e-6"]


@dataclass
class ParameterStats:
    """One entry per parameter tensor (e.g. conv1.weight), aligned with names."""

    names: list[str]
    grad_norm: Annotated[Column, Field(description="‖g‖₂ of the gradient the step used")]
    grad_mean: Column
    grad_std: Annotated[Column, Field(description="population standard deviation of the gradient's entries")]
    grad_max_abs: Annotated[Column, Field(description="max |g|")]
    weight_norm: Annotated[Column, Field(description="‖θ‖₂ after the step")]
    update_norm: Annotated[Column, Field(description="‖Δθ‖₂, the change the optimizer step made")]
    update_ratio: Annotated[Column, Field(description="‖Δθ‖ / ‖θ‖ (θ after the step); ~1e-3 is healthy")]


@dataclass
class LayerStats:
    """One entry per conv, linear and activation layer (e.g. conv1, act1), aligned with names."""

    names: list[str]
    kinds: Annotated[list[str], Field(description="conv, linear or activation")]
    act_mean: Annotated[Column, Field(description="mean of the layer's output over the batch")]
    act_std: Annotated[Column, Field(description="population standard deviation of the output's entries")]
    dead_fraction: Annotated[
        Column,
        Field(
            description="activation layers: share of units (channels after a conv, features after a dense "
            "layer) dead on the whole batch, by dead_rule; None for conv and linear layers"
        ),
    ]
    dead_rule: Annotated[
        list[DeadRule | None],
        Field(
            description="'zero': the unit's output is exactly 0 for every sample and position (ReLU); "
            "'mean|a|<1e-6': its mean |output| is below 1e-6 (the other activations, never exactly 0); "
            "None: not an activation"
        ),
    ]
    grad_norm: Annotated[Column, Field(description="‖∂L/∂a‖₂: the loss gradient reaching the layer's output")]


@dataclass
class EvalReport:
    """Loss and accuracy on the whole validation split, in eval mode (dropout off, batch norm frozen)."""

    step: Annotated[int, Field(description="optimizer steps taken when evaluated")]
    epoch: float
    loss: Number
    accuracy: Annotated[float, Field(description="share of validation digits classified right, 0..1")]
    samples: Annotated[int, Field(description="validation digits evaluated")]


@dataclass
class StepReport:
    """One optimizer step on one batch, with every per-step measurement."""

    step: Annotated[int, Field(description="optimizer steps taken, this one included (1 for the first)")]
    epoch: Annotated[float, Field(description="epochs completed, as a fraction")]
    batch_size: int
    lr: Annotated[float, Field(description="learning rate the step used, the schedule applied")]
    loss: Annotated[Number, Field(description="mean cross-entropy of the batch, before the step")]
    accuracy: Annotated[float, Field(description="share of the batch classified right, before the step")]
    diverged: Annotated[bool, Field(description="the loss was not finite")]
    params: Annotated[ParameterStats | None, Field(description="None on a step taken with measure=False")]
    layers: Annotated[LayerStats | None, Field(description="None on a step taken with measure=False")]
    eval: Annotated[EvalReport | None, Field(description="on steps where an evaluation was due")] = None


@dataclass
class Histogram:
    """Counts on 41 bins over [-limit, limit]; limit is the smallest power of 2 ≥ max |x|, so it changes
    rarely and a histogram-over-time heatmap can keep its bins."""

    name: Annotated[str, Field(description="parameter, e.g. conv1.weight")]
    limit: float
    edges: Annotated[list[float], Field(description="42 bin edges, -limit..limit")]
    counts: Annotated[list[int], Field(description="41 counts")]
    nonfinite: Annotated[int, Field(description="entries that were NaN or infinite, left out of the counts")]


@dataclass
class Filters:
    """The first layer's weights as small images: conv1's k×k kernels, or fc1's rows as 8×8 images."""

    layer: str
    weights: Annotated[list[list[list[Number]]], Field(description="[unit][row][column]")]
    grads: Annotated[
        list[list[list[Number]]] | None, Field(description="same shape, the last step's; None before one")
    ]


@dataclass
class Prediction:
    """One validation digit: its pixels, its label and what the network says."""

    index: Annotated[int, Field(description="index in the validation split")]
    pixels: Annotated[list[list[float]], Field(description="8×8, 0 (paper) .. 1 (ink)")]
    label: int
    predicted: int
    confidence: Annotated[Number, Field(description="softmax probability of the predicted class")]


@dataclass
class SlowReport:
    """On-demand measurements, heavier than a step's."""

    step: int
    grad_histograms: Annotated[
        list[Histogram], Field(description="one per parameter tensor, the last step's; empty before one")
    ]
    weight_histograms: list[Histogram]
    filters: Filters
    predictions: list[Prediction]
    confusion: Annotated[
        list[list[int]], Field(description="[true][predicted] counts on the validation split")
    ]
    eval: EvalReport
