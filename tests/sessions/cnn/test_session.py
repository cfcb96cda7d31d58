"""CNN trainings over /ws/cnn: measured steps streamed, live changes, training slots, errors."""

from __future__ import annotations

import time

import pytest

from app.sessions.cnn.protocol import CNN_SERVER_MESSAGE
from tests.helpers import Client

SMALL = {"kind": "cnn", "blocks": [{"channels": 4, "kernel": 3, "pool": "max"}], "depth": 1, "width": 16}


class CnnClient(Client):
    def __init__(self, url: str, **kwargs):
        super().__init__(url, path="/ws/cnn", schema=CNN_SERVER_MESSAGE, **kwargs)

    def steps(self, n: int, timeout: float = 20.0) -> list[dict]:
        got, deadline = [], time.monotonic() + timeout
        while len(got) < n:
            message = self.recv(max(0.01, deadline - time.monotonic()))
            if message["type"] == "cnn_frame":
                got += message["steps"]
        return got


def start(c: CnnClient, **extra) -> dict:
    trainer = {"optimizer": "adam", "hyperparameters": {"lr": 0.003}}
    body = {"type": "cnn_start", "model": SMALL, "trainer": trainer, "speed": 400, "ref": "go", **extra}
    c.send(body)
    state, _ = c.until("cnn_state", ref="go")
    return state


def test_a_training_streams_every_step_with_its_measurements(server_url):
    c = CnnClient(server_url)
    assert c.hello["type"] == "hello"
    state = start(c)
    assert state["parameter_count"] > 0 and [layer["name"] for layer in state["layers"]][0] == "conv1"
    assert state["trainer"]["hyperparameters"]["betas"] == [0.9, 0.999]
    steps = c.steps(40)
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))  # every step, in order
    first = steps[0]
    assert first["params"]["names"][0] == "conv1.weight" and all(g > 0 for g in first["params"]["grad_norm"])
    assert "act1" in first["layers"]["names"] and first["lr"] == 0.003
    snapshot, _ = c.until("cnn_snapshot")
    report = snapshot["report"]
    assert len(report["confusion"]) == 10 and len(report["predictions"]) == 16
    assert report["grad_histograms"] and len(report["grad_histograms"][0]["counts"]) == 41
    c.close()


def test_an_lr_change_applies_to_the_next_step_and_keeps_adams_state(server_url):
    c = CnnClient(server_url)
    start(c)
    c.steps(5)
    c.send({"type": "cnn_update", "hyperparameters": {"lr": 0.0005}, "ref": "lr"})
    state, before = c.until("cnn_state", ref="lr")
    assert state["trainer"]["hyperparameters"]["lr"] == 0.0005
    last = max([s["step"] for m in before if m["type"] == "cnn_frame" for s in m["steps"]], default=0)
    nxt = next(s for s in c.steps(60) if s["step"] > max(last, state["step"]))
    assert nxt["lr"] == 0.0005
    c.send({"type": "cnn_update", "optimizer": "momentum", "ref": "opt"})
    state, _ = c.until("cnn_state", ref="opt")
    assert state["trainer"]["optimizer"] == "momentum"
    assert state["trainer"]["hyperparameters"]["lr"] == 0.0005  # a shared name carries over
    c.close()


def test_pause_step_and_a_snapshot_on_request(server_url):
    c = CnnClient(server_url)
    start(c, playing=False)
    c.send({"type": "step", "count": 3, "ref": "s"})
    c.until("cnn_state", ref="s")
    steps = c.steps(3)
    assert [s["step"] for s in steps] == [1, 2, 3]
    with pytest.raises(TimeoutError):
        while True:
            message = c.recv(timeout=0.5)
            assert message["type"] != "cnn_frame"
    c.send({"type": "cnn_snapshot", "ref": "snap"})
    c.until("cnn_state", ref="snap")
    snapshot, _ = c.until("cnn_snapshot")
    assert snapshot["report"]["step"] == 3
    c.close()


def test_training_slots_queue_the_rest_and_show_the_place(server_with):
    server = server_with(max_trainings=1)
    first, second = CnnClient(server.url), CnnClient(server.url)
    start(first)
    first.steps(3)
    state = start(second)
    assert state["queue_position"] == 1 and state["playing"]
    with pytest.raises(TimeoutError):
        while True:
            assert second.recv(timeout=0.6)["type"] != "cnn_frame"  # waiting: no steps
    first.send({"type": "pause", "ref": "p"})
    state, _ = second.until("cnn_state")
    assert state["cause"] == "slot" and state["queue_position"] is None
    assert second.steps(3)[0]["step"] == 1
    second.close()  # a closed tab frees its slot
    time.sleep(0.3)
    first.send({"type": "play", "ref": "again"})
    state, _ = first.until("cnn_state", ref="again")
    assert state["queue_position"] is None
    first.steps(2)
    first.close()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        (
            {"type": "cnn_start", "model": {"blocks": [{"channels": 100}]}},
            "cnn_start.model.blocks.0.channels",
        ),
        ({"type": "cnn_start", "trainer": {"optimizer": "nope"}}, "cnn_start.trainer.optimizer"),
        (
            {"type": "cnn_start", "trainer": {"hyperparameters": {"lr": -1}}},
            "cnn_start.trainer.hyperparameters.lr",
        ),
        ({"type": "cnn_update", "hyperparameters": {"lr": -1}}, "hyperparameters.lr"),
        ({"type": "cnn_update", "optimizer": "nope"}, "optimizer"),
        ({"type": "cnn_update", "batch_size": 9999}, "cnn_update.batch_size"),
        ({"type": "cnn_model", "model": {"kind": "rnn"}}, "cnn_model.model.kind"),
        ({"type": "start", "surface": "booth"}, "type"),
    ],
)
def test_bad_cnn_messages_name_the_field_and_the_session_lives(server_url, message, field):
    c = CnnClient(server_url)
    start(c, playing=False)
    c.send(message)
    error, _ = c.until("error")
    assert field in [d["field"] for d in error["error"]["details"]], error
    c.send({"type": "step", "count": 1, "ref": "alive"})
    c.until("cnn_state", ref="alive")
    assert c.steps(1)[0]["step"] >= 1
    c.close()


def test_batch_norm_refuses_batches_of_one(server_url):
    c = CnnClient(server_url)
    start(c, model={**SMALL, "batch_norm": True}, playing=False)
    c.send({"type": "cnn_update", "batch_size": 1, "ref": "bn"})
    error, _ = c.until("error", ref="bn")
    assert "batch norm" in error["error"]["message"]
    c.close()


def test_a_diverging_training_stops_and_says_so(server_url):
    c = CnnClient(server_url)
    # weights drawn far too large, no saturation, and a huge step with heavy momentum: float32 overflows
    model = {"kind": "mlp", "depth": 3, "width": 32, "activation": "leaky_relu", "init": "too_large"}
    start(
        c, trainer={"optimizer": "momentum", "hyperparameters": {"lr": 50.0, "momentum": 0.99}}, model=model
    )
    state, seen = c.until("cnn_state", timeout=30)
    assert state["cause"] == "diverged" and state["diverged"] and not state["playing"]
    steps = [s for m in seen if m["type"] == "cnn_frame" for s in m["steps"]]
    assert steps[-1]["diverged"] and steps[-1]["loss"] is None  # no NaN on the wire
    c.send({"type": "cnn_reset", "ref": "r"})
    state, _ = c.until("cnn_state", ref="r")
    assert not state["diverged"] and state["step"] == 0
    c.close()
