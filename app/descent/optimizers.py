"""The optimizer registry: each torch.optim optimizer as a spec (hyperparameters, update rule) and a
vectorized kernel that steps many 2-parameter runners at once, each with its own hyperparameters.

torch.optim is the oracle. A kernel repeats, operation for operation and in the same order, the
single-tensor code path of its torch.optim class (torch/optim/*.py, ``_single_tensor_*``), so its numbers
equal a plain torch.optim loop to rounding (tests/descent/test_optimizers.py holds them to 1e-9 relative).
The kernels work on NumPy arrays: on tiny (R, 2) arrays a NumPy operation costs about a quarter of a torch
one, and the stepping engine spends most of its time on such arrays (bench/engine.py measures it).

Shapes: params and grads are (R, 2); every hyperparameter and every per-runner scalar state is (R, 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

Array = np.ndarray
State = dict[str, Array]
Hyper = dict[str, Array]


@dataclass(frozen=True)
class Hyperparameter:
    """One hyperparameter as torch.optim names it, with the range the UI and the validator allow."""

    name: str
    default: float | bool | tuple[float, float]
    low: float | None = None  # smallest allowed value (per component for a pair)
    high: float | None = None  # largest allowed value
    low_open: bool = False  # True: the value must be strictly greater than low
    high_open: bool = False  # True: the value must be strictly less than high
    log: bool = False  # a log-scale slider suits it
    symbol: str = ""  # the letter used in the update rule
    meaning: str = ""  # one line: what it does

    @property
    def kind(self) -> str:
        if isinstance(self.default, bool):
            return "bool"
        if isinstance(self.default, tuple):
            return "pair"
        return "float"


# Hyperparameters shared by several optimizers, defined once.
def _lr(default: float) -> Hyperparameter:
    return Hyperparameter(
        "lr", default, 0.0, 100.0, low_open=True, log=True, symbol="η",
        meaning="learning rate: how far each step moves along the (preconditioned) update direction",
    )  # fmt: skip


_WEIGHT_DECAY = Hyperparameter(
    "weight_decay", 0.0, 0.0, 10.0, symbol="λ",
    meaning="L2 penalty: adds λ·θ to the gradient, pulling parameters toward 0",
)  # fmt: skip
_DECOUPLED_WD = Hyperparameter(
    "weight_decay", 0.01, 0.0, 10.0, symbol="λ",
    meaning="decoupled weight decay: shrinks θ by (1 − η·λ) each step, apart from the gradient",
)  # fmt: skip
_BETAS = Hyperparameter(
    "betas", (0.9, 0.999), 0.0, 1.0, high_open=True, symbol="β₁, β₂",
    meaning="decay rates of the running means of the gradient (β₁) and of its square (β₂)",
)  # fmt: skip


def _eps(default: float) -> Hyperparameter:
    return Hyperparameter(
        "eps", default, 0.0, 1.0, low_open=True, log=True, symbol="ε",
        meaning="added to the denominator so the step stays finite where the gradient vanishes",
    )  # fmt: skip


def _momentum(default: float, low_open: bool = False) -> Hyperparameter:
    return Hyperparameter(
        "momentum", default, 0.0, 1.0, low_open=low_open, high_open=True, symbol="μ",
        meaning="how much of the previous velocity carries into this step",
    )  # fmt: skip


_DAMPENING = Hyperparameter(
    "dampening", 0.0, 0.0, 1.0, symbol="τ",
    meaning="scales the new gradient's share of the velocity by (1 − τ)",
)  # fmt: skip
_AMSGRAD = Hyperparameter(
    "amsgrad", False, symbol="AMSGrad",
    meaning="use the running maximum of the second moment, so the step size never grows",
)  # fmt: skip


def _decoupled(default: bool) -> Hyperparameter:
    return Hyperparameter(
        "decoupled_weight_decay", default, symbol="decoupled",
        meaning="apply weight decay to θ directly (AdamW style) instead of adding it to the gradient",
    )  # fmt: skip


# --- numerical helpers mirroring ATen's CPU kernels --------------------------------------------------
# A hyperparameter reaches a kernel as a Python scalar when every runner of the block shares it (the
# common case, and the fast one), else as an (R, 1) array. Flags then branch in Python, not per element.

Value = float | bool | Array


def _where(flag: Value, if_true: Callable[[], Array], if_false: Callable[[], Array]) -> Array:
    """np.where for a per-runner flag; a shared flag evaluates only the branch it takes."""
    if flag is True or flag is False or isinstance(flag, np.bool_):
        return if_true() if flag else if_false()
    return np.where(flag, if_true(), if_false())


def _any(v: Value) -> bool:
    """Whether any runner has a non-zero value (torch skips a term whose coefficient is 0)."""
    if isinstance(v, float | int):
        return v != 0
    return bool(v.any())


def _lerp(start: Array, end: Array, weight: Value) -> Array:
    """torch.lerp exactly as ATen computes it: two formulas, chosen by |weight| < 0.5."""
    diff = end - start
    return _where(np.abs(weight) < 0.5, lambda: start + weight * diff, lambda: end - diff * (1.0 - weight))


def _pow(base: Value, exponent: Value) -> Value:
    """Python's float ** float (libm pow), which torch.optim uses for bias corrections."""
    return np.power(base, exponent)


