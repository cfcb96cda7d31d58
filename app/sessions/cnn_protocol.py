"""The CNN socket's messages (``/ws/cnn``), pydantic models in discriminated unions on ``type``.

The client starts a training (``cnn_start``: a model and how to train it), changes it live
(``cnn_update``, ``cnn_model``), plays, pauses, steps, resets, and asks for a snapshot. The server sends
``hello`` once, ``cnn_state`` after every change, ``cnn_frame`` with every step's measurements at the
display rate, and ``cnn_snapshot`` (histograms, filters, predictions, confusion matrix) a few times a
second while training and on request.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.cnn.models import LayerInfo, ModelConfig
from app.cnn.reports import SlowReport, StepReport
from app.cnn.schedules import Schedule
from app.cnn.trainer import TrainerConfig
from app.errors import ErrorBody
from app.sessions.protocol import Hello, Notice, Pause, Play, Ref, SetSpeed, Step

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)
OUTPUT = ConfigDict(ser_json_inf_nan="null")


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
    batch_size: int | None = Field(None, ge=1, le=512)
    schedule: Schedule | None = None
    eval_every: int | None = Field(
        None, ge=0, le=1_000_000, description="steps between evaluations (0: never)"
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


CnnClientMessage = Annotated[
    CnnStart | CnnUpdate | CnnModel | CnnReset | CnnSnapshotRequest | Play | Pause | Step | SetSpeed,
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


class CnnError(BaseModel):
    model_config = OUTPUT
    type: Literal["error"] = "error"
    ref: str | None = None
    error: ErrorBody


CnnServerMessage = Annotated[
    Hello | CnnState | CnnFrame | CnnSnapshot | Notice | CnnError, Field(discriminator="type")
]
CNN_SERVER_MESSAGE = TypeAdapter(CnnServerMessage)
