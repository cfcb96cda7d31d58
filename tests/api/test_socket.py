"""The WebSocket protocol end to end, against a real server: frames, live changes, errors, lifetime."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from tests.helpers import Client

SGD = {"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}, "start": [-1.2, 1.0]}
ADAM = {"id": "b", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "start": [0.5, 2.5]}


def joined(records: list[dict], key: str) -> np.ndarray:
    return np.array([v for r in records for v in r[key]], dtype=float)


@pytest.fixture
def client_factory(server_url):
    clients = []

    def make(**kwargs) -> Client:
        c = Client(server_url, **kwargs)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


def start(c: Client, runners: list[dict], **extra) -> dict:
    c.send({"type": "start", "surface": "rosenbrock", "runners": runners, "speed": 300, "ref": "go", **extra})
    state, _ = c.until("state", ref="go")
    return state


def test_hello_announces_the_limits(client_factory):
    c = client_factory()
    assert c.hello["protocol"] == 1 and c.hello["limits"]["max_runners"] >= 6


def test_frames_equal_the_trajectory_api(client_factory, server_url):
    import httpx2

    c = client_factory()
    state = start(c, [SGD, ADAM])
    assert [r["id"] for r in state["runners"]] == ["a", "b"] and state["playing"]
    assert state["runners"][1]["hyperparameters"]["betas"] == [0.9, 0.999]
    race = c.race(120, ["a", "b"])
    for runner in (SGD, ADAM):
        records = race[runner["id"]]
        assert records[0]["first_step"] == 0
        steps = [r["first_step"] + k for r in records for k in range(len(r["points"]))]
        assert steps == list(range(len(steps)))  # consecutive, none missing
        ref = httpx2.post(
            f"{server_url}/api/trajectory",
            json={
                "surface": "rosenbrock",
                "optimizer": runner["optimizer"],
                "hyperparameters": runner["hyperparameters"],
                "start": runner["start"],
                "steps": len(steps),
            },
        ).json()
        np.testing.assert_allclose(joined(records, "points"), ref["points"][:-1], rtol=1e-12)
        np.testing.assert_allclose(joined(records, "losses"), ref["losses"][:-1], rtol=1e-12)
        np.testing.assert_allclose(joined(records, "gradients"), ref["gradients"][:-1], rtol=1e-12)
        np.testing.assert_allclose(
            joined(records, "deltas"), np.diff(ref["points"], axis=0), rtol=1e-9, atol=1e-15
        )


def test_an_lr_update_applies_to_the_very_next_step(client_factory):
    c = client_factory()
    start(c, [SGD])
    c.frames(20, "a")
    c.send({"type": "update_runner", "runner": "a", "hyperparameters": {"lr": 0.0005}, "ref": "lr"})
    state, _ = c.until("state", ref="lr")
    runner = state["runners"][0]
    assert runner["hyperparameters"]["lr"] == 0.0005 and runner["hp_version"] == 1
    after = []
    while not after:
        message = c.recv()
        if message["type"] == "frame":
            after = [r for r in message["runners"] if r["hp_version"] == 1]
    record = after[0]
    assert record["first_step"] >= runner["step"]
    for grad, delta in zip(record["gradients"], record["deltas"], strict=True):
        np.testing.assert_allclose(delta, -0.0005 * np.array(grad), rtol=1e-12)  # Δθ = −η_new·∇J


def test_the_optimizer_state_survives_an_update_and_resets_on_a_switch(client_factory):
    c = client_factory()
    start(c, [{**ADAM, "id": "b"}])
    before = c.frames(30, "b")
    last_step = before[-1]["state"]["step"][-1][0]
    c.send({"type": "update_runner", "runner": "b", "hyperparameters": {"lr": 0.01}, "ref": "u"})
    c.until("state", ref="u")
    record = next(r for r in c.frames(1, "b") if r["hp_version"] == 1)
    assert record["state"]["step"][0][0] > last_step  # Adam's step count went on
    c.send({"type": "update_runner", "runner": "b", "optimizer": "momentum", "ref": "s"})
    state, _ = c.until("state", ref="s")
    assert state["runners"][0]["optimizer"] == "momentum"
    assert state["runners"][0]["hyperparameters"] == {
        "lr": 0.01,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
    }
    first = next(r for r in c.frames(1, "b") if r["hp_version"] == 2)
    # A fresh momentum buffer: after its first step it equals that step's gradient (torch's v₁ = g).
    assert set(first["state"]) == {"momentum_buffer"}
    np.testing.assert_array_equal(first["state"]["momentum_buffer"][0], first["gradients"][0])
    assert first["points"][0] == pytest.approx(record["points"][-1], abs=1.0)  # it kept its position


def test_pause_stops_frames_and_step_advances_exactly(client_factory):
    c = client_factory()
    start(c, [SGD, ADAM])
    c.frames(10, "a")
    c.send({"type": "pause", "ref": "p"})
    state, _ = c.until("state", ref="p")
    assert not state["playing"]
    # At most a frame already on its way; then silence.
    late = []
    with pytest.raises(TimeoutError):
        while True:
            late.append(c.recv(timeout=0.4))
    assert len([m for m in late if m["type"] == "frame"]) <= 1
    steps_now = max(r["first_step"] + len(r["points"]) for m in late for r in m["runners"]) if late else None
    c.send({"type": "step", "count": 1, "ref": "s1"})
    c.until("state", ref="s1")
    frame = c.recv()
    assert frame["type"] == "frame"
    assert [len(r["points"]) for r in frame["runners"]] == [1, 1]
    if steps_now is not None:
        assert frame["runners"][0]["first_step"] == steps_now
    c.send({"type": "step", "count": 7, "ref": "s7"})
    c.until("state", ref="s7")
    got = 0
    while got < 7:
        message = c.recv()
        got += sum(len(r["points"]) for r in message["runners"] if r["id"] == "a")
    assert got == 7
    with pytest.raises(TimeoutError):
        c.recv(timeout=0.3)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ("not json at all", ""),
        ('{"type": "warp"}', "type"),
        ('{"no_type": 1}', ""),
        ('{"type": "set_speed", "speed": -3}', "set_speed.speed"),
        ('{"type": "set_speed", "speed": 1e12}', "set_speed.speed"),
        ('{"type": "update_runner", "runner": "zz", "hyperparameters": {"lr": 0.1}}', "runner"),
        ('{"type": "update_runner", "runner": "a", "hyperparameters": {"lr": -1}}', "hyperparameters.lr"),
        ('{"type": "update_runner", "runner": "a", "hyperparameters": {"rho": 0.5}}', "hyperparameters.rho"),
        ('{"type": "update_runner", "runner": "a", "optimizer": "nope"}', "optimizer"),
        ('{"type": "set_start", "start": [NaN, 0]}', "set_start.start.0"),
        (
            '{"type": "set_surface", "surface": {"expression": "__import__(1)"}}',
            "set_surface.surface.expression",
        ),
        ('{"type": "add_runner", "runner": {"id": "a", "optimizer": "sgd", "start": [0, 0]}}', "runner.id"),
        ('{"type": "remove_runner", "runner": "a"}', "runner"),
        ('{"type": "step", "count": 0}', "step.count"),
        ("[" * 5000, ""),
    ],
)
def test_bad_messages_get_an_error_frame_and_the_session_goes_on(client_factory, message, field):
    c = client_factory()
    start(c, [SGD])
    c.send(message)
    error, _ = c.until("error")
    assert error["error"]["code"] and error["error"]["message"]
    assert field in [d["field"] for d in error["error"]["details"]] or (
        field == "" and error["error"]["details"]
    )
    # The same session still works: an update applies and frames keep coming.
    c.send({"type": "set_speed", "speed": 50, "ref": "ok"})
    state, _ = c.until("state", ref="ok")
    assert state["speed"] == 50 and [r["id"] for r in state["runners"]] == ["a"]
    c.frames(3, "a")


def test_binary_and_oversized_messages_are_refused_politely(client_factory):
    c = client_factory()
    start(c, [SGD])
    c.send(b"\x00\x01binary")
    error, _ = c.until("error")
    assert error["error"]["code"] == "binary_not_supported"
    c.send(json.dumps({"type": "pause", "ref": "x" * 60, "pad": "y" * 70_000})[:65_000])
    error, _ = c.until("error")
    assert error["error"]["code"] in ("invalid_input", "message_too_large")
    c.frames(2, "a")


def test_commands_before_start_are_answered(client_factory):
    c = client_factory()
    c.send({"type": "play", "ref": "early"})
    error, _ = c.until("error", ref="early")
    assert error["error"]["code"] == "no_run"


def test_divergence_is_announced_once_with_an_explanation(client_factory):
    c = client_factory()
    start(c, [{**SGD, "hyperparameters": {"lr": 0.5}}, ADAM])
    event, _ = c.until("diverged")
    assert event["runner"] == "a" and event["reason"] == "bound" and event["lr"] == 0.5
    assert f"diverged at step {event['step']}" in event["message"] and "learning rate" in event["message"]
    frames = c.frames(50, "b")  # the other runner carries on
    assert all(r["id"] == "b" for r in frames)
    c.send({"type": "remove_runner", "runner": "b", "ref": "rm"})
    c.until("state", ref="rm")
    state, _ = c.until("state")  # no runner left moving: the session says so and stops
    assert state["cause"] == "all_stopped" and not state["playing"]
    assert state["runners"][0]["status"] == "diverged"
    # Reset brings it back.
    c.send({"type": "reset", "ref": "r"})
    state, _ = c.until("state", ref="r")
    assert state["runners"][0]["status"] == "running" and state["runners"][0]["step"] == 0


def test_set_start_add_runner_and_set_surface(client_factory):
    c = client_factory()
    start(c, [SGD, ADAM], playing=False)
    c.send({"type": "set_start", "runner": "b", "start": [1.5, -0.5], "ref": "s"})
    state, _ = c.until("state", ref="s")
    runners = {r["id"]: r for r in state["runners"]}
    assert runners["b"]["start"] == [1.5, -0.5] and runners["b"]["point"] == [1.5, -0.5]
    assert runners["a"]["start"] == [-1.2, 1.0]
    c.send(
        {"type": "add_runner", "runner": {"id": "c", "optimizer": "rmsprop", "start": [0, 0]}, "ref": "add"}
    )
    state, _ = c.until("state", ref="add")
    assert [r["id"] for r in state["runners"]] == ["a", "b", "c"]
    c.send({"type": "set_surface", "surface": "himmelblau", "ref": "surf"})
    state, _ = c.until("state", ref="surf")
    assert state["surface"]["id"] == "himmelblau" and len(state["surface"]["minima"]) == 4
    assert all(r["step"] == 0 for r in state["runners"])
    c.send(
        {
            "type": "set_surface",
            "surface": {"expression": "x^2 + y^2", "x_range": [0, 1], "y_range": [0, 1]},
            "ref": "e",
        }
    )
    state, _ = c.until("state", ref="e")
    # starts outside the new domain move to its default start
    assert all(0 <= r["start"][0] <= 1 and 0 <= r["start"][1] <= 1 for r in state["runners"])
    c.send({"type": "step", "count": 2, "ref": "st"})
    c.until("state", ref="st")
    records = c.frames(2, "c")
    x, y = records[0]["points"][0]
    assert records[0]["gradients"][0] == pytest.approx([2 * x, 2 * y])


def test_too_many_runners_is_refused(client_factory):
    c = client_factory()
    many = [{**SGD, "id": f"r{k}"} for k in range(c.hello["limits"]["max_runners"] + 1)]
    c.send({"type": "start", "surface": "booth", "runners": many, "ref": "big"})
    error, _ = c.until("error", ref="big")
    assert error["error"]["details"][0]["field"] == "start.runners"


def test_a_foreign_origin_is_refused(server_url):
    with pytest.raises(Exception) as info:
        Client(server_url, origin="http://evil.example")
    assert "1008" in str(info.value) or "403" in str(info.value)
    same = Client(server_url, origin=server_url)  # the page's own origin is welcome
    same.close()


def test_closing_the_socket_ends_the_session(client_factory, live_server):
    sessions = live_server.app.state.sessions.attached
    c = client_factory()
    start(c, [SGD, ADAM])
    c.frames(5, "a")
    mine = [live for live in sessions.values() if not live.closed]
    assert mine and all(not live.task.done() for live in mine)
    c.close()
    deadline = time.monotonic() + 1.0  # the work stops within a second
    while any(not live.task.done() for live in mine) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert all(live.task.done() for live in mine)
    assert not any(live in sessions.values() for live in mine)  # released


def test_protocol_schema_is_served(server_url):
    import httpx2

    schema = httpx2.get(f"{server_url}/api/schema").json()
    kinds_in = set(schema["client_to_server"]["discriminator"]["mapping"])
    kinds_out = set(schema["server_to_client"]["discriminator"]["mapping"])
    assert kinds_in == {
        "start", "update_runner", "add_runner", "remove_runner", "set_start", "play", "pause", "step",
        "set_speed", "reset", "set_surface", "set_curvature",
    }  # fmt: skip
    assert kinds_out == {"hello", "state", "frame", "diverged", "notice", "error"}


def test_batch_sgd_and_minibatch_race_on_real_data(client_factory):
    """The seed's section 4 live: the same optimizer and lr from one point, three batch modes."""
    c = client_factory()
    common = {"optimizer": "sgd", "hyperparameters": {"lr": 0.05}, "start": [-0.5, 3.0]}
    runners = [
        {**common, "id": "batch"},
        {**common, "id": "sgd", "batch": {"mode": "stochastic"}},
        {**common, "id": "mini", "batch": {"mode": "minibatch", "size": 16}},
    ]
    c.send({"type": "start", "surface": "linreg", "runners": runners, "speed": 300, "seed": 3, "ref": "go"})
    state, _ = c.until("state", ref="go")
    data = state["surface"]["data"]
    assert data["problem"] == "linreg" and len(data["features"]) == len(data["targets"]) == 200
    assert [r["batch"]["mode"] for r in state["runners"]] == ["full", "stochastic", "minibatch"]
    race = c.race(120, ["batch", "sgd", "mini"])
    length = {}
    for rid, records in race.items():
        points = joined(records, "points")[:120]
        length[rid] = float(np.linalg.norm(np.diff(points, axis=0), axis=1).sum())
        sizes = {v[0] for r in records for v in r["extras"]["batch_size"]}
        # 200 samples in batches of 16: twelve of 16, then one of 8, every epoch
        assert sizes == {"batch": {200}, "sgd": {1}, "mini": {16, 8}}[rid]
        assert all(r["samples"]["spread"] > 0 for r in records)
        clouds = [r["samples"]["gradients"] for r in records if r["samples"]["gradients"] is not None]
        assert clouds and all(len(cloud) == 200 for cloud in clouds)  # every sample's gradient, now and then
        full = np.array([v for r in records for v in r["extras"]["full_gradient"]])
        if rid == "batch":  # full batch: the step's gradient is the full-batch gradient
            np.testing.assert_allclose(joined(records, "gradients"), full, rtol=1e-12)
        else:
            assert not np.allclose(joined(records, "gradients"), full)
    # Same number of steps, but the stochastic path wanders: it is longer.
    assert length["sgd"] > 1.3 * length["batch"]
    assert length["sgd"] > length["mini"] > length["batch"] * 0.99


