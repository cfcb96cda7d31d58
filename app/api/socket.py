"""The WebSocket endpoint: one socket, one live session. It only moves messages; sessions/ does the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from app.config import Settings
from app.errors import AppError
from app.sessions.cnn import CnnSession
from app.sessions.core import SessionCore
from app.sessions.live import LiveSession
from app.sessions.protocol import ErrorFrame, json_schema
from app.sessions.registry import SessionRegistry
from app.sessions.session import Session

router = APIRouter()
log = logging.getLogger(__name__)


def origin_allowed(ws: WebSocket, settings: Settings) -> bool:
    """Same origin or a configured one. Browsers always send Origin on a WebSocket handshake, so a foreign
    page cannot ride a visitor's connection (cross-site WebSocket hijacking); tools that send none pass."""
    origin = ws.headers.get("origin")
    if origin is None:
        return True
    if origin in settings.allowed_origins:
        return True
    host = ws.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == host


@router.get("/api/schema", tags=["meta"])
def protocol_schema() -> JSONResponse:
    """JSON Schema of every WebSocket message, client → server and server → client."""
    return JSONResponse(json_schema())


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


async def serve(ws: WebSocket, make: Callable[[Settings, SessionRegistry], SessionCore]) -> None:
    """One socket, one live session of the kind ``make`` builds (or a detached one it resumes)."""
    settings: Settings = ws.app.state.settings
    registry: SessionRegistry = ws.app.state.sessions
    if not origin_allowed(ws, settings):
        await ws.close(code=1008, reason="origin not allowed")
        return
    await ws.accept()
    client = ws.client.host if ws.client else "unknown"
    token = ws.query_params.get("resume")
    session = registry.take(token) if token else None
    if session is None:
        try:
            registry.admit(client)
        except AppError as exc:
            registry.metrics.errors.labels(exc.body.code).inc()
            await ws.send_text(ErrorFrame(error=exc.body).model_dump_json())
            await ws.close(code=1013, reason=exc.body.code)  # 1013: try again later
            return
    live = LiveSession(
        settings, registry.metrics, session or make(settings, registry), frame_rate=registry.frame_rate
    )
    registry.attach(live, client)
    live.hello(resumed=session is not None)
    if session is not None:
        live.resume(_int(ws.query_params.get("seq")))
    sender = asyncio.create_task(live.send_loop(ws.send_text), name=f"send-{live.session.id}")
    frames = live.task = asyncio.create_task(live.run(), name=f"frames-{live.session.id}")
    try:
        while not (sender.done() or frames.done()):
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") is not None:
                await live.handle_text(message["text"])
            else:
                live.reject_binary()
    except WebSocketDisconnect:
        pass
    except RuntimeError:  # the socket was closed under us (e.g. by the server shutting down)
        pass
    finally:
        live.close()
        for task in (frames, sender):
            task.cancel()
        for task in (frames, sender):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        registry.detach(live, keep=not registry.stopping)


@router.websocket("/ws")
async def surfaces_socket(ws: WebSocket) -> None:
    """A 2-D race; /ws?resume=<token>&seq=<last frame seq received> takes a detached one back."""
    await serve(ws, lambda settings, registry: Session(settings))


@router.websocket("/ws/cnn")
async def cnn_socket(ws: WebSocket) -> None:
    """A CNN training; resumes like /ws."""
    await serve(ws, lambda settings, registry: CnnSession(settings, registry.trainings, registry.landscapes))
