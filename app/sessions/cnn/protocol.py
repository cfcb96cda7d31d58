"""The CNN socket's messages (``/ws/cnn``), pydantic models in discriminated unions on ``type``.

The client starts a training (``cnn_start``: a model and how to train it), changes it live
(``cnn_update``, ``cnn_model``), plays, pauses, steps, resets, and asks for a snapshot. The server sends
``hello`` once, ``cnn_state`` after every change, ``cnn_frame`` with every step's measurements at the
display rate, and ``cnn_snapshot`` (histograms, filters, predictions, confusion matrix) a few times a
second while training and on request. When asked (``sharpness_every``, ``noise_scale_every``), it sends
``cnn_sharpness`` (λ_max and the optimizer's stability threshold) and ``cnn_noise_scale`` (B_simple) after
the frame holding the step they were measured at.

A loss landscape (``cnn_landscape``) is computed in a worker thread while training goes on: the server
sends ``cnn_landscape_plane`` (the plane, its axes and the training path projected on it), a coarse
picture (``cnn_landscape_coarse``), the 1-D line from the initial weights (``cnn_landscape_line``), the full
grid row by row (``cnn_landscape_row``), and ``cnn_landscape_done`` (finished, cancelled or failed).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter

from app.cnn.landscape import MAX_GRID, PlaneInfo
from app.cnn.models import LayerInfo, ModelConfig
from app.cnn.monitor import Quantity
from app.cnn.reports import SlowReport, StepReport
from app.cnn.schedules import Schedule
from app.cnn.trainer import BatchSize, Every, TrainerConfig
from app.errors import ErrorBody
from app.sessions.messages import INPUT, OUTPUT, Hello, Notice, Pause, Play, Ref, SetSpeed, Step


class CnnStart(BaseModel):
    """Begin (or replace) the training: a network and how to train it."""

    model_config = INPUT
    type: Literal["cnn_start"]
    ref: Ref = None
    model: ModelConfig = Field(
        default_factory=ModelConfig, description="the network; the default CNN if omitted"
    )
    trainer: TrainerConfig = Field(default_factory=TrainerConfig, description="optimizer, batches, schedule")
    playing: bool = Field(True, description="start training at once")
    speed: float = Field(
        100.0, gt=0, description="optimizer steps per second (as fast as it can beyond that)"
    )


class CnnUpdate(BaseModel):
    """Change how the network trains, from the next step on, keeping weights and (unless the optimizer
    changes) the optimizer's state."""

    model_config = INPUT
    type: Literal["cnn_update"]
    ref: Ref = None
    optimizer: str | None = Field(None, description="a new optimizer id: fresh state, the same weights")
    hyperparameters: dict[str, Any] = Field(default_factory=dict, description="only the names to change")
    batch_size: BatchSize | None = Field(None, description='digits per step, or "full" (the training split)')
    schedule: Schedule | None = None
    eval_every: int | None = Field(
        None, ge=0, le=1_000_000, description="steps between evaluations (0: never)"
    )
    sharpness_every: Every | None = Field(None, description="steps between sharpness measurements (0: never)")
    noise_scale_every: Every | None = Field(
        None, description="steps between gradient-noise-scale measurements (0: never)"
    )
    sharpness_samples: int | None = Field(
        None, ge=2, le=2048, description="digits of the evaluation subset both are measured on"
    )


class CnnModel(BaseModel):
    """A new network (fresh weights from its seed); the training settings stay."""

    model_config = INPUT
    type: Literal["cnn_model"]
    ref: Ref = None
    model: ModelConfig


class CnnReset(BaseModel):
    """Start over: fresh weights, optimizer and batch order (from a new seed, if given)."""

    model_config = INPUT
    type: Literal["cnn_reset"]
    ref: Ref = None
    seed: int | None = Field(None, ge=0, le=2**32 - 1)


