"""`python -m app` (or `gdviz`): serve with uvicorn on GDVIZ_HOST:GDVIZ_PORT."""

from __future__ import annotations

import uvicorn

from app.config import get_settings
from app.ws_protocol import GdvizWebSocketProtocol


def main() -> None:
    s = get_settings()
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=s.host,
        port=s.port,
        workers=s.workers,
        log_level=s.log_level,
        ws_max_size=s.ws_max_message_bytes,
        ws_per_message_deflate=s.ws_compression,
        ws=GdvizWebSocketProtocol,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
