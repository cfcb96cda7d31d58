"""Settings: every one documented in the README, each read from its GDVIZ_ variable."""

from __future__ import annotations

import re
from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


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


def test_limits_apply_to_requests(monkeypatch, client):
    from app.config import get_settings

    monkeypatch.setenv("GDVIZ_MAX_STEPS", "10")
    get_settings.cache_clear()
    try:
        r = client.post("/api/trajectory", json={"surface": "booth", "optimizer": "sgd", "steps": 11})
        assert r.status_code == 422 and "at most 10 steps" in r.text
        assert (
            client.post(
                "/api/trajectory", json={"surface": "booth", "optimizer": "sgd", "steps": 10}
            ).status_code
            == 200
        )
    finally:
        monkeypatch.delenv("GDVIZ_MAX_STEPS")
        get_settings.cache_clear()
