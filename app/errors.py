"""The one error shape, for REST answers and WebSocket error frames alike, built here and only here.

{"error": {"code": "invalid_input", "message": "hyperparameters.lr: Input should be greater than 0
           (received -1)", "details": [{"field": "hyperparameters.lr", "message": "...",
           "code": "greater_than", "expected": "> 0", "received": -1}]}}
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, Field, ValidationError


class ErrorDetail(BaseModel):
    field: str = Field(description="dotted path of the offending input, e.g. 'runners.0.hyperparameters.lr'")
    message: str = Field(description="what is wrong, in plain words")
    code: str | None = Field(
        None,
        description="what is wrong, as a stable code a page can translate: pydantic's error type, e.g. "
        "'greater_than', 'float_parsing'",
    )
    expected: str | None = Field(None, description="what would have been accepted")
    received: Any = Field(None, description="what arrived (shortened; non-finite numbers as strings)")


class ErrorBody(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. invalid_input, not_found, rate_limited")
    message: str = Field(description="one line for people; names the field")
    details: list[ErrorDetail] = Field(default_factory=list)


class ErrorResponse(BaseModel):
    error: ErrorBody


class AppError(Exception):
    """An error to answer with: HTTP status (REST) and the error shape (REST and WebSocket)."""

    def __init__(self, status: int, code: str, message: str, details: list[ErrorDetail] | None = None):
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(code=code, message=message, details=details or [])

    @classmethod
    def invalid(cls, field: str, message: str, expected: str | None = None, received: Any = None) -> AppError:
        detail = ErrorDetail(field=field, message=message, expected=expected, received=safe_value(received))
        return cls(422, "invalid_input", f"{field}: {message}" if field else message, [detail])

    @classmethod
    def not_found(cls, what: str) -> AppError:
        return cls(404, "not_found", what)


_EXPECTED = {
    "greater_than": "> {gt}",
    "greater_than_equal": "≥ {ge}",
    "less_than": "< {lt}",
    "less_than_equal": "≤ {le}",
    "finite_number": "a finite number",
    "float_parsing": "a number",
    "float_type": "a number",
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "missing": "a value",
    "extra_forbidden": "no such field",
    "literal_error": "one of {expected}",
    "too_short": "at least {min_length} items",
    "too_long": "at most {max_length} items",
    "string_too_long": "at most {max_length} characters",
    "tuple_type": "a list",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
    "json_invalid": "valid JSON",
    "union_tag_invalid": "one of {expected_tags}",
    "union_tag_not_found": "a '{discriminator}' field",
}


def safe_value(value: Any, limit: int = 120) -> Any:
    """A short, strict-JSON-safe rendering of what arrived (no NaN/Infinity, no huge blobs)."""
    if value is None or isinstance(value, bool | int) and abs(value) < 2**53:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"… ({len(value)} characters)"
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    try:
        text = json.dumps(value, default=repr, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = repr(type(value))
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def field_path(loc: tuple[Any, ...] | list[Any], drop: tuple[str, ...] = ("body",)) -> str:
    parts = list(loc)
    if parts and parts[0] in drop:
        parts = parts[1:]
    return ".".join(str(p) for p in parts)


def details_from_validation(
    errors: list[dict[str, Any]], drop: tuple[str, ...] = ("body",)
) -> list[ErrorDetail]:
    details = []
    for e in errors:
        ctx = {k: safe_value(v) for k, v in (e.get("ctx") or {}).items()}
        template = _EXPECTED.get(e["type"])
        expected = ctx.get("expected") if e["type"] == "expression" else None
        if template:
            try:
                expected = template.format(**ctx)
            except (KeyError, IndexError):
                expected = template
        received = e.get("input")
        if e["type"] in ("missing", "extra_forbidden") and isinstance(received, dict):
            received = None  # the input is the parent object: not what the user got wrong
        loc = tuple(e.get("loc", ()))
        if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # The tag field itself is what is wrong (e.g. an unknown message "type").
            loc += (str((e.get("ctx") or {}).get("discriminator", "type")).strip("'\""),)
            if isinstance(received, dict):
                received = received.get(loc[-1])
        details.append(
            ErrorDetail(
                field=field_path(loc, drop),
                message=str(e.get("msg", "invalid")),
                code=e.get("type"),
                expected=expected,
                received=safe_value(received),
            )
        )
    return details


def from_validation_error(
    exc: ValidationError | list[dict[str, Any]], drop: tuple[str, ...] = ("body",)
) -> AppError:
    errors = exc.errors() if isinstance(exc, ValidationError) else exc
    details = details_from_validation(list(errors), drop)
    first = details[0] if details else ErrorDetail(field="", message="invalid input")
    message = f"{first.field}: {first.message}" if first.field else first.message
    if first.received is not None and first.field:
        message += f" (received {json.dumps(first.received)})"
    if len(details) > 1:
        message += f" — and {len(details) - 1} more"
    return AppError(422, "invalid_input", message, details)
