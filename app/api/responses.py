"""Answers as strict JSON: pydantic serializes (NaN and ±Infinity become null), nothing else does."""

from __future__ import annotations

from fastapi import Response
from pydantic import BaseModel

from app.errors import AppError, ErrorResponse


def json_response(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status_code=status, media_type="application/json")


def error_response(error: AppError) -> Response:
    return json_response(ErrorResponse(error=error.body), error.status)


# For the OpenAPI document: every route may answer with the one error shape.
ERROR_RESPONSES = {
    404: {"model": ErrorResponse, "description": "unknown id or path"},
    422: {"model": ErrorResponse, "description": "invalid input; details name each field"},
}
