"""GET /metrics with every kind of session at work at once: a race, a CNN training and its landscape."""

from __future__ import annotations

import time

import httpx2

from tests.helpers import Client
from tests.sessions.cnn.test_session import SMALL, CnnClient

RACE = [
    {"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 1e-4}, "start": [-1.2, 1.0]},
    {"id": "b", "optimizer": "adam", "hyperparameters": {"lr": 0.01}, "start": [0.5, 2.0]},
]


def scrape(url: str) -> dict[str, float]:
    """The samples of a Prometheus text answer: {'name{labels}': value}."""
    response = httpx2.get(f"{url}/metrics")
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def test_metrics_with_a_race_a_training_and_a_landscape_running(server_with):
    server = server_with(session_ttl=0)
    race = Client(server.url)
    race.send({"type": "start", "surface": "rosenbrock", "runners": RACE, "speed": 100, "ref": "go"})
    race.until("state", ref="go")
    race.race(5, ["a", "b"])
    cnn = CnnClient(server.url)
    trainer = {"optimizer": "adam", "hyperparameters": {"lr": 0.003}}
    cnn.send({"type": "cnn_start", "model": SMALL, "trainer": trainer, "speed": 30, "ref": "go"})
    cnn.until("cnn_state", ref="go")
    cnn.steps(3)
    cnn.send({"type": "cnn_landscape", "plane": "random", "n": 51, "ref": "land"})
    cnn.until("cnn_landscape_plane", timeout=30)
    training = server.app.state.sessions.attached[cnn.hello["session"]].session

    samples = scrape(server.url)

    assert training.landscape is not None and training.landscape.running  # it ran throughout the scrape
    assert training.playing
    assert samples['gdviz_sessions{state="attached"}'] == 2
    assert samples['gdviz_sessions{state="detached"}'] == 0
    assert samples["gdviz_runners"] == 2 + 1  # the race's runners and the one network training
    assert samples['gdviz_trainings{state="running"}'] == 1
    assert samples['gdviz_trainings{state="queued"}'] == 0
    assert samples["gdviz_steps_total"] >= 2 * 5 + 3  # runner-steps of the race, steps of the training
    assert samples["gdviz_frames_total"] >= 2
    assert samples["gdviz_outbox_steps"] >= 0
    assert samples['gdviz_messages_total{type="cnn_landscape"}'] == 1
    assert not any(name.startswith("gdviz_errors_total{") for name in samples)

    cnn.send({"type": "cnn_landscape_cancel", "ref": "stop"})
    done, _ = cnn.until("cnn_landscape_done", timeout=30)
    assert done["status"] == "cancelled"
    for client, state in ((race, "state"), (cnn, "cnn_state")):
        client.send({"type": "pause", "ref": "rest"})
        client.until(state, ref="rest")  # read what waits: a client with unread frames closes slowly
        client.close()
    deadline = time.monotonic() + 5
    while scrape(server.url)['gdviz_sessions{state="attached"}'] and time.monotonic() < deadline:
        time.sleep(0.05)
    after = scrape(server.url)
    assert after["gdviz_runners"] == 0 and after['gdviz_trainings{state="running"}'] == 0
