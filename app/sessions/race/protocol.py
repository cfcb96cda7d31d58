"""The race's WebSocket protocol: every message in either direction, as pydantic models in discriminated
unions on ``type`` (those every kind shares are in app/sessions/messages.py). The JSON Schema served at GET
/api/schema is generated from these; docs/protocol.md explains them.

A page opens one socket (``/ws``) that carries one session. The client sends commands (``ClientMessage``);
the server answers with ``hello`` once, ``state`` after every change of the session's shape, ``frame`` at
the display rate while runners move, ``diverged`` when a runner stops, ``notice`` and ``error``. Any
command may carry a ``ref``; the ``state`` or ``error`` it causes echoes it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.config import Settings
from app.descent import cost
from app.descent.optimizers import OptimizerChoice
from app.errors import AppError
from app.inputs import Point, SurfaceRef, check_point, settings_in
from app.sessions.messages import (
    INPUT,
    OUTPUT,
    ErrorFrame,
    Hello,
    Notice,
    Pause,
    Play,
    Ref,
    SetSpeed,
    Step,
    check_speed,
)

RUNNER_ID = r"^[A-Za-z0-9_-]{1,16}$"

RunnerId = Annotated[str, Field(pattern=RUNNER_ID, description="client-chosen runner id, e.g. 'r1'")]


class BatchSpec(BaseModel):
    """How much data each step sees (data problems only): all of it, one sample, or k samples."""

    model_config = INPUT
    mode: Literal["full", "stochastic", "minibatch"] = Field(
        "full", description="full batch, batch of 1, or k"
    )
    size: int | None = Field(
        None, ge=1, le=2000, description="k, for minibatch (capped at the data set's size)"
    )

    @model_validator(mode="after")
    def _size(self) -> BatchSpec:
        if self.mode == "minibatch" and self.size is None:
            raise PydanticCustomError("missing_size", "minibatch needs a size")
        return self

    def samples(self, n: int) -> int | None:
        """Samples a step draws from a data set of n: None for all of them (the full batch)."""
        return None if self.mode == "full" else 1 if self.mode == "stochastic" else min(self.size or 1, n)


def check_race_cost(
    settings: Settings,
    field: str,
    load: cost.Load,
    batches: list[BatchSpec],
    speed: float,
    received: Any,
    curvature: bool = False,
) -> None:
    """Refuse (naming ``field``) a race that would ask for more than GDVIZ_MAX_WORK per 2 s, one core, at
    ``speed`` steps per second (with each step's Hessian when ``curvature``), or whose tick would pass
    GDVIZ_MAX_REQUEST_BYTES (app/descent/cost.py)."""
    sizes = [b.samples(int(load.samples)) for b in batches]
    priced = cost.race_second(sizes, load, speed, settings.frame_rate, curvature)
    refusal = cost.over_race(priced, settings.max_work, speed) or cost.over_bytes(
        priced, settings.max_request_bytes
    )
    if refusal is not None:
        raise AppError.invalid(field, refusal, None, received)


class RunnerSpec(OptimizerChoice):
    """One runner of a race: an id, an optimizer with its hyperparameters, a start, and a batch mode."""

    id: RunnerId
    start: Point = Field(description="[x, y] where the runner starts")
    batch: BatchSpec = Field(
        default_factory=BatchSpec, description="data problems: how much data a step sees"
    )

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return check_point(value, info)


# --- client → server ---------------------------------------------------------------------------------


class StartRun(BaseModel):
    """Begin (or replace) the session's run: a surface and the runners that race on it."""

    model_config = INPUT
    type: Literal["start"]
    ref: Ref = None
    surface: SurfaceRef
    runners: list[RunnerSpec] = Field(min_length=1, description="the race; ids must be unique")
    speed: float = Field(30.0, gt=0, description="steps per second per runner")
    playing: bool = Field(True, description="start moving at once, or wait for play / step")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="seed for anything random in the run")
    curvature: bool = Field(False, description="frames carry each step's Hessian eigenvalues and sharpness")

    @field_validator("runners")
    @classmethod
    def _runners(cls, runners: list[RunnerSpec], info: ValidationInfo) -> list[RunnerSpec]:
        limit = settings_in(info).max_runners
        if len(runners) > limit:
            raise PydanticCustomError(
                "too_many_runners", "at most {limit} runners in a race", {"limit": limit}
            )
        ids = [r.id for r in runners]
        if len(set(ids)) != len(ids):
            raise PydanticCustomError("duplicate_runner", "runner ids must be unique")
        return runners

    @field_validator("speed")
    @classmethod
    def _speed(cls, value: float, info: ValidationInfo) -> float:
        return check_speed(value, info)


