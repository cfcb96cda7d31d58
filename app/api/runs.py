"""Routes that compute whole runs at once: a trajectory, a basin map, a stability map. Each computes and
shapes its answer in the app's bounded compute pool (app/api/compute.py), never on the event loop."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Response

from app.api.compute import BUSY_RESPONSES
from app.api.deps import AppSettings, Compute, json_body
from app.api.responses import ERROR_RESPONSES, json_response
from app.config import Settings
from app.descent import runs
from app.errors import AppError
from app.inputs import resolve_surface, surface_label
from app.schemas import (
    BasinsRequest,
    BasinsResponse,
    StabilityRequest,
    StabilityResponse,
    TrajectoryRequest,
    TrajectoryResponse,
)

router = APIRouter(prefix="/api", tags=["runs"], responses={**ERROR_RESPONSES, **BUSY_RESPONSES})

# The bodies carry limits from the settings (steps, starts, work, expressions): validated with the app's.
Trajectory = Annotated[TrajectoryRequest, json_body(TrajectoryRequest)]
Basins = Annotated[BasinsRequest, json_body(BasinsRequest)]
Stability = Annotated[StabilityRequest, json_body(StabilityRequest)]


def _bound(x_range: tuple[float, float], y_range: tuple[float, float], settings: Settings) -> float:
    return runs.divergence_bound(x_range, y_range, settings.divergence_bound)


def _nullable(values: np.ndarray) -> list:
    """Finite values as floats, the rest as None: a flat list, or a list of rows for a 2-D array."""
    if values.ndim == 2:
        return [_nullable(row) for row in values]
    return [float(v) if np.isfinite(v) else None for v in values.ravel()]


@router.post("/trajectory", response_model=TrajectoryResponse)
async def post_trajectory(req: Trajectory, settings: AppSettings, compute: Compute) -> Response:
    """One optimizer's descent: every point, loss and gradient, equal to a plain torch.optim loop."""
    surface = resolve_surface(req.surface)
    start = req.start or surface.default_start
    bound = _bound(surface.x_range, surface.y_range, settings)

    def work() -> Response:
        result = runs.trajectory(
            surface, req.optimizer, req.hyperparameters, start, req.steps, bound, req.curvature
        )
        answer = TrajectoryResponse(
            surface=surface_label(req.surface),
            optimizer=req.optimizer,
            hyperparameters=req.hyperparameters,
            points=result.points.tolist(),
            losses=result.losses.tolist(),
            gradients=result.gradients.tolist(),
            status="ok" if result.diverged_at is None else "diverged",
            diverged_at=result.diverged_at,
            reason=result.reason,
            curvature=None if result.curvature is None else _nullable(result.curvature),
        )
        # Without curvature asked for, the answer is as it always was: no "curvature" key at all.
        body = answer.model_dump_json(exclude=None if req.curvature else {"curvature"})
        return Response(body, media_type="application/json")

    return await compute(work)


@router.post("/basins", response_model=BasinsResponse)
async def post_basins(req: Basins, settings: AppSettings, compute: Compute) -> Response:
    """Run an n×n grid of starts together; report which listed minimum each one reached."""
    surface = resolve_surface(req.surface)
    x_range = req.x_range or surface.x_range
    y_range = req.y_range or surface.y_range
    bound = _bound(x_range, y_range, settings)

    def work() -> Response:
        result = runs.basin_map(
            surface,
            req.optimizer,
            req.hyperparameters,
            x_range,
            y_range,
            req.n,
            req.steps,
            bound,
            req.tolerance,
            group=req.cost.chunk,
        )
        n = req.n
        losses = np.where(np.isfinite(result.final_losses), result.final_losses, np.nan)
        return json_response(
            BasinsResponse(
                surface=surface_label(req.surface),
                optimizer=req.optimizer,
                hyperparameters=req.hyperparameters,
                x=result.x.tolist(),
                y=result.y.tolist(),
                minima=list(surface.minima),
                basin=result.basin.tolist(),
                final_points=result.final_points.tolist(),
                final_losses=losses.reshape(n, n).tolist(),
                steps=req.steps,
            )
        )

    return await compute(work)


@router.post("/stability", response_model=StabilityResponse)
async def post_stability(req: Stability, settings: AppSettings, compute: Compute) -> Response:
    """Sweep (lr, a second hyperparameter) from one start: where it converges, oscillates or diverges."""
    surface = resolve_surface(req.surface)
    axes = runs.sweepable_axes(req.optimizer)
    axis = req.axis if req.axis is not None else runs.natural_axis(req.optimizer)
    if axis is not None and axis not in axes:
        raise AppError.invalid(
            "axis",
            f"{req.optimizer} has no hyperparameter '{axis}' to sweep",
            ", ".join(axes) or "none",
            axis,
        )
    axis_range = req.axis_range or (axes[axis] if axis else None)
    if axis and req.axis_range:
        low, high = axes[axis]
        if req.axis_range[0] < low or req.axis_range[1] > high:
            raise AppError.invalid(
                "axis_range",
                f"{axis} must stay within [{low:g}, {high:g}]",
                f"[{low:g}, {high:g}]",
                req.axis_range,
            )
    span = max(surface.x_range[1] - surface.x_range[0], surface.y_range[1] - surface.y_range[0])
    start = req.start or surface.default_start
    bound = _bound(surface.x_range, surface.y_range, settings)

    def work() -> Response:
        result = runs.stability_map(
            surface,
            req.optimizer,
            req.hyperparameters,
            start,
            req.lr_range,
            axis,
            axis_range,
            req.n,
            req.steps,
            bound,
            span,
            group=req.cost.chunk,
        )
        m = len(result.outcome)
        return json_response(
            StabilityResponse(
                surface=surface_label(req.surface),
                optimizer=req.optimizer,
                lr=result.lr.tolist(),
                axis=axis,
                axis_values=result.axis_values.tolist(),
                outcome=result.outcome,
                final_losses=[_nullable(row) for row in result.final_losses.reshape(m, -1)],
                steps=req.steps,
            )
        )

    return await compute(work)
