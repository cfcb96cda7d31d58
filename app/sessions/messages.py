"""The messages every kind of live session shares, whatever it computes: ``hello``, ``notice`` and ``error``
from the server; ``play``, ``pause``, ``step`` and ``set_speed`` from the page; the ``ref`` any command may
carry; and the model configurations of both directions. Each kind's protocol module adds its own messages
and joins these into its discriminated unions on ``type``.

Limits come from the settings of the app that validates, in pydantic's context (see app/inputs.py).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from app.errors import ErrorBody
from app.inputs import INPUT, settings_in

PROTOCOL_VERSION = 1
# The model configurations: INPUT (client → server, from app.inputs) forbids unknown fields and non-finite
# numbers; OUTPUT (server → client) writes non-finite numbers as null.
OUTPUT = ConfigDict(ser_json_inf_nan="null")

Ref = Annotated[str | None, Field(None, max_length=64, description="echoed in the state or error it causes")]


def check_speed(value: float, info: ValidationInfo) -> float:
    limit = settings_in(info).max_speed
    if value > limit:
        raise PydanticCustomError("too_fast", "at most {limit} steps per second", {"limit": f"{limit:g}"})
    return value


# --- client → server ---------------------------------------------------------------------------------


class Play(BaseModel):
    model_config = INPUT
    type: Literal["play"]
    ref: Ref = None


class Pause(BaseModel):
    model_config = INPUT
    type: Literal["pause"]
    ref: Ref = None


class Step(BaseModel):
    """Advance exactly ``count`` steps (while paused), sent as one frame."""

    model_config = INPUT
    type: Literal["step"]
    ref: Ref = None
    count: int = Field(1, ge=1, le=10_000)


class SetSpeed(BaseModel):
    model_config = INPUT
    type: Literal["set_speed"]
    ref: Ref = None
    speed: float = Field(gt=0, description="steps per second per runner")

    @field_validator("speed")
    @classmethod
    def _speed(cls, value: float, info: ValidationInfo) -> float:
        return check_speed(value, info)


# --- server → client ---------------------------------------------------------------------------------


class Limits(BaseModel):
    max_runners: int
    max_speed: float
    frame_rate: float
    max_history: int
    max_message_bytes: int


class Hello(BaseModel):
    model_config = OUTPUT
    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    session: str = Field(description="this session's id")
    resume_token: str = Field(description="reconnect with /ws?resume=<token>&seq=<last frame seq> to resume")
    resumed: bool = Field(False, description="true when this socket took over a detached session")
    limits: Limits


class Notice(BaseModel):
    model_config = OUTPUT
    type: Literal["notice"] = "notice"
    code: str = Field(description="e.g. history_limit")
    message: str


class ErrorFrame(BaseModel):
    model_config = OUTPUT
    type: Literal["error"] = "error"
    ref: str | None = None
    error: ErrorBody
