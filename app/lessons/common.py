"""What the lessons share: the strictness of their inputs, and float64 scalars with and without a graph."""

from __future__ import annotations

import torch
from pydantic import ConfigDict

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)


def leaf(v: float) -> torch.Tensor:
    """A float64 scalar autograd tracks (a parameter, or an input whose gradient the lesson shows)."""
    return torch.tensor(float(v), dtype=torch.float64, requires_grad=True)


def num(v: torch.Tensor) -> float:
    return float(v.detach())


def local_derivative(op, *values: float) -> tuple[float, ...]:
    """∂op/∂(each input) at these values, by autograd on the operation alone (no graph around it)."""
    inputs = [leaf(v) for v in values]
    return tuple(float(g) for g in torch.autograd.grad(op(*inputs), inputs))
