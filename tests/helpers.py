"""Helpers shared by tests: strict JSON parsing and the error-shape check."""

from __future__ import annotations

import json
import time
from typing import Any

from websockets.sync.client import connect

from app.sessions.race.protocol import SERVER_MESSAGE


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


class Client:
    """A socket client that checks every message against the protocol's models and strict JSON."""

    def __init__(self, url: str, query: str = "", path: str = "/ws", schema: Any = SERVER_MESSAGE, **kwargs):
        self.schema = schema
        # No keepalive pings: a background thread drawing from the global `random` (see ServerThread).
        kwargs.setdefault("ping_interval", None)
        self.ws = connect(url.replace("http", "ws") + path + query, open_timeout=10, legacy=True, **kwargs)
        self.hello = self.recv()
        assert self.hello["type"] in ("hello", "error")

    def send(self, message: dict | str | bytes) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    def recv(self, timeout: float = 5.0) -> dict:
        text = self.ws.recv(timeout=timeout)
        message = strict_json(text)
        self.schema.validate_python(message)  # every message matches its model
        return message

    def until(self, kind: str, timeout: float = 5.0, ref: str | None = None) -> tuple[dict, list[dict]]:
        """Read until a message of this type (and ref); return it and everything read before it."""
        seen, deadline = [], time.monotonic() + timeout
        while True:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == kind and (ref is None or message.get("ref") == ref):
                return message, seen
            seen.append(message)

    def frames(self, steps: int, runner: str, timeout: float = 10.0) -> list[dict]:
        """Collect frame records of one runner until it has ``steps`` steps."""
        return self.race(steps, [runner], timeout)[runner]

    def race(self, steps: int, runners: list[str], timeout: float = 10.0) -> dict[str, list[dict]]:
        """Collect frame records of several runners until each has ``steps`` steps."""
        records: dict[str, list[dict]] = {r: [] for r in runners}
        deadline = time.monotonic() + timeout
        while min(sum(len(r["points"]) for r in rs) for rs in records.values()) < steps:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == "frame":
                for r in message["runners"]:
                    if r["id"] in records:
                        records[r["id"]].append(r)
        return records

    def close(self) -> None:
        self.ws.close()
