"""Trajectories, basin maps and stability maps through the REST API."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.descent.optimizers import get_optimizer
from app.descent.surfaces import SURFACES
from tests.helpers import assert_error, strict_json


def torch_reference(surface_id, optimizer_id, hp, start, steps):
    fn = SURFACES[surface_id].fn
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = get_optimizer(optimizer_id).make_torch_optimizer([p], hp)
    points, losses, grads = [], [], []
    for k in range(steps + 1):
        opt.zero_grad()
        loss = fn(p[0], p[1])
        loss.backward()
        points.append(p.detach().numpy().copy())
        losses.append(loss.item())
        grads.append(p.grad.numpy().copy())
        if k < steps:
            opt.step()
    return np.array(points), np.array(losses), np.array(grads)


@pytest.mark.parametrize(
    ("surface_id", "optimizer_id", "hp"),
    [
        ("rosenbrock", "adam", {"lr": 0.02, "betas": [0.85, 0.99]}),
        ("himmelblau", "nesterov", {"lr": 0.002, "momentum": 0.8}),
        ("beale", "rmsprop", {"lr": 0.003, "alpha": 0.9}),
    ],
)
def test_trajectory_equals_torch_optim(client, surface_id, optimizer_id, hp):
    start = [-1.0, 1.5]
    r = client.post(
        "/api/trajectory",
        json={
            "surface": surface_id,
            "optimizer": optimizer_id,
            "hyperparameters": hp,
            "start": start,
            "steps": 250,
        },
    )
    body = strict_json(r.text)
    assert r.status_code == 200 and body["status"] == "ok" and body["diverged_at"] is None
    points, losses, grads = torch_reference(surface_id, optimizer_id, hp, start, 250)
    assert len(body["points"]) == len(body["losses"]) == len(body["gradients"]) == 251
    np.testing.assert_allclose(body["points"], points, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(body["losses"], losses, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(body["gradients"], grads, rtol=1e-9, atol=1e-9)
    assert body["points"][0] == start
    assert body["hyperparameters"]["lr"] == hp["lr"] and "weight_decay" in body["hyperparameters"]


def test_trajectory_defaults(client):
    body = client.post("/api/trajectory", json={"surface": "booth", "optimizer": "sgd"}).json()
    assert len(body["points"]) == 101
    assert body["points"][0] == list(SURFACES["booth"].default_start)
    assert body["hyperparameters"] == {"lr": 0.001, "weight_decay": 0.0}


def test_trajectory_of_a_custom_expression_uses_autograd(client):
    body = strict_json(
        client.post(
            "/api/trajectory",
            json={
                "surface": {"expression": "x^2 + 3*sin(y)"},
                "optimizer": "sgd",
                "hyperparameters": {"lr": 0.1},
                "start": [1.0, 1.0],
                "steps": 3,
            },
        ).text
    )
    x, y = body["points"][0]
    assert body["gradients"][0] == pytest.approx([2 * x, 3 * np.cos(y)], rel=1e-12)
    # θ₁ = θ₀ − η∇J(θ₀)
    assert body["points"][1] == pytest.approx([x - 0.1 * 2 * x, y - 0.1 * 3 * np.cos(y)], rel=1e-12)


def test_divergence_stops_before_the_first_bad_step_and_json_stays_strict(client):
    r = client.post(
        "/api/trajectory",
        json={"surface": "rosenbrock", "optimizer": "sgd", "hyperparameters": {"lr": 0.5}, "steps": 100},
    )
    body = strict_json(r.text)  # no NaN / Infinity anywhere
    assert body["status"] == "diverged"
    k = body["diverged_at"]
    assert 0 < k < 100
    assert len(body["points"]) == len(body["losses"]) == len(body["gradients"]) == k
    assert all(np.isfinite(body["losses"]))
    assert "bound" in body["reason"] or "finite" in body["reason"]


def test_divergence_from_a_non_finite_loss(client):
    body = strict_json(
        client.post(
            "/api/trajectory",
            json={
                "surface": {"expression": "log(x)"},
                "optimizer": "sgd",
                "hyperparameters": {"lr": 1.0},
                "start": [0.5, 0],
                "steps": 10,
            },
        ).text
    )
    # θ₁ = 0.5 − 1/0.5 = −1.5, where log is not defined
    assert body["status"] == "diverged" and body["diverged_at"] == 1
    assert body["points"] == [[0.5, 0.0]] and body["reason"] == "the loss is not a finite number"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"surface": "nope", "optimizer": "sgd"}, "surface"),
        ({"surface": 7, "optimizer": "sgd"}, "surface"),
        ({"surface": "booth", "optimizer": "sgdx"}, "optimizer"),
        ({"surface": "booth", "optimizer": "sgd", "hyperparameters": {"lr": -0.1}}, "hyperparameters.lr"),
        ({"surface": "booth", "optimizer": "sgd", "hyperparameters": {"lr": "fast"}}, "hyperparameters.lr"),
        (
            {"surface": "booth", "optimizer": "sgd", "hyperparameters": {"momentum": 0.9}},
            "hyperparameters.momentum",
        ),
        (
            {"surface": "booth", "optimizer": "adam", "hyperparameters": {"betas": [0.9, 1.5]}},
            "hyperparameters.betas.1",
        ),
        ({"surface": "booth", "optimizer": "sgd", "steps": 10**9}, "steps"),
        ({"surface": "booth", "optimizer": "sgd", "steps": -1}, "steps"),
        ({"surface": "booth", "optimizer": "sgd", "start": [1e300, 0]}, "start"),
        ({"surface": "booth", "optimizer": "sgd", "start": [1]}, "start.1"),
        ({"surface": "booth", "optimizer": "sgd", "start": ["NaN", 0]}, "start.0"),
        ({"surface": "booth", "optimizer": "sgd", "colour": "red"}, "colour"),
        ({"optimizer": "sgd"}, "surface"),
    ],
)
def test_bad_trajectory_input_names_the_field(client, payload, field):
    assert_error(client.post("/api/trajectory", json=payload), 422, "invalid_input", field)


def test_non_json_and_nan_literals_are_refused(client):
    headers = {"content-type": "application/json"}
    assert_error(client.post("/api/trajectory", content=b"{not json", headers=headers), 422, "invalid_input")
    body = b'{"surface": "booth", "optimizer": "sgd", "start": [NaN, 0]}'
    assert_error(
        client.post("/api/trajectory", content=body, headers=headers), 422, "invalid_input", "start.0"
    )
    assert_error(client.post("/api/trajectory", content=b"[1, 2]", headers=headers), 422, "invalid_input")


def test_basins_of_himmelblau_reach_all_four_minima(client):
    r = client.post(
        "/api/basins",
        json={
            "surface": "himmelblau",
            "optimizer": "adam",
            "hyperparameters": {"lr": 0.1},
            "n": 16,
            "steps": 400,
        },
    )
    body = strict_json(r.text)
    basin = np.array(body["basin"])
    assert basin.shape == (16, 16)
    assert set(np.unique(basin)) == {0, 1, 2, 3}
    minima = np.array(body["minima"])
    finals = np.array(body["final_points"])
    for j in range(16):
        for i in range(16):
            assert np.linalg.norm(finals[j, i] - minima[basin[j, i]]) < 0.2
    # The four corners fall into four different basins.
    assert len({basin[0, 0], basin[0, -1], basin[-1, 0], basin[-1, -1]}) == 4


def test_basins_equal_single_trajectories(client):
    req = {
        "surface": "six_hump_camel",
        "optimizer": "momentum",
        "hyperparameters": {"lr": 0.01},
        "n": 5,
        "steps": 150,
    }
    body = client.post("/api/basins", json=req).json()
    for j, i in [(0, 0), (2, 3), (4, 1)]:
        start = [body["x"][i], body["y"][j]]
        traj = client.post(
            "/api/trajectory",
            json={
                **{k: req[k] for k in ("surface", "optimizer", "hyperparameters")},
                "start": start,
                "steps": 150,
            },
        ).json()
        if traj["status"] == "ok":
            np.testing.assert_allclose(body["final_points"][j][i], traj["points"][-1], rtol=1e-9, atol=1e-12)


def test_basins_mark_diverged_starts(client):
    body = client.post(
        "/api/basins",
        json={
            "surface": "rosenbrock",
            "optimizer": "sgd",
            "hyperparameters": {"lr": 0.01},
            "n": 6,
            "steps": 50,
        },
    ).json()
    assert (np.array(body["basin"]) == -2).any()
    strict_json(
        client.post(
            "/api/basins",
            json={
                "surface": "rosenbrock",
                "optimizer": "sgd",
                "hyperparameters": {"lr": 0.01},
                "n": 6,
                "steps": 50,
            },
        ).text
    )


def test_basin_work_is_limited(client):
    assert_error(
        client.post("/api/basins", json={"surface": "booth", "optimizer": "sgd", "n": 200, "steps": 10_000}),
        422,
        "invalid_input",
    )
    assert_error(
        client.post("/api/basins", json={"surface": "booth", "optimizer": "sgd", "n": 201}),
        422,
        "invalid_input",
        "n",
    )


def test_stability_map_matches_the_theory_of_gradient_descent_on_a_quadratic(client):
    """On ½(x² + 25y²), plain GD converges iff η < 2/25 = 0.08 and diverges beyond."""
    body = client.post(
        "/api/stability",
        json={
            "surface": "ill_conditioned_bowl",
            "optimizer": "sgd",
            "lr_range": [0.001, 0.5],
            "n": 40,
            "steps": 200,
        },
    ).json()
    assert body["axis"] is None and len(body["outcome"]) == 1
    for lr, outcome in zip(body["lr"], body["outcome"][0], strict=True):
        if lr > 0.085:
            assert outcome == "diverged", lr
        elif 0.04 <= lr <= 0.07:
            assert outcome == "converged", lr
        elif lr < 0.003:
            assert outcome == "slow", lr


def test_stability_map_sweeps_momentum(client):
    body = client.post(
        "/api/stability",
        json={"surface": "ill_conditioned_bowl", "optimizer": "momentum", "n": 8, "steps": 150},
    ).json()
    assert body["axis"] == "momentum" and len(body["axis_values"]) == 8
    flat = {o for row in body["outcome"] for o in row}
    assert {"converged", "diverged"} <= flat
    assert_error(
        client.post("/api/stability", json={"surface": "booth", "optimizer": "momentum", "axis": "rho"}),
        422,
        "invalid_input",
        "axis",
    )
