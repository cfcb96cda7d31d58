"""Every request is priced before it runs (app/descent/cost.py): over GDVIZ_MAX_WORK, a 422 that names the
limit and the cost; under it, served within GDVIZ_MAX_REQUEST_BYTES whatever the data set's size."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.helpers import Client, assert_error

ROOT = Path(__file__).resolve().parents[2]
ISSUE = {"data": "logreg", "params": {"n": 2000}}  # issue 13: with ?n=300, 9.7 s and 0.5 → 4.7 GB resident
BIG = {"data": "logreg", "params": {"n": 2000}}


def _memory(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (the resident set's high-water mark) of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields


@pytest.fixture(scope="module")
def served():
    """`python -m app` in its own process, as production serves: its memory is the server's alone."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GDVIZ_PORT": str(port), "GDVIZ_LOG_LEVEL": "warning"}
    proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx2.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_the_issues_grid_is_served_within_the_memory_bound(served):
    url, pid = served
    grid = f"{url}/api/surfaces/grid"
    assert (
        httpx2.post(grid, params={"n": 20}, json=ISSUE, timeout=60).status_code == 200
    )  # warm: the data set
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the high-water mark starts again from the resident set
    before = _memory(pid)["VmRSS"]
    began = time.monotonic()
    answer = httpx2.post(grid, params={"n": 300}, json=ISSUE, timeout=120)
    seconds = time.monotonic() - began
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert len(body["x"]) == len(body["z"]) == len(body["z"][0]) == 300 and body["z_min"] < body["z_max"]
    growth = _memory(pid)["VmHWM"] - before
    assert growth < Settings().max_request_bytes, (growth, seconds)  # was 4.2 GB; 1 thread: ~40 MB, ~4 s CPU


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(max_grid=400))) as c:
        yield c


@pytest.mark.parametrize(
    ("path", "body", "cost"),
    [
        # 2500 starts × 301 evaluations × (2 × 2000 + 4), in 40 groups of 64 runners: 3.23e9
        ("/api/basins", {"surface": BIG, "optimizer": "adam", "n": 50, "steps": 300}, "3.2e9"),
        # 30 × 30 settings × 201 evaluations on 2000 samples, in 15 groups: 7.79e8
        ("/api/stability", {"surface": BIG, "optimizer": "momentum", "n": 30, "steps": 200}, "7.8e8"),
        # the old limit allowed these 2e7 runner-steps: 5e6 ticks of the engine, ~12 minutes
        ("/api/basins", {"surface": "booth", "optimizer": "sgd", "n": 2, "steps": 5_000_000}, "3e10"),
    ],
)
def test_over_budget_requests_are_refused_naming_the_limit_and_their_cost(client, path, body, cost):
    error = assert_error(client.post(path, json=body), 422, "invalid_input")
    assert error["message"] == (
        f"this request costs {cost} sample-evaluations; the limit is 2e8 (GDVIZ_MAX_WORK)"
    )


def test_an_over_budget_grid_is_refused_at_the_start_of_the_route(client):
    response = client.post("/api/surfaces/grid", params={"n": 400}, json=ISSUE)  # 400² × (2000 + 50)
    error = assert_error(response, 422, "invalid_input", "query.n")
    assert error["message"] == (
        "query.n: this request costs 3.3e8 sample-evaluations; the limit is 2e8 (GDVIZ_MAX_WORK)"
    )
    assert error["details"][0]["received"] == 400
    assert client.post("/api/surfaces/grid", params={"n": 400}, json={"data": "logreg"}).status_code == 200


def test_data_maps_within_the_budget_are_served(client):
    body = {"surface": {"data": "linreg", "params": {"n": 400}}, "optimizer": "sgd", "n": 12, "steps": 40}
    response = client.post("/api/basins", json=body)  # 144 runners of 400 samples: 3 groups of 64
    assert response.status_code == 200 and len(response.json()["basin"]) == 12


def test_the_memory_bound_refuses_what_no_chunk_fits():
    with TestClient(create_app(Settings(max_request_bytes=32_000_000))) as small:
        body = {"surface": "booth", "optimizer": "sgd", "n": 200, "steps": 10}  # 40 000 runners' answers
        error = assert_error(small.post("/api/basins", json=body), 422, "invalid_input")
        assert error["message"] == (
            "this request needs 80 MB at its peak; the limit is 32 MB (GDVIZ_MAX_REQUEST_BYTES)"
        )


# --- the live race --------------------------------------------------------------------------------------


def _runners(count: int, batch: dict | None = None) -> list[dict]:
    spec = {"optimizer": "sgd", "start": [0.5, 0.5]}
    return [{**spec, "id": f"r{k}", **({"batch": batch} if batch and k == 0 else {})} for k in range(count)]


def _error(c: Client, ref: str) -> dict:
    error, _ = c.until("error", ref=ref)
    return error["error"]


def test_a_race_over_its_share_is_refused_and_the_session_goes_on(server_url):
    c = Client(server_url)
    try:
        # 8 runners, one on mini-batches: each tick 8 × (2 × (2000 + 2000) + 4), 2000 ticks a second
        start = {"type": "start", "surface": BIG, "playing": False, "ref": "a"}
        c.send({**start, "runners": _runners(8, {"mode": "minibatch", "size": 32}), "speed": 2000})
        error = _error(c, "a")
        assert error["details"][0]["field"] == "speed"
        assert error["message"] == (
            "speed: this race costs 1.3e8 sample-evaluations per second at 2000 steps per second; "
            "the limit is 1e8 per second (GDVIZ_MAX_WORK per 2 s)"
        )
        c.send({**start, "runners": _runners(4), "speed": 3000, "ref": "b"})  # full batch: 4.9e7 a second
        assert c.until("state", ref="b")[0]["speed"] == 3000
        runner = {"id": "m", "optimizer": "sgd", "start": [0, 0], "batch": {"mode": "minibatch", "size": 8}}
        c.send({"type": "add_runner", "runner": runner, "ref": "c"})  # every runner then takes 2 passes
        assert _error(c, "c")["details"][0]["field"] == "runner"
        c.send({"type": "set_speed", "speed": 7000, "ref": "d"})
        assert "7000 steps per second" in _error(c, "d")["message"]
        c.send({**start, "surface": "booth", "runners": _runners(4), "speed": 7000, "ref": "e"})
        c.until("state", ref="e", timeout=30)  # a built-in surface: 1.7e5 a second
        c.send({"type": "set_surface", "surface": BIG, "ref": "f"})
        assert _error(c, "f")["details"][0]["field"] == "surface"
        c.send({"type": "set_surface", "surface": "logreg", "ref": "g"})  # 200 samples: 1.1e7 a second
        assert c.until("state", ref="g")[0]["surface"]["id"] == "logreg"
    finally:
        c.close()
