"""torch.optim.Adagrad: per-coordinate steps that shrink as squared gradients accumulate."""

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
    eps,
    learning_rate,
)


def init_adagrad(r: int, h: Hyper) -> State:
    return {
        "sum": np.broadcast_to(h["initial_accumulator_value"], (r, 2)).astype(np.float64),
        "step": np.zeros((r, 1)),
    }


def update_adagrad(p: Array, g: Array, s: State, h: Hyper) -> None:
    """G ← G + g²; θ ← θ − η/(1 + (t − 1)·κ) · g/(√G + ε)."""
    s["step"] += 1.0
    g = coupled_weight_decay(p, g, h)
    # clr = lr / (1 + (step - 1) * lr_decay)
    clr = h["lr"] / (1.0 + (s["step"] - 1.0) * h["lr_decay"])
    # state_sum.addcmul_(grad, grad, value=1)
    s["sum"] += g * g
    # std = state_sum.sqrt().add_(eps); param.addcdiv_(grad, std, value=-clr)
    std = np.sqrt(s["sum"]) + h["eps"]
    p += (-clr * g) / std


def terms_adagrad(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """√G + ε and the learning rate each coordinate effectively gets."""
    denominator = np.sqrt(s["sum"]) + h["eps"]
    clr = h["lr"] / (1.0 + (s["step"] - 1.0) * h["lr_decay"])
    return {"denominator": denominator, "per_coordinate_lr": clr / denominator}


SPECS = (
    OptimizerSpec(
        id="adagrad",
        name="Adagrad",
        torch_class=torch.optim.Adagrad,
        hyperparameters=(
            learning_rate(0.01),
            Hyperparameter(
                "lr_decay", 0.0, 0.0, 1.0, symbol="κ", meaning="learning rate decay: η/(1 + (t − 1)·κ)"
            ),
            WEIGHT_DECAY,
            Hyperparameter(
                "initial_accumulator_value",
                0.0,
                0.0,
                100.0,
                symbol="G₀",
                meaning="starting value of the sum of squared gradients",
            ),
            eps(1e-10),
        ),
        update_rule="G ← G + ∇J(θ)²;  θ ← θ − η·∇J(θ)/(√G + ε)",
        summary="per-coordinate steps that shrink as squared gradients accumulate",
        init_state=init_adagrad,
        update=update_adagrad,
        state_names=("sum", "step"),
        terms=terms_adagrad,
        term_names=("denominator", "per_coordinate_lr"),
        race_lr=0.3,
        cnn_lr=0.01,
        add_rank=4,
    ),
)