class UpdateRunner(BaseModel):
    """Change a runner's hyperparameters (effective from the very next step, optimizer state kept) and/or
    its optimizer (state starts afresh; the runner keeps its position)."""

    model_config = INPUT
    type: Literal["update_runner"]
    ref: Ref = None
    runner: RunnerId
    optimizer: str | None = Field(None, description="a new optimizer id, or omit to keep the current one")
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, description="only the names to change; checked against the optimizer"
    )
    batch: BatchSpec | None = Field(None, description="a new batch mode (data problems)")


class AddRunner(BaseModel):
    model_config = INPUT
    type: Literal["add_runner"]
    ref: Ref = None
    runner: RunnerSpec


class RemoveRunner(BaseModel):
    model_config = INPUT
    type: Literal["remove_runner"]
    ref: Ref = None
    runner: RunnerId


class SetStart(BaseModel):
    """Move the start of one runner (or all): they go back to step 0 there."""

    model_config = INPUT
    type: Literal["set_start"]
    ref: Ref = None
    start: Point
    runner: RunnerId | None = Field(None, description="one runner, or omit for all")

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return check_point(value, info)


class Reset(BaseModel):
    """Every runner back to its start, step 0, fresh optimizer state."""

    model_config = INPUT
    type: Literal["reset"]
    ref: Ref = None


class SetSurface(BaseModel):
    """Change the surface: runners keep their optimizers; each restarts at its start if it lies in the new
    domain, else at the surface's default start."""

    model_config = INPUT
    type: Literal["set_surface"]
    ref: Ref = None
    surface: SurfaceRef


class SetCurvature(BaseModel):
    """Turn the frames' curvature (each step's Hessian eigenvalues, eigenvectors, sharpness) on or off."""

    model_config = INPUT
    type: Literal["set_curvature"]
    ref: Ref = None
    enabled: bool


ClientMessage = Annotated[
    StartRun
    | UpdateRunner
    | AddRunner
    | RemoveRunner
    | SetStart
    | Play
    | Pause
    | Step
    | SetSpeed
    | Reset
    | SetSurface
    | SetCurvature,
    Field(discriminator="type"),
]
CLIENT_MESSAGE = TypeAdapter(ClientMessage)

# --- server → client ---------------------------------------------------------------------------------

Pair = Annotated[list[float], Field(min_length=2, max_length=2, description="[x, y]")]
NullablePair = Annotated[list[float | None], Field(min_length=2, max_length=2, description="[x, y]")]


class DataInfo(BaseModel):
    """The data set behind a data problem, for the page's scatter plot."""

    model_config = OUTPUT
    problem: str
    kind: Literal["linear", "logistic"]
    params: dict[str, Any]
    features: list[list[float]] = Field(description="(N, d): x for linear, (x₁, x₂) for logistic")
    targets: list[float] = Field(description="y for linear, the class (0 or 1) for logistic")
    optimum: tuple[float, float] = Field(description="the full-batch minimizer")


class SurfaceInfo(BaseModel):
    model_config = OUTPUT
    id: str = Field(description="a registry id, or 'custom'")
    name: str
    formula: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    minima: list[tuple[float, float]]
    log_scale: bool
    hessian: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        None, description="the constant Hessian when the surface is quadratic on its domain, else null"
    )
    condition_number: float | None = Field(
        None, description="κ = λ_max/λ_min of that Hessian; null when not quadratic or not positive definite"
    )
    data: DataInfo | None = Field(
        None,
        description="a data problem's data set, on the states that bring one (start, set_surface, resume)",
    )