def _coupled_weight_decay(p: Array, g: Array, h: Hyper) -> Array:
    # grad = grad.add(param, alpha=weight_decay), only where weight_decay != 0
    wd = h["weight_decay"]
    return g + wd * p if _any(wd) else g


def _weight_decay(p: Array, g: Array, h: Hyper) -> Array:
    """Coupled (added to the gradient) or decoupled (θ shrunk by 1 − η·λ, in place) weight decay."""
    wd = h["weight_decay"]
    if not _any(wd):
        return g
    decoupled = h["decoupled_weight_decay"]
    # param.mul_(1 - lr * weight_decay)
    p[...] = _where(decoupled, lambda: p * (1.0 - h["lr"] * wd), lambda: p)
    return _where(decoupled, lambda: g, lambda: g + wd * p)


# --- kernels -------------------------------------------------------------------------------------------
# Each kernel: init(R, hyper) -> state; update(p, g, state, hyper) modifies p and state in place.
# The comments quote the torch.optim lines each step repeats.


def _init_sgd(r: int, h: Hyper) -> State:
    return {"momentum_buffer": np.zeros((r, 2)), "has_buffer": np.zeros((r, 1), dtype=bool)}


def _update_sgd(p: Array, g: Array, s: State, h: Hyper) -> None:
    """v ← μ·v + (1 − τ)·g (v₁ = g); θ ← θ − η·v (Nesterov: θ ← θ − η·(g + μ·v))."""
    g = _coupled_weight_decay(p, g, h)
    mu = h["momentum"]
    direction = g
    if _any(mu):
        uses = mu != 0.0
        buf = s["momentum_buffer"]
        # buf = grad.clone() at first, then buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        fresh = np.where(s["has_buffer"], buf * mu + (1.0 - h["dampening"]) * g, g)
        buf[...] = _where(uses, lambda: fresh, lambda: buf)
        s["has_buffer"] |= uses
        # grad = grad.add(buf, alpha=momentum) if nesterov else buf
        moved = _where(h["nesterov"], lambda: g + mu * buf, lambda: buf)
        direction = _where(uses, lambda: moved, lambda: g)
    # param.add_(grad, alpha=-lr)
    p += -h["lr"] * direction


def _init_adagrad(r: int, h: Hyper) -> State:
    return {
        "sum": np.broadcast_to(h["initial_accumulator_value"], (r, 2)).astype(np.float64),
        "step": np.zeros((r, 1)),
    }


def _update_adagrad(p: Array, g: Array, s: State, h: Hyper) -> None:
    """G ← G + g²; θ ← θ − η/(1 + (t − 1)·κ) · g/(√G + ε)."""
    s["step"] += 1.0
    g = _coupled_weight_decay(p, g, h)
    # clr = lr / (1 + (step - 1) * lr_decay)
    clr = h["lr"] / (1.0 + (s["step"] - 1.0) * h["lr_decay"])
    # state_sum.addcmul_(grad, grad, value=1)
    s["sum"] += g * g
    # std = state_sum.sqrt().add_(eps); param.addcdiv_(grad, std, value=-clr)
    std = np.sqrt(s["sum"]) + h["eps"]
    p += (-clr * g) / std


def _init_rmsprop(r: int, h: Hyper) -> State:
    z = np.zeros((r, 2))
    return {
        "square_avg": z.copy(),
        "grad_avg": z.copy(),
        "momentum_buffer": z.copy(),
        "step": np.zeros((r, 1)),
    }


