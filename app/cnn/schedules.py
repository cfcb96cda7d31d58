"""Learning-rate schedules: a factor on the optimizer's lr, a pure function of the step count.

The trainer sets ``lr = base_lr × factor(t)`` on the optimizer before each step, with t the updates taken
before it. Being pure, a schedule can change mid-run, and a live change of lr changes base_lr.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)


class ConstantSchedule(BaseModel):
    """factor = 1."""

    model_config = INPUT
    kind: Literal["constant"] = "constant"

    def factor(self, t: int) -> float:
        return 1.0


class StepSchedule(BaseModel):
    """factor = γ^⌊t / every⌋: the rate drops by γ every `every` steps."""

    model_config = INPUT
    kind: Literal["step"] = "step"
    gamma: float = Field(0.5, gt=0.0, le=1.0, description="multiplies the rate at each drop")
    every: int = Field(200, ge=1, le=1_000_000, description="steps between drops")

    def factor(self, t: int) -> float:
        return self.gamma ** (t // self.every)


class CosineSchedule(BaseModel):
    """factor = m + (1 − m)·½(1 + cos(π·min(t, T)/T)): from 1 down to m over T steps, then m.

    Up to T this is torch's CosineAnnealingLR(T_max=T, eta_min=m·base). Past T torch's cosine rises again
    (period 2T); ours holds the floor on purpose, so a run longer than T never warms back up.
    """

    model_config = INPUT
    kind: Literal["cosine"] = "cosine"
    total_steps: int = Field(1000, ge=1, le=1_000_000, description="T: steps to reach the floor")
    min_factor: float = Field(0.0, ge=0.0, le=1.0, description="m: the floor, as a share of the base rate")

    def factor(self, t: int) -> float:
        progress = min(t, self.total_steps) / self.total_steps
        return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * progress))


class WarmupSchedule(BaseModel):
    """factor = min(1, (t + 1)/W): a linear ramp over the first W steps, then constant."""

    model_config = INPUT
    kind: Literal["warmup"] = "warmup"
    warmup_steps: int = Field(100, ge=1, le=1_000_000, description="W: steps of the ramp")

    def factor(self, t: int) -> float:
        return min(1.0, (t + 1) / self.warmup_steps)


Schedule = Annotated[
    ConstantSchedule | StepSchedule | CosineSchedule | WarmupSchedule, Field(discriminator="kind")
]
