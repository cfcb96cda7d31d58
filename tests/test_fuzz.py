"""Bad input, generated: every REST body and every WebSocket message type, well-formed but extreme and
malformed alike. Each must be answered — 200 or the error shape, never a 500, never NaN in JSON — and the
same session must still work afterwards.

At least 2 000 examples run in `make test`; GDVIZ_FUZZ_SCALE=10 runs ten times as many.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES
from app.main import create_app
from app.sessions.cnn.protocol import CNN_SERVER_MESSAGE
from app.sessions.race.protocol import SERVER_MESSAGE
from tests.helpers import strict_json

SCALE = int(os.environ.get("GDVIZ_FUZZ_SCALE", "1"))


def examples(n: int):
    return settings(
        max_examples=n * SCALE,
        deadline=None,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


# --- strategies --------------------------------------------------------------------------------------------

extreme = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from(
        [0, -1, 1, 1e308, -1e308, 5e-324, 2**63, "NaN", "Infinity", "-inf", "1e999", "", "0x10", True]
    ),
)
scalar = st.one_of(st.none(), st.booleans(), extreme, st.text(max_size=40))
junk = st.recursive(
    scalar,
    lambda children: (
        st.lists(children, max_size=6) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=25,
)
hp_names = sorted({hp.name for spec in OPTIMIZERS.values() for hp in spec.hyperparameters} | {"betas", "zz"})
hyperparameters = st.one_of(
    st.dictionaries(
        st.sampled_from(hp_names), st.one_of(extreme, st.lists(extreme, max_size=3), junk), max_size=5
    ),
    junk,
)
surface_ids = st.sampled_from([*SURFACES, "linreg", "logreg", "logreg_ill", "nope", ""])
expression_text = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["x^2+y^2", "sin(x)*cos(y)", "__import__('os')", "x**9**9", "(" * 500 + "x" + ")" * 500]),
)
surface = st.one_of(
    surface_ids,
    st.fixed_dictionaries({"expression": expression_text}, optional={"x_range": junk, "y_range": junk}),
    st.fixed_dictionaries({"data": surface_ids}, optional={"params": junk}),
    junk,
)
point = st.one_of(st.lists(extreme, min_size=0, max_size=3), junk)
optimizer = st.one_of(st.sampled_from([*OPTIMIZERS, "sgdx"]), junk)


def body_of(fields: dict) -> st.SearchStrategy:
    """Objects with some of these fields (each well-typed or junk) and now and then an unknown one."""
    return st.fixed_dictionaries({}, optional={**fields, "extra_field": junk})


trajectory_body = body_of(
    {
        "surface": surface,
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "start": point,
        "steps": st.one_of(st.integers(-5, 300), extreme),
    }
)
basins_body = body_of(
    {
        "surface": surface,
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "n": st.one_of(st.integers(-2, 12), extreme),
        "steps": st.one_of(st.integers(-2, 60), extreme),
        "x_range": point,
        "y_range": point,
        "tolerance": extreme,
    }
)
stability_body = body_of(
    {
        "surface": surface,
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "start": point,
        "steps": st.one_of(st.integers(0, 60), extreme),
        "lr_range": point,
        "axis": st.one_of(st.sampled_from(["momentum", "beta1", "beta2", "rho", "lr"]), junk),
        "axis_range": point,
        "n": st.one_of(st.integers(0, 6), extreme),
    }
)
lesson_bodies = {
    "gradient": body_of({"x": extreme, "target": extreme, "lr": extreme}),
    "descent": body_of(
        {
            "x": extreme,
            "target": extreme,
            "lrs": st.one_of(st.lists(extreme, max_size=8), junk),
            "steps": st.one_of(st.integers(-2, 250), extreme),
        }
    ),
    "chain": body_of({"W": extreme, "b": extreme, "x": extreme, "target": extreme}),
    "backprop": body_of(
        {
            "activation": st.one_of(st.sampled_from(["sigmoid", "relu", "tanh"]), junk),
            "depth": st.one_of(st.integers(0, 10), extreme),
            "width": st.one_of(st.integers(0, 10), extreme),
            "x": st.one_of(st.lists(extreme, max_size=10), junk),
            "y": extreme,
            "seed": extreme,
        }
    ),
}
raw_bytes = st.one_of(
    st.binary(max_size=200),
    st.sampled_from(
        [b"", b"{", b"[" * 5000, b'{"surface": NaN}', b"\xff\xfe\x00", b'"just a string"', b"null"]
    ),
)


@pytest.fixture(scope="module")
def client():
    # Small work limits: the fuzzer explores validation, not long computations; and no rate limit: the
    # fuzzer sends hundreds of messages a second on purpose.
    limits = Settings(max_steps=300, max_basin_work=20_000, ws_messages_per_second=1e9)
    with TestClient(create_app(limits)) as c:
        yield c


def check_answer(response) -> None:
    assert response.status_code in (200, 400, 404, 405, 413, 422), (response.status_code, response.text[:300])
    body = strict_json(response.text)  # no NaN / Infinity, and it is JSON
    if response.status_code != 200:
        assert set(body) == {"error"}
        assert body["error"]["code"] and body["error"]["message"]
        json.dumps(body["error"]["details"], allow_nan=False)


def post(client, path: str, body) -> None:
    check_answer(
        client.post(
            path, content=json.dumps(body, allow_nan=True), headers={"content-type": "application/json"}
        )
    )


@examples(500)
@given(body=trajectory_body)
def test_trajectory_bodies(client, body):
    post(client, "/api/trajectory", body)


@examples(300)
@given(body=basins_body)
def test_basins_bodies(client, body):
    post(client, "/api/basins", body)


@examples(300)
@given(body=stability_body)
def test_stability_bodies(client, body):
    post(client, "/api/stability", body)


@examples(250)
@given(body=st.one_of(surface, junk), n=st.one_of(st.none(), st.integers(-5, 400), st.text(max_size=5)))
def test_grid_bodies_and_queries(client, body, n):
    params = {} if n is None else {"n": n}
    check_answer(client.post("/api/surfaces/grid", params=params, content=json.dumps(body, allow_nan=True)))
    name = quote(body, safe="") if isinstance(body, str) and body else "rosenbrock"
    check_answer(client.get(f"/api/surfaces/{name}/grid", params=params))


@examples(150)
@given(
    content=raw_bytes,
    path=st.sampled_from(["/api/trajectory", "/api/basins", "/api/stability", "/api/surfaces/grid"]),
)
def test_raw_bytes_bodies(client, content, path):
    check_answer(client.post(path, content=content, headers={"content-type": "application/json"}))


@examples(200)
@given(lesson=st.sampled_from(sorted(lesson_bodies)), data=st.data())
def test_lesson_bodies(client, lesson, data):
    post(client, f"/api/lessons/{lesson}", data.draw(lesson_bodies[lesson]))


# --- WebSocket ----------------------------------------------------------------------------------------------

batch_spec = st.one_of(
    st.fixed_dictionaries(
        {"mode": st.sampled_from(["full", "stochastic", "minibatch", "x"])}, optional={"size": extreme}
    ),
    junk,
)
runner_spec = body_of(
    {
        "id": st.one_of(st.text(max_size=20), junk),
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "start": point,
        "batch": batch_spec,
    }
)
message_fields = {
    "start": {
        "surface": surface,
        "runners": st.one_of(st.lists(runner_spec, max_size=10), junk),
        "speed": extreme,
        "playing": scalar,
        "seed": extreme,
    },
    "update_runner": {
        "runner": st.one_of(st.sampled_from(["a", "b", "zz"]), junk),
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "batch": batch_spec,
    },
    "add_runner": {"runner": runner_spec},
    "remove_runner": {"runner": st.one_of(st.sampled_from(["a", "b"]), junk)},
    "set_start": {"start": point, "runner": st.one_of(st.sampled_from(["a", "b"]), junk)},
    "play": {},
    "pause": {},
    "step": {"count": st.one_of(st.integers(-3, 30), extreme)},
    "set_speed": {"speed": extreme},
    "reset": {},
    "set_surface": {"surface": surface},
    "warp": {"anything": junk},
}


def message_texts(fields_by_type: dict[str, dict]) -> st.SearchStrategy:
    """Socket texts: messages of each type with some of its fields (and a ref), junk, or any text."""
    message = st.one_of(
        *[
            st.fixed_dictionaries(
                {"type": st.just(kind)}, optional={**fields, "ref": st.one_of(st.text(max_size=80), junk)}
            )
            for kind, fields in fields_by_type.items()
        ],
        junk,
    )
    return st.one_of(message.map(lambda m: json.dumps(m, allow_nan=True)), st.text(max_size=200))


ws_text = message_texts(message_fields)


@pytest.fixture(scope="module")
def session(client):
    with client.websocket_connect("/ws") as ws:
        assert ws.receive_json()["type"] == "hello"
        yield ws


def alive(ws, probe: int, schema=SERVER_MESSAGE) -> list[dict]:
    """Send a probe and read up to its answer: the session must still take commands. Every message read
    on the way (on the CNN socket, landscape messages from a worker thread too) must fit the schema."""
    ws.send_text(json.dumps({"type": "pause", "ref": f"probe-{probe}"}))
    seen = []
    while True:
        message = strict_json(ws.receive_text())
        schema.validate_python(message)
        seen.append(message)
        if message.get("ref") == f"probe-{probe}":
            return seen


counter = iter(range(10**9))


@examples(600)
@given(text=ws_text, binary=st.booleans())
def test_websocket_messages(session, text, binary):
    if binary:
        session.send_bytes(text.encode("utf-8", "surrogatepass"))
    else:
        session.send_text(text)
    seen = alive(session, next(counter))
    errors = [m for m in seen if m["type"] == "error"]
    for e in errors:
        assert e["error"]["code"] != "internal_error", e
    # A valid start keeps the session in a known state: a small race on a fixed surface, paused.
    if not any(m["type"] == "state" for m in seen[:-1]):
        return
    runners = [
        {"id": "a", "optimizer": "sgd", "start": [0.5, 0.5]},
        {"id": "b", "optimizer": "adam", "start": [1, 1]},
    ]
    session.send_text(json.dumps({"type": "start", "surface": "booth", "runners": runners, "playing": False}))
    alive(session, next(counter))


# --- the CNN socket ------------------------------------------------------------------------------------

SMALL_NET = {"kind": "cnn", "blocks": [{"channels": 4, "kernel": 3, "pool": "max"}], "depth": 1, "width": 16}
model_spec = st.one_of(
    body_of(
        {
            "kind": st.one_of(st.sampled_from(["cnn", "mlp", "rnn"]), junk),
            "blocks": st.one_of(
                st.lists(
                    body_of(
                        {
                            "channels": st.one_of(st.integers(-1, 20), extreme),
                            "kernel": st.one_of(st.integers(-1, 9), extreme),
                            "pool": st.one_of(st.sampled_from(["max", "avg", "none", "min"]), junk),
                        }
                    ),
                    max_size=4,
                ),
                junk,
            ),
            "depth": st.one_of(st.integers(-1, 10), extreme),
            "width": st.one_of(st.integers(0, 40), extreme),
            "activation": st.one_of(st.sampled_from(["relu", "tanh", "sigmoid", "gelu", "swish"]), junk),
            "batch_norm": scalar,
            "dropout": extreme,
            "init": st.one_of(st.sampled_from(["default", "xavier", "kaiming", "too_small", "zeros"]), junk),
            "seed": extreme,
        }
    ),
    junk,
)
schedule_spec = st.one_of(
    body_of(
        {
            "kind": st.one_of(st.sampled_from(["constant", "step", "cosine", "warmup", "cyclic"]), junk),
            "gamma": extreme,
            "every": extreme,
            "total_steps": extreme,
            "warmup_steps": extreme,
        }
    ),
    junk,
)
trainer_spec = st.one_of(
    body_of(
        {
            "optimizer": optimizer,
            "hyperparameters": hyperparameters,
            "batch_size": st.one_of(st.integers(-1, 80), extreme),
            "schedule": schedule_spec,
            "seed": extreme,
            "eval_every": extreme,
            "val_fraction": extreme,
        }
    ),
    junk,
)
cnn_message_fields = {
    "cnn_start": {"model": model_spec, "trainer": trainer_spec, "playing": scalar, "speed": extreme},
    "cnn_update": {
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "batch_size": st.one_of(st.integers(-1, 80), extreme),
        "schedule": schedule_spec,
        "eval_every": extreme,
    },
    "cnn_model": {"model": model_spec},
    "cnn_reset": {"seed": extreme},
    "cnn_snapshot": {},
    "cnn_landscape": {
        "plane": st.one_of(st.sampled_from(["pca", "random", "pcb"]), junk),
        "n": st.one_of(st.integers(0, 9), extreme),  # small grids: the fuzzer explores validation
        "seed": extreme,
        "radius": extreme,
    },
    "cnn_landscape_cancel": {},
    "play": {},
    "pause": {},
    "step": {"count": st.one_of(st.integers(-3, 5), st.text(max_size=5), junk)},
    "set_speed": {"speed": extreme},
    "start": {"surface": surface},  # a 2-D message on the CNN socket
}
cnn_text = message_texts(cnn_message_fields)


@pytest.fixture(scope="module")
def cnn_session(client):
    with client.websocket_connect("/ws/cnn") as ws:
        assert ws.receive_json()["type"] == "hello"
        yield ws


@examples(300)
@given(text=cnn_text, binary=st.booleans())
def test_cnn_socket_messages(cnn_session, text, binary):
    if binary:
        cnn_session.send_bytes(text.encode("utf-8", "surrogatepass"))
    else:
        cnn_session.send_text(text)
    seen = alive(cnn_session, next(counter), CNN_SERVER_MESSAGE)
    for m in seen[:-1]:
        event(m["type"] if m["type"] != "error" else f"error {m['error']['code']}")
    for m in seen:
        if m["type"] == "error":
            assert m["error"]["code"] != "internal_error", m
        if m["type"] == "cnn_landscape_done":  # failing is allowed only for a reason it can name
            assert m["status"] != "failed" or "logged" not in (m["message"] or ""), m
    # A valid start, model or reset: back to a small network, paused, so no example inherits a big one.
    if any(m["type"] == "cnn_state" for m in seen[:-1]):
        cnn_session.send_text(json.dumps({"type": "cnn_start", "model": SMALL_NET, "playing": False}))
        alive(cnn_session, next(counter), CNN_SERVER_MESSAGE)