def test_batch_modes_need_data_and_change_live(client_factory):
    c = client_factory()
    c.send({"type": "start", "surface": "rosenbrock", "ref": "bad",
            "runners": [{**SGD, "batch": {"mode": "stochastic"}}]})  # fmt: skip
    error, _ = c.until("error", ref="bad")
    assert error["error"]["details"][0]["field"] == "runner.batch.mode"
    c.send(
        {"type": "start", "surface": {"data": "logreg", "params": {"n": 100}}, "runners": [SGD], "ref": "ok"}
    )
    state, _ = c.until("state", ref="ok")
    assert len(state["surface"]["data"]["targets"]) == 100
    c.send({"type": "update_runner", "runner": "a", "batch": {"mode": "minibatch", "size": 10}, "ref": "mb"})
    state, _ = c.until("state", ref="mb")
    assert state["runners"][0]["batch"] == {"mode": "minibatch", "size": 10}
    assert state["surface"]["data"] is None  # the data set came with the start; it is not sent again
    while True:
        records = c.frames(1, "a")
        sizes = {v[0] for r in records for v in r["extras"]["batch_size"]}
        if sizes == {10}:
            break
    c.send({"type": "set_surface", "surface": "booth", "ref": "nodata"})
    error, _ = c.until("error", ref="nodata")
    assert "full batch first" in error["error"]["message"]
