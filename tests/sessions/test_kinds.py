"""The table of session kinds, and the shared code that must name none of them."""

from __future__ import annotations

import ast
from pathlib import Path

from app.sessions.core import SessionCore, session_kinds

ROOT = Path(__file__).resolve().parents[2]
# The frame loop, the registry, the contract, the shared messages, the socket endpoints, the app, the metrics.
SHARED = [
    "app/sessions/core.py",
    "app/sessions/live.py",
    "app/sessions/registry.py",
    "app/sessions/messages.py",
    "app/api/socket.py",
    "app/main.py",
    "app/metrics.py",
]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_every_kind_is_found_with_its_route_and_both_unions():
    kinds = session_kinds()
    assert [(k.name, k.path, k.schema_key) for k in kinds] == [
        ("race", "/ws", None),
        ("cnn", "/ws/cnn", "cnn"),
    ]
    for kind in kinds:
        tags = set(kind.client.json_schema()["discriminator"]["mapping"])
        assert {"play", "pause", "step", "set_speed"} <= tags, kind.name  # the shared commands
        assert {"hello", "notice", "error"} <= set(kind.server.json_schema()["discriminator"]["mapping"])


def imports_of(path: Path, packages: set[str]) -> set[str]:
    """The modules of these packages that a file imports."""
    return {m for m in imported_modules(path) if ".".join(m.split(".")[:3]) in packages}


def test_the_shared_code_imports_no_kind():
    kinds = {f"app.sessions.{kind.name}" for kind in session_kinds()}
    for path in SHARED:
        assert not imports_of(ROOT / path, kinds), path


def test_a_kind_imports_no_other_kind():
    names = [kind.name for kind in session_kinds()]
    for name in names:
        others = {f"app.sessions.{other}" for other in names if other != name}
        for path in (ROOT / "app" / "sessions" / name).rglob("*.py"):
            assert not imports_of(path, others), path


def test_each_kind_creates_sessions_that_keep_the_contract(app):
    registry = app.state.sessions
    for kind in session_kinds():
        session = registry.create(kind)
        assert isinstance(session, SessionCore) and session.messages is kind.client
        assert not session.started and session.runner_count == 0
        assert isinstance(session.status(), str) and session.status()
        session.closed()
