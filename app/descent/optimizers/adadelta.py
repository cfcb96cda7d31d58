"""torch.optim.Adadelta: steps in units of past updates, so the learning rate scale barely needs tuning."""

from __future__ import annotations

import numpy as np
import torch

from app.descent.optimizers.base import (
    WEIGHT_DECAY,
    Array,
    Hyper,
    Hyperparameter,
    OptimizerSpec,
    State,
    coupled_weight_decay,
    eps,
    learning_rate,
)


def init_adadelta(r: int, h: Hyper) -> State:
    return {"square_avg": np.zeros((r, 2)), "acc_delta": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def update_adadelta(p: Array, g: Array, s: State, h: Hyper) -> None:
    """E[g²] ← ρE[g²] + (1 − ρ)g²; Δ = √(E[Δ²] + ε)/√(E[g²] + ε)·g; E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²; θ ← θ − ηΔ."""
    s["step"] += 1.0
    g = coupled_weight_decay(p, g, h)
    rho = h["rho"]
    sq, acc = s["square_avg"], s["acc_delta"]
    sq[...] = sq * rho + (1.0 - rho) * g * g
    # std = square_avg.add(eps).sqrt_(); delta = acc_delta.add(eps).sqrt_(); delta.div_(std).mul_(grad)
    delta = np.sqrt(acc + h["eps"]) / np.sqrt(sq + h["eps"]) * g
    acc[...] = acc * rho + (1.0 - rho) * delta * delta
    p += -h["lr"] * delta


# No derived terms: its two running means (the state) are the whole explanation.
SPECS = (
    OptimizerSpec(
        id="adadelta",
        name="Adadelta",
        torch_class=torch.optim.Adadelta,
        hyperparameters=(
            learning_rate(1.0),
            Hyperparameter("rho", 0.9, 0.0, 1.0, symbol="ρ", meaning="decay rate of the running means"),
            eps(1e-6),
            WEIGHT_DECAY,
        ),
        update_rule="Δ = √(E[Δ²] + ε)/√(E[g²] + ε) · ∇J(θ);  θ ← θ − η·Δ",
        summary="steps in units of past updates, so no learning rate scale needs tuning in principle",
        init_state=init_adadelta,
        update=update_adadelta,
        state_names=("square_avg", "acc_delta", "step"),
        race_lr=1.0,
        cnn_lr=1.0,
        add_rank=10,
    ),
)
