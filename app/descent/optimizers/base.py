"""What every optimizer family builds on: the hyperparameter and spec types, the hyperparameters several
optimizers share, the numerical helpers the kernels use, and the machinery that collects specs by id.

torch.optim is the oracle. A kernel repeats, operation for operation and in the same order, the
single-tensor code path of its torch.optim class (torch/optim/*.py, ``_single_tensor_*``), so its numbers
equal a plain torch.optim loop to rounding (tests/descent/test_optimizers.py holds them to 1e-9 relative).
The kernels work on NumPy arrays: on tiny (R, 2) arrays a NumPy operation costs about a quarter of a torch
one, and the stepping engine spends most of its time on such arrays (bench/engine.py measures it).

Shapes: params and grads are (R, 2); every hyperparameter and every per-runner scalar state is (R, 1).
A kernel is init(R, hyper) -> state and update(p, g, state, hyper), which modifies p and state in place;
its comments quote the torch.optim lines each step repeats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

Array = np.ndarray
State = dict[str, Array]
Hyper = dict[str, Array]
Terms = dict[str, Array]
# One runner's records over m steps (state after each update, (m, w); gradients and points before it,
# (m, 2)) and its kernel inputs -> named (m, 2) or (m, 1) arrays that recompose the update.
TermsFn = Callable[[State, Array, Array, dict[str, Any]], Terms]


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


# --- hyperparameters shared by several optimizers, defined once -----------------------------------------


def learning_rate(default: float) -> Hyperparameter:
    return Hyperparameter(
        "lr", default, 0.0, 100.0, low_open=True, log=True, symbol="η",
        meaning="learning rate: how far each step moves along the (preconditioned) update direction",
    )  # fmt: skip


WEIGHT_DECAY = Hyperparameter(
    "weight_decay", 0.0, 0.0, 10.0, symbol="λ",
    meaning="L2 penalty: adds λ·θ to the gradient, pulling parameters toward 0",
)  # fmt: skip
DECOUPLED_WEIGHT_DECAY = Hyperparameter(
    "weight_decay", 0.01, 0.0, 10.0, symbol="λ",
    meaning="decoupled weight decay: shrinks θ by (1 − η·λ) each step, apart from the gradient",
)  # fmt: skip
BETAS = Hyperparameter(
    "betas", (0.9, 0.999), 0.0, 1.0, high_open=True, symbol="β₁, β₂",
    meaning="decay rates of the running means of the gradient (β₁) and of its square (β₂)",
)  # fmt: skip


def eps(default: float) -> Hyperparameter:
    return Hyperparameter(
        "eps", default, 0.0, 1.0, low_open=True, log=True, symbol="ε",
        meaning="added to the denominator so the step stays finite where the gradient vanishes",
    )  # fmt: skip


def momentum(default: float, low_open: bool = False) -> Hyperparameter:
    return Hyperparameter(
        "momentum", default, 0.0, 1.0, low_open=low_open, high_open=True, symbol="μ",
        meaning="how much of the previous velocity carries into this step",
    )  # fmt: skip


def decoupled(default: bool) -> Hyperparameter:
    return Hyperparameter(
        "decoupled_weight_decay", default, symbol="decoupled",
        meaning="apply weight decay to θ directly (AdamW style) instead of adding it to the gradient",
    )  # fmt: skip


# --- numerical helpers mirroring ATen's CPU kernels --------------------------------------------------
# A hyperparameter reaches a kernel as a Python scalar when every runner of the block shares it (the
# common case, and the fast one), else as an (R, 1) array. Flags then branch in Python, not per element.

Value = float | bool | Array


def select(flag: Value, if_true: Callable[[], Array], if_false: Callable[[], Array]) -> Array:
    """np.where for a per-runner flag; a shared flag evaluates only the branch it takes."""
    if flag is True or flag is False or isinstance(flag, np.bool_):
        return if_true() if flag else if_false()
    return np.where(flag, if_true(), if_false())


def nonzero(v: Value) -> bool:
    """Whether any runner has a non-zero value (torch skips a term whose coefficient is 0)."""
    if isinstance(v, float | int):
        return v != 0
    return bool(v.any())


def lerp(start: Array, end: Array, weight: Value) -> Array:
    """torch.lerp exactly as ATen computes it: two formulas, chosen by |weight| < 0.5."""
    diff = end - start
    return select(np.abs(weight) < 0.5, lambda: start + weight * diff, lambda: end - diff * (1.0 - weight))


def fpow(base: Value, exponent: Value) -> Value:
    """Python's float ** float (libm pow), which torch.optim uses for bias corrections."""
    return np.power(base, exponent)


