"""Surfaces and optimizers as the API lists them, and the plotting grid."""

from __future__ import annotations

import math

import torch

from app.descent.optimizers import OPTIMIZERS
from app.descent.surfaces import SURFACES
from tests.helpers import assert_error, strict_json


def test_healthz(client):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_surfaces_lists_every_registry_entry(client):
    body = strict_json(client.get("/api/surfaces").text)
    assert [s["id"] for s in body] == [*SURFACES, "linreg", "logreg", "logreg_ill"]
    assert {s["kind"] for s in body[: len(SURFACES)]} == {"analytic"}
    assert {s["kind"] for s in body[len(SURFACES) :]} == {"data"}
    for item in body[: len(SURFACES)]:
        s = SURFACES[item["id"]]
        assert item["formula"] == s.formula
        assert tuple(item["x_range"]) == s.x_range and tuple(item["y_range"]) == s.y_range
        assert [tuple(m) for m in item["minima"]] == list(s.minima)
        assert tuple(item["default_start"]) == s.default_start


def test_grid_values_are_the_surface_function(client):
    r = client.get("/api/surfaces/himmelblau/grid", params={"n": 7})
    body = strict_json(r.text)
    assert len(body["x"]) == 7 and len(body["y"]) == 7 and len(body["z"]) == 7
    fn = SURFACES["himmelblau"].fn
    for j in (0, 3, 6):
        for i in (0, 2, 5):
            expected = fn(
                torch.tensor(body["x"][i], dtype=torch.float64),
                torch.tensor(body["y"][j], dtype=torch.float64),
            ).item()
            assert math.isclose(body["z"][j][i], expected, rel_tol=1e-12)
    assert body["x"][0] == -5.0 and body["x"][-1] == 5.0


def test_grid_default_size_and_log_hint(client):
    body = client.get("/api/surfaces/rosenbrock/grid").json()
    assert len(body["x"]) == 120
    assert body["scale"] == "log"  # a narrow valley between steep walls
    assert client.get("/api/surfaces/quadratic_bowl/grid").json()["scale"] == "linear"


def test_grid_size_is_capped(client):
    assert_error(
        client.get("/api/surfaces/rosenbrock/grid", params={"n": 100_000}), 422, "invalid_input", "query.n"
    )
    assert_error(
        client.get("/api/surfaces/rosenbrock/grid", params={"n": "many"}), 422, "invalid_input", "query.n"
    )


def test_unknown_surface_is_404_in_the_error_shape(client):
    error = assert_error(client.get("/api/surfaces/nope/grid"), 404, "not_found")
    assert "rosenbrock" in error["message"]
    assert_error(client.get("/no/such/page"), 404, "not_found")


def test_custom_expression_grid_has_null_where_undefined(client):
    r = client.post(
        "/api/surfaces/grid",
        params={"n": 5},
        json={"expression": "log(x)", "x_range": [-1, 1], "y_range": [0, 1]},
    )
    body = strict_json(r.text)
    assert body["surface"] == "custom"
    assert body["z"][0][0] is None  # log(-1)
    assert body["z"][0][4] == 0.0  # log(1)


def test_custom_expression_errors_name_the_field_and_column(client):
    error = assert_error(
        client.post("/api/surfaces/grid", json={"expression": "x + __import__('os')"}), 422, "invalid_input"
    )
    assert error["details"][0]["field"] == "expression"
    error = assert_error(
        client.post("/api/surfaces/grid", json={"expression": "x^2 + z"}), 422, "invalid_input"
    )
    assert "unknown name 'z' at column 7" in error["message"]
    assert_error(
        client.post("/api/surfaces/grid", json={"expression": "x", "x_range": [1, 0]}),
        422,
        "invalid_input",
        "x_range",
    )


def test_optimizers_list_hyperparameters_with_ranges(client):
    body = strict_json(client.get("/api/optimizers").text)
    assert [o["id"] for o in body] == list(OPTIMIZERS)
    by_id = {o["id"]: o for o in body}
    adam = {h["name"]: h for h in by_id["adam"]["hyperparameters"]}
    assert adam["lr"]["default"] == 0.001 and adam["lr"]["log_scale"] and adam["lr"]["min_exclusive"]
    assert adam["betas"]["kind"] == "pair" and adam["betas"]["default"] == [0.9, 0.999]
    assert adam["amsgrad"]["kind"] == "bool"
    assert by_id["momentum"]["torch_class"] == "torch.optim.SGD"
    assert {h["name"] for h in by_id["momentum"]["hyperparameters"]} == {
        "lr",
        "momentum",
        "dampening",
        "weight_decay",
    }
    for o in body:
        assert "θ" in o["update_rule"]
        for h in o["hyperparameters"]:
            assert h["meaning"]
            if h["kind"] == "float":
                assert h["min"] <= h["default"] <= h["max"]


# The page's per-optimizer defaults as its own tables held them before the server served them
# (static/js/model.js ADAPTIVE_LR and SGD_LIKE, cnn/config.js CNN_LR, commands.js ADD_ORDER).
PAGE_DEFAULTS = {  # id: (race_lr, cnn_lr, add_rank)
    "sgd": (None, 0.05, 5),
    "momentum": (None, 0.01, 1),
    "nesterov": (None, 0.01, 2),
    "adagrad": (0.3, 0.01, 4),
    "rmsprop": (0.01, 0.001, 3),
    "adadelta": (1.0, 1.0, 10),
    "adam": (0.05, 0.001, 0),
    "adamw": (0.05, 0.001, 6),
    "nadam": (0.05, 0.002, 7),
    "radam": (0.05, 0.001, 8),
    "adamax": (0.05, 0.002, 9),
}


def test_optimizers_carry_the_page_defaults(client):
    body = strict_json(client.get("/api/optimizers").text)
    served = {o["id"]: (o["race_lr"], o["cnn_lr"], o["add_rank"]) for o in body}
    assert served == {oid: (s.race_lr, s.cnn_lr, s.add_rank) for oid, s in OPTIMIZERS.items()}
    assert served == PAGE_DEFAULTS


def test_security_headers_on_every_answer(client):
    for path in ("/", "/api/surfaces", "/nope"):
        r = client.get(path)
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert (
            "unsafe-inline" not in r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        )
        assert r.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert (
        "access-control-allow-origin"
        not in client.get("/api/surfaces", headers={"Origin": "http://evil"}).headers
    )


def test_plotly_is_served_from_the_package(client):
    from app.api.pages import PLOTLY_JS, plotly_version

    assert plotly_version()[0].isdigit()
    r = client.get(f"/vendor/plotly-{plotly_version()}.min.js")
    assert r.status_code == 200 and r.content == PLOTLY_JS.read_bytes()
    assert r.headers["content-type"].startswith("text/javascript")
