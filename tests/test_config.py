"""Settings: every one documented in the README, each read from its GDVIZ_ variable, and the app's the only
source of limits."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import Settings
from app.main import create_app
from app.schemas import TrajectoryRequest
from app.sessions.cnn.protocol import CNN_SERVER_MESSAGE
from tests.helpers import Client, assert_error

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_setting_is_in_the_readme_table_with_its_default():
    rows = dict(re.findall(r"^\| `(GDVIZ_[A-Z_]+)` \| `([^`]*)` \|", README, flags=re.M))
    for name, field in Settings.model_fields.items():
        variable = f"GDVIZ_{name.upper()}"
        assert variable in rows, f"{variable} is not documented in README.md"
        default = field.default if field.default_factory is None else field.default_factory()
        assert rows[variable] == str(default), (variable, rows[variable], default)
        assert field.description, f"{name} has no description (unit and reason)"
    assert set(rows) == {f"GDVIZ_{n.upper()}" for n in Settings.model_fields}, (
        "README documents a setting that is gone"
    )


def test_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("GDVIZ_MAX_STEPS", "77")
    monkeypatch.setenv("GDVIZ_ALLOWED_ORIGINS", '["https://a.example"]')
    s = Settings()
    assert s.max_steps == 77 and s.allowed_origins == ["https://a.example"]


# --- one source: the settings create_app() is given ------------------------------------------------------


def test_only_the_entry_points_read_the_environments_settings():
    """Validators and routes take the app's settings (pydantic's context, a FastAPI dependency); only
    `python -m app` and create_app()'s default read the process-global ones."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if "get_settings(" in path.read_text(encoding="utf-8")
    )
    assert readers == ["app/__main__.py", "app/config.py", "app/main.py"]


def test_validating_without_the_apps_settings_is_a_bug_not_a_fallback():
    body = {"surface": "booth", "optimizer": "sgd"}
    with pytest.raises(LookupError, match="context"):
        TrajectoryRequest.model_validate({**body, "steps": 5})
    context = {"settings": Settings(max_steps=5)}
    assert TrajectoryRequest.model_validate({**body, "steps": 5}, context=context).steps == 5
    with pytest.raises(ValidationError, match="at most 5 steps"):
        TrajectoryRequest.model_validate({**body, "steps": 6}, context=context)


def test_rest_limits_follow_the_apps_settings():
    defaults = Settings()
    assert defaults.max_steps > 11 and defaults.max_grid < 301  # the environment would decide otherwise
    with TestClient(create_app(Settings(max_steps=10, max_grid=301))) as client:
        body = {"surface": "booth", "optimizer": "sgd", "steps": 11}
        error = assert_error(client.post("/api/trajectory", json=body), 422, "invalid_input", "steps")
        assert error["message"] == "steps: at most 10 steps per request (received 11)"
        assert client.post("/api/trajectory", json={**body, "steps": 10}).status_code == 200
        grid = client.get("/api/surfaces/booth/grid", params={"n": 301})
        assert grid.status_code == 200 and len(grid.json()["x"]) == 301
        assert_error(
            client.get("/api/surfaces/booth/grid", params={"n": 302}), 422, "invalid_input", "query.n"
        )


def test_socket_limits_follow_the_apps_settings(server_with):
    defaults = Settings()
    assert defaults.max_runners >= 3 and defaults.max_speed >= 60  # the environment would allow both
    server = server_with(max_runners=2, max_speed=50)
    c = Client(server.url)
    assert c.hello["limits"]["max_runners"] == 2 and c.hello["limits"]["max_speed"] == 50
    runners = [{"id": f"r{k}", "optimizer": "sgd", "start": [1, 1]} for k in range(3)]
    c.send({"type": "start", "surface": "booth", "runners": runners, "playing": False, "ref": "three"})
    error, _ = c.until("error", ref="three")
    assert error["error"]["details"][0]["field"] == "start.runners"
    assert error["error"]["message"].startswith("start.runners: at most 2 runners in a race")
    c.send({"type": "start", "surface": "booth", "runners": runners[:2], "playing": False, "ref": "two"})
    state, _ = c.until("state", ref="two")
    assert [r["id"] for r in state["runners"]] == ["r0", "r1"]
    c.send({"type": "set_speed", "speed": 60, "ref": "fast"})
    error, _ = c.until("error", ref="fast")
    assert error["error"]["details"][0]["field"] == "set_speed.speed"
    assert "at most 50 steps per second" in error["error"]["message"]
    c.send({"type": "set_speed", "speed": 50, "ref": "ok"})
    assert c.until("state", ref="ok")[0]["speed"] == 50
    c.close()
    cnn = Client(server.url, path="/ws/cnn", schema=CNN_SERVER_MESSAGE)  # the same limit on the other kind
    cnn.send({"type": "set_speed", "speed": 60, "ref": "fast"})
    error, _ = cnn.until("error", ref="fast")
    assert error["error"]["details"][0]["field"] == "set_speed.speed"
    cnn.close()
