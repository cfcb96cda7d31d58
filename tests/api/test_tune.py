"""POST /api/tune: each optimizer's learning rate swept, the best one picked; bad bodies refused naming the
field."""

from __future__ import annotations

import math

import numpy as np
from fastapi.testclient import TestClient

from app.config import Settings
from app.descent import cost
from app.descent.surfaces import SURFACES
from app.inputs import DataSurface, surface_load
from app.main import create_app
from tests.descent.test_tune import torch_final
from tests.helpers import assert_error, strict_json


def test_tune_answers_each_optimizer_in_order(client):
    body = {
        "surface": "ill_conditioned_bowl",
        "optimizers": [
            {"optimizer": "sgd"},
            {"optimizer": "adam", "hyperparameters": {"betas": [0.8, 0.99]}},
        ],
        "steps": 300,
        "n": 40,
    }
    response = client.post("/api/tune", json=body)
    assert response.status_code == 200, response.text
    answer = strict_json(response.text)  # diverged runs' huge losses, never NaN or Infinity
    assert answer["surface"] == "ill_conditioned_bowl" and answer["steps"] == 300
    sgd, adam = answer["results"]
    assert (sgd["optimizer"], adam["optimizer"]) == ("sgd", "adam")
    for result in (sgd, adam):
        lrs = result["lrs"]
        assert len(lrs) == len(result["final_losses"]) == len(result["statuses"]) == 40
        np.testing.assert_allclose(lrs, np.geomspace(1e-5, 10.0, 40), rtol=1e-15)  # the default range
        assert result["best_lr"] in lrs
        assert result["statuses"][lrs.index(result["best_lr"])] != "diverged"
    # plain GD: η* = 2/(1 + 25) ≈ 0.077 is within a grid step of the pick; beyond 2/25 every run diverges
    step = math.log(sgd["lrs"][1] / sgd["lrs"][0])
    assert abs(math.log(sgd["best_lr"] / (2 / 26))) <= step
    assert all(s == "diverged" for lr, s in zip(sgd["lrs"], sgd["statuses"], strict=True) if lr > 0.08)
    # the pick's loss equals torch.optim's at that η
    surface = SURFACES["ill_conditioned_bowl"]
    k = sgd["lrs"].index(sgd["best_lr"])
    expected, _ = torch_final(surface, "sgd", {"lr": sgd["best_lr"]}, surface.default_start, 300)
    np.testing.assert_allclose(sgd["final_losses"][k], expected, rtol=1e-9, atol=1e-12)


def test_tune_takes_a_start_a_range_and_an_expression(client):
    body = {
        "surface": {"expression": "x^2 + 10*y^2"},
        "optimizers": [{"optimizer": "momentum", "hyperparameters": {"momentum": 0.5, "lr": 50}}],
        "start": [1.0, 1.0],
        "steps": 50,
        "lr_range": [0.001, 1.0],
        "n": 4,
    }
    answer = client.post("/api/tune", json=body).json()
    (result,) = answer["results"]
    assert answer["surface"] == "custom"
    np.testing.assert_allclose(result["lrs"], [0.001, 0.01, 0.1, 1.0], rtol=1e-14)  # the given lr is swept
    assert result["statuses"][-1] == "diverged" and result["best_lr"] == 0.1


def test_every_run_diverging_picks_none(client):
    body = {"surface": "quadratic_bowl", "optimizers": [{"optimizer": "sgd"}], "steps": 100}
    answer = client.post("/api/tune", json={**body, "lr_range": [2.0, 50.0], "n": 3}).json()
    (result,) = answer["results"]
    assert result["best_lr"] is None and result["statuses"] == ["diverged"] * 3


def test_bad_bodies_are_refused_naming_the_field(client):
    base = {"surface": "booth", "optimizers": [{"optimizer": "sgd"}], "steps": 10}
    cases = [
        ({"optimizers": [{"optimizer": "sgdx"}]}, "optimizers.0.optimizer", "unknown optimizer 'sgdx'"),
        (
            {"optimizers": [{"optimizer": "adam", "hyperparameters": {"betas": [2, 0]}}]},
            "optimizers.0.hyperparameters",
            "betas",
        ),
        ({"optimizers": []}, "optimizers", "at least 1 item"),
        ({"optimizers": [{"optimizer": "sgd"}] * 12}, "optimizers", "at most 11 items"),
        ({"lr_range": [1.0, 0.1]}, "lr_range", "low < high"),
        ({"lr_range": [0.0, 1.0]}, "lr_range", "(0, 100]"),
        ({"n": 81}, "n", "less than or equal to 80"),
        ({"n": 1}, "n", "greater than or equal to 2"),
        ({"steps": 0}, "steps", "greater than or equal to 1"),
        ({"steps": 20_001}, "steps", "at most 20000 steps"),
        ({"start": [1e9, 0]}, "start", "within ±1e+06"),
        ({"surface": "nope"}, "surface", "nope"),
    ]
    for change, field, words in cases:
        error = assert_error(client.post("/api/tune", json={**base, **change}), 422, "invalid_input")
        fields = [d["field"] for d in error["details"]]
        assert any(f.startswith(field) for f in fields), (change, fields)
        assert words in error["message"], (change, error["message"])
    assert_error(
        client.post("/api/tune", json={k: base[k] for k in ("surface", "optimizers")}), 422, "invalid_input"
    )


def test_over_the_work_limit_is_refused_naming_it_and_the_cost(client):
    # 880 runners in one group: 20 001 × (a tick 6000 + 880 × (2 + 4)) + 880 runners × 350 = 2.26e8
    body = {"surface": "booth", "optimizers": [{"optimizer": "sgd"}] * 11, "steps": 20_000, "n": 80}
    error = assert_error(client.post("/api/tune", json=body), 422, "invalid_input")
    assert (
        error["message"] == "this request costs 2.3e8 sample-evaluations; the limit is 2e8 (GDVIZ_MAX_WORK)"
    )
    with TestClient(create_app(Settings(max_work=1_000_000))) as small:
        body = {"surface": "booth", "optimizers": [{"optimizer": "sgd"}] * 6, "steps": 1000}
        error = assert_error(small.post("/api/tune", json=body), 422, "invalid_input")
        assert error["message"].endswith("the limit is 1e6 (GDVIZ_MAX_WORK)")


def test_a_data_problem_is_tuned_in_groups(client):
    data = {"data": "logreg", "params": {"n": 2000}}
    body = {"surface": data, "optimizers": [{"optimizer": "sgd"}] * 3, "steps": 30}
    load = surface_load(DataSurface.model_validate(data))
    assert cost.tune(120, 30, load, Settings().max_request_bytes).chunk == 64  # 2 groups
    answer = client.post("/api/tune", json=body).json()
    assert [r["optimizer"] for r in answer["results"]] == ["sgd"] * 3
    assert answer["results"][0] == answer["results"][1] == answer["results"][2]  # the groups agree