class RunnerPublic(BaseModel):
    model_config = OUTPUT
    id: str
    optimizer: str
    hyperparameters: dict[str, Any] = Field(description="every hyperparameter, defaults filled in")
    hp_version: int = Field(description="increments with every change of optimizer or hyperparameters")
    start: tuple[float, float]
    point: tuple[float, float] = Field(description="θ now (a diverged runner: its last finite point)")
    step: int = Field(description="updates applied so far")
    status: Literal["running", "diverged"]
    diverged_at: int | None = None
    batch: BatchSpec = Field(description="batch mode (used on data problems)")


class SessionState(BaseModel):
    """The whole session after a change of shape: sent after start, add/remove/update, reset, surface..."""

    model_config = OUTPUT
    type: Literal["state"] = "state"
    ref: str | None = None
    cause: str = Field(description="the command type that led to it")
    surface: SurfaceInfo
    runners: list[RunnerPublic]
    playing: bool
    speed: float
    seed: int
    curvature: bool = Field(False, description="frames carry curvature (start.curvature, set_curvature)")


class Samples(BaseModel):
    model_config = OUTPUT
    gradients: list[Pair] | None = Field(
        description="∇ℓᵢ(θ) of every sample at the frame's last point; at most 4 times a second (else null)"
    )
    spread: float = Field(
        description="tr Σ: mean ‖∇ℓᵢ − ∇J‖²; a batch of k has E‖g_k − ∇J‖² = spread/k·(N−k)/(N−1)"
    )


class RunnerCurvature(BaseModel):
    """Per step j of a runner's frame: ∇²J at points[j] and the sharpness its optimizer's stability is about
    (app/descent/curvature.py ``stability_threshold``)."""

    model_config = OUTPUT
    quantity: Literal["sharpness", "preconditioned_sharpness"] | None = Field(
        description="what sharpness holds: λ_max(H), λ_max(P⁻¹H); null: λ_max(H), no threshold known"
    )
    formula: str = Field(description="the stability condition in symbols, or why none is known")
    eigenvalues: list[NullablePair] = Field(description="[λ1, λ2], λ1 ≤ λ2; null where not finite")
    eigenvectors: list[list[float | None]] = Field(description="[v1x, v1y, v2x, v2y]: unit, x ≥ 0")
    sharpness: list[list[float | None]] = Field(description="[value] of quantity, per step")
    threshold: list[list[float | None]] = Field(description="[value] it must stay below; null: none known")


class RunnerFrame(BaseModel):
    """What one runner did since the last frame. Record j is step ``first_step + j``: θ, J(θ) and ∇J(θ)
    there, then the update Δθ the optimizer applied, the optimizer's state after it, and derived terms
    that explain the update (e.g. Adam's bias-corrected moments)."""

    model_config = OUTPUT
    id: str
    first_step: int
    hp_version: int = Field(description="the hyperparameters these steps used (see RunnerPublic.hp_version)")
    points: list[Pair]
    losses: list[float]
    gradients: list[Pair]
    deltas: list[NullablePair] = Field(
        description="null where the update overflowed (the runner then diverged)"
    )
    state: dict[str, list[list[float | None]]] = Field(description="optimizer state per step, torch's names")
    terms: dict[str, list[list[float | None]]] = Field(description="derived terms per step (breakdown view)")
    extras: dict[str, list[list[float | None]]] = Field(
        default_factory=dict,
        description="data problems, per step: full_loss, full_gradient, epoch, batch_size",
    )
    samples: Samples | None = Field(None, description="data problems: per-sample gradients at the last point")
    curvature: RunnerCurvature | None = Field(
        None, description="per step, when the session's curvature is on"
    )


class Frame(BaseModel):
    model_config = OUTPUT
    type: Literal["frame"] = "frame"
    seq: int = Field(description="frame counter, from 0, consecutive")
    coalesced: int = Field(1, description="how many frames this one holds, merged while the socket was slow")
    runners: list[RunnerFrame]


class Diverged(BaseModel):
    model_config = OUTPUT
    type: Literal["diverged"] = "diverged"
    runner: str
    step: int = Field(description="the first step whose θ, J or ∇J was not finite or left the bound")
    reason: Literal["bound", "loss", "gradient"]
    message: str = Field(description="in English; the page words it from reason, step and lr")
    lr: float | None = None


ServerMessage = Annotated[
    Hello | SessionState | Frame | Diverged | Notice | ErrorFrame, Field(discriminator="type")
]
SERVER_MESSAGE = TypeAdapter(ServerMessage)
