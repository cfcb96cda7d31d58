"""Tune η: each optimizer's learning rate swept on a log grid from one start, the best one picked
(app/descent/tune.py). Computed and shaped in the app's bounded compute pool, like the stability map.

The request and answer models live here for now, beside their one route; app/schemas.py holds the others.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from app.api.compute import BUSY_RESPONSES
from app.api.deps import AppSettings, Compute, json_body
from app.api.responses import ERROR_RESPONSES, json_response
from app.descent import cost, runs
from app.descent import tune as tuning
from app.descent.optimizers import OPTIMIZERS, OptimizerChoice
from app.inputs import (
    Point,
    Range,
    SurfaceRef,
    check_point,
    resolve_surface,
    settings_in,
    surface_label,
    surface_load,
)
from app.schemas import Priced, check_cost, check_lr_range, steps_limit

MAX_N = 80  # learning rates per optimizer: the stability map's bound; the page asks for 40
MAX_OPTIMIZERS = len(OPTIMIZERS)  # every optimizer once


class TuneOptimizer(OptimizerChoice):
    """One optimizer to tune, with its other hyperparameters; a given lr is replaced by each swept one."""


class TuneRequest(Priced):
    """Sweep each optimizer's learning rate (log scale) from one start; pick the η that ends lowest."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    surface: SurfaceRef = Field(description='surface id or {"expression": ...}', examples=["rosenbrock"])
    optimizers: list[TuneOptimizer] = Field(
        min_length=1, max_length=MAX_OPTIMIZERS, description="the optimizers to tune, each swept on its own"
    )
    start: Point | None = Field(None, description="[x, y]; the surface's default start when omitted")
    steps: int = Field(ge=1, description="updates per learning rate", examples=[1000])
    lr_range: Range = Field((1e-5, 10.0), description="[low, high] learning rates, swept on a log scale")
    n: int = Field(40, ge=2, le=MAX_N, description="learning rates per optimizer")

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float] | None, info: ValidationInfo) -> tuple[float, float] | None:
        return None if value is None else check_point(value, info)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: int, info: ValidationInfo) -> int:
        return steps_limit(value, info)

    @field_validator("lr_range")
    @classmethod
    def _lr(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return check_lr_range(value, info)

    @model_validator(mode="after")
    def _priced(self, info: ValidationInfo) -> TuneRequest:
        max_bytes = settings_in(info).max_request_bytes
        runners = len(self.optimizers) * self.n
        priced = cost.tune(runners, self.steps, surface_load(self.surface), max_bytes)
        self._cost = check_cost(priced, info)
        return self


Status = Literal["converged", "oscillating", "slow", "diverged"]


class TuneResult(BaseModel):
    optimizer: str
    best_lr: float | None = Field(
        description="the η whose run ended lowest (ties within 1e-6: the fewest steps to come within 1e-6 of "
        "it); null when every run diverged"
    )
    lrs: list[float] = Field(description="the swept learning rates, increasing")
    final_losses: list[float | None] = Field(
        description="J after the last step at each η (a diverged run: at its last finite point); null where "
        "not finite"
    )
    statuses: list[Status] = Field(description="each η's run classed as on the stability map")


class TuneResponse(BaseModel):
    surface: str
    steps: int
    results: list[TuneResult] = Field(description="one per requested optimizer, in the request's order")


router = APIRouter(prefix="/api", tags=["runs"], responses={**ERROR_RESPONSES, **BUSY_RESPONSES})
Tune = Annotated[TuneRequest, json_body(TuneRequest)]


@router.post("/tune", response_model=TuneResponse)
async def post_tune(req: Tune, settings: AppSettings, compute: Compute) -> Response:
    """Each optimizer's learning rate swept from one start; the best η of each, and how every η fared."""
    surface = resolve_surface(req.surface)
    start = req.start or surface.default_start
    span = max(surface.x_range[1] - surface.x_range[0], surface.y_range[1] - surface.y_range[0])
    bound = runs.divergence_bound(surface.x_range, surface.y_range, settings.divergence_bound)
    choices = [(choice.optimizer, choice.hyperparameters) for choice in req.optimizers]

    def work() -> Response:
        lrs = tuning.learning_rates(req.lr_range, req.n)
        sweeps = tuning.tune(surface, choices, start, lrs, req.steps, bound, span, group=req.cost.chunk)
        return json_response(
            TuneResponse(
                surface=surface_label(req.surface),
                steps=req.steps,
                results=[
                    TuneResult(
                        optimizer=sweep.optimizer,
                        best_lr=None if sweep.best is None else float(sweep.lrs[sweep.best]),
                        lrs=sweep.lrs.tolist(),
                        final_losses=[float(v) if np.isfinite(v) else None for v in sweep.final_losses],
                        statuses=sweep.statuses,
                    )
                    for sweep in sweeps
                ],
            )
        )

    return await compute(work)
