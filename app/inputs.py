"""The pieces every input shares, REST body or socket message: the input model configuration, finite points
and ranges, references to a surface (a registry id, an expression, a data problem), and the settings of the
app that validates them.

Limits come from those settings, passed in pydantic's context
(``Model.model_validate_json(text, context={"settings": s})``), never from the process's environment.
"""

from __future__ import annotations

import ast
from functools import lru_cache
from typing import Annotated, Any

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

from app.config import Settings
from app.descent import cost
from app.descent.data import DATA_PROBLEMS, DataProblem, build_problem
from app.descent.expressions import ExpressionError, ExpressionLimits, compile_expression
from app.descent.surfaces import SURFACES, Surface

INPUT = ConfigDict(extra="forbid", allow_inf_nan=False)

Finite = Annotated[float, Field(allow_inf_nan=False)]
Point = tuple[Finite, Finite]
Range = tuple[Finite, Finite]


def settings_in(info: ValidationInfo) -> Settings:
    """The settings of the app that validates, from pydantic's context. Missing is a bug of the caller, not
    of the input: it raises LookupError (a 500), never a silent fallback to other limits."""
    settings = info.context.get("settings") if isinstance(info.context, dict) else None
    if not isinstance(settings, Settings):
        raise LookupError("validating this needs the app's settings: pass context={'settings': settings}")
    return settings


def check_point(value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
    limit = settings_in(info).max_coordinate
    if any(abs(v) > limit for v in value):
        raise PydanticCustomError(
            "coordinate_range", "each coordinate must be within ±{limit}", {"limit": f"{limit:g}"}
        )
    return value


def check_range(value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
    low, high = check_point(value, info)
    if not low < high:
        raise PydanticCustomError("range_order", "a range is [low, high] with low < high")
    return value


def expression_limits(s: Settings) -> ExpressionLimits:
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
    _limits: ExpressionLimits | None = PrivateAttr(None)  # those it was validated with
    _compiled: Any = PrivateAttr(None)
    _nodes: int = PrivateAttr(0)

    @field_validator("expression")
    @classmethod
    def _compiles(cls, text: str, info: ValidationInfo) -> str:
        try:
            compile_expression(text, expression_limits(settings_in(info)))
        except ExpressionError as exc:
            raise PydanticCustomError(
                "expression", "{message}", {"message": exc.message, "column": exc.column}
            ) from None
        return text

    @field_validator("x_range", "y_range")
    @classmethod
    def _ordered(cls, value: tuple[float, float], info: ValidationInfo) -> tuple[float, float]:
        return check_range(value, info)

    @model_validator(mode="after")
    def _keep_limits(self, info: ValidationInfo) -> ExpressionSurface:
        self._limits = expression_limits(settings_in(info))
        self._nodes = _nodes(self.expression)
        return self

    @property
    def nodes(self) -> int:
        """Syntax-tree nodes, counted as the expression limits count them: what one evaluation costs."""
        return self._nodes

    def surface(self) -> Surface:
        if self._compiled is None:
            if self._limits is None:
                raise LookupError(
                    "an ExpressionSurface makes a surface once validated with the app's settings"
                )
            compiled = compile_expression(self.expression, self._limits)
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


def _nodes(text: str) -> int:
    """The nodes of an expression that compiled: operator and context markers are not ast.expr, so this
    is the count the expression limits check (app/descent/expressions.py, _check_size)."""
    tree = ast.parse(text.lstrip(" ").replace("^", "**"), mode="eval")
    return sum(isinstance(node, ast.expr) for node in ast.walk(tree.body))


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


def _custom_surface(value: Any, info: ValidationInfo) -> ExpressionSurface | DataSurface:
    """An object surface: {"data": ...} is a data problem, anything else must be an expression."""
    if isinstance(value, DataSurface | ExpressionSurface):
        return value
    if isinstance(value, dict) and "data" in value:
        return DataSurface.model_validate(value, context=info.context)
    if isinstance(value, dict):
        return ExpressionSurface.model_validate(value, context=info.context)
    raise PydanticCustomError("surface_type", "expected an object with 'expression' or with 'data'")


def _surface_ref(value: Any, info: ValidationInfo) -> str | ExpressionSurface | DataSurface:
    if isinstance(value, str):
        if value not in SURFACES and value not in DATA_PROBLEMS:
            raise PydanticCustomError(
                "unknown_surface",
                "unknown surface '{id}'; known: {known}",
                {"id": value[:60], "known": ", ".join([*SURFACES, *DATA_PROBLEMS])},
            )
        return value
    if isinstance(value, DataSurface | ExpressionSurface | dict):
        return _custom_surface(value, info)
    raise PydanticCustomError(
        "surface_type",
        "expected a surface id (a string), an object with 'expression', or an object with 'data'",
    )


class _SurfaceField:
    """Validates ``surface``: an id of the registry, or {"expression": ...}."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.with_info_plain_validator_function(
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


def data_size(ref: str | ExpressionSurface | DataSurface) -> int | None:
    """The number of samples behind a surface reference (its params' n, without building the data set), or
    None for an analytic surface or an expression."""
    problem_id, params = (ref.data, ref.params) if isinstance(ref, DataSurface) else (ref, {})
    spec = DATA_PROBLEMS.get(problem_id) if isinstance(problem_id, str) else None
    if spec is None:
        return None
    return int(spec.params.model_validate({**spec.defaults, **params}).n)  # omitted params: the defaults


def surface_load(ref: str | ExpressionSurface | DataSurface) -> cost.Load:
    """What one evaluation of the surface touches (app/descent/cost.py): what its requests are priced by."""
    if isinstance(ref, ExpressionSurface):
        return cost.expression_load(ref.nodes)
    samples = data_size(ref)
    return cost.BUILTIN if samples is None else cost.data_load(samples)


def surface_label(ref: str | ExpressionSurface | DataSurface) -> str:
    if isinstance(ref, DataSurface):
        return ref.data
    return ref if isinstance(ref, str) else "custom"
