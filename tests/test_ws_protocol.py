"""The WebSocket protocol the server runs with (app/ws_protocol.py): permessage-deflate at zlib level 1
when GDVIZ_WS_COMPRESSION is on (the default), plain frames when it is off; either way every frame arrives
whole."""

from __future__ import annotations

import pytest

from tests.helpers import Client


@pytest.mark.parametrize("compression", [True, False])
def test_compression_is_negotiated_as_configured_and_frames_arrive_whole(server_with, compression):
    server = server_with(ws_compression=compression)
    c = Client(server.url)
    offered = c.ws.response.headers.get("Sec-WebSocket-Extensions", "")
    assert ("permessage-deflate" in offered) is compression
    runners = [{"id": "a", "optimizer": "adam", "start": [-1.2, 1.0]}]
    c.send({"type": "start", "surface": "rosenbrock", "runners": runners, "playing": False})
    c.until("state")
    c.send({"type": "step", "count": 500})
    records = c.frames(500, "a")
    assert [r["first_step"] for r in records][0] == 0
    assert sum(len(r["points"]) for r in records) == 500  # every step, none lost or doubled
    c.close()