class CnnSnapshotRequest(BaseModel):
    """Send the heavier measurements now (histograms, filters, predictions, confusion matrix)."""

    model_config = INPUT
    type: Literal["cnn_snapshot"]
    ref: Ref = None


class CnnLandscape(BaseModel):
    """Compute the loss landscape around the current weights (replacing any landscape still computing)."""

    model_config = INPUT
    type: Literal["cnn_landscape"]
    ref: Ref = None
    plane: Literal["pca", "random"] = Field(
        "pca",
        description="pca: the top two principal components of the training path (the path lies in it); "
        "random: two filter-normalized random directions (Li et al. 2018; the path is not meaningful there)",
    )
    n: int = Field(31, ge=5, le=MAX_GRID, description="grid points per side")
    seed: int = Field(0, ge=0, le=2**32 - 1, description="random directions only")
    radius: float = Field(
        1.0, gt=0, le=10, description="random directions only: the window is ±radius in α and β"
    )


class CnnLandscapeCancel(BaseModel):
    """Stop the landscape being computed (what is done so far stays on the page)."""

    model_config = INPUT
    type: Literal["cnn_landscape_cancel"]
    ref: Ref = None


CnnClientMessage = Annotated[
    CnnStart
    | CnnUpdate
    | CnnModel
    | CnnReset
    | CnnSnapshotRequest
    | CnnLandscape
    | CnnLandscapeCancel
    | Play
    | Pause
    | Step
    | SetSpeed,
    Field(discriminator="type"),
]
CNN_CLIENT_MESSAGE = TypeAdapter(CnnClientMessage)


