"""The CNN training: one network learning scikit-learn's digits, measured step by step, and its loss
landscape computed beside it, on ``/ws/cnn``."""

from __future__ import annotations

from app.config import Settings
from app.sessions.cnn.protocol import CNN_CLIENT_MESSAGE, CNN_SERVER_MESSAGE
from app.sessions.cnn.session import CnnSession
from app.sessions.cnn.slots import CnnResources, cnn_resources
from app.sessions.core import SessionKind


def _create(settings: Settings, resources: CnnResources) -> CnnSession:
    return CnnSession(settings, resources.slots, resources.landscapes)


KIND = SessionKind(
    name="cnn",
    path="/ws/cnn",
    doc="A CNN training; resumes like /ws.",
    client=CNN_CLIENT_MESSAGE,
    server=CNN_SERVER_MESSAGE,
    create=_create,
    resources=cnn_resources,
    schema_key="cnn",
)
