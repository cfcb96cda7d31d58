"""Validation generated from the registry: one pydantic model per optimizer (names, types, ranges) and
OptimizerChoice, the base of every request that names an optimizer."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator
from pydantic_core import PydanticCustomError

from app.descent.optimizers.base import Hyperparameter, OptimizerSpec
from app.descent.optimizers.registry import OPTIMIZERS


def _field_type(hp: Hyperparameter) -> Any:
    if hp.kind == "bool":
        return bool
    bounds: dict[str, float] = {}
    if hp.low is not None:
        bounds["gt" if hp.low_open else "ge"] = hp.low
    if hp.high is not None:
        bounds["lt" if hp.high_open else "le"] = hp.high
    number = Annotated[float, Field(allow_inf_nan=False, **bounds)]
    return tuple[number, number] if hp.kind == "pair" else number


def _model_for(spec: OptimizerSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {
        hp.name: (_field_type(hp), Field(hp.default, description=hp.meaning)) for hp in spec.hyperparameters
    }
    name = "".join(part.capitalize() for part in spec.id.split("_")) + "Hyperparameters"
    config = ConfigDict(extra="forbid", strict=False, allow_inf_nan=False)
    return create_model(name, __config__=config, **fields)


HYPERPARAMETER_MODELS: dict[str, type[BaseModel]] = {oid: _model_for(s) for oid, s in OPTIMIZERS.items()}


def check_optimizer(value: str) -> str:
    """A pydantic validator: the id must be in the registry; the error lists the known ids."""
    if value not in OPTIMIZERS:
        raise PydanticCustomError(
            "unknown_optimizer",
            "unknown optimizer '{id}'; known: {known}",
            {"id": str(value)[:60], "known": ", ".join(OPTIMIZERS)},
        )
    return value


def check_hyperparameters(optimizer_id: str | None, value: Any, partial: bool = False) -> dict[str, Any]:
    """Validate against the optimizer's own model (names, types, ranges); fill in torch's defaults
    (``partial``: return only the names given)."""
    model = HYPERPARAMETER_MODELS.get(optimizer_id or "")
    if model is None:  # the optimizer id itself was refused; that error names the field
        return value if isinstance(value, dict) else {}
    validated = model.model_validate(value)
    fields = validated.model_fields_set if partial else type(validated).model_fields
    return {name: getattr(validated, name) for name in fields}


class OptimizerChoice(BaseModel):
    """An optimizer id and its hyperparameters (torch.optim's names; omitted ones take torch's defaults).
    The base of every request that names an optimizer: a trajectory, a runner, a CNN training."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    optimizer: str = Field(description="optimizer id, see GET /api/optimizers", examples=["adam"])
    hyperparameters: dict[str, Any] = Field(
        default_factory=dict, validate_default=True, description='e.g. {"lr": 0.01, "betas": [0.9, 0.999]}'
    )

    @field_validator("optimizer")
    @classmethod
    def _known(cls, value: str) -> str:
        return check_optimizer(value)

    @field_validator("hyperparameters", mode="wrap")
    @classmethod
    def _valid(cls, value: Any, handler: Any, info: ValidationInfo) -> dict[str, Any]:
        return check_hyperparameters(info.data.get("optimizer"), handler(value))
