"""The Adam family: Adam and AdamW (one kernel), NAdam, RAdam and Adamax. Each keeps a running mean of
the gradient (first moment) and divides by a running measure of its size."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from app.descent.optimizers.base import (
    BETAS,
    DECOUPLED_WEIGHT_DECAY,
    WEIGHT_DECAY,
    Array,
    Hyper,
    Hyperparameter,
    OptimizerSpec,
    State,
    Terms,
    coupled_weight_decay,
    decoupled,
    eps,
    fpow,
    learning_rate,
    lerp,
    select,
    weight_decay,
)

AMSGRAD = Hyperparameter(
    "amsgrad", False, symbol="AMSGrad",
    meaning="use the running maximum of the second moment, so the step size never grows",
)  # fmt: skip


def init_adam(r: int, h: Hyper) -> State:
    z = np.zeros((r, 2))
    return {"exp_avg": z.copy(), "exp_avg_sq": z.copy(), "max_exp_avg_sq": z.copy(), "step": np.zeros((r, 1))}


def update_adam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)."""
    s["step"] += 1.0
    step = s["step"]
    g = weight_decay(p, g, h)
    b1, b2 = h["beta1"], h["beta2"]
    m, v, vmax = s["exp_avg"], s["exp_avg_sq"], s["max_exp_avg_sq"]
    # exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m[...] = lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    step_size = h["lr"] / (1.0 - fpow(b1, step))
    bias_correction2_sqrt = fpow(1.0 - fpow(b2, step), 0.5)
    # torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])  (kept for every runner,
    # so switching AMSGrad on mid-run has a history to use)
    np.maximum(vmax, v, out=vmax)
    # denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    denom = np.sqrt(select(h["amsgrad"], lambda: vmax, lambda: v)) / bias_correction2_sqrt + h["eps"]
    # param.addcdiv_(exp_avg, denom, value=-step_size)
    p += (-step_size * m) / denom


def terms_adam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """m̂, v̂ (AMSGrad: from the running maximum), √v̂ + ε and each coordinate's effective learning rate."""
    t = s["step"]
    m_hat = s["exp_avg"] / (1.0 - np.power(h["beta1"], t))
    second = s["max_exp_avg_sq"] if h.get("amsgrad") else s["exp_avg_sq"]
    v_hat = second / (1.0 - np.power(h["beta2"], t))
    denominator = np.sqrt(v_hat) + h["eps"]
    return {
        "m_hat": m_hat,
        "v_hat": v_hat,
        "denominator": denominator,
        "per_coordinate_lr": h["lr"] / denominator,
    }


def init_nadam(r: int, h: Hyper) -> State:
    return {
        "exp_avg": np.zeros((r, 2)),
        "exp_avg_sq": np.zeros((r, 2)),
        # torch keeps mu_product as a float32 scalar tensor (its default scalar dtype); so do we.
        "mu_product": np.ones((r, 1), dtype=np.float32),
        "step": np.zeros((r, 1)),
    }


def update_nadam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """Adam with Nesterov momentum and a warming momentum schedule μₜ = β₁(1 − ½·0.96^(t·ψ)):
    θ ← θ − η·(μₜ₊₁·m/(1 − Πμ·μₜ₊₁) + (1 − μₜ)·g/(1 − Πμ))/(√v̂ + ε)."""
    s["step"] += 1.0
    step = s["step"]
    b1, b2, lr = h["beta1"], h["beta2"], h["lr"]
    bias_correction2 = 1.0 - fpow(b2, step)
    g = weight_decay(p, g, h)
    psi = h["momentum_decay"]
    mu = b1 * (1.0 - 0.5 * fpow(0.96, step * psi))
    mu_next = b1 * (1.0 - 0.5 * fpow(0.96, (step + 1.0) * psi))
    # mu_product *= mu  (a float32 tensor times a Python float: float32 arithmetic)
    s["mu_product"] *= mu.astype(np.float32)
    mu_product = s["mu_product"].astype(np.float64)
    mu_product_next = mu_product * mu_next
    m, v = s["exp_avg"], s["exp_avg_sq"]
    m[...] = lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    # denom = exp_avg_sq.div(bias_correction2).sqrt(); denom.add_(eps)
    denom = np.sqrt(v / bias_correction2) + h["eps"]
    # param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
    p += ((-lr * (1.0 - mu) / (1.0 - mu_product)) * g) / denom
    # param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
    p += (((-lr * mu_next) / (1.0 - mu_product_next)) * m) / denom


