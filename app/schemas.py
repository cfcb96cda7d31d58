"""Pydantic models of what the REST API takes and gives. Names say direction: ``*Request`` comes in,
``*Public`` / ``*Response`` goes out. The pieces they share with the socket messages (points, ranges, surface
references, the settings in pydantic's context) are in app/inputs.py.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, PrivateAttr, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from app.descent import cost
from app.descent.cost import Cost
from app.descent.optimizers import OptimizerChoice
from app.descent.runs import natural_axis
from app.inputs import Point, Range, SurfaceRef, check_point, check_range, settings_in, surface_load


def check_cost(priced: Cost, info: ValidationInfo) -> Cost:
    """Refuse a request whose work or peak memory (app/descent/cost.py) passes the settings' limits."""
    settings = settings_in(info)
    for kind, refusal in (
        ("too_much_work", cost.over_work(priced, settings.max_work)),
        ("too_much_memory", cost.over_bytes(priced, settings.max_request_bytes)),
    ):
        if refusal is not None:
            raise PydanticCustomError(
                kind, "{refusal}", {"refusal": refusal, "work": priced.work, "peak_bytes": priced.peak_bytes}
            )
    return priced


class Priced(BaseModel):
    """A request priced when validated: ``cost`` holds its work, its peak bytes and the chunk (runners or
    points evaluated together) that keeps that peak within GDVIZ_MAX_REQUEST_BYTES."""

    _cost: Cost | None = PrivateAttr(None)

    @property
    def cost(self) -> Cost:
        if self._cost is None:
            raise LookupError("a request is priced when validated with the app's settings")
        return self._cost


def steps_limit(value: int, info: ValidationInfo) -> int:
    limit = settings_in(info).max_steps
    if value > limit:
        raise PydanticCustomError("too_many_steps", "at most {limit} steps per request", {"limit": limit})
    return value


def check_lr_range(value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
    """A [low, high] of learning rates to sweep on a log scale: ordered, within (0, 100]."""
    low, high = check_range(value, info)
    if low <= 0 or high > 100:
        raise PydanticCustomError("lr_range", "learning rates must lie in (0, 100]")
    return value


class TrajectoryRequest(OptimizerChoice, Priced):
    """One runner's whole descent, computed at once."""

    surface: SurfaceRef = Field(description='surface id or {"expression": ...}', examples=["rosenbrock"])
    start: Point | None = Field(None, description="[x, y]; the surface's default start when omitted")
    steps: int = Field(100, ge=0, description="number of updates")
    curvature: bool = Field(False, description="also the Hessian's eigenvalues [λ1, λ2] at every point")

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float] | None, info: ValidationInfo) -> tuple[float, float] | None:
        return None if value is None else check_point(value, info)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: int, info: ValidationInfo) -> int:
        return steps_limit(value, info)

    @model_validator(mode="after")
    def _priced(self, info: ValidationInfo) -> TrajectoryRequest:
        max_bytes = settings_in(info).max_request_bytes
        priced = cost.trajectory(self.steps, surface_load(self.surface), max_bytes, self.curvature)
        self._cost = check_cost(priced, info)
        return self


class TrajectoryResponse(BaseModel):
    surface: str
    optimizer: str
    hyperparameters: dict[str, Any] = Field(description="every hyperparameter, defaults filled in")
    points: list[tuple[float, float]] = Field(
        description="points[k]: θ after k updates; points[0] is the start"
    )
    losses: list[float] = Field(description="losses[k] = J(points[k])")
    gradients: list[tuple[float, float]] = Field(description="gradients[k] = ∇J(points[k])")
    status: Literal["ok", "diverged"]
    diverged_at: int | None = Field(
        description="first step whose θ, J or ∇J was not finite or left the bound"
    )
    reason: str | None = Field(None, description="why it diverged, in words")
    curvature: list[tuple[float | None, float | None]] | None = Field(
        None,
        description="asked for with curvature: [λ1, λ2] (λ1 ≤ λ2) of ∇²J(points[k]); null where not finite",
    )


