"""Shared fixtures: a TestClient over a fresh app, and real servers on 127.0.0.1."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from app.main import create_app
from app.ws_protocol import GdvizWebSocketProtocol


@pytest.fixture
def app():
    get_settings.cache_clear()
    return create_app()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


class ServerThread:
    """A real uvicorn server on a free 127.0.0.1 port, in a thread of the test process: .url and .app."""

    def __init__(self, settings=None, options=None):
        import socket
        import threading

        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = create_app(settings)
        # No keepalive pings: they draw from the global `random` in a background thread, which hypothesis
        # (test_fuzz.py) rightly reports when it happens while it draws an example.
        defaults = {
            "log_level": "warning",
            "ws_max_size": 65536,
            "ws_ping_interval": None,
            "ws": GdvizWebSocketProtocol,  # what `python -m app` serves with
            "ws_per_message_deflate": self.app.state.settings.ws_compression,
        }
        # options: uvicorn keywords over these, e.g. app.__main__.uvicorn_options(settings) to serve as
        # production does; the host and port stay the thread's own.
        config = uvicorn.Config(
            self.app, **{**defaults, **(options or {}), "host": "127.0.0.1", "port": self.port}
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ServerThread:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        self.server_loop = self.server.servers[0].get_loop()  # the event loop the server runs on
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live_server():
    get_settings.cache_clear()
    server = ServerThread().start()
    yield server
    server.stop()


@pytest.fixture
def server_with():
    """Start a server with its own settings, e.g. server_with(max_sessions_per_client=2)."""
    from app.config import Settings

    servers = []

    def start(**overrides) -> ServerThread:
        server = ServerThread(Settings(**overrides)).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server_url(live_server):
    return live_server.url