def coupled_weight_decay(p: Array, g: Array, h: Hyper) -> Array:
    """The gradient plus λ·θ (torch: grad = grad.add(param, alpha=weight_decay), only where λ ≠ 0)."""
    wd = h["weight_decay"]
    return g + wd * p if nonzero(wd) else g


def weight_decay(p: Array, g: Array, h: Hyper) -> Array:
    """Coupled (added to the gradient) or decoupled (θ shrunk by 1 − η·λ, in place) weight decay."""
    wd = h["weight_decay"]
    if not nonzero(wd):
        return g
    is_decoupled = h["decoupled_weight_decay"]
    # param.mul_(1 - lr * weight_decay)
    p[...] = select(is_decoupled, lambda: p * (1.0 - h["lr"] * wd), lambda: p)
    return select(is_decoupled, lambda: g, lambda: g + wd * p)


def regularized(grads: Array, points: Array, h: dict[str, Any]) -> Array:
    """One runner's recorded gradients with coupled weight decay added, as its kernel saw them."""
    return (
        grads + h["weight_decay"] * points if h["weight_decay"] and not h["decoupled_weight_decay"] else grads
    )


# --- the spec --------------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OptimizerSpec:
    """An optimizer id: its torch.optim class and fixed arguments, hyperparameters, rule and kernel, the
    terms that explain its update, and the defaults the page starts a runner with."""

    id: str
    name: str
    torch_class: type[torch.optim.Optimizer]
    hyperparameters: tuple[Hyperparameter, ...]
    update_rule: str  # the update as a formula, in plain Unicode
    summary: str  # one line
    init_state: Callable[[int, Hyper], State]
    update: Callable[[Array, Array, State, Hyper], None]
    # The page's defaults. race_lr: a learning rate that moves visibly on a 2-D surface (None: the
    # surface's suggested_lr, which suits the plain-gradient optimizers whose step scales with |∇J|);
    # cnn_lr: the CNN tab's learning rate; add_rank: the order "+ Add runner" picks from, 0 first.
    race_lr: float | None
    cnn_lr: float
    add_rank: int
    fixed: dict[str, Any] = field(default_factory=dict)  # torch arguments this id pins (e.g. nesterov=True)
    kernel_fixed: dict[str, Any] = field(default_factory=dict)  # kernel inputs the torch class implies
    state_names: tuple[str, ...] = ()  # the state shown to users, as torch.optim names it
    terms: TermsFn | None = None  # derived terms for the breakdown view (None: the state says it all)
    term_names: tuple[str, ...] = ()  # every name terms can return

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


# Kernel inputs an optimizer does not take, set to the value that makes them a no-op.
KERNEL_NEUTRAL: dict[str, Any] = {"decoupled_weight_decay": False, "weight_decay": 0.0}


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


# --- the registry machinery --------------------------------------------------------------------------


def collect(families: Iterable[Iterable[OptimizerSpec]]) -> dict[str, OptimizerSpec]:
    """The registry: every family's specs by id, in family order; an id registered twice is refused."""
    registry: dict[str, OptimizerSpec] = {}
    for specs in families:
        for spec in specs:
            if spec.id in registry:
                raise ValueError(f"optimizer id {spec.id!r} is registered twice")
            registry[spec.id] = spec
    return registry
