"""create_app(): the FastAPI application with its routers, static files, error handlers and headers."""

from __future__ import annotations

import asyncio
import gc
import logging
import secrets
import signal
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from app.api import catalog, lessons, pages, runs, socket, tune
from app.api.compute import ComputePool, Refused
from app.api.pages import ROOT
from app.api.responses import error_response
from app.config import Settings, get_settings
from app.descent.objective import TRACES
from app.errors import AppError, from_validation_error
from app.metrics import Metrics
from app.sessions.core import session_kinds
from app.sessions.registry import SessionRegistry

log = logging.getLogger("gdviz")

# No inline scripts and no foreign origins. Plotly injects <style> elements, hence 'unsafe-inline' for styles
# only; its WebGL traces compile shaders at run time, hence 'unsafe-eval' would be needed for 3-D only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self' data:; worker-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


ROUTE_COOKIE = "gdviz_route"  # a random value per browser; a proxy hashes it to pick the same replica


class SecurityHeaders(BaseHTTPMiddleware):
    """Security headers on every answer, and the routing cookie on the page (see deploy/nginx.conf)."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path == "/" and ROUTE_COOKIE not in request.cookies:
            response.set_cookie(
                ROUTE_COOKIE, secrets.token_urlsafe(12), max_age=86400 * 30, httponly=True, samesite="lax"
            )
        return response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """On SIGTERM/SIGINT, tell every open page that the server restarts, answer the REST requests waiting
    for the compute pool (503), give the notices a moment to leave, then let uvicorn's own handler shut
    down (closing sockets with 1012, "service restart"). At the end, the pool lets its threads go."""
    loop = asyncio.get_running_loop()
    app.state.compute.open()
    restore: list[tuple[int, object]] = []
    if threading.current_thread() is threading.main_thread():  # serving (tests run apps in other threads)
        # What starting made (torch, the app, its catalogs) lives as long as the process: frozen out of the
        # collector, a full collection walks only what was made since. Unfrozen, each took 200-250 ms with
        # the GIL held, a live frame's gap under a storm of requests (bench/abuse.py); frozen, ~10 ms.
        gc.collect()
        gc.freeze()
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(sig)
            if not callable(previous):
                continue

            def handler(signum: int, frame: object, previous: Callable = previous) -> None:
                loop.call_soon_threadsafe(app.state.sessions.announce_restart)
                loop.call_soon_threadsafe(app.state.compute.close)
                loop.call_soon_threadsafe(loop.call_later, 0.3, previous, signum, frame)

            signal.signal(sig, handler)
            restore.append((sig, previous))
    try:
        yield
    finally:
        app.state.compute.shutdown()
        for sig, previous in restore:
            signal.signal(sig, previous)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app, with these settings throughout (validation, routes, sessions); the environment's if None."""
    settings = settings or get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="gdviz",
        summary="Gradient descent, visible: optimizers on 2-D loss surfaces and small CNNs, live.",
        version="0.1.0",
    )
    app.state.settings = settings
    TRACES.resize(settings.trace_cache_entries, settings.trace_cache_bytes)  # one cache per process
    app.state.metrics = Metrics()
    app.state.sessions = SessionRegistry(settings, app.state.metrics, session_kinds())
    app.state.compute = ComputePool(settings.rest_workers, settings.rest_queue, app.state.metrics)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        app.state.metrics.errors.labels(exc.body.code).inc()
        response = error_response(exc)
        if isinstance(exc, Refused):
            response.headers.update(exc.headers)  # Retry-After
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        app.state.metrics.errors.labels("invalid_input").inc()
        return error_response(from_validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {400: "invalid_input", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code in (404, 405):
            message = f"no route {request.method} {request.url.path}"
        elif exc.status_code == 400:
            message = "body: not a JSON document (there was an error parsing the body)"
        else:
            message = str(exc.detail)
        app.state.metrics.errors.labels(code).inc()
        return error_response(AppError(exc.status_code, code, message))

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(
            AppError(500, "internal_error", "the server failed on this request; it was logged")
        )

    app.add_middleware(SecurityHeaders)
    app.include_router(pages.router)
    app.include_router(catalog.router)
    app.include_router(runs.router)
    app.include_router(tune.router)
    app.include_router(socket.router)
    app.include_router(lessons.router)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        """Prometheus metrics: sessions, runners, steps, frames, frame lag, outbox depth, errors by code, the
        REST compute pool (waiting, computing, refused; compute seconds and answer bytes by endpoint)."""
        return Response(generate_latest(app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
    return app
