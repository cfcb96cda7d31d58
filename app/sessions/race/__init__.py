"""The 2-D race: runners with their optimizers descending one surface (or data problem), on ``/ws``."""

from __future__ import annotations

from app.sessions.core import SessionKind
from app.sessions.race.protocol import CLIENT_MESSAGE, SERVER_MESSAGE
from app.sessions.race.session import RaceSession

KIND = SessionKind(
    name="race",
    path="/ws",
    doc="A 2-D race; /ws?resume=<token>&seq=<last frame seq received> takes a detached one back.",
    client=CLIENT_MESSAGE,
    server=SERVER_MESSAGE,
    create=lambda settings, resources: RaceSession(settings),
    schema_key=None,  # its messages at the top level of GET /api/schema
)
