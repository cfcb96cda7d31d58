"""Bad input, generated: every REST body and every WebSocket message type, well-formed but extreme and
malformed alike. Each must be answered — 200 or the error shape, never a 500, never NaN in JSON — and the
same session must still work afterwards. Tests at the end check that every body the REST API reads and every
message type each socket takes (and each field of theirs) has a strategy here.

`make test` runs 2 800 examples; GDVIZ_FUZZ_SCALE=n runs n times as many (`make fuzz`: 8, so 22 400) and
GDVIZ_FUZZ_MIN_EXAMPLES makes the module fail unless at least that many ran to the end.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from app.config import Settings
from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES
from app.lessons import EXERCISES
from app.main import create_app
from app.sessions.cnn.protocol import CNN_SERVER_MESSAGE
from app.sessions.core import session_kinds
from app.sessions.race.protocol import SERVER_MESSAGE
from tests.helpers import strict_json

SCALE = int(os.environ.get("GDVIZ_FUZZ_SCALE", "1"))
MIN_EXAMPLES = int(os.environ.get("GDVIZ_FUZZ_MIN_EXAMPLES", "0"))
EXAMPLES: Counter[str] = Counter()  # test name -> examples that ran to the end


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


def counted(test):
    """Count each example the test runs to the end (under @given, which sees the test's own signature)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        test(*args, **kwargs)
        EXAMPLES[test.__name__] += 1

    return run


@pytest.fixture(scope="module", autouse=True)
def tally(pytestconfig):
    """After the module: the examples each test ran, their total, and under `make fuzz` the floor on it."""
    EXAMPLES.clear()
    yield
    total = sum(EXAMPLES.values())
    reporter = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and EXAMPLES:
        with pytestconfig.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            reporter.write_sep("-", f"hypothesis examples run at GDVIZ_FUZZ_SCALE={SCALE}")
            for name, n in sorted(EXAMPLES.items()):
                reporter.write_line(f"{n:>8}  {name}")
            reporter.write_line(f"{total:>8}  in all")
    assert total >= MIN_EXAMPLES, f"{total} examples ran, GDVIZ_FUZZ_MIN_EXAMPLES asks for {MIN_EXAMPLES}"


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


def body_of(fields: dict, required: tuple[str, ...] = ()) -> st.SearchStrategy:
    """Objects with some of these fields (each well-typed or junk) and now and then an unknown one."""
    optional = {name: s for name, s in fields.items() if name not in required}
    return st.fixed_dictionaries(
        {name: fields[name] for name in required}, optional={**optional, "extra_field": junk}
    )


expression_surface_fields = {"expression": expression_text, "x_range": junk, "y_range": junk}
data_surface_fields = {"data": surface_ids, "params": junk}
surface = st.one_of(
    surface_ids,
    body_of(expression_surface_fields, required=("expression",)),
    body_of(data_surface_fields, required=("data",)),
    junk,
)
point = st.one_of(st.lists(extreme, min_size=0, max_size=3), junk)
optimizer = st.one_of(st.sampled_from([*OPTIMIZERS, "sgdx"]), junk)

trajectory_fields = {
    "surface": surface,
    "optimizer": optimizer,
    "hyperparameters": hyperparameters,
    "start": point,
    "steps": st.one_of(st.integers(-5, 300), extreme),
    "curvature": scalar,
}
basins_fields = {
    "surface": surface,
    "optimizer": optimizer,
    "hyperparameters": hyperparameters,
    "n": st.one_of(st.integers(-2, 12), extreme),
    "steps": st.one_of(st.integers(-2, 60), extreme),
    "x_range": point,
    "y_range": point,
    "tolerance": extreme,
}
stability_fields = {
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
tune_optimizer_fields = {"optimizer": optimizer, "hyperparameters": hyperparameters}
tune_fields = {
    "surface": surface,
    "optimizers": st.one_of(st.lists(body_of(tune_optimizer_fields), max_size=4), junk),
    "start": point,
    "steps": st.one_of(st.integers(-2, 60), extreme),
    "lr_range": point,
    "n": st.one_of(st.integers(0, 45), extreme),
}
gradient_fields = {"x": extreme, "target": extreme, "lr": extreme}
descent_fields = {
    "x": extreme,
    "target": extreme,
    "lrs": st.one_of(st.lists(extreme, max_size=8), junk),
    "steps": st.one_of(st.integers(-2, 250), extreme),
}
chain_fields = {"W": extreme, "b": extreme, "x": extreme, "target": extreme}
backprop_fields = {
    "activation": st.one_of(st.sampled_from(["sigmoid", "relu", "tanh"]), junk),
    "depth": st.one_of(st.integers(0, 10), extreme),
    "width": st.one_of(st.integers(0, 10), extreme),
    "x": st.one_of(st.lists(extreme, max_size=10), junk),
    "target": extreme,
    "seed": extreme,
}
batches_fields = {
    "batch_sizes": st.one_of(st.lists(st.one_of(st.integers(-1, 300), extreme), max_size=8), junk),
    "draws": st.one_of(st.integers(0, 1200), extreme),
    "w": extreme,
    "b": extreme,
    "seed": extreme,
}
exercise_check_fields = {"seed": extreme, "answer": st.one_of(st.none(), extreme)}
step_factor_fields = {"lr": extreme, "x": extreme, "steps": st.one_of(st.integers(-2, 250), extreme)}
bowl_fields = {**step_factor_fields, "a": extreme, "b": extreme, "y": extreme}
# Every JSON body the REST API reads, by path (checked against the app's OpenAPI at the end).
REST_BODIES = {
    "/api/trajectory": body_of(trajectory_fields),
    "/api/basins": body_of(basins_fields),
    "/api/stability": body_of(stability_fields),
    "/api/tune": body_of(tune_fields),
    "/api/surfaces/grid": st.one_of(surface, junk),
    "/api/lessons/gradient": body_of(gradient_fields),
    "/api/lessons/descent": body_of(descent_fields),
    "/api/lessons/chain": body_of(chain_fields),
    "/api/lessons/backprop": body_of(backprop_fields),
    "/api/lessons/batches": body_of(batches_fields),
    "/api/lessons/stability": body_of(step_factor_fields),
    "/api/lessons/stability/bowl": body_of(bowl_fields),
    "/api/lessons/{lesson}/check": body_of(exercise_check_fields),
}
# What fills each {parameter} of those paths.
PATH_PARAMETERS = {"lesson": st.one_of(st.sampled_from([*EXERCISES, "nope"]), st.text(max_size=12))}


def fill(path: str, data) -> str:
    """The path with each {parameter} drawn from its strategy."""
    return re.sub(r"{(\w+)}", lambda m: quote(data.draw(PATH_PARAMETERS[m[1]]), safe=""), path)


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
    limits = Settings(max_steps=300, max_work=2_000_000, ws_messages_per_second=1e9)
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
@given(body=REST_BODIES["/api/trajectory"])
@counted
def test_trajectory_bodies(client, body):
    post(client, "/api/trajectory", body)


@examples(300)
@given(body=REST_BODIES["/api/basins"])
@counted
def test_basins_bodies(client, body):
    post(client, "/api/basins", body)


@examples(300)
@given(body=REST_BODIES["/api/stability"])
@counted
def test_stability_bodies(client, body):
    post(client, "/api/stability", body)


@examples(200)
@given(body=REST_BODIES["/api/tune"])
@counted
def test_tune_bodies(client, body):
    post(client, "/api/tune", body)


@examples(250)
@given(
    body=REST_BODIES["/api/surfaces/grid"],
    n=st.one_of(st.none(), st.integers(-5, 400), st.text(max_size=5)),
)
@counted
def test_grid_bodies_and_queries(client, body, n):
    params = {} if n is None else {"n": n}
    check_answer(client.post("/api/surfaces/grid", params=params, content=json.dumps(body, allow_nan=True)))
    name = quote(body, safe="") if isinstance(body, str) and body else "rosenbrock"
    check_answer(client.get(f"/api/surfaces/{name}/grid", params=params))


@examples(150)
@given(content=raw_bytes, path=st.sampled_from(sorted(REST_BODIES)), data=st.data())
@counted
def test_raw_bytes_bodies(client, content, path, data):
    headers = {"content-type": "application/json"}
    check_answer(client.post(fill(path, data), content=content, headers=headers))


# The bodies without a test of their own above: the lessons', and a new route's once it has its strategy.
OTHER_BODIES = sorted(
    set(REST_BODIES) - {"/api/trajectory", "/api/basins", "/api/stability", "/api/tune", "/api/surfaces/grid"}
)


@examples(200)
@given(path=st.sampled_from(OTHER_BODIES), data=st.data())
@counted
def test_other_bodies(client, path, data):
    post(client, fill(path, data), data.draw(REST_BODIES[path]))


# --- WebSocket ----------------------------------------------------------------------------------------------

batch_fields = {"mode": st.sampled_from(["full", "stochastic", "minibatch", "x"]), "size": extreme}
batch_spec = st.one_of(body_of(batch_fields, required=("mode",)), junk)
runner_fields = {
    "id": st.one_of(st.text(max_size=20), junk),
    "optimizer": optimizer,
    "hyperparameters": hyperparameters,
    "start": point,
    "batch": batch_spec,
}
runner_spec = body_of(runner_fields)
message_fields = {
    "start": {
        "surface": surface,
        "runners": st.one_of(st.lists(runner_spec, max_size=10), junk),
        "speed": extreme,
        "playing": scalar,
        "seed": extreme,
        "curvature": scalar,
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
    "set_curvature": {"enabled": scalar},
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
@counted
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
block_fields = {
    "channels": st.one_of(st.integers(-1, 20), extreme),
    "kernel": st.one_of(st.integers(-1, 9), extreme),
    "pool": st.one_of(st.sampled_from(["max", "avg", "none", "min"]), junk),
}
model_fields = {
    "kind": st.one_of(st.sampled_from(["cnn", "mlp", "rnn"]), junk),
    "blocks": st.one_of(st.lists(body_of(block_fields), max_size=4), junk),
    "depth": st.one_of(st.integers(-1, 10), extreme),
    "width": st.one_of(st.integers(0, 40), extreme),
    "activation": st.one_of(st.sampled_from(["relu", "tanh", "sigmoid", "gelu", "swish"]), junk),
    "batch_norm": scalar,
    "dropout": extreme,
    "init": st.one_of(st.sampled_from(["default", "xavier", "kaiming", "too_small", "zeros"]), junk),
    "seed": extreme,
}
model_spec = st.one_of(body_of(model_fields), junk)
schedule_fields = {  # the fields of every kind of schedule, mixed: each kind must refuse the others'
    "kind": st.one_of(st.sampled_from(["constant", "step", "cosine", "warmup", "cyclic"]), junk),
    "gamma": extreme,
    "every": extreme,
    "total_steps": extreme,
    "min_factor": extreme,
    "warmup_steps": extreme,
}
schedule_spec = st.one_of(body_of(schedule_fields), junk)
batch_size = st.one_of(st.integers(-1, 80), st.sampled_from(["full", "all"]), extreme)
# Measurements, small: a few steps apart on a few digits, so a measured step stays cheap.
measurement_fields = {
    "sharpness_every": st.one_of(st.integers(-1, 8), extreme),
    "noise_scale_every": st.one_of(st.integers(-1, 8), extreme),
    "sharpness_samples": st.one_of(st.integers(0, 40), extreme),
}
trainer_fields = {
    "optimizer": optimizer,
    "hyperparameters": hyperparameters,
    "batch_size": batch_size,
    "schedule": schedule_spec,
    "seed": extreme,
    "eval_every": extreme,
    "val_fraction": extreme,
    **measurement_fields,
}
trainer_spec = st.one_of(body_of(trainer_fields), junk)
cnn_message_fields = {
    "cnn_start": {"model": model_spec, "trainer": trainer_spec, "playing": scalar, "speed": extreme},
    "cnn_update": {
        "optimizer": optimizer,
        "hyperparameters": hyperparameters,
        "batch_size": batch_size,
        "schedule": schedule_spec,
        "eval_every": extreme,
        **measurement_fields,
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
@counted
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


# --- every body and every message has its strategy ----------------------------------------------------

# Each socket's message tables, by its path; and the fields of every model a body or a message can hold,
# by the model's name in the JSON Schema. The tests below derive what must be here from the app itself.
SOCKET_MESSAGES = {"/ws": message_fields, "/ws/cnn": cnn_message_fields}
MODEL_FIELDS = {
    "TrajectoryRequest": trajectory_fields,
    "BasinsRequest": basins_fields,
    "StabilityRequest": stability_fields,
    "TuneRequest": tune_fields,
    "TuneOptimizer": tune_optimizer_fields,
    "GradientRequest": gradient_fields,
    "DescentRequest": descent_fields,
    "ChainRequest": chain_fields,
    "BackpropRequest": backprop_fields,
    "BatchesRequest": batches_fields,
    "StepFactorRequest": step_factor_fields,
    "BowlRequest": bowl_fields,
    "ExerciseCheck": exercise_check_fields,
    "ExpressionSurface": expression_surface_fields,
    "DataSurface": data_surface_fields,
    "RunnerSpec": runner_fields,
    "BatchSpec": batch_fields,
    "ModelConfig": model_fields,
    "ConvBlock": block_fields,
    "TrainerConfig": trainer_fields,
    **{f"{kind}Schedule": schedule_fields for kind in ("Constant", "Step", "Cosine", "Warmup")},
}


def models_in(schema, definitions: dict) -> dict[str, dict]:
    """Every object model a schema refers to, directly or through others: name -> its JSON Schema."""
    found: dict[str, dict] = {}

    def walk(node) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found[name] = definitions[name]
                    walk(definitions[name])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return {name: model for name, model in found.items() if "properties" in model}


def unfuzzed_fields(models: dict[str, dict]) -> list[str]:
    return [
        f"{name}.{field}"
        for name, model in models.items()
        for field in model["properties"]
        if field not in MODEL_FIELDS.get(name, {})
    ]


def test_every_rest_body_has_a_strategy_for_each_of_its_fields():
    spec = create_app().openapi()
    bodies = {
        path: operation["requestBody"]["content"]["application/json"]["schema"]
        for path, operations in spec["paths"].items()
        for operation in operations.values()
        if "requestBody" in operation
    }
    assert sorted(set(bodies) - set(REST_BODIES)) == [], "bodies the API reads without a strategy"
    assert sorted(set(REST_BODIES) - set(bodies)) == [], "strategies for bodies the API no longer reads"
    parameters = {name for path in bodies for name in re.findall(r"{(\w+)}", path)}
    assert sorted(parameters - set(PATH_PARAMETERS)) == [], "path parameters without a strategy"
    models = {}
    for schema in bodies.values():
        models |= models_in(schema, spec["components"]["schemas"])
    assert unfuzzed_fields(models) == []


@pytest.mark.parametrize("kind", session_kinds(), ids=lambda kind: kind.path)
def test_every_message_type_of_each_socket_has_a_strategy_for_each_of_its_fields(kind):
    assert kind.path in SOCKET_MESSAGES, f"no message strategies (and no test) for the socket {kind.path}"
    tables = SOCKET_MESSAGES[kind.path]
    schema = kind.client.json_schema()
    types = schema["discriminator"]["mapping"]
    assert sorted(set(types) - set(tables)) == [], f"message types of {kind.path} without a strategy"
    models = models_in(schema, schema["$defs"])
    unfuzzed = [
        f"{kind_}.{field}"
        for kind_, ref in types.items()
        for field in models[ref.rsplit("/", 1)[1]]["properties"]
        if field not in {"type", "ref", *tables[kind_]}
    ]
    messages = {ref.rsplit("/", 1)[1] for ref in types.values()}
    assert unfuzzed + unfuzzed_fields({n: m for n, m in models.items() if n not in messages}) == []
