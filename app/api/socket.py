"""The WebSocket endpoints: one socket, one live session, one route per kind of session (each kind declares
its path). They only move messages; sessions/ does the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from app.config import Settings
from app.errors import AppError
from app.sessions.core import SessionKind, messages_schema, session_kinds
from app.sessions.live import LiveSession
from app.sessions.messages import ErrorFrame
from app.sessions.registry import SessionRegistry

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
    return JSONResponse(messages_schema(session_kinds()))


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


async def serve(ws: WebSocket, kind: SessionKind) -> None:
    """One socket, one live session of this kind (or a detached one it resumes)."""
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
        settings, session or registry.create(kind), registry.metrics, frame_rate=registry.frame_rate
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


def endpoint(kind: SessionKind) -> Callable[[WebSocket], Awaitable[None]]:
    async def socket(ws: WebSocket) -> None:
        await serve(ws, kind)

    socket.__doc__ = kind.doc
    return socket


for _kind in session_kinds():
    router.add_api_websocket_route(_kind.path, endpoint(_kind), name=f"{_kind.name}_socket")