def terms_nadam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """v̂ and the denominator √v̂ + ε both parts of the step are divided by."""
    v_hat = s["exp_avg_sq"] / (1.0 - np.power(h["beta2"], s["step"]))
    return {"v_hat": v_hat, "denominator": np.sqrt(v_hat) + h["eps"]}


def init_radam(r: int, h: Hyper) -> State:
    return {"exp_avg": np.zeros((r, 2)), "exp_avg_sq": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def update_radam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """Adam whose adaptive step is switched on, rectified by r(ρₜ), once the variance estimate is sound:
    ρₜ > 5: θ ← θ − η·r(ρₜ)·m̂/(√v̂ + ε); otherwise θ ← θ − η·m̂."""
    s["step"] += 1.0
    step = s["step"]
    b1, b2, lr = h["beta1"], h["beta2"], h["lr"]
    g = weight_decay(p, g, h)
    m, v = s["exp_avg"], s["exp_avg_sq"]
    m[...] = lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    bias_correction1 = 1.0 - fpow(b1, step)
    bias_correction2 = 1.0 - fpow(b2, step)
    bias_corrected_exp_avg = m / bias_correction1
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * step * fpow(b2, step) / bias_correction2
    rectified = rho_t > 5.0
    # where rho_t <= 5 the rectifier's root may be of a negative number: evaluate it only where used
    safe_rho = np.where(rectified, rho_t, 6.0)
    rect = fpow(
        (safe_rho - 4.0) * (safe_rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * safe_rho), 0.5
    )
    # param.add_(bias_corrected_exp_avg * lr * _compute_adaptive_lr() * _compute_rect(), alpha=-1.0)
    # else: param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
    p -= np.where(
        rectified,
        bias_corrected_exp_avg * lr * (fpow(1.0 - fpow(b2, step), 0.5) / (np.sqrt(v) + h["eps"])) * rect,
        bias_corrected_exp_avg * lr,
    )


def terms_radam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """m̂, ρₜ and the rectifier r(ρₜ) (NaN, sent as null, while ρₜ ≤ 5: a plain momentum step)."""
    t, b2 = s["step"], h["beta2"]
    bias_correction2 = 1.0 - np.power(b2, t)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * np.power(b2, t) / bias_correction2
    with np.errstate(invalid="ignore"):
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return {
        "m_hat": s["exp_avg"] / (1.0 - np.power(h["beta1"], t)),
        "rho_t": rho_t,
        "rectifier": np.where(rho_t > 5.0, rect, np.nan),
    }


def init_adamax(r: int, h: Hyper) -> State:
    return {"exp_avg": np.zeros((r, 2)), "exp_inf": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def update_adamax(p: Array, g: Array, s: State, h: Hyper) -> None:
    """m ← β₁m + (1 − β₁)g; u ← max(β₂u, |g| + ε); θ ← θ − η/(1 − β₁ᵗ) · m/u."""
    s["step"] += 1.0
    g = coupled_weight_decay(p, g, h)
    m, u = s["exp_avg"], s["exp_inf"]
    m[...] = lerp(m, g, 1.0 - h["beta1"])
    # torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
    u[...] = np.maximum(u * h["beta2"], np.abs(g) + h["eps"])
    clr = h["lr"] / (1.0 - fpow(h["beta1"], s["step"]))
    p += (-clr * m) / u


def terms_adamax(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    """The learning rate each coordinate effectively gets, η/(1 − β₁ᵗ)/u."""
    clr = h["lr"] / (1.0 - np.power(h["beta1"], s["step"]))
    return {"per_coordinate_lr": clr / s["exp_inf"]}


ADAM_TERMS = ("m_hat", "v_hat", "denominator", "per_coordinate_lr")
# Every Adam runs at 0.05 on a 2-D surface: its step is about η whatever |∇J| is.
SPECS = (
    OptimizerSpec(
        id="adam",
        name="Adam",
        torch_class=torch.optim.Adam,
        hyperparameters=(learning_rate(0.001), BETAS, eps(1e-8), WEIGHT_DECAY, AMSGRAD),
        update_rule="m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε)",
        summary="momentum on the gradient, divided by the root of the running mean of its square",
        init_state=init_adam,
        update=update_adam,
        state_names=("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"),
        terms=terms_adam,
        term_names=ADAM_TERMS,
        race_lr=0.05,
        cnn_lr=0.001,
        add_rank=0,
    ),
    OptimizerSpec(
        id="adamw",
        name="AdamW",
        torch_class=torch.optim.AdamW,
        hyperparameters=(learning_rate(0.001), BETAS, eps(1e-8), DECOUPLED_WEIGHT_DECAY, AMSGRAD),
        update_rule="θ ← θ·(1 − ηλ);  then the Adam step θ ← θ − η·m̂/(√v̂ + ε)",
        summary="Adam with weight decay applied to the weights directly instead of through the gradient",
        init_state=init_adam,
        update=update_adam,
        kernel_fixed={"decoupled_weight_decay": True},
        state_names=("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"),
        terms=terms_adam,
        term_names=ADAM_TERMS,
        race_lr=0.05,
        cnn_lr=0.001,
        add_rank=6,
    ),
    OptimizerSpec(
        id="nadam",
        name="NAdam",
        torch_class=torch.optim.NAdam,
        hyperparameters=(
            learning_rate(0.002),
            BETAS,
            eps(1e-8),
            WEIGHT_DECAY,
            Hyperparameter(
                "momentum_decay",
                0.004,
                0.0,
                1.0,
                symbol="ψ",
                meaning="how fast the momentum schedule μₜ = β₁(1 − ½·0.96^(tψ)) warms up",
            ),
            decoupled(False),
        ),
        update_rule="θ ← θ − η·(μₜ₊₁·m/(1 − Πμ) + (1 − μₜ)·g/(1 − Πμ))/(√v̂ + ε)",
        summary="Adam with Nesterov's look-ahead applied to the first moment",
        init_state=init_nadam,
        update=update_nadam,
        state_names=("exp_avg", "exp_avg_sq", "mu_product", "step"),
        terms=terms_nadam,
        term_names=("v_hat", "denominator"),
        race_lr=0.05,
        cnn_lr=0.002,
        add_rank=7,
    ),
    OptimizerSpec(
        id="radam",
        name="RAdam",
        torch_class=torch.optim.RAdam,
        hyperparameters=(learning_rate(0.001), BETAS, eps(1e-8), WEIGHT_DECAY, decoupled(False)),
        update_rule="ρₜ > 5: θ ← θ − η·r(ρₜ)·m̂/(√v̂ + ε);  otherwise θ ← θ − η·m̂",
        summary="Adam that starts as momentum SGD until its variance estimate is reliable, then rectifies it",
        init_state=init_radam,
        update=update_radam,
        state_names=("exp_avg", "exp_avg_sq", "step"),
        terms=terms_radam,
        term_names=("m_hat", "rho_t", "rectifier"),
        race_lr=0.05,
        cnn_lr=0.001,
        add_rank=8,
    ),
    OptimizerSpec(
        id="adamax",
        name="Adamax",
        torch_class=torch.optim.Adamax,
        hyperparameters=(learning_rate(0.002), BETAS, eps(1e-8), WEIGHT_DECAY),
        update_rule="m ← β₁m + (1 − β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ − η/(1 − β₁ᵗ)·m/u",
        summary="Adam with the infinity norm: divides by the running maximum of |g|",
        init_state=init_adamax,
        update=update_adamax,
        state_names=("exp_avg", "exp_inf", "step"),
        terms=terms_adamax,
        term_names=("per_coordinate_lr",),
        race_lr=0.05,
        cnn_lr=0.002,
        add_rank=9,
    ),
)