def _update_rmsprop(p: Array, g: Array, s: State, h: Hyper) -> None:
    """E[g²] ← α·E[g²] + (1 − α)·g²; θ ← θ − η·g/(√E[g²] + ε) (centered: √(E[g²] − E[g]²))."""
    s["step"] += 1.0
    g = _coupled_weight_decay(p, g, h)
    alpha = h["alpha"]
    sq, ga = s["square_avg"], s["grad_avg"]
    # square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    sq[...] = sq * alpha + (1.0 - alpha) * g * g
    # grad_avg.lerp_(grad, 1 - alpha); avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    ga[...] = _lerp(ga, g, 1.0 - alpha)
    avg = _where(h["centered"], lambda: np.sqrt(sq + -1.0 * ga * ga), lambda: np.sqrt(sq)) + h["eps"]
    mom = h["momentum"]
    if _any(mom):
        buf = s["momentum_buffer"]
        # buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr)
        buf[...] = _where(mom > 0.0, lambda: buf * mom + g / avg, lambda: buf)
        # else: param.addcdiv_(grad, avg, value=-lr)
        p += _where(mom > 0.0, lambda: -h["lr"] * buf, lambda: (-h["lr"] * g) / avg)
    else:
        p += (-h["lr"] * g) / avg


def _init_adadelta(r: int, h: Hyper) -> State:
    return {"square_avg": np.zeros((r, 2)), "acc_delta": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def _update_adadelta(p: Array, g: Array, s: State, h: Hyper) -> None:
    """E[g²] ← ρE[g²] + (1 − ρ)g²; Δ = √(E[Δ²] + ε)/√(E[g²] + ε)·g; E[Δ²] ← ρE[Δ²] + (1 − ρ)Δ²; θ ← θ − ηΔ."""
    s["step"] += 1.0
    g = _coupled_weight_decay(p, g, h)
    rho = h["rho"]
    sq, acc = s["square_avg"], s["acc_delta"]
    sq[...] = sq * rho + (1.0 - rho) * g * g
    # std = square_avg.add(eps).sqrt_(); delta = acc_delta.add(eps).sqrt_(); delta.div_(std).mul_(grad)
    delta = np.sqrt(acc + h["eps"]) / np.sqrt(sq + h["eps"]) * g
    acc[...] = acc * rho + (1.0 - rho) * delta * delta
    p += -h["lr"] * delta


def _init_adam(r: int, h: Hyper) -> State:
    z = np.zeros((r, 2))
    return {"exp_avg": z.copy(), "exp_avg_sq": z.copy(), "max_exp_avg_sq": z.copy(), "step": np.zeros((r, 1))}


def _update_adam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g²; θ ← θ − η·m̂/(√v̂ + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)."""
    s["step"] += 1.0
    step = s["step"]
    g = _weight_decay(p, g, h)
    b1, b2 = h["beta1"], h["beta2"]
    m, v, vmax = s["exp_avg"], s["exp_avg_sq"], s["max_exp_avg_sq"]
    # exp_avg.lerp_(grad, 1 - beta1); exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m[...] = _lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    step_size = h["lr"] / (1.0 - _pow(b1, step))
    bias_correction2_sqrt = _pow(1.0 - _pow(b2, step), 0.5)
    # torch.maximum(max_exp_avg_sqs[i], exp_avg_sq, out=max_exp_avg_sqs[i])  (kept for every runner,
    # so switching AMSGrad on mid-run has a history to use)
    np.maximum(vmax, v, out=vmax)
    # denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
    denom = np.sqrt(_where(h["amsgrad"], lambda: vmax, lambda: v)) / bias_correction2_sqrt + h["eps"]
    # param.addcdiv_(exp_avg, denom, value=-step_size)
    p += (-step_size * m) / denom


def _init_adamax(r: int, h: Hyper) -> State:
    return {"exp_avg": np.zeros((r, 2)), "exp_inf": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def _update_adamax(p: Array, g: Array, s: State, h: Hyper) -> None:
    """m ← β₁m + (1 − β₁)g; u ← max(β₂u, |g| + ε); θ ← θ − η/(1 − β₁ᵗ) · m/u."""
    s["step"] += 1.0
    g = _coupled_weight_decay(p, g, h)
    m, u = s["exp_avg"], s["exp_inf"]
    m[...] = _lerp(m, g, 1.0 - h["beta1"])
    # torch.maximum(exp_inf.mul_(beta2), grad.abs().add_(eps), out=exp_inf)
    u[...] = np.maximum(u * h["beta2"], np.abs(g) + h["eps"])
    clr = h["lr"] / (1.0 - _pow(h["beta1"], s["step"]))
    p += (-clr * m) / u


def _init_nadam(r: int, h: Hyper) -> State:
    return {
        "exp_avg": np.zeros((r, 2)),
        "exp_avg_sq": np.zeros((r, 2)),
        # torch keeps mu_product as a float32 scalar tensor (its default scalar dtype); so do we.
        "mu_product": np.ones((r, 1), dtype=np.float32),
        "step": np.zeros((r, 1)),
    }


def _update_nadam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """Adam with Nesterov momentum and a warming momentum schedule μₜ = β₁(1 − ½·0.96^(t·ψ))."""
    s["step"] += 1.0
    step = s["step"]
    b1, b2, lr = h["beta1"], h["beta2"], h["lr"]
    bias_correction2 = 1.0 - _pow(b2, step)
    g = _weight_decay(p, g, h)
    psi = h["momentum_decay"]
    mu = b1 * (1.0 - 0.5 * _pow(0.96, step * psi))
    mu_next = b1 * (1.0 - 0.5 * _pow(0.96, (step + 1.0) * psi))
    # mu_product *= mu  (a float32 tensor times a Python float: float32 arithmetic)
    s["mu_product"] *= mu.astype(np.float32)
    mu_product = s["mu_product"].astype(np.float64)
    mu_product_next = mu_product * mu_next
    m, v = s["exp_avg"], s["exp_avg_sq"]
    m[...] = _lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    # denom = exp_avg_sq.div(bias_correction2).sqrt(); denom.add_(eps)
    denom = np.sqrt(v / bias_correction2) + h["eps"]
    # param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
    p += ((-lr * (1.0 - mu) / (1.0 - mu_product)) * g) / denom
    # param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))
    p += (((-lr * mu_next) / (1.0 - mu_product_next)) * m) / denom


def _init_radam(r: int, h: Hyper) -> State:
    return {"exp_avg": np.zeros((r, 2)), "exp_avg_sq": np.zeros((r, 2)), "step": np.zeros((r, 1))}


def _update_radam(p: Array, g: Array, s: State, h: Hyper) -> None:
    """Adam whose adaptive step is switched on, rectified by r(ρₜ), once the variance estimate is sound."""
    s["step"] += 1.0
    step = s["step"]
    b1, b2, lr = h["beta1"], h["beta2"], h["lr"]
    g = _weight_decay(p, g, h)
    m, v = s["exp_avg"], s["exp_avg_sq"]
    m[...] = _lerp(m, g, 1.0 - b1)
    v[...] = v * b2 + (1.0 - b2) * g * g
    bias_correction1 = 1.0 - _pow(b1, step)
    bias_correction2 = 1.0 - _pow(b2, step)
    bias_corrected_exp_avg = m / bias_correction1
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * step * _pow(b2, step) / bias_correction2
    rectified = rho_t > 5.0
    # where rho_t <= 5 the rectifier's root may be of a negative number: evaluate it only where used
    safe_rho = np.where(rectified, rho_t, 6.0)
    rect = _pow(
        (safe_rho - 4.0) * (safe_rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * safe_rho), 0.5
    )
    # param.add_(bias_corrected_exp_avg * lr * _compute_adaptive_lr() * _compute_rect(), alpha=-1.0)
    # else: param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
    p -= np.where(
        rectified,
        bias_corrected_exp_avg * lr * (_pow(1.0 - _pow(b2, step), 0.5) / (np.sqrt(v) + h["eps"])) * rect,
        bias_corrected_exp_avg * lr,
    )


# --- the registry ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OptimizerSpec:
    """An optimizer id: its torch.optim class and fixed arguments, hyperparameters, rule and kernel."""

    id: str
    name: str
    torch_class: type[torch.optim.Optimizer]
    hyperparameters: tuple[Hyperparameter, ...]
    update_rule: str  # the update as a formula, in plain Unicode
    summary: str  # one line
    init_state: Callable[[int, Hyper], State]
    update: Callable[[Array, Array, State, Hyper], None]
    fixed: dict[str, Any] = field(default_factory=dict)  # torch arguments this id pins (e.g. nesterov=True)
    kernel_fixed: dict[str, Any] = field(default_factory=dict)  # kernel inputs the torch class implies
    state_names: tuple[str, ...] = ()  # the state shown to users, as torch.optim names it

    @property
    def defaults(self) -> dict[str, Any]:
        return {hp.name: hp.default for hp in self.hyperparameters}

    def torch_kwargs(self, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """Arguments for ``torch_class(params, **kwargs)`` equivalent to these hyperparameters."""
        kwargs = {**self.defaults, **hyperparameters, **self.fixed}
        if "betas" in kwargs:
            kwargs["betas"] = tuple(kwargs["betas"])
        return kwargs

    def make_torch_optimizer(self, params: Any, hyperparameters: dict[str, Any]) -> torch.optim.Optimizer:
        return self.torch_class(params, **self.torch_kwargs(hyperparameters))

    def kernel_kwargs(self, hyperparameters: dict[str, Any]) -> dict[str, Any]:
        """One runner's kernel inputs: torch's arguments with betas split, plus what the class implies."""
        out = dict(KERNEL_NEUTRAL)
        for name, value in {**self.torch_kwargs(hyperparameters), **self.kernel_fixed}.items():
            if name == "betas":
                out["beta1"], out["beta2"] = float(value[0]), float(value[1])
            else:
                out[name] = value if isinstance(value, bool) else float(value)
        return out

    def kernel_arrays(self, rows: list[dict[str, Any]]) -> Hyper:
        """Kernel inputs for runners of this optimizer (see kernel_columns)."""
        return kernel_columns([self.kernel_kwargs(row) for row in rows])


def kernel_columns(rows: list[dict[str, Any]]) -> Hyper:
    """Per-runner kernel inputs by name: a Python scalar where every runner shares the value (the fast
    path), else an (R, 1) array. Runners of different optimizers that share a kernel (sgd, momentum and
    nesterov; adam and adamw) step together this way."""
    if len(rows) > 1 and all(row is rows[0] for row in rows):  # one shared dict (a basin map)
        return kernel_columns(rows[:1])
    return {name: _column([row[name] for row in rows]) for name in rows[0]}


def _column(values: list[Any]) -> Any:
    if all(v == values[0] for v in values):
        return values[0]
    return np.array(values, dtype=bool if isinstance(values[0], bool) else np.float64).reshape(-1, 1)


# Kernel inputs an optimizer does not take, set to the value that makes them a no-op.
KERNEL_NEUTRAL: dict[str, Any] = {"decoupled_weight_decay": False, "weight_decay": 0.0}

OPTIMIZERS: dict[str, OptimizerSpec] = {}


def _register(spec: OptimizerSpec) -> None:
    OPTIMIZERS[spec.id] = spec


_register(
    OptimizerSpec(
        id="sgd",
        name="Gradient descent (SGD)",
        torch_class=torch.optim.SGD,
        hyperparameters=(_lr(0.001), _WEIGHT_DECAY),
        update_rule="θ ← θ − η·∇J(θ)",
        summary="plain gradient descent: step against the gradient, scaled by the learning rate",
        init_state=_init_sgd,
        update=_update_sgd,
        fixed={"momentum": 0.0, "dampening": 0.0, "nesterov": False},
    )
)
_register(
    OptimizerSpec(
        id="momentum",
        name="Momentum",
        torch_class=torch.optim.SGD,
        hyperparameters=(_lr(0.001), _momentum(0.9), _DAMPENING, _WEIGHT_DECAY),
        update_rule="v ← μ·v + (1 − τ)·∇J(θ);  θ ← θ − η·v",
        summary="heavy ball: a velocity accumulates past gradients, damping zig-zags, speeding along valleys",
        init_state=_init_sgd,
        update=_update_sgd,
        fixed={"nesterov": False},
        state_names=("momentum_buffer",),
    )
)
_register(
    OptimizerSpec(
        id="nesterov",
        name="Nesterov momentum",
        torch_class=torch.optim.SGD,
        hyperparameters=(_lr(0.001), _momentum(0.9, low_open=True), _WEIGHT_DECAY),
        update_rule="v ← μ·v + ∇J(θ);  θ ← θ − η·(∇J(θ) + μ·v)",
        summary="momentum that looks ahead: the step adds the velocity it is about to apply to the gradient",
        init_state=_init_sgd,
        update=_update_sgd,
        fixed={"nesterov": True, "dampening": 0.0},
        state_names=("momentum_buffer",),
    )
)
_register(
    OptimizerSpec(
        id="adagrad",
        name="Adagrad",
        torch_class=torch.optim.Adagrad,
        hyperparameters=(
            _lr(0.01),
            Hyperparameter(
                "lr_decay", 0.0, 0.0, 1.0, symbol="κ", meaning="learning rate decay: η/(1 + (t − 1)·κ)"
            ),
            _WEIGHT_DECAY,
            Hyperparameter(
                "initial_accumulator_value",
                0.0,
                0.0,
                100.0,
                symbol="G₀",
                meaning="starting value of the sum of squared gradients",
            ),
            _eps(1e-10),
        ),
        update_rule="G ← G + ∇J(θ)²;  θ ← θ − η·∇J(θ)/(√G + ε)",
        summary="per-coordinate steps that shrink as squared gradients accumulate",
        init_state=_init_adagrad,
        update=_update_adagrad,
        state_names=("sum", "step"),
    )
)
_register(
    OptimizerSpec(
        id="rmsprop",
        name="RMSprop",
        torch_class=torch.optim.RMSprop,
        hyperparameters=(
            _lr(0.01),
            Hyperparameter(
                "alpha",
                0.99,
                0.0,
                1.0,
                high_open=True,
                symbol="α",
                meaning="smoothing constant of the running mean of squared gradients",
            ),
            _eps(1e-8),
            _WEIGHT_DECAY,
            _momentum(0.0),
            Hyperparameter(
                "centered",
                False,
                symbol="centered",
                meaning="divide by an estimate of the gradient's variance instead of its raw second moment",
            ),
        ),
        update_rule="E[g²] ← α·E[g²] + (1 − α)·∇J(θ)²;  θ ← θ − η·∇J(θ)/(√E[g²] + ε)",
        summary="Adagrad with a forgetting running mean, so the step size can recover",
        init_state=_init_rmsprop,
        update=_update_rmsprop,
        state_names=("square_avg", "grad_avg", "momentum_buffer", "step"),
    )
)
_register(
    OptimizerSpec(
        id="adadelta",
        name="Adadelta",
        torch_class=torch.optim.Adadelta,
        hyperparameters=(
            _lr(1.0),
            Hyperparameter("rho", 0.9, 0.0, 1.0, symbol="ρ", meaning="decay rate of the running means"),
            _eps(1e-6),
            _WEIGHT_DECAY,
        ),
        update_rule="Δ = √(E[Δ²] + ε)/√(E[g²] + ε) · ∇J(θ);  θ ← θ − η·Δ",
        summary="steps in units of past updates, so no learning rate scale needs tuning in principle",
        init_state=_init_adadelta,
        update=_update_adadelta,
        state_names=("square_avg", "acc_delta", "step"),
    )
)
_register(
    OptimizerSpec(
        id="adam",
        name="Adam",
        torch_class=torch.optim.Adam,
        hyperparameters=(_lr(0.001), _BETAS, _eps(1e-8), _WEIGHT_DECAY, _AMSGRAD),
        update_rule="m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;  θ ← θ − η·m̂/(√v̂ + ε)",
        summary="momentum on the gradient, divided by the root of the running mean of its square",
        init_state=_init_adam,
        update=_update_adam,
        state_names=("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"),
    )
)
_register(
    OptimizerSpec(
        id="adamw",
        name="AdamW",
        torch_class=torch.optim.AdamW,
        hyperparameters=(_lr(0.001), _BETAS, _eps(1e-8), _DECOUPLED_WD, _AMSGRAD),
        update_rule="θ ← θ·(1 − ηλ);  then the Adam step θ ← θ − η·m̂/(√v̂ + ε)",
        summary="Adam with weight decay applied to the weights directly instead of through the gradient",
        init_state=_init_adam,
        update=_update_adam,
        kernel_fixed={"decoupled_weight_decay": True},
        state_names=("exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"),
    )
)
_register(
    OptimizerSpec(
        id="nadam",
        name="NAdam",
        torch_class=torch.optim.NAdam,
        hyperparameters=(
            _lr(0.002),
            _BETAS,
            _eps(1e-8),
            _WEIGHT_DECAY,
            Hyperparameter(
                "momentum_decay",
                0.004,
                0.0,
                1.0,
                symbol="ψ",
                meaning="how fast the momentum schedule μₜ = β₁(1 − ½·0.96^(tψ)) warms up",
            ),
            _decoupled(False),
        ),
        update_rule="θ ← θ − η·(μₜ₊₁·m/(1 − Πμ) + (1 − μₜ)·g/(1 − Πμ))/(√v̂ + ε)",
        summary="Adam with Nesterov's look-ahead applied to the first moment",
        init_state=_init_nadam,
        update=_update_nadam,
        state_names=("exp_avg", "exp_avg_sq", "mu_product", "step"),
    )
)
_register(
    OptimizerSpec(
        id="radam",
        name="RAdam",
        torch_class=torch.optim.RAdam,
        hyperparameters=(_lr(0.001), _BETAS, _eps(1e-8), _WEIGHT_DECAY, _decoupled(False)),
        update_rule="ρₜ > 5: θ ← θ − η·r(ρₜ)·m̂/(√v̂ + ε);  otherwise θ ← θ − η·m̂",
        summary="Adam that starts as momentum SGD until its variance estimate is reliable, then rectifies it",
        init_state=_init_radam,
        update=_update_radam,
        state_names=("exp_avg", "exp_avg_sq", "step"),
    )
)
_register(
    OptimizerSpec(
        id="adamax",
        name="Adamax",
        torch_class=torch.optim.Adamax,
        hyperparameters=(_lr(0.002), _BETAS, _eps(1e-8), _WEIGHT_DECAY),
        update_rule="m ← β₁m + (1 − β₁)g;  u ← max(β₂u, |g| + ε);  θ ← θ − η/(1 − β₁ᵗ)·m/u",
        summary="Adam with the infinity norm: divides by the running maximum of |g|",
        init_state=_init_adamax,
        update=_update_adamax,
        state_names=("exp_avg", "exp_inf", "step"),
    )
)


def get_optimizer(optimizer_id: str) -> OptimizerSpec:
    try:
        return OPTIMIZERS[optimizer_id]
    except KeyError:
        raise KeyError(f"unknown optimizer {optimizer_id!r}; known: {', '.join(OPTIMIZERS)}") from None


# --- validation models, generated from the specs ----------------------------------------------------


def _field_type(hp: Hyperparameter) -> Any:
    if hp.kind == "bool":
        return bool
    bounds: dict[str, float] = {}
    if hp.low is not None:
        bounds["gt" if hp.low_open else "ge"] = hp.low
    if hp.high is not None:
        bounds["lt" if hp.high_open else "le"] = hp.high
    number = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    return tuple[number, number] if hp.kind == "pair" else number


def _model_for(spec: OptimizerSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {
        hp.name: (_field_type(hp), Field(hp.default, description=hp.meaning)) for hp in spec.hyperparameters
    }
    name = "".join(part.capitalize() for part in spec.id.split("_")) + "Hyperparameters"
    config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)
    return create_model(name, __config__=config, **fields)


HYPERPARAMETER_MODELS: dict[str, type[BaseModel]] = {oid: _model_for(s) for oid, s in OPTIMIZERS.items()}


def check_optimizer(value: str) -> str:
    """A pydantic validator: the id must be in the registry; the error lists the known ids."""
    if value not in OPTIMIZERS:
        raise PydanticCustomError(
            "unknown_optimizer",
            "unknown optimizer '{id}'; known: {known}",
            {"id": str(value)[:60], "known": ", ".join(OPTIMIZERS)},
        )
    return value


def check_hyperparameters(optimizer_id: str | None, value: Any, partial: bool = False) -> dict[str, Any]:
    """Validate against the optimizer's own model (names, types, ranges); fill in torch's defaults
    (``partial``: return only the names given)."""
    model = HYPERPARAMETER_MODELS.get(optimizer_id or "")
    if model is None:  # the optimizer id itself was refused; that error names the field
        return value if isinstance(value, dict) else {}
    validated = model.model_validate(value)
    fields = validated.model_fields_set if partial else type(validated).model_fields
    return {name: getattr(validated, name) for name in fields}


# --- the update explained: derived terms for the breakdown view ------------------------------------
# Each takes one runner's records over some steps (state after each update, (m, w); gradients and points
# before it, (m, 2)) and its kernel inputs, and returns named (m, 2) or (m, 1) arrays. tests check that
# the terms recompose into the update the kernel applied.

Terms = dict[str, Array]


def _regularized(grads: Array, points: Array, h: dict[str, Any]) -> Array:
    return (
        grads + h["weight_decay"] * points if h["weight_decay"] and not h["decoupled_weight_decay"] else grads
    )


def _terms_sgd(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    g = _regularized(g, p, h)
    if not h["momentum"]:
        return {"update": -h["lr"] * g}
    v = s["momentum_buffer"]
    if h["nesterov"]:
        return {"lookahead": g + h["momentum"] * v, "update": -h["lr"] * (g + h["momentum"] * v)}
    fresh = (1.0 - h["dampening"]) * g
    return {"gradient_part": fresh, "carried_velocity": v - fresh, "update": -h["lr"] * v}


def _terms_adagrad(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    denominator = np.sqrt(s["sum"]) + h["eps"]
    clr = h["lr"] / (1.0 + (s["step"] - 1.0) * h["lr_decay"])
    return {"denominator": denominator, "per_coordinate_lr": clr / denominator}


def _terms_rmsprop(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    sq, ga = s["square_avg"], s["grad_avg"]
    denominator = (np.sqrt(sq - ga * ga) if h["centered"] else np.sqrt(sq)) + h["eps"]
    return {"denominator": denominator, "per_coordinate_lr": h["lr"] / denominator}


def _terms_adam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
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


def _terms_nadam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    v_hat = s["exp_avg_sq"] / (1.0 - np.power(h["beta2"], s["step"]))
    return {"v_hat": v_hat, "denominator": np.sqrt(v_hat) + h["eps"]}


def _terms_radam(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    t, b2 = s["step"], h["beta2"]
    bias_correction2 = 1.0 - np.power(b2, t)
    rho_inf = 2.0 / (1.0 - b2) - 1.0
    rho_t = rho_inf - 2.0 * t * np.power(b2, t) / bias_correction2
    with np.errstate(invalid="ignore"):
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
    return {
        "m_hat": s["exp_avg"] / (1.0 - np.power(h["beta1"], t)),
        "rho_t": rho_t,
        "rectifier": np.where(rho_t > 5.0, rect, np.nan),  # NaN (null): not rectified yet, plain momentum
    }


def _terms_adamax(s: State, g: Array, p: Array, h: dict[str, Any]) -> Terms:
    clr = h["lr"] / (1.0 - np.power(h["beta1"], s["step"]))
    return {"per_coordinate_lr": clr / s["exp_inf"]}


TERMS: dict[str, Callable[[State, Array, Array, dict[str, Any]], Terms]] = {
    "sgd": _terms_sgd,
    "momentum": _terms_sgd,
    "nesterov": _terms_sgd,
    "adagrad": _terms_adagrad,
    "rmsprop": _terms_rmsprop,
    "adam": _terms_adam,
    "adamw": _terms_adam,
    "nadam": _terms_nadam,
    "radam": _terms_radam,
    "adamax": _terms_adamax,
}


def explain(
    optimizer_id: str, hyperparameters: dict[str, Any], state: State, grads: Array, points: Array
) -> Terms:
    """Derived terms of each recorded update (empty for optimizers whose state says it all)."""
    terms = TERMS.get(optimizer_id)
    if terms is None or len(grads) == 0:
        return {}
    spec = get_optimizer(optimizer_id)
    full = {
        **{n: state[n] for n in state},
        **{n: np.zeros((len(grads), 1)) for n in ("step",) if n not in state},
    }
    with np.errstate(all="ignore"):
        return terms(full, grads, points, spec.kernel_kwargs(hyperparameters))


class OptimizerChoice(BaseModel):
    """An optimizer id and its hyperparameters (torch.optim's names; omitted ones take torch's defaults).
    The base of every request that names an optimizer: a trajectory, a runner, a CNN training."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    optimizer: str = Field(description="optimizer id, see GET /api/optimizers", examples=["adam"])
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description='e.g. {"lr": 0.01, "betas": [0.9, 0.999]}'
    )

    @field_validator("optimizer")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_optimizer(value)

    @field_validator("hyperparameters", mode="wrap")
    @classmethod
    def _valid(cls, value: Any, handler: Any, info: ValidationInfo) -> dict[str, Any]:
        return check_hyperparameters(info.data.get("optimizer"), handler(value))
