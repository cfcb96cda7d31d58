"""The bounded pool of REST requests that compute: a line of rest_queue behind rest_workers, 429 busy with
Retry-After past it, 503 shutting_down for those waiting when the server stops; its metrics at /metrics;
and a live race that keeps its frames while a request computes."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx2
import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.helpers import Client, assert_error, strict_json
from tests.sessions.test_metrics import scrape

# ~1.5 s of compute on an idle 2-core machine: long enough for the requests below to line up behind it.
SLOW = {"surface": "himmelblau", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "n": 150, "steps": 300}
MEDIUM = {**SLOW, "n": 60, "steps": 100}
QUICK = {"surface": "himmelblau", "optimizer": "sgd", "hyperparameters": {"lr": 0.01}, "n": 5, "steps": 5}


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the pool"
        time.sleep(0.005)


@pytest.fixture
def requests():
    """Send requests from threads (as separate pages would) and collect their answers."""
    pool = ThreadPoolExecutor(4)
    yield lambda url, body: pool.submit(httpx2.post, f"{url}/api/basins", json=body, timeout=120)
    pool.shutdown(wait=True)


def test_past_the_line_a_request_is_refused_with_retry_after_and_the_line_frees(server_with, requests):
    server = server_with(rest_workers=1, rest_queue=1)
    compute = server.app.state.compute
    first = requests(server.url, SLOW)
    wait_for(lambda: compute.computing == 1)
    second = requests(server.url, QUICK)
    wait_for(lambda: compute.waiting == 1)

    during = scrape(server.url)
    refused = httpx2.post(f"{server.url}/api/basins", json=SLOW, timeout=30)

    error = assert_error(refused, 429, "busy")
    # Two ahead of it, 1 s each before any computation has been timed, on one thread.
    assert refused.headers["retry-after"] == "2"
    assert error["message"] == (
        "the server is busy: 1 computing and 1 waiting, the most it takes (1 + 1); retry in 2 s"
    )
    assert during['gdviz_rest_requests{state="computing"}'] == 1
    assert during['gdviz_rest_requests{state="waiting"}'] == 1
    assert during["gdviz_rest_refused_total"] == 0

    served = [first.result(), second.result()]
    assert [r.status_code for r in served] == [200, 200]
    assert [len(strict_json(r.text)["basin"]) for r in served] == [SLOW["n"], QUICK["n"]]
    after = scrape(server.url)
    assert after["gdviz_rest_refused_total"] == 1
    assert after['gdviz_errors_total{code="busy"}'] == 1
    assert after['gdviz_rest_requests{state="computing"}'] == 0
    assert after['gdviz_rest_requests{state="waiting"}'] == 0
    assert after['gdviz_rest_compute_seconds_count{endpoint="/api/basins"}'] == 2
    assert after['gdviz_rest_response_bytes_count{endpoint="/api/basins"}'] == 2
    assert after['gdviz_rest_response_bytes_sum{endpoint="/api/basins"}'] == sum(
        len(r.content) for r in served
    )

    # The line is free again: the next request computes at once.
    again = httpx2.post(f"{server.url}/api/basins", json=QUICK, timeout=30)
    assert again.status_code == 200, again.text
    assert compute.computing == 0 and compute.waiting == 0


def test_retry_after_grows_with_the_line_and_the_recent_compute_times(server_with, requests):
    server = server_with(rest_workers=1, rest_queue=2)
    compute = server.app.state.compute
    for _ in range(2):  # two timed computations
        assert httpx2.post(f"{server.url}/api/basins", json=MEDIUM, timeout=60).status_code == 200
    samples = scrape(server.url)
    mean = (
        samples['gdviz_rest_compute_seconds_sum{endpoint="/api/basins"}']
        / samples['gdviz_rest_compute_seconds_count{endpoint="/api/basins"}']
    )
    line = [requests(server.url, SLOW)]
    wait_for(lambda: compute.computing == 1)
    line += [requests(server.url, QUICK), requests(server.url, QUICK)]
    wait_for(lambda: compute.waiting == 2)
    refused = httpx2.post(f"{server.url}/api/basins", json=QUICK, timeout=30)
    assert_error(refused, 429, "busy")
    # three ahead of it, each the mean of the recent computations, on one thread
    assert int(refused.headers["retry-after"]) == max(1, math.ceil(3 * mean))
    assert [f.result().status_code for f in line] == [200, 200, 200]


def test_waiting_requests_are_answered_503_when_the_server_shuts_down(server_with, requests):
    server = server_with(rest_workers=1, rest_queue=2)
    compute = server.app.state.compute
    first = requests(server.url, SLOW)
    wait_for(lambda: compute.computing == 1)
    second = requests(server.url, SLOW)
    wait_for(lambda: compute.waiting == 1)

    server.server_loop.call_soon_threadsafe(compute.close)  # what SIGTERM does (app/main.py)

    waiting = second.result()
    assert_error(waiting, 503, "shutting_down")
    assert waiting.headers["retry-after"] == "5"
    assert first.result().status_code == 200  # what computed finishes
    assert_error(httpx2.post(f"{server.url}/api/basins", json=QUICK, timeout=30), 503, "shutting_down")
    assert compute.computing == 0 and compute.waiting == 0


def test_the_pool_serves_again_in_a_new_lifespan_of_the_same_app():
    app = create_app(Settings())
    for _ in range(2):  # the first lifespan's end lets the threads go; the second makes new ones
        with TestClient(app) as client:
            assert client.post("/api/basins", json=QUICK).status_code == 200
        assert app.state.compute.computing == 0 and app.state.compute.waiting == 0


# (method, URL, body, the route's path: the endpoint label)
ROUTES = [
    (
        "POST",
        "/api/trajectory",
        {"surface": "rosenbrock", "optimizer": "sgd", "steps": 20},
        "/api/trajectory",
    ),
    ("POST", "/api/basins", QUICK, "/api/basins"),
    ("POST", "/api/stability", {"surface": "rosenbrock", "optimizer": "momentum", "n": 4}, "/api/stability"),
    ("GET", "/api/surfaces/rosenbrock/grid?n=20", None, "/api/surfaces/{surface_id}/grid"),
    ("POST", "/api/surfaces/grid?n=20", {"expression": "x^2 + y^2"}, "/api/surfaces/grid"),
    ("POST", "/api/lessons/gradient", {"x": 2.0}, "/api/lessons/gradient"),
    ("POST", "/api/lessons/backprop", {}, "/api/lessons/backprop"),
]


def test_every_route_that_computes_is_timed_and_measured_in_the_pool(server_with):
    server = server_with()
    sizes = {}
    for method, url, body, route in ROUTES:
        response = httpx2.request(method, f"{server.url}{url}", json=body, timeout=30)
        assert response.status_code == 200, (url, response.text)
        sizes[route] = len(response.content)
    assert httpx2.get(f"{server.url}/api/surfaces").status_code == 200  # metadata: answered directly
    samples = scrape(server.url)
    for route, size in sizes.items():
        assert samples[f'gdviz_rest_compute_seconds_count{{endpoint="{route}"}}'] == 1, route
        assert samples[f'gdviz_rest_response_bytes_count{{endpoint="{route}"}}'] == 1, route
        assert samples[f'gdviz_rest_response_bytes_sum{{endpoint="{route}"}}'] == size, route
    endpoints = {name.split('endpoint="')[1].split('"')[0] for name in samples if 'endpoint="' in name}
    assert endpoints == set(sizes)  # and nothing else: /api/surfaces did not go through the pool


RACE = [{"id": "a", "optimizer": "adam", "hyperparameters": {"lr": 0.01}, "start": [-1.2, 1.0]}]


def test_a_live_race_keeps_framing_while_a_request_computes(server_with, requests):
    """A starvation check, not a timing goal: no second-long hole in the frames while a map computes."""
    server = server_with()
    race = Client(server.url)
    try:
        race.send({"type": "start", "surface": "rosenbrock", "runners": RACE, "speed": 60, "ref": "go"})
        race.until("state", ref="go")
        race.race(10, ["a"])  # warmed up
        began = time.monotonic()
        basin = requests(server.url, SLOW)
        arrivals = []
        while not basin.done():
            message = race.recv(timeout=5)
            if message["type"] == "frame":
                arrivals.append(time.monotonic())
        spent = time.monotonic() - began
        assert basin.result().status_code == 200
    finally:
        race.close()
    gaps = [b - a for a, b in zip([began, *arrivals], arrivals, strict=False)]
    assert spent > 0.5, "the map computed too briefly to tell anything"
    # Computed on the event loop, the map would leave one gap as long as itself. The bound is 1 s, or a third
    # of the map's time when a busy machine (this process also runs the client) stretches everything.
    assert max(gaps) < max(1.0, spent / 3), (max(gaps), len(arrivals), spent)