class BasinsRequest(OptimizerChoice, Priced):
    """Where each start of an n×n grid ends up: the basins of attraction of the listed minima."""

    surface: SurfaceRef
    n: int = Field(50, ge=2, description="starts per axis")
    steps: int = Field(300, ge=1, description="updates per start")
    x_range: Range | None = Field(None, description="grid domain of x; the surface's when omitted")
    y_range: Range | None = Field(None, description="grid domain of y; the surface's when omitted")
    tolerance: float = Field(
        0.02,
        gt=0,
        le=1,
        description="a start converged to a minimum when it ends within tolerance × domain span",
    )

    @field_validator("x_range", "y_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float] | None, info: ValidationInfo) -> tuple[float, float] | None:
        return None if value is None else check_range(value, info)

    @field_validator("n")
    @classmethod
    def _n(cls, value: int, info: ValidationInfo) -> int:
        limit = settings_in(info).max_basin_n
        if value > limit:
            raise PydanticCustomError("too_many_starts", "at most {limit} starts per axis", {"limit": limit})
        return value

    @model_validator(mode="after")
    def _priced(self, info: ValidationInfo) -> BasinsRequest:
        max_bytes = settings_in(info).max_request_bytes
        self._cost = check_cost(cost.basins(self.n, self.steps, surface_load(self.surface), max_bytes), info)
        return self


class BasinsResponse(BaseModel):
    surface: str
    optimizer: str
    hyperparameters: dict[str, Any]
    x: list[float] = Field(description="the n start abscissae")
    y: list[float] = Field(description="the n start ordinates")
    minima: list[tuple[float, float]]
    basin: list[list[int]] = Field(
        description="basin[j][i] for start (x[i], y[j]): index into minima, -1 ended elsewhere, -2 diverged"
    )
    final_points: list[list[tuple[float, float]]] = Field(description="[j][i]: where that start ended")
    final_losses: list[list[float]]
    steps: int


class StabilityRequest(OptimizerChoice, Priced):
    """Sweep the learning rate (log scale) and one more hyperparameter from one start; classify each run."""

    surface: SurfaceRef
    start: Point | None = None
    steps: int = Field(200, ge=10, description="updates per setting")
    lr_range: Range = Field((1e-4, 1.0), description="[low, high] learning rates, swept on a log scale")
    axis: str | None = Field(
        None, description="second hyperparameter to sweep (e.g. momentum, beta1); the optimizer's natural one"
    )
    axis_range: Range | None = Field(
        None, description="its [low, high]; the hyperparameter's range by default"
    )
    n: int = Field(30, ge=2, le=80, description="settings per axis")

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float] | None, info: ValidationInfo) -> tuple[float, float] | None:
        return None if value is None else check_point(value, info)

    @field_validator("lr_range")
    @classmethod
    def _lr(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return check_lr_range(value, info)

    @model_validator(mode="after")
    def _priced(self, info: ValidationInfo) -> StabilityRequest:
        swept = (self.axis or natural_axis(self.optimizer)) is not None
        max_bytes = settings_in(info).max_request_bytes
        priced = cost.stability(self.n, swept, self.steps, surface_load(self.surface), max_bytes)
        self._cost = check_cost(priced, info)
        return self


class StabilityResponse(BaseModel):
    surface: str
    optimizer: str
    lr: list[float] = Field(description="the swept learning rates (columns)")
    axis: str | None = Field(description="the second swept hyperparameter, None for a single row")
    axis_values: list[float] = Field(description="its values (rows)")
    outcome: list[list[Literal["converged", "oscillating", "slow", "diverged"]]]
    final_losses: list[list[float | None]]
    steps: int


class HyperparameterPublic(BaseModel):
    name: str
    kind: Literal["float", "bool", "pair"]
    default: float | bool | tuple[float, float]
    min: float | None
    max: float | None
    min_exclusive: bool
    max_exclusive: bool
    log_scale: bool
    symbol: str
    meaning: str


class OptimizerPublic(BaseModel):
    id: str
    name: str
    torch_class: str = Field(description="the torch.optim class whose numbers this optimizer reproduces")
    summary: str
    update_rule: str
    hyperparameters: list[HyperparameterPublic]
    state: list[str] = Field(description="optimizer state names, as torch.optim stores them")
    race_lr: float | None = Field(
        description="a learning rate that moves visibly on a 2-D surface; null: the surface's suggested_lr"
    )
    cnn_lr: float = Field(description="the CNN tab's default learning rate")
    add_rank: int = Field(description='the order "+ Add runner" picks optimizers in, 0 first')


class DataParameterPublic(BaseModel):
    name: str
    kind: Literal["int", "float", "bool"]
    default: float | int | bool
    min: float | None
    max: float | None
    meaning: str


class SurfacePublic(BaseModel):
    id: str
    kind: Literal["analytic", "data"] = Field("analytic", description="data: backed by a seeded data set")
    parameters: list[DataParameterPublic] = Field(
        default_factory=list, description="a data problem's data set parameters (send them as params)"
    )
    name: str
    formula: str
    description: str
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    minima: list[tuple[float, float]]
    minimum_value: float | None
    default_start: tuple[float, float]
    log_scale: bool
    suggested_lr: float
    hessian: tuple[tuple[float, float], tuple[float, float]] | None = Field(
        None, description="the constant Hessian when the surface is quadratic on its domain, else null"
    )
    condition_number: float | None = Field(
        None, description="κ = λ_max/λ_min of that Hessian; null when not quadratic or not positive definite"
    )


class GridResponse(BaseModel):
    surface: str
    x: list[float]
    y: list[float]
    z: list[list[float | None]] = Field(description="z[j][i] = f(x[i], y[j]); null where f is not finite")
    z_min: float | None
    z_max: float | None
    scale: Literal["linear", "log"] = Field(
        description="colour scale hint: 'log' means colour by log10(z − z_min + δ), δ = (z_max − z_min)·1e-6"
    )
