"""Faults and limits: reconnect without loss, slow readers, floods, too many sessions, a failing session,
metrics, and a graceful restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.sessions.cnn.protocol import CNN_SERVER_MESSAGE
from tests.helpers import Client, strict_json

ROOT = Path(__file__).resolve().parents[2]
RACE = [
    {"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 1e-4}, "start": [-1.2, 1.0]},
    {"id": "b", "optimizer": "adam", "hyperparameters": {"lr": 0.01}, "start": [0.5, 2.0]},
]


def start(c: Client, speed: float = 200, **extra) -> dict:
    c.send({"type": "start", "surface": "rosenbrock", "runners": RACE, "speed": speed, "ref": "go", **extra})
    state, _ = c.until("state", ref="go")
    return state


def steps_of(messages: list[dict], runner: str) -> list[int]:
    return [
        r["first_step"] + k
        for m in messages
        if m["type"] == "frame"
        for r in m["runners"]
        if r["id"] == runner
        for k in range(len(r["points"]))
    ]


def test_reconnect_resumes_the_same_run_with_no_step_missing(server_url):
    c = Client(server_url)
    token = c.hello["resume_token"]
    start(c)
    before = [c.recv() for _ in range(15)]
    frames = [m for m in before if m["type"] == "frame"]
    last_seq = frames[-1]["seq"]
    c.ws.socket.shutdown(socket.SHUT_RDWR)  # the Wi-Fi drops: no close frame, the TCP connection just ends
    c.ws.socket.close()
    time.sleep(0.3)
    back = Client(server_url, query=f"?resume={token}&seq={last_seq}")
    assert back.hello["resumed"] and back.hello["session"] == c.hello["session"]
    state, replayed = back.until("state")
    assert state["cause"] == "resume" and state["playing"]
    after = replayed + [back.recv() for _ in range(10)]
    seqs = [m["seq"] for m in frames + after if m["type"] == "frame"]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))  # frames consecutive across the drop
    for runner in ("a", "b"):
        steps = steps_of(frames + after, runner)
        assert steps == list(range(steps[0], steps[0] + len(steps))), runner  # continuous, no gap, no repeat
        assert steps[-1] > steps_of(frames, runner)[-1]
    back.close()


def test_a_stale_or_unknown_token_gets_a_fresh_session(server_url):
    c = Client(server_url, query="?resume=not-a-token&seq=oops")
    assert not c.hello["resumed"] and c.hello["type"] == "hello"
    c.send({"type": "play", "ref": "p"})
    error, _ = c.until("error", ref="p")
    assert error["error"]["code"] == "no_run"
    c.close()


def test_a_reader_that_stops_costs_bounded_memory_and_loses_nothing(server_with):
    server = server_with(max_outbox_steps=2000)
    c = Client(server.url, max_size=None)
    start(c, speed=100_000)  # fast-forward: far more steps per second than a paused reader takes
    first = [c.recv() for _ in range(3)]
    registry = server.app.state.sessions
    live = next(iter(registry.attached.values()))
    # The page stops reading (a frozen tab). The socket's buffers fill, then the outbox, then the loop waits.
    peak, steps_then, still_since = 0, -1, time.monotonic()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and time.monotonic() - still_since < 1.0:
        peak = max(peak, live.outbox.waiting_steps)
        if live.session.max_step != steps_then:
            steps_then, still_since = live.session.max_step, time.monotonic()
        time.sleep(0.02)
    assert time.monotonic() - still_since >= 1.0, "the session kept computing for a reader that does not read"
    # The outbox holds at most its limit (plus the frame that crossed it): memory stays bounded.
    assert 0 < peak <= 2000 + 2 * 500
    # Reading again: frames arrive merged (coalesced > 1), and every step is there.
    rest = []
    while not any(m["type"] == "frame" and m.get("coalesced", 1) > 1 for m in rest):
        rest.append(c.recv())
    rest += [c.recv() for _ in range(20)]
    for runner in ("a", "b"):
        steps = steps_of(first + rest, runner)
        assert steps == list(range(steps[0], steps[0] + len(steps)))
    c.close()


def test_a_flood_of_messages_is_rate_limited_and_the_session_survives(server_with):
    server = server_with(ws_messages_per_second=20)
    c = Client(server.url)
    start(c, playing=False)
    for k in range(300):
        c.send({"type": "set_speed", "speed": 10 + k})
    errors = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        try:
            message = c.recv(timeout=0.5)
        except TimeoutError:
            break
        if message["type"] == "error":
            errors.append(message)
    assert errors and all(e["error"]["code"] == "rate_limited" for e in errors)
    assert len(errors) <= 4  # one error a second about it, not one per message
    time.sleep(1.5)  # the bucket refills
    c.send({"type": "set_speed", "speed": 42, "ref": "ok"})
    state, _ = c.until("state", ref="ok")
    assert state["speed"] == 42
    c.close()


def test_sessions_per_client_are_limited(server_with):
    server = server_with(max_sessions_per_client=2)
    first, second = Client(server.url), Client(server.url)
    third = Client(server.url)
    assert third.hello["type"] == "error" and third.hello["error"]["code"] == "too_many_sessions"
    with pytest.raises(ConnectionClosed) as closed:
        third.ws.recv(timeout=2)
    assert closed.value.rcvd.code == 1013
    first.close()
    time.sleep(0.3)
    fourth = Client(server.url)  # a closed tab frees its place
    assert fourth.hello["type"] == "hello"
    for c in (second, fourth):
        c.close()


def test_a_failing_session_gets_an_error_and_others_are_untouched(live_server):
    healthy, broken = Client(live_server.url), Client(live_server.url)
    start(healthy)
    start(broken)
    live = live_server.app.state.sessions.attached[broken.hello["session"]]

    def explode(ticks):
        raise RuntimeError("a runner blew up")

    live.session.advance = explode  # a fault inside one session's stepping
    error, _ = broken.until("error")
    assert error["error"]["code"] == "internal_error"
    state, _ = broken.until("state")
    assert state["cause"] == "error" and not state["playing"]
    # the other session keeps streaming
    frames = [m for m in (healthy.recv() for _ in range(10)) if m["type"] == "frame"]
    assert frames
    broken.send({"type": "set_speed", "speed": 5, "ref": "still"})  # and the broken one still answers
    assert broken.until("state", ref="still")[0]["speed"] == 5
    healthy.close()
    broken.close()


def test_a_frame_that_cannot_be_encoded_is_an_error_not_a_silent_stop(live_server):
    c = Client(live_server.url)
    start(c)
    live = live_server.app.state.sessions.attached[c.hello["session"]]
    advance = live.session.advance

    def unencodable(ticks):
        payload, events = advance(ticks)
        return {**payload, "oops": object()}, events  # no JSON for this

    live.session.advance = unencodable
    error, _ = c.until("error")
    assert error["error"]["code"] == "internal_error"
    state, _ = c.until("state")
    assert state["cause"] == "error" and not state["playing"]
    live.session.advance = advance  # the fault is gone: the same socket plays again
    c.send({"type": "play", "ref": "again"})
    c.until("state", ref="again")
    frame, _ = c.until("frame")
    assert frame["runners"][0]["points"]
    c.close()


def test_metrics_count_sessions_steps_frames_and_errors(server_with):
    server = server_with()
    c = Client(server.url)
    start(c)
    [c.recv() for _ in range(10)]
    c.send("nonsense")
    c.until("error")
    text = httpx2.get(f"{server.url}/metrics").text

    def value(name: str) -> float:
        line = next(
            line for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{")
        )
        return float(line.rsplit(" ", 1)[1])

    assert value('gdviz_sessions{state="attached"}') == 1
    assert value("gdviz_runners") == 2
    assert value("gdviz_steps_total") >= 2
    assert value("gdviz_frames_total") >= 1
    assert value('gdviz_errors_total{code="invalid_input"}') == 1
    assert "gdviz_frame_lag_seconds_bucket" in text and "gdviz_outbox_steps" in text
    c.close()


def test_sigterm_tells_open_pages_the_server_restarts():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GDVIZ_PORT": str(port), "GDVIZ_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ws = connect(f"ws://127.0.0.1:{port}/ws", open_timeout=2, ping_interval=None)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with ws:
            assert json.loads(ws.recv(timeout=5))["type"] == "hello"
            ws.send(json.dumps({"type": "start", "surface": "booth", "runners": RACE[:1], "speed": 30}))
            proc.send_signal(signal.SIGTERM)
            kinds = []
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    kinds.append(strict_json(ws.recv(timeout=10)))
            notices = [m for m in kinds if m["type"] == "notice"]
            assert notices and notices[-1]["code"] == "server_restarting"
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012  # service restart
        # uvicorn shuts down gracefully, then re-raises the signal so the exit status tells why it stopped
        assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_closed_sessions_leave_nothing_behind(server_with):
    """Open and close many sessions of both kinds, some mid-landscape: no session object, task, training
    slot or landscape thread stays."""
    import asyncio
    import gc
    import threading

    from app.sessions.core import SessionCore

    server = server_with(session_ttl=0)  # nothing kept for a page that might come back
    registry = server.app.state.sessions
    gc.collect()
    before = len(SessionCore.instances)
    for i in range(12):
        c = Client(server.url)
        start(c)
        [c.recv() for _ in range(3)]
        cnn = Client(server.url, path="/ws/cnn", schema=CNN_SERVER_MESSAGE)
        cnn.send({"type": "cnn_start", "model": {"blocks": [{"channels": 2}], "width": 8}, "ref": "go"})
        cnn.until("cnn_state", ref="go")
        if i % 4 == 0:  # a big landscape, dropped with its socket
            cnn.send({"type": "cnn_landscape", "plane": "random", "n": 51, "ref": "land"})
            cnn.until("cnn_landscape_plane", timeout=30)
        c.close()
        cnn.close()
    deadline = time.monotonic() + 5
    while any(t.name.startswith("landscape-") for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("landscape-")]
    deadline = time.monotonic() + 5
    slots = registry.resources["cnn"].slots
    while (registry.attached or slots.holders) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not registry.attached and not registry.detached
    assert not slots.holders and not slots.line
    tasks = [
        t for t in asyncio.all_tasks(server.server_loop) if t.get_name().startswith(("frames-", "send-"))
    ]
    assert tasks == []
    deadline = time.monotonic() + 5
    while len(SessionCore.instances) > before and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert len(SessionCore.instances) == before, "closed sessions are still referenced somewhere"
