"""Routes that describe what exists: surfaces (with plot grids) and optimizers."""

from __future__ import annotations

from functools import cache
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Response

from app.api.compute import BUSY_RESPONSES
from app.api.deps import AppSettings, Compute, json_body
from app.api.responses import ERROR_RESPONSES, json_response
from app.config import Settings
from app.descent import cost
from app.descent.curvature import Quadratic, quadratic
from app.descent.data import DATA_PROBLEMS
from app.descent.grid import surface_values
from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES, Surface
from app.errors import AppError
from app.inputs import CustomSurface, DataSurface, ExpressionSurface, default_problem, surface_load
from app.schemas import (
    DataParameterPublic,
    GridResponse,
    HyperparameterPublic,
    OptimizerPublic,
    SurfacePublic,
)

router = APIRouter(prefix="/api", tags=["catalog"], responses=ERROR_RESPONSES)


def data_parameters(problem_id: str) -> list[DataParameterPublic]:
    spec = DATA_PROBLEMS[problem_id]
    out = []
    for name, f in spec.params.model_fields.items():
        default = spec.defaults.get(name, f.default)
        low = next(
            (getattr(m, a) for m in f.metadata for a in ("ge", "gt") if getattr(m, a, None) is not None), None
        )
        high = next(
            (getattr(m, a) for m in f.metadata for a in ("le", "lt") if getattr(m, a, None) is not None), None
        )
        kind = "bool" if f.annotation is bool else "int" if f.annotation is int else "float"
        out.append(
            DataParameterPublic(
                name=name, kind=kind, default=default, min=low, max=high, meaning=f.description
            )
        )
    return out


@cache
def builtin_quadratic(surface_id: str) -> Quadratic | None:
    """A built-in surface's (or default data problem's) Hessian when it is quadratic: computed once."""
    s = _builtin(surface_id)
    return quadratic(s.fn, (s.x_range, s.y_range))


def surface_public(s: Surface) -> SurfacePublic:
    data = s.id in DATA_PROBLEMS
    q = builtin_quadratic(s.id)
    return SurfacePublic(
        id=s.id,
        kind="data" if data else "analytic",
        parameters=data_parameters(s.id) if data else [],
        name=s.name,
        formula=s.formula,
        description=s.description,
        x_range=s.x_range,
        y_range=s.y_range,
        minima=list(s.minima),
        minimum_value=s.minimum_value,
        default_start=s.default_start,
        log_scale=s.log_scale,
        suggested_lr=s.suggested_lr,
        hessian=None if q is None else q.hessian.tolist(),
        condition_number=None if q is None else q.condition_number,
    )


@router.get("/surfaces", response_model=list[SurfacePublic])
def list_surfaces() -> Response:
    """Every built-in surface, then the data problems: formula, domain, known minima, default start."""
    surfaces = [*SURFACES.values(), *(default_problem(pid).surface for pid in DATA_PROBLEMS)]
    body = "[" + ",".join(surface_public(s).model_dump_json() for s in surfaces) + "]"
    return Response(body, media_type="application/json")


def _builtin(surface_id: str) -> Surface:
    if surface_id in SURFACES:
        return SURFACES[surface_id]
    if surface_id in DATA_PROBLEMS:
        return default_problem(surface_id).surface
    known = ", ".join([*SURFACES, *DATA_PROBLEMS])
    raise AppError.not_found(f"unknown surface '{surface_id[:60]}'; known: {known}")


@router.get("/surfaces/{surface_id}", response_model=SurfacePublic)
def get_surface(surface_id: str) -> Response:
    return json_response(surface_public(_builtin(surface_id)))


def log_scale_suits(values: np.ndarray) -> bool:
    """Log colours when the top of the range is far above where most of the domain lies: a valley among
    walls (the same rule the built-in surfaces' log_scale flags follow)."""
    low = values.min()
    typical = np.percentile(values, 10) - low
    return bool(values.max() - low > 200 * typical) if typical > 0 else False


