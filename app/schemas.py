"""Pydantic models of what the REST API and the WebSocket take and give, and the pieces they share.

Inputs forbid unknown fields and non-finite numbers; limits come from the settings. Names say direction:
``*Request`` comes in, ``*Public`` / ``*Response`` goes out.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.config import get_settings
from app.descent.data import DATA_PROBLEMS, DataProblem, build_problem
from app.descent.expressions import ExpressionError, ExpressionLimits, compile_expression
from app.descent.optimizers import OptimizerChoice
from app.descent.surfaces import SURFACES, Surface

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)

Finite = Annotated[float, Field(allow_inf_nan=False)]
Point = tuple[Finite, Finite]
Range = tuple[Finite, Finite]


def check_point(value: tuple[float, float]) -> tuple[float, float]:
    limit = get_settings().max_coordinate
    if any(abs(v) > limit for v in value):
        raise PydanticCustomError(
            "coordinate_range", "each coordinate must be within ±{limit}", {"limit": f"{limit:g}"}
        )
    return value


def _check_range(value: tuple[float, float]) -> tuple[float, float]:
    low, high = check_point(value)
    if not low < high:
        raise PydanticCustomError("range_order", "a range is [low, high] with low < high")
    return value


def limits() -> ExpressionLimits:
    s = get_settings()
    return ExpressionLimits(
        max_length=s.expression_max_length,
        max_nodes=s.expression_max_nodes,
        max_depth=s.expression_max_depth,
        max_exponent=s.expression_max_exponent,
    )


class ExpressionSurface(BaseModel):
    """A surface typed by the user: f(x, y) in a small safe grammar, never evaluated as Python."""

    model_config = INPUT
    expression: str = Field(
        max_length=100_000, description="f(x, y), e.g. 'x^2 + 3*sin(y)'", examples=["x^2 + 3*sin(y)"]
    )
    x_range: Range = Field((-5.0, 5.0), description="plot domain of x")
    y_range: Range = Field((-5.0, 5.0), description="plot domain of y")
    _compiled: Any = PrivateAttr(None)

    @field_validator("expression")
    @classmethod
    def _compiles(cls, text: str) -> str:
        try:
            compile_expression(text, limits())
        except ExpressionError as exc:
            raise PydanticCustomError(
                "expression", "{message}", {"message": exc.message, "column": exc.column}
            ) from None
        return text

    @field_validator("x_range", "y_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        return _check_range(value)

    def surface(self) -> Surface:
        if self._compiled is None:
            compiled = compile_expression(self.expression, limits())
            (x0, x1), (y0, y1) = self.x_range, self.y_range
            self._compiled = Surface(
                id="custom",
                name="Custom f(x, y)",
                formula=self.expression,
                fn=compiled.fn,
                x_range=self.x_range,
                y_range=self.y_range,
                minima=(),
                minimum_value=None,
                default_start=(x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0)),
                log_scale=False,
                description="your own function",
                suggested_lr=0.01,
            )
        return self._compiled


class DataSurface(BaseModel):
    """A data-backed problem with its data set's parameters (see GET /api/surfaces, kind "data")."""

    model_config = INPUT
    data: str = Field(description="problem id: linreg, logreg, logreg_ill", examples=["linreg"])
    params: dict[str, Any] = Field(
        default_factory=dict, description="data set parameters; defaults when omitted"
    )

    @field_validator("data")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in DATA_PROBLEMS:
            raise PydanticCustomError(
                "unknown_problem",
                "unknown data problem '{id}'; known: {known}",
                {"id": value[:60], "known": ", ".join(DATA_PROBLEMS)},
            )
        return value

    @field_validator("params", mode="wrap")
    @classmethod
    def _params(cls, value: Any, handler: Any, info: ValidationInfo) -> dict[str, Any]:
        spec = DATA_PROBLEMS.get(info.data.get("data", ""))
        value = handler(value)
        if spec is None:
            return value
        return spec.params.model_validate({**spec.defaults, **value}).model_dump()

    def problem(self) -> DataProblem:
        return _problem(self.data, tuple(sorted(self.params.items())))


@lru_cache(maxsize=64)
def _problem(problem_id: str, params: tuple[tuple[str, Any], ...]) -> DataProblem:
    return build_problem(problem_id, dict(params))


def default_problem(problem_id: str) -> DataProblem:
    return DataSurface(data=problem_id).problem()


