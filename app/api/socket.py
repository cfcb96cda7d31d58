"""The WebSocket endpoint: one socket, one live session. It only moves messages; sessions/ does the rest."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

from app.config import Settings
from app.sessions.live import LiveSession
from app.sessions.protocol import json_schema

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


@router.websocket("/ws")
async def live_socket(ws: WebSocket) -> None:
    settings: Settings = ws.app.state.settings
    if not origin_allowed(ws, settings):
        await ws.close(code=1008, reason="origin not allowed")
        return
    await ws.accept()
    send_lock = asyncio.Lock()

    async def send(text: str) -> None:
        async with send_lock:
            await ws.send_text(text)

    live = LiveSession(settings, send)
    sessions: dict[str, LiveSession] = ws.app.state.live_sessions
    sessions[live.session.id] = live
    frames: asyncio.Task | None = None
    try:
        await live.hello()
        frames = live.task = asyncio.create_task(live.run(), name=f"frames-{live.session.id}")
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("text") is not None:
                await live.handle_text(message["text"])
            else:
                await live.reject_binary()
            if frames.done():  # the frame loop ended (its send failed): the socket is gone
                break
    except WebSocketDisconnect:
        pass
    finally:
        live.close()
        if frames is not None:
            frames.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await frames
        sessions.pop(live.session.id, None)