def surface_grid(surface: Surface, label: str, n: int, chunk: int | None = None) -> GridResponse:
    xs, ys, z = surface_values(surface, n, chunk)  # z[j][i] = f(x[i], y[j]), ``chunk`` points at a time
    finite = z[np.isfinite(z)]
    z_min = float(finite.min()) if finite.size else None
    z_max = float(finite.max()) if finite.size else None
    builtin = surface.id in SURFACES or surface.id in DATA_PROBLEMS
    log = surface.log_scale if builtin else finite.size > 0 and log_scale_suits(finite)
    scale = "log" if log else "linear"
    grid = np.where(np.isfinite(z), z, np.nan)
    return GridResponse(
        surface=label,
        x=xs.tolist(),
        y=ys.tolist(),
        z=grid.tolist(),  # NaN is written as null
        z_min=z_min,
        z_max=z_max,
        scale=scale,
    )


def _grid_n(n: int | None, settings: Settings) -> int:
    if n is None:
        return settings.default_grid
    if not 2 <= n <= settings.max_grid:
        raise AppError.invalid(
            "query.n", f"must be between 2 and {settings.max_grid}", f"2..{settings.max_grid}", n
        )
    return n


def _priced_grid(
    n: int | None, ref: str | ExpressionSurface | DataSurface, settings: Settings
) -> tuple[int, int]:
    """Points per axis and per chunk of the grid; over GDVIZ_MAX_WORK (or memory even in chunks), a 422."""
    size = _grid_n(n, settings)
    priced = cost.grid(size, surface_load(ref), settings.max_request_bytes)
    refusal = cost.over_work(priced, settings.max_work) or cost.over_bytes(priced, settings.max_request_bytes)
    if refusal is not None:
        raise AppError.invalid("query.n", refusal, None, size)
    return size, priced.chunk


@router.get("/surfaces/{surface_id}/grid", response_model=GridResponse, responses=BUSY_RESPONSES)
async def get_grid(
    surface_id: str,
    settings: AppSettings,
    compute: Compute,
    n: int | None = Query(None, description="points per axis"),
) -> Response:
    """f on an n×n grid over the surface's domain, for contour and 3-D plots."""
    surface = _builtin(surface_id)
    size, chunk = _priced_grid(n, surface_id, settings)
    return await compute(lambda: json_response(surface_grid(surface, surface_id, size, chunk)))


@router.post("/surfaces/grid", response_model=GridResponse, responses=BUSY_RESPONSES)
async def post_grid(
    body: Annotated[CustomSurface, json_body(CustomSurface)],
    settings: AppSettings,
    compute: Compute,
    n: int | None = Query(None, description="points per axis"),
) -> Response:
    """The same grid for a custom expression {"expression": ..., "x_range": ..., "y_range": ...} or a data
    problem with its own data set {"data": "linreg", "params": {"noise": 2}}."""
    size, chunk = _priced_grid(n, body, settings)

    def work() -> Response:  # a data problem draws its data set: compute too
        if isinstance(body, DataSurface):
            return json_response(surface_grid(body.problem().surface, body.data, size, chunk))
        return json_response(surface_grid(body.surface(), "custom", size, chunk))

    return await compute(work)


@router.get("/optimizers", response_model=list[OptimizerPublic])
def list_optimizers() -> Response:
    """Every optimizer with its hyperparameters (torch.optim names and defaults), update rule and the
    page's defaults (learning rates for the race and the CNN tab, the order runners are added in)."""
    items = []
    for spec in OPTIMIZERS.values():
        hps = [
            HyperparameterPublic(
                name=hp.name,
                kind=hp.kind,
                default=hp.default,
                min=hp.low,
                max=hp.high,
                min_exclusive=hp.low_open,
                max_exclusive=hp.high_open,
                log_scale=hp.log,
                symbol=hp.symbol,
                meaning=hp.meaning,
            )
            for hp in spec.hyperparameters
        ]
        items.append(
            OptimizerPublic(
                id=spec.id,
                name=spec.name,
                torch_class=f"torch.optim.{spec.torch_class.__name__}",
                summary=spec.summary,
                update_rule=spec.update_rule,
                hyperparameters=hps,
                state=list(spec.state_names),
                race_lr=spec.race_lr,
                cnn_lr=spec.cnn_lr,
                add_rank=spec.add_rank,
            ).model_dump_json()
        )
    return Response("[" + ",".join(items) + "]", media_type="application/json")
