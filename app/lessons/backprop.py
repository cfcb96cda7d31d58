"""Lesson 4, backpropagation layer by layer: a small network on one sample, the textbook recursion
δ(l) = (W(l+1)ᵀ δ(l+1)) ⊙ σ′(z(l)) written out with sigmoid or ReLU, every weight and bias shown so that
z = W·a + b can be recomputed by hand, and the facts its words rest on: how the first layer's gradient
compares with the last one's, and which ReLU layers are off for this sample (they stop the gradient).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, Field

from app.lessons.common import INPUT

BIAS = 0.1  # every bias starts here


class BackpropRequest(BaseModel):
    model_config = INPUT
    activation: Literal["sigmoid", "relu"] = "sigmoid"
    depth: int = Field(3, ge=2, le=8, description="layers with weights")
    width: int = Field(3, ge=1, le=8, description="units in each hidden layer")
    x: list[float] = Field([0.5, -1.0], min_length=1, max_length=8, description="the sample")
    target: float = Field(1.0, ge=-100, le=100, description="t, its target")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed of the weights")


class LayerNumbers(BaseModel):
    layer: int
    weight: list[list[float]] = Field(description="W(l), (units, inputs)")
    bias: list[float] = Field(description="b(l)")
    z: list[float] = Field(description="pre-activation W(l)·a(l−1) + b(l)")
    a: list[float] = Field(description="activation σ(z(l)) (the output layer is linear: a = z = ŷ)")
    upstream: list[float] = Field(
        description="∂L/∂a(l): W(l+1)ᵀ δ(l+1) for a hidden layer, ŷ − t at the output, before ⊙ σ′(z(l))"
    )
    delta: list[float] = Field(description="δ(l) = ∂L/∂z(l)")
    dsigma: list[float] = Field(description="σ′(z(l)), the factor each layer multiplies the gradient by")
    weight_grad: list[list[float]] = Field(description="∂L/∂W(l) = δ(l)·a(l−1)ᵀ")
    weight_grad_norm: float


class BackpropLesson(BaseModel):
    activation: str
    loss: float = Field(description="L = ½·(ŷ − t)²")
    prediction: float = Field(description="ŷ")
    layers: list[LayerNumbers] = Field(description="from the first layer to the output layer")
    norm_ratio: float | None = Field(
        description="‖∂L/∂W(1)‖ / ‖∂L/∂W(last)‖; null when the last one is 0 (ŷ = t: nothing to learn)"
    )
    off_layers: list[int] = Field(
        description="hidden layers whose every unit is off for this sample (ReLU, z ≤ 0): σ′ = 0 there, "
        "so δ is 0 in that layer and every layer below it"
    )
    zero_grad_layers: list[int] = Field(description="layers whose ∂L/∂W is exactly 0 for this sample")


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z) if name == "sigmoid" else torch.relu(z)


def _dact(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    return (z > 0).to(z.dtype)


def backprop_network(req: BackpropRequest) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The lesson's weights and biases, seeded: Xavier-uniform weights U(±√(6/(fan_in + fan_out))), biases
    0.1 (the lesson's PyTorch code builds them the same way, from the same seed)."""
    g = torch.Generator().manual_seed(req.seed)
    sizes = [len(req.x)] + [req.width] * (req.depth - 1) + [1]
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        weights.append((torch.rand(fan_out, fan_in, generator=g, dtype=torch.float64) * 2 - 1) * bound)
        biases.append(torch.full((fan_out,), BIAS, dtype=torch.float64))
    return weights, biases


def backprop_lesson(req: BackpropRequest) -> BackpropLesson:
    """The textbook recursion, written out; tests/test_lessons.py checks every number against autograd."""
    weights, biases = backprop_network(req)
    a = [torch.tensor(req.x, dtype=torch.float64)]
    zs = []
    for k, (W, bias) in enumerate(zip(weights, biases, strict=True)):
        z = W @ a[-1] + bias
        zs.append(z)
        last = k == len(weights) - 1
        a.append(z if last else _act(req.activation, z))  # a linear output layer
    prediction = float(a[-1][0])
    loss = 0.5 * (prediction - req.target) ** 2
    deltas = [None] * len(weights)
    upstreams = [None] * len(weights)
    upstreams[-1] = deltas[-1] = a[-1] - req.target  # ∂L/∂z at the linear output: the ½ cancels the 2
    for k in range(len(weights) - 2, -1, -1):
        upstreams[k] = weights[k + 1].T @ deltas[k + 1]  # (width,) = ∂L/∂a(k)
        deltas[k] = upstreams[k] * _dact(req.activation, zs[k])
    layers = []
    for k in range(len(weights)):
        grad_w = torch.outer(deltas[k], a[k])
        last = k == len(weights) - 1
        dsigma = torch.ones_like(zs[k]) if last else _dact(req.activation, zs[k])
        layers.append(
            LayerNumbers(
                layer=k + 1,
                weight=weights[k].tolist(),
                bias=biases[k].tolist(),
                z=zs[k].tolist(),
                a=a[k + 1].tolist(),
                upstream=upstreams[k].tolist(),
                delta=deltas[k].tolist(),
                dsigma=dsigma.tolist(),
                weight_grad=grad_w.tolist(),
                weight_grad_norm=float(grad_w.norm()),
            )
        )
    first, final = layers[0].weight_grad_norm, layers[-1].weight_grad_norm
    return BackpropLesson(
        activation=req.activation,
        loss=loss,
        prediction=prediction,
        layers=layers,
        norm_ratio=first / final if final > 0 else None,
        off_layers=[layer.layer for layer in layers[:-1] if not any(layer.dsigma)],
        zero_grad_layers=[layer.layer for layer in layers if layer.weight_grad_norm == 0],
    )
