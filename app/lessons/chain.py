"""Lesson 3, the chain rule as a graph: u = W·x, ŷ = u + b, r = ŷ − t, L = r² (the tutorial's neuron and
squared error), forward values on the nodes and, backward, each node's local derivative times the gradient
arriving from above.

Every local derivative is autograd's on its operation alone, and carries the rule it follows (d(r²)/dr = 2r,
∂(W·x)/∂W = x …) so the page can write the rule, the values it is taken at, and the result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import torch
from pydantic import BaseModel, Field

from app.lessons.common import INPUT, leaf, local_derivative, num

Rule = Literal["square", "minus_target", "sum", "product"]


class ChainRequest(BaseModel):
    model_config = INPUT
    W: float = Field(2.0, ge=-1e3, le=1e3)
    b: float = Field(1.0, ge=-1e3, le=1e3)
    x: float = Field(3.0, ge=-1e3, le=1e3)
    target: float = Field(10.0, ge=-1e3, le=1e3)


class GraphNode(BaseModel):
    id: str
    label: str = Field(description="the node's symbol and what it computes, e.g. 'u = W·x' (notation)")
    value: float = Field(description="forward value")
    grad: float = Field(description="∂L/∂(this node), by autograd")


class GraphEdge(BaseModel):
    source: str = Field(description="the input node")
    target: str = Field(description="the node that uses it")
    rule: Rule = Field(
        description="the local derivative's rule: square d(r²)/dr = 2r; minus_target ∂(ŷ − t)/∂ŷ = 1; "
        "sum ∂(u + b)/∂u = ∂(u + b)/∂b = 1; product ∂(W·x)/∂W = x and ∂(W·x)/∂x = W"
    )
    local: float = Field(description="∂target/∂source at these values, by autograd on the operation alone")
    upstream: float = Field(description="∂L/∂target, arriving from above")
    product: float = Field(description="local × upstream = this edge's share of ∂L/∂source")


class ChainLesson(BaseModel):
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    order: list[str] = Field(description="the backward pass visits nodes in this order")


@dataclass(frozen=True)
class Operation:
    """One node of the graph: its inputs, what it computes of them, and the rule of its derivatives."""

    inputs: tuple[str, ...]
    op: Callable[..., torch.Tensor]
    rule: Rule


def _graph(t: float) -> dict[str, Operation]:
    return {
        "wx": Operation(("W", "x"), lambda W, x: W * x, "product"),
        "y": Operation(("wx", "b"), lambda u, b: u + b, "sum"),
        "r": Operation(("y",), lambda y: y - t, "minus_target"),
        "L": Operation(("r",), lambda r: r**2, "square"),
    }


LABELS = {"x": "x", "W": "W", "b": "b", "wx": "u = W·x", "y": "ŷ = u + b", "r": "r = ŷ − t", "L": "L = r²"}
ORDER = ["L", "r", "y", "b", "wx", "W", "x"]


def chain_lesson(req: ChainRequest) -> ChainLesson:
    W, b, x = leaf(req.W), leaf(req.b), leaf(req.x)
    wx = W * x
    y = wx + b
    r = y - req.target
    loss = r**2
    for v in (wx, y, r):
        v.retain_grad()
    loss.backward()
    values = {"x": x, "W": W, "b": b, "wx": wx, "y": y, "r": r, "L": loss}
    grads = {k: float(v.grad) for k, v in values.items() if k != "L"} | {"L": 1.0}
    nodes = [GraphNode(id=k, label=LABELS[k], value=num(v), grad=grads[k]) for k, v in values.items()]
    edges = []
    for dst, operation in _graph(req.target).items():
        locals_ = local_derivative(operation.op, *(num(values[src]) for src in operation.inputs))
        for src, d in zip(operation.inputs, locals_, strict=True):
            up = grads[dst]
            edges.append(
                GraphEdge(source=src, target=dst, rule=operation.rule, local=d, upstream=up, product=d * up)
            )
    edges.reverse()  # from the loss down, as the backward pass meets them
    return ChainLesson(nodes=nodes, edges=edges, order=ORDER)
