"""Helpers shared by tests: strict JSON parsing and the error-shape check."""

from __future__ import annotations

import json
from typing import Any


def _refuse_constant(name: str) -> Any:
    raise AssertionError(f"non-standard JSON constant {name} in a response")


def strict_json(text: str | bytes) -> Any:
    """json.loads that fails on NaN / Infinity, as JavaScript's JSON.parse would."""
    return json.loads(text, parse_constant=_refuse_constant)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    """The one error shape: {"error": {"code", "message", "details": [{"field", ...}]}}."""
    assert response.status_code == status, response.text
    body = strict_json(response.text)
    assert set(body) == {"error"}
    error = body["error"]
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    if field is not None:
        fields = [d["field"] for d in error["details"]]
        assert field in fields, (field, fields)
        assert field in error["message"] or any(field == f for f in fields)
    return error
