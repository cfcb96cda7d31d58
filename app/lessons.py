"""The numbers of the Learn tab's lessons, every one computed by torch autograd.

1. A gradient: J(x) = (x − t)², its derivative at x, and the next x after one step.
2. The learning rate: the same descent with several learning rates side by side.
3. The chain rule as a graph: y = W·x + b, L = (y − t)², forward values on the nodes and, backward, each
   node's local derivative times the gradient arriving from above.
4. Backpropagation layer by layer: a small network on one sample, δ(l) = (W(l+1)ᵀ δ(l+1)) ⊙ σ′(z(l)), with
   sigmoid or ReLU, and the gradient norm layer by layer.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import BaseModel, ConfigDict, Field

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)


def _t(v: float) -> torch.Tensor:
    return torch.tensor(float(v), dtype=torch.float64, requires_grad=True)


def _f(v: torch.Tensor) -> float:
    return float(v.detach())


# --- 1. a gradient ------------------------------------------


class GradientRequest(BaseModel):
    model_config = INPUT
    x: float = Field(2.0, ge=-1e3, le=1e3, description="where to take the gradient")
    target: float = Field(4.0, ge=-1e3, le=1e3, description="t in J(x) = (x − t)²")
    lr: float = Field(0.1, gt=0, le=10, description="η for one step")


class GradientLesson(BaseModel):
    x: float
    loss: float = Field(description="J(x)")
    gradient: float = Field(description="dJ/dx by autograd")
    next_x: float = Field(description="x − η·dJ/dx")
    next_loss: float
    tangent: tuple[float, float] = Field(description="(slope, intercept) of the tangent line at x")
    curve: list[tuple[float, float]] = Field(
        description="(x, J(x)) at CURVE_POINTS evenly spaced x covering x, t and the next x, to draw J"
    )


CURVE_POINTS = 101


@torch.no_grad()
def _curve(target: float, *xs: float) -> list[tuple[float, float]]:
    """J(x) = (x − t)² sampled over the span of t and xs, widened by a quarter on each side (at least ±1)."""
    low, high = min(target, *xs), max(target, *xs)
    pad = max((high - low) / 4, 1.0)
    grid = torch.linspace(low - pad, high + pad, CURVE_POINTS, dtype=torch.float64)  # (CURVE_POINTS,)
    return list(zip(grid.tolist(), ((grid - target) ** 2).tolist(), strict=True))


def gradient_lesson(req: GradientRequest) -> GradientLesson:
    x = _t(req.x)
    loss = (x - req.target) ** 2
    loss.backward()
    g = float(x.grad)
    with torch.no_grad():
        nxt = x - req.lr * x.grad
        next_loss = (nxt - req.target) ** 2
    return GradientLesson(
        x=req.x,
        loss=_f(loss),
        gradient=g,
        next_x=_f(nxt),
        next_loss=_f(next_loss),
        tangent=(g, _f(loss) - g * req.x),
        curve=_curve(req.target, req.x, _f(nxt)),
    )


# --- 2. the learning rate ------------------------------------------


class DescentRequest(BaseModel):
    model_config = INPUT
    x: float = Field(2.0, ge=-100, le=100)
    target: float = Field(4.0, ge=-100, le=100)
    lrs: list[float] = Field([0.02, 0.3, 1.05], min_length=1, max_length=6, description="η for each run")
    steps: int = Field(20, ge=1, le=200)


class DescentRun(BaseModel):
    lr: float
    xs: list[float]
    losses: list[float]
    verdict: Literal["crawls", "converges", "oscillates", "diverges"]


class DescentLesson(BaseModel):
    runs: list[DescentRun]


def descent_lesson(req: DescentRequest) -> DescentLesson:
    runs = []
    for lr in req.lrs:
        if not 0 < lr <= 10:
            raise ValueError("each learning rate must be in (0, 10]")
        x = _t(req.x)
        xs, losses = [], []
        for _ in range(req.steps + 1):
            x.grad = None
            loss = (x - req.target) ** 2
            loss.backward()
            xs.append(_f(x))
            losses.append(_f(loss))
            with torch.no_grad():
                x -= lr * x.grad
                if not torch.isfinite(x) or abs(_f(x)) > 1e12:
                    break
        # On (x − t)², each step multiplies the distance to t by (1 − 2η).
        factor = 1 - 2 * lr
        if abs(factor) >= 1:
            verdict = "diverges" if abs(factor) > 1 else "oscillates"
        elif factor < 0:
            verdict = "oscillates" if factor < -0.5 else "converges"
        else:
            verdict = "crawls" if factor > 0.9 else "converges"
        runs.append(DescentRun(lr=lr, xs=xs, losses=losses, verdict=verdict))
    return DescentLesson(runs=runs)


# --- 3. the chain rule as a graph ------------------------------------------


class ChainRequest(BaseModel):
    model_config = INPUT
    W: float = Field(2.0, ge=-1e3, le=1e3)
    b: float = Field(1.0, ge=-1e3, le=1e3)
    x: float = Field(3.0, ge=-1e3, le=1e3)
    target: float = Field(10.0, ge=-1e3, le=1e3)


class GraphNode(BaseModel):
    id: str
    label: str = Field(description="what the node computes, e.g. 'W·x'")
    value: float = Field(description="forward value")
    grad: float = Field(description="∂L/∂(this node), by autograd")


class GraphEdge(BaseModel):
    source: str = Field(description="the input node")
    target: str = Field(description="the node that uses it")
    local: float = Field(description="∂target/∂source at these values")
    upstream: float = Field(description="∂L/∂target, arriving from above")
    product: float = Field(description="local × upstream = this edge's share of ∂L/∂source")


class ChainLesson(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    order: list[str] = Field(description="the backward pass visits nodes in this order")


def chain_lesson(req: ChainRequest) -> ChainLesson:
    W, b, x = _t(req.W), _t(req.b), _t(req.x)
    t = torch.tensor(req.target, dtype=torch.float64)
    wx = W * x
    y = wx + b
    r = y - t
    loss = r**2
    for v in (wx, y, r):
        v.retain_grad()
    loss.backward()
    values = {"x": x, "W": W, "b": b, "wx": wx, "y": y, "r": r, "L": loss}
    grads = {
        "x": x.grad,
        "W": W.grad,
        "b": b.grad,
        "wx": wx.grad,
        "y": y.grad,
        "r": r.grad,
        "L": torch.tensor(1.0),
    }
    labels = {
        "x": "x",
        "W": "W",
        "b": "b",
        "wx": "W·x",
        "y": "y = W·x + b",
        "r": "y − t",
        "L": "L = (y − t)²",
    }
    nodes = [GraphNode(id=k, label=labels[k], value=_f(v), grad=float(grads[k])) for k, v in values.items()]
    # Local derivatives, each the textbook rule for its operation at these values.
    local = {
        ("r", "L"): 2 * _f(r),
        ("y", "r"): 1.0,
        ("wx", "y"): 1.0,
        ("b", "y"): 1.0,
        ("W", "wx"): _f(x),
        ("x", "wx"): _f(W),
    }
    edges = []
    for (src, dst), d in local.items():
        up = float(grads[dst])
        edges.append(GraphEdge(source=src, target=dst, local=d, upstream=up, product=d * up))
    return ChainLesson(nodes=nodes, edges=edges, order=["L", "r", "y", "b", "wx", "W", "x"])


# --- 4. backpropagation layer by layer ------------------------------------------


class BackpropRequest(BaseModel):
    model_config = INPUT
    activation: Literal["sigmoid", "relu"] = "sigmoid"
    depth: int = Field(3, ge=2, le=8, description="layers with weights")
    width: int = Field(3, ge=1, le=8, description="units in each hidden layer")
    x: list[float] = Field([0.5, -1.0], min_length=1, max_length=8, description="the sample")
    y: float = Field(1.0, ge=-100, le=100, description="its target")
    seed: int = Field(0, ge=0, le=2**31 - 1)


class LayerNumbers(BaseModel):
    layer: int
    z: list[float] = Field(description="pre-activation W(l)·a(l−1) + b(l)")
    a: list[float] = Field(description="activation σ(z(l)) (the output layer is linear)")
    upstream: list[float] = Field(
        description="∂L/∂a(l): W(l+1)ᵀ δ(l+1) for a hidden layer, ŷ − y at the output, before ⊙ σ′(z(l))"
    )
    delta: list[float] = Field(description="δ(l) = ∂L/∂z(l)")
    dsigma: list[float] = Field(description="σ′(z(l)), the factor each layer multiplies the gradient by")
    weight_grad: list[list[float]] = Field(description="∂L/∂W(l) = δ(l)·a(l−1)ᵀ")
    weight_grad_norm: float


class BackpropLesson(BaseModel):
    activation: str
    loss: float = Field(description="L = ½·(ŷ − y)²")
    prediction: float
    layers: list[LayerNumbers] = Field(description="from the first layer to the output layer")


def _act(name: str, z: torch.Tensor) -> torch.Tensor:
    return torch.sigmoid(z) if name == "sigmoid" else torch.relu(z)


def _dact(name: str, z: torch.Tensor) -> torch.Tensor:
    if name == "sigmoid":
        s = torch.sigmoid(z)
        return s * (1 - s)
    return (z > 0).to(z.dtype)


def backprop_network(req: BackpropRequest) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """The lesson's weights and biases, seeded: Xavier-uniform weights, biases 0.1."""
    g = torch.Generator().manual_seed(req.seed)
    sizes = [len(req.x)] + [req.width] * (req.depth - 1) + [1]
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = (6.0 / (fan_in + fan_out)) ** 0.5
        weights.append((torch.rand(fan_out, fan_in, generator=g, dtype=torch.float64) * 2 - 1) * bound)
        biases.append(torch.full((fan_out,), 0.1, dtype=torch.float64))
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
    loss = 0.5 * (prediction - req.y) ** 2
    deltas = [None] * len(weights)
    upstreams = [None] * len(weights)
    upstreams[-1] = deltas[-1] = a[-1] - req.y  # ∂L/∂z at the linear output
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
                z=zs[k].tolist(),
                a=a[k + 1].tolist(),
                upstream=upstreams[k].tolist(),
                delta=deltas[k].tolist(),
                dsigma=dsigma.tolist(),
                weight_grad=grad_w.tolist(),
                weight_grad_norm=float(grad_w.norm()),
            )
        )
    return BackpropLesson(activation=req.activation, loss=loss, prediction=prediction, layers=layers)
