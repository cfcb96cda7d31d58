"""torch.optim.RMSprop: Adagrad with a forgetting running mean, optionally centered and with momentum."""

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
    lerp,
    momentum,
    nonzero,
    select,
)


def init_rmsprop(r: int, h: Hyper) -> State:
    z = np.zeros((r, 2))
    return {
        "square_avg": z.copy(),
        "grad_avg": z.copy(),
        "momentum_buffer": z.copy(),
        "step": np.zeros((r, 1)),
    }


def update_rmsprop(p: Array, g: Array, s: State, h: Hyper) -> None:
    """E[g²] ← α·E[g²] + (1 − α)·g²; θ ← θ − η·g/(√E[g²] + ε) (centered: √(E[g²] − E[g]²))."""
    s["step"] += 1.0
    g = coupled_weight_decay(p, g, h)
    alpha = h["alpha"]
    sq, ga = s["square_avg"], s["grad_avg"]
    # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    sq[...] = sq * alpha + (1.0 - alpha) * g * g
    # grad_avg.lerp_(grad, 1 - alpha); avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    ga[...] = lerp(ga, g, 1.0 - alpha)
    avg = select(h["centered"], lambda: np.sqrt(sq + -1.0 * ga * ga), lambda: np.sqrt(sq)) + h["eps"]
    mom = h["momentum"]
    if nonzero(mom):
        buf = s["momentum_buffer"]
        # buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        buf[...] = select(mom > 0.0, lambda: buf * mom + g / avg, lambda: buf)
        # else: param.addcdiv_(grad, avg, value=-lr)
        p += select(mom > 0.0, lambda: -h["lr"] * buf, lambda: (-h["lr"] * g) / avg)
    else:
        p += (-h["lr"] * g) / avg


def terms_rmsprop(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """√E[g²] + ε (centered: √(E[g²] − E[g]²) + ε) and the learning rate each coordinate effectively gets."""
    sq, ga = s["square_avg"], s["grad_avg"]
    denominator = (np.sqrt(sq - ga * ga) if h["centered"] else np.sqrt(sq)) + h["eps"]
    return {"denominator": denominator, "per_coordinate_lr": h["lr"] / denominator}


SPECS = (
    OptimizerSpec(
        id="rmsprop",
        name="RMSprop",
        torch_class=torch.optim.RMSprop,
        hyperparameters=(
            learning_rate(0.01),
            Hyperparameter(
                "alpha",
                0.99,
                0.0,
                1.0,
                high_open=True,
                symbol="α",
                meaning="smoothing constant of the running mean of squared gradients",
            ),
            eps(1e-8),
            WEIGHT_DECAY,
            momentum(0.0),
            Hyperparameter(
                "centered",
                False,
                symbol="centered",
                meaning="divide by an estimate of the gradient's variance instead of its raw second moment",
            ),
        ),
        update_rule="E[g²] ← α·E[g²] + (1 − α)·∇J(θ)²;  θ ← θ − η·∇J(θ)/(√E[g²] + ε)",
        summary="Adagrad with a forgetting running mean, so the step size can recover",
        init_state=init_rmsprop,
        update=update_rmsprop,
        state_names=("square_avg", "grad_avg", "momentum_buffer", "step"),
        terms=terms_rmsprop,
        term_names=("denominator", "per_coordinate_lr"),
        race_lr=0.01,
        cnn_lr=0.001,
        add_rank=3,
    ),
)