def _custom_surface(value: Any) -> ExpressionSurface | DataSurface:
    """An object surface: {"data": ...} is a data problem, anything else must be an expression."""
    if isinstance(value, DataSurface | ExpressionSurface):
        return value
    if isinstance(value, dict) and "data" in value:
        return DataSurface.model_validate(value)
    if isinstance(value, dict):
        return ExpressionSurface.model_validate(value)
    raise PydanticCustomError("surface_type", "expected an object with 'expression' or with 'data'")


def _surface_ref(value: Any) -> str | ExpressionSurface | DataSurface:
    if isinstance(value, str):
        if value not in SURFACES and value not in DATA_PROBLEMS:
            raise PydanticCustomError(
                "unknown_surface",
                "unknown surface '{id}'; known: {known}",
                {"id": value[:60], "known": ", ".join([*SURFACES, *DATA_PROBLEMS])},
            )
        return value
    if isinstance(value, DataSurface | ExpressionSurface | dict):
        return _custom_surface(value)
    raise PydanticCustomError(
        "surface_type",
        "expected a surface id (a string), an object with 'expression', or an object with 'data'",
    )


class _SurfaceField:
    """Validates ``surface``: an id of the registry, or {"expression": ...}."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            _surface_ref,
            json_schema_input_schema=handler.generate_schema(str | ExpressionSurface | DataSurface),
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda v: v if isinstance(v, str) else v.model_dump()
            ),
        )


SurfaceRef = Annotated[str | ExpressionSurface | DataSurface, _SurfaceField]
CustomSurface = Annotated[
    ExpressionSurface | DataSurface,
    PlainValidator(_custom_surface, json_schema_input_type=ExpressionSurface | DataSurface),
]


def resolve_problem(ref: str | ExpressionSurface | DataSurface) -> DataProblem | None:
    """The data problem behind a surface reference, or None for an analytic surface or an expression."""
    if isinstance(ref, DataSurface):
        return ref.problem()
    if isinstance(ref, str) and ref in DATA_PROBLEMS:
        return default_problem(ref)
    return None


def resolve_surface(ref: str | ExpressionSurface | DataSurface) -> Surface:
    problem = resolve_problem(ref)
    if problem is not None:
        return problem.surface
    return SURFACES[ref] if isinstance(ref, str) else ref.surface()


def surface_label(ref: str | ExpressionSurface | DataSurface) -> str:
    if isinstance(ref, DataSurface):
        return ref.data
    return ref if isinstance(ref, str) else "custom"


def _check_work(n: int, steps: int) -> None:
    """An n×n map of runs costs n² × steps runner-steps; the settings cap it."""
    limit = get_settings().max_basin_work
    if n * n * steps > limit:
        raise PydanticCustomError(
            "too_much_work",
            "n² × steps = {work} exceeds the limit {limit}; lower n or steps",
            {"work": n * n * steps, "limit": limit},
        )


def _steps_limit(value: int) -> int:
    limit = get_settings().max_steps
    if value > limit:
        raise PydanticCustomError("too_many_steps", "at most {limit} steps per request", {"limit": limit})
    return value


class TrajectoryRequest(OptimizerChoice):
    """One runner's whole descent, computed at once."""

    surface: SurfaceRef = Field(description='surface id or {"expression": ...}', examples=["rosenbrock"])
    start: Point | None = Field(None, description="[x, y]; the surface's default start when omitted")
    steps: int = Field(100, ge=0, description="number of updates")

    @field_validator("start")
    @classmethod
    def _start(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        return None if value is None else check_point(value)

    @field_validator("steps")
    @classmethod
    def _steps(cls, value: int) -> int:
        return _steps_limit(value)


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


class BasinsRequest(OptimizerChoice):
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
    def _ordered(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        return None if value is None else _check_range(value)

    @field_validator("n")
    @classmethod
    def _n(cls, value: int) -> int:
        limit = get_settings().max_basin_n
        if value > limit:
            raise PydanticCustomError("too_many_starts", "at most {limit} starts per axis", {"limit": limit})
        return value

    @model_validator(mode="after")
    def _work(self) -> BasinsRequest:
        _check_work(self.n, self.steps)
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


class StabilityRequest(OptimizerChoice):
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
    def _start(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        return None if value is None else check_point(value)

    @field_validator("lr_range")
    @classmethod
    def _lr(cls, value: tuple[float, float]) -> tuple[float, float]:
        low, high = _check_range(value)
        if low <= 0 or high > 100:
            raise PydanticCustomError("lr_range", "learning rates must lie in (0, 100]")
        return value

    @model_validator(mode="after")
    def _work(self) -> StabilityRequest:
        _check_work(self.n, self.steps)
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
