"""torch.optim.SGD as three optimizers: plain gradient descent, heavy-ball momentum and Nesterov momentum.
They share one kernel, so runners of all three step together."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from app.descent.optimizers.base import (
    WEIGHT_DECAY,
    Array,
    Hyper,
    Hyperparameter,
    OptimizerSpec,
    State,
    Terms,
    coupled_weight_decay,
    learning_rate,
    momentum,
    nonzero,
    regularized,
    select,
)

DAMPENING = Hyperparameter(
    "dampening", 0.0, 0.0, 1.0, symbol="τ",
    meaning="scales the new gradient's share of the velocity by (1 − τ)",
)  # fmt: skip


def init_sgd(r: int, h: Hyper) -> State:
    return {"momentum_buffer": np.zeros((r, 2)), "has_buffer": np.zeros((r, 1), dtype=bool)}


def update_sgd(p: Array, g: Array, s: State, h: Hyper) -> None:
    """v ← μ·v + (1 − τ)·g (v₁ = g); θ ← θ − η·v (Nesterov: θ ← θ − η·(g + μ·v))."""
    g = coupled_weight_decay(p, g, h)
    mu = h["momentum"]
    direction = g
    if nonzero(mu):
        uses = mu != 0.0
        buf = s["momentum_buffer"]
        # buf = grad.clone() at first, then buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        fresh = np.where(s["has_buffer"], buf * mu + (1.0 - h["dampening"]) * g, g)
        buf[...] = select(uses, lambda: fresh, lambda: buf)
        s["has_buffer"] |= uses
        # grad = grad.add(buf, alpha=momentum) if nesterov else buf
        moved = select(h["nesterov"], lambda: g + mu * buf, lambda: buf)
        direction = select(uses, lambda: moved, lambda: g)
    # param.add_(grad, alpha=-lr)
    p += -h["lr"] * direction


def terms_sgd(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """Plain: the update; momentum: the velocity split into carried and fresh parts; Nesterov: the
    look-ahead direction."""
    g = regularized(g, p, h)
    if not h["momentum"]:
        return {"update": -h["lr"] * g}
    v = s["momentum_buffer"]
    if h["nesterov"]:
        return {"lookahead": g + h["momentum"] * v, "update": -h["lr"] * (g + h["momentum"] * v)}
    fresh = (1.0 - h["dampening"]) * g
    return {"gradient_part": fresh, "carried_velocity": v - fresh, "update": -h["lr"] * v}


SPECS = (
    OptimizerSpec(
        id="sgd",
        name="Gradient descent (SGD)",
        torch_class=torch.optim.SGD,
        hyperparameters=(learning_rate(0.001), WEIGHT_DECAY),
        update_rule="θ ← θ − η·∇J(θ)",
        summary="plain gradient descent: step against the gradient, scaled by the learning rate",
        init_state=init_sgd,
        update=update_sgd,
        fixed={"momentum": 0.0, "dampening": 0.0, "nesterov": False},
        terms=terms_sgd,
        term_names=("update",),
        race_lr=None,
        cnn_lr=0.05,
        add_rank=5,
    ),
    OptimizerSpec(
        id="momentum",
        name="Momentum",
        torch_class=torch.optim.SGD,
        hyperparameters=(learning_rate(0.001), momentum(0.9), DAMPENING, WEIGHT_DECAY),
        update_rule="v ← μ·v + (1 − τ)·∇J(θ);  θ ← θ − η·v",
        summary="heavy ball: a velocity accumulates past gradients, damping zig-zags, speeding along valleys",
        init_state=init_sgd,
        update=update_sgd,
        fixed={"nesterov": False},
        state_names=("momentum_buffer",),
        terms=terms_sgd,
        term_names=("gradient_part", "carried_velocity", "update"),
        race_lr=None,
        cnn_lr=0.01,
        add_rank=1,
    ),
    OptimizerSpec(
        id="nesterov",
        name="Nesterov momentum",
        torch_class=torch.optim.SGD,
        hyperparameters=(learning_rate(0.001), momentum(0.9, low_open=True), WEIGHT_DECAY),
        update_rule="v ← μ·v + ∇J(θ);  θ ← θ − η·(∇J(θ) + μ·v)",
        summary="momentum that looks ahead: the step adds the velocity it is about to apply to the gradient",
        init_state=init_sgd,
        update=update_sgd,
        fixed={"nesterov": True, "dampening": 0.0},
        state_names=("momentum_buffer",),
        terms=terms_sgd,
        term_names=("lookahead", "update"),
        race_lr=None,
        cnn_lr=0.01,
        add_rank=2,
    ),
)
