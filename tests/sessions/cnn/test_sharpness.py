"""The sharpness and the noise scale over /ws/cnn: streamed after the frame of the step they were measured
at, switched on and off live, costly settings refused naming the field, full batches."""

from __future__ import annotations

import pytest

from tests.sessions.cnn.test_session import SMALL, CnnClient


def start(c: CnnClient, trainer: dict, **extra) -> dict:
    """As test_session.start, with more time: the first torch optimizer a server makes imports torch._dynamo
    (2–10 s on this host), and these tests may run first."""
    c.send({"type": "cnn_start", "model": SMALL, "trainer": trainer, "speed": 400, "ref": "go", **extra})
    return c.until("cnn_state", ref="go", timeout=60)[0]


def measurements(c: CnnClient, kind: str, n: int, timeout: float = 30.0) -> tuple[list[dict], list[int]]:
    """The next n messages of this kind, and every step seen in frames before each of them."""
    got, steps = [], []
    while len(got) < n:
        message, seen = c.until(kind, timeout=timeout)
        steps += [s["step"] for m in seen if m["type"] == "cnn_frame" for s in m["steps"]]
        assert message["step"] <= max(steps, default=0)  # after the frame holding its step
        got.append(message)
    return got, steps


def test_the_sharpness_streams_every_so_many_steps_with_its_threshold(server_url):
    c = CnnClient(server_url)
    trainer = {
        "optimizer": "sgd",
        "hyperparameters": {"lr": 0.1},
        "sharpness_every": 5,
        "sharpness_samples": 64,
    }
    state = start(c, trainer=trainer)
    assert state["trainer"]["sharpness_every"] == 5 and state["trainer"]["noise_scale_every"] == 0
    got, _ = measurements(c, "cnn_sharpness", 3)
    assert [m["step"] for m in got] == [5, 10, 15]
    for m in got:
        assert m["quantity"] == "sharpness" and m["threshold"] == pytest.approx(20.0)
        assert m["lambda_max"] > 0 and m["samples"] == 64 and m["optimizer"] == "sgd" and m["lr"] == 0.1
        assert 1 <= m["iterations"] <= 20 and m["seconds"] > 0 and m["formula"] == "λ_max(H) < 2/η − λ"
    # Adam: the preconditioned sharpness against (2 + 2β₁)/((1 − β₁)η); then off: no more.
    c.send({"type": "cnn_update", "optimizer": "adam", "hyperparameters": {"lr": 0.001}, "ref": "adam"})
    c.until("cnn_state", ref="adam")
    (m,), _ = measurements(c, "cnn_sharpness", 1)
    assert m["quantity"] == "preconditioned_sharpness" and m["threshold"] == pytest.approx(38_000.0)
    c.send({"type": "cnn_update", "sharpness_every": 0, "ref": "off"})
    state, _ = c.until("cnn_state", ref="off")
    assert state["trainer"]["sharpness_every"] == 0
    last = seen = state["step"]
    while seen < last + 30:  # six more periods of 5 steps: none measured past one already under way
        message = c.recv(timeout=20)
        assert message["type"] != "cnn_sharpness" or message["step"] <= last + 5
        if message["type"] == "cnn_frame":
            seen = max(seen, *(s["step"] for s in message["steps"]))
    c.close()


def test_full_batches_and_the_noise_scale_beside_them(server_url):
    c = CnnClient(server_url)
    trainer = {
        "optimizer": "sgd",
        "hyperparameters": {"lr": 0.1},
        "batch_size": "full",
        "noise_scale_every": 4,
    }
    state = start(c, trainer=trainer)
    assert state["trainer"]["batch_size"] == "full"
    (m,), steps = measurements(c, "cnn_noise_scale", 1)
    assert m["step"] == 4 and m["batch_size"] == 1437 and m["samples"] == 512 and m["estimator"] == "sample"
    assert m["b_simple"] > 0 and m["trace_sigma"] > 0 and m["unavailable"] is None
    c.send({"type": "cnn_update", "batch_size": 32, "ref": "b"})
    state, _ = c.until("cnn_state", ref="b")
    assert state["trainer"]["batch_size"] == 32
    batches = [s["batch_size"] for s in c.steps(3)]
    assert batches[-1] == 32
    c.close()


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "cnn_update", "batch_size": "half"}, "cnn_update.batch_size"),
        ({"type": "cnn_update", "sharpness_every": -1}, "cnn_update.sharpness_every"),
        ({"type": "cnn_update", "sharpness_samples": 1}, "cnn_update.sharpness_samples"),
        # the largest MLP: the measurement over its cost bound, on a change and at the start
        ({"type": "cnn_model", "model": {"kind": "mlp", "depth": 8, "width": 256}}, "sharpness_samples"),
    ],
)
def test_bad_or_costly_settings_name_the_field_and_the_session_lives(server_url, message, field):
    c = CnnClient(server_url)
    start(c, trainer={"sharpness_every": 10}, playing=False)
    c.send({**message, "ref": "bad"})
    error, _ = c.until("error", ref="bad")
    assert field in [d["field"] for d in error["error"]["details"]], error
    if message["type"] == "cnn_model":
        assert "over the bound of 3 G" in error["error"]["message"]
    c.send({"type": "step", "count": 1, "ref": "alive"})
    state, _ = c.until("cnn_state", ref="alive")
    assert state["model"]["kind"] == "cnn"
    c.close()


def test_a_costly_start_is_refused_and_a_batch_norm_start_with_a_batch_of_one_too(server_url):
    c = CnnClient(server_url)
    big = {"kind": "mlp", "depth": 8, "width": 256}
    c.send({"type": "cnn_start", "model": big, "trainer": {"noise_scale_every": 5}, "ref": "big"})
    error, _ = c.until("error", ref="big", timeout=60)
    assert error["error"]["code"] == "invalid_input" and "at most 177 digits" in error["error"]["message"]
    c.send(
        {
            "type": "cnn_start",
            "model": {**SMALL, "batch_norm": True},
            "trainer": {"batch_size": 1},
            "ref": "bn",
        }
    )
    error, _ = c.until("error", ref="bn")
    assert error["error"]["code"] == "invalid_input" and "batch norm" in error["error"]["message"]
    c.close()