class CnnState(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_state"] = "cnn_state"
    ref: str | None = None
    cause: str = Field(description="the command type that led to it, or slot / diverged / history_limit")
    model: ModelConfig
    trainer: TrainerConfig = Field(description="every setting, hyperparameters with defaults filled in")
    layers: list[LayerInfo] = Field(description="the network, layer by layer, for the diagram")
    parameter_count: int
    step: int
    epoch: int = Field(description="epochs completed")
    lr: float = Field(description="the learning rate the next step uses, the schedule applied")
    playing: bool
    speed: float
    queue_position: int | None = Field(
        None, description="waiting for a training slot: 1 is next; null when training or paused"
    )
    diverged: bool


class CnnFrame(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_frame"] = "cnn_frame"
    seq: int
    coalesced: int = 1
    steps: list[StepReport] = Field(description="every step since the last frame, with its measurements")


class CnnSnapshot(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_snapshot"] = "cnn_snapshot"
    report: SlowReport


class CnnSharpness(BaseModel):
    """λ_max of the training loss's Hessian (or of P⁻¹H for an adaptive optimizer) on the evaluation subset,
    by Lanczos on Hessian-vector products warm-started from the last measurement, and the threshold the
    optimizer's stability analysis puts on it (app/cnn/monitor.py SharpnessReport, field for field)."""

    model_config = OUTPUT
    type: Literal["cnn_sharpness"] = "cnn_sharpness"
    step: int = Field(description="optimizer steps taken: the weights measured are those after it")
    quantity: Quantity = Field(description="sharpness: λ_max(H); preconditioned_sharpness: λ_max(P⁻¹H)")
    lambda_max: float | None = Field(
        description="the top Ritz value (a lower bound of λ_max); null if not finite"
    )
    threshold: float | None = Field(description="the value it must stay below to be stable; null: none known")
    formula: str = Field(description="the threshold's formula, or why none is known")
    optimizer: str
    lr: float = Field(description="the learning rate of the coming step, which the threshold uses")
    iterations: int = Field(description="Hessian-vector products it took")
    converged: bool = Field(description="the residual ‖Hy − θy‖/θ met the tolerance (1e-2) within the cap")
    samples: int = Field(description="digits of the evaluation subset")
    seconds: float = Field(description="wall-clock time of the measurement")


class CnnNoiseScale(BaseModel):
    """The gradient noise scale B_simple = tr Σ/‖G‖² (McCandlish et al. 2018) from per-example gradients on
    the evaluation subset (app/cnn/monitor.py NoiseScaleReport, field for field)."""

    model_config = OUTPUT
    type: Literal["cnn_noise_scale"] = "cnn_noise_scale"
    step: int
    b_simple: float | None = Field(
        description="null when ‖G‖² is not positive or the estimate is unavailable"
    )
    trace_sigma: float | None
    gradient_norm_sq: float | None
    batch_size: int = Field(description="digits per step of the training now")
    samples: int
    estimator: Literal["population", "sample"] = Field(
        description="population: the subset is the whole training split; sample: unbiased estimators"
    )
    seconds: float
    unavailable: str | None = Field(None, description="why there is no estimate (batch norm)")


Loss = Annotated[float | None, Field(description="null where the loss is NaN or infinite")]


class LandscapePlane(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_landscape_plane"] = "cnn_landscape_plane"
    job: int = Field(description="numbers this landscape; every later landscape message carries it")
    ref: str | None = None
    plane: PlaneInfo = Field(description="the plane through θ* and the training path projected on it")
    alphas: list[float] = Field(description="the grid's α values (columns)")
    betas: list[float] = Field(description="the grid's β values (rows)")
    parameters: int = Field(description="the network's parameter count: the dimensions the plane cuts")
    snapshots: int = Field(description="weight snapshots along the path")
    snapshot_every: int = Field(description="steps between snapshots now (it doubles when the budget fills)")


class LandscapeCoarse(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_landscape_coarse"] = "cnn_landscape_coarse"
    job: int
    alpha_index: list[int] = Field(description="the coarse columns, as indices into alphas")
    beta_index: list[int] = Field(description="the coarse rows, as indices into betas")
    loss: list[list[Loss]] = Field(description="[row][column] at the coarse points")
    progress: float = Field(description="share of the full grid evaluated")


class LandscapeLine(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_landscape_line"] = "cnn_landscape_line"
    job: int
    t: list[float] = Field(description="θ(t) = θ₀ + t·(θ* − θ₀): 0 at the initial weights, 1 at θ*")
    loss: list[Loss]
    start_step: int
    end_step: int


class LandscapeRow(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_landscape_row"] = "cnn_landscape_row"
    job: int
    index: int = Field(description="the row: β = betas[index]")
    loss: list[Loss] = Field(description="one value per α")
    progress: float


class LandscapePoint(BaseModel):
    """Where the training is now on the last landscape's plane (sent with each snapshot while training)."""

    model_config = OUTPUT
    type: Literal["cnn_landscape_point"] = "cnn_landscape_point"
    job: int
    step: int
    alpha: float | None = Field(description="the current weights' α on the plane (least squares)")
    beta: float | None
    in_plane: float | None = Field(description="share of ‖θ − θ*‖² the plane holds (null at θ* itself)")


class LandscapeDone(BaseModel):
    model_config = OUTPUT
    type: Literal["cnn_landscape_done"] = "cnn_landscape_done"
    job: int
    ref: str | None = Field(None, description="the request's ref")
    status: Literal["done", "cancelled", "failed"]
    seconds: float = Field(description="from the request to now")
    message: str | None = Field(None, description="why it failed")


class CnnError(BaseModel):
    model_config = OUTPUT
    type: Literal["error"] = "error"
    ref: str | None = None
    error: ErrorBody


CnnServerMessage = Annotated[
    Hello
    | CnnState
    | CnnFrame
    | CnnSnapshot
    | CnnSharpness
    | CnnNoiseScale
    | LandscapePlane
    | LandscapeCoarse
    | LandscapeLine
    | LandscapeRow
    | LandscapePoint
    | LandscapeDone
    | Notice
    | CnnError,
    Field(discriminator="type"),
]
CNN_SERVER_MESSAGE = TypeAdapter(CnnServerMessage)
