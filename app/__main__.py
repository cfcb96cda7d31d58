"""`python -m app` (or `gdviz`): serve with uvicorn on GDVIZ_HOST:GDVIZ_PORT."""

from __future__ import annotations

from typing import Any

import uvicorn

from app.config import Settings, get_settings
from app.ws_protocol import GdvizWebSocketProtocol


def uvicorn_options(s: Settings) -> dict[str, Any]:
    """How production serves, as uvicorn keywords; tests/deploy serves its proxy test with the same."""
    return {
        "host": s.host,
        "port": s.port,
        "workers": s.workers,
        "log_level": s.log_level,
        "ws_max_size": s.ws_max_message_bytes,
        "ws_per_message_deflate": s.ws_compression,
        "ws": GdvizWebSocketProtocol,
        "timeout_graceful_shutdown": 5,
        # Behind a trusted proxy, X-Forwarded-For and X-Forwarded-Proto become the client's address and
        # scheme (uvicorn's ProxyHeadersMiddleware), so per-client limits count browsers, not the proxy.
        "proxy_headers": True,
        "forwarded_allow_ips": s.forwarded_allow_ips,
    }


def main() -> None:
    uvicorn.run("app.main:create_app", factory=True, **uvicorn_options(get_settings()))


if __name__ == "__main__":
    main()
