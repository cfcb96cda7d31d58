"""Curvature over REST and the socket: trajectory eigenvalues, quadratic surfaces' Hessians, live frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.config import get_settings
from app.descent import cost
from app.descent.surfaces import SURFACES
from app.inputs import surface_load
from tests.helpers import Client

EXPRESSION = {"expression": "3*x^2 + x*y + y^2", "x_range": [-2, 2], "y_range": [-2, 2]}


def reference_eigenvalues(fn, point) -> np.ndarray:
    """[λ1, λ2] of ∇²f at point: torch.autograd.functional.hessian, then numpy.linalg.eigvalsh."""
    p = torch.tensor(point, dtype=torch.float64)
    h = torch.autograd.functional.hessian(lambda v: fn(v[0], v[1]), p).numpy()
    return np.linalg.eigvalsh(h)


def assert_pairs_close(pairs, expected) -> None:
    pairs, expected = np.asarray(pairs, dtype=float), np.asarray(expected)
    scale = np.abs(expected).max(axis=1, keepdims=True)
    assert (np.abs(pairs - expected) <= 1e-9 * scale + 1e-12).all()


@pytest.mark.parametrize(
    ("surface", "optimizer", "lr"),
    [("rosenbrock", "sgd", 1e-3), ("himmelblau", "momentum", 0.005), ("beale", "adam", 0.05)],
)
def test_trajectory_curvature_equals_autograd_hessians(client, surface, optimizer, lr):
    body = {"surface": surface, "optimizer": optimizer, "hyperparameters": {"lr": lr}, "steps": 40}
    plain = client.post("/api/trajectory", json=body).json()
    r = client.post("/api/trajectory", json={**body, "curvature": True})
    assert r.status_code == 200
    answer = r.json()
    assert "curvature" not in plain  # not asked for: the answer is unchanged
    assert answer["points"] == plain["points"]
    assert len(answer["curvature"]) == len(answer["points"]) == 41
    expected = [reference_eigenvalues(SURFACES[surface].fn, p) for p in answer["points"]]
    assert_pairs_close(answer["curvature"], expected)


def test_trajectory_curvature_of_an_expression_and_null_where_not_finite(client):
    # |x|^1.5 has a finite value and slope at x = 0 but no finite second derivative there.
    body = {
        "surface": {"expression": "abs(x)^1.5 + y^2", "x_range": [-2, 2], "y_range": [-2, 2]},
        "optimizer": "sgd",
        "hyperparameters": {"lr": 0.1},
        "start": [0.0, 1.0],
        "steps": 3,
        "curvature": True,
    }
    answer = client.post("/api/trajectory", json=body).json()
    assert answer["status"] == "ok"
    assert answer["curvature"] == [[None, None]] * 4
    quadratic = {**body, "surface": EXPRESSION, "start": [1.0, 1.0]}
    pairs = client.post("/api/trajectory", json=quadratic).json()["curvature"]
    expected = np.linalg.eigvalsh(np.array([[6.0, 1.0], [1.0, 2.0]]))
    assert_pairs_close(pairs, [expected] * 4)


def test_curvature_is_validated_and_priced(client):
    body = {"surface": "rosenbrock", "optimizer": "sgd", "steps": 5, "curvature": "yes please"}
    r = client.post("/api/trajectory", json=body)
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "curvature"
    load = cost.BUILTIN
    without, with_ = cost.trajectory(1000, load, 2**30), cost.trajectory(1000, load, 2**30, curvature=True)
    added = 1001 * (cost.HESSIAN + cost.HESSIAN_POINT) + cost.HESSIAN_CALL
    assert with_.work == without.work + added and with_.peak_bytes > without.peak_bytes


def test_quadratic_bowls_carry_their_hessian_and_condition_number(client):
    bowl = client.get("/api/surfaces/quadratic_bowl").json()
    assert bowl["hessian"] == [[2.0, 0.0], [0.0, 2.0]] and bowl["condition_number"] == 1.0  # x² + y²
    ill = client.get("/api/surfaces/ill_conditioned_bowl").json()  # ½(x² + 25y²)
    assert ill["hessian"] == [[1.0, 0.0], [0.0, 25.0]] and ill["condition_number"] == 25.0
    booth = client.get("/api/surfaces/booth").json()  # (x + 2y − 7)² + (2x + y − 5)²: H = [[10, 8], [8, 10]]
    np.testing.assert_allclose(booth["hessian"], [[10, 8], [8, 10]], rtol=1e-12)
    assert booth["condition_number"] == pytest.approx(18 / 2, rel=1e-12)
    for name in ("rosenbrock", "himmelblau", "rastrigin"):
        other = client.get(f"/api/surfaces/{name}").json()
        assert other["hessian"] is None and other["condition_number"] is None
    saddle = client.get("/api/surfaces/saddle").json()  # quadratic, not a bowl: κ has no meaning
    assert saddle["hessian"] == [[2.0, 0.0], [0.0, -2.0]] and saddle["condition_number"] is None
    listed = {s["id"]: s for s in client.get("/api/surfaces").json()}
    assert listed["quadratic_bowl"]["condition_number"] == 1.0


@pytest.fixture
def socket(server_url):
    c = Client(server_url)
    yield c
    c.close()


SGD = {"id": "a", "optimizer": "sgd", "hyperparameters": {"lr": 0.001}, "start": [-1.2, 1.0]}
ADAM = {"id": "b", "optimizer": "adam", "hyperparameters": {"lr": 0.05}, "start": [0.5, 2.5]}


def test_frames_carry_curvature_only_when_asked(socket):
    socket.send({"type": "start", "surface": "rosenbrock", "runners": [SGD, ADAM], "speed": 300, "ref": "go"})
    state, _ = socket.until("state", ref="go")
    assert state["curvature"] is False and state["surface"]["hessian"] is None
    for records in socket.race(20, ["a", "b"]).values():
        assert all("curvature" not in r for r in records)
    socket.send({"type": "set_curvature", "enabled": True, "ref": "on"})
    state, _ = socket.until("state", ref="on")
    assert state["curvature"] is True
    socket.until("frame")  # a frame computed before the command may still be on its way
    race = socket.race(30, ["a", "b"])
    fn = SURFACES["rosenbrock"].fn
    for rid, records in race.items():
        assert all("curvature" in r for r in records)
        for r in records:
            c = r["curvature"]
            assert len(c["eigenvalues"]) == len(r["points"])
            assert_pairs_close(c["eigenvalues"], [reference_eigenvalues(fn, p) for p in r["points"]])
            for (l1, l2), (v1x, v1y, v2x, v2y), p in zip(
                c["eigenvalues"], c["eigenvectors"], r["points"], strict=True
            ):
                h = torch.autograd.functional.hessian(
                    lambda v: fn(v[0], v[1]), torch.tensor(p, dtype=torch.float64)
                ).numpy()
                np.testing.assert_allclose(h @ [v2x, v2y], l2 * np.array([v2x, v2y]), rtol=1e-8, atol=1e-8)
                np.testing.assert_allclose(h @ [v1x, v1y], l1 * np.array([v1x, v1y]), atol=1e-8 * abs(l2))
            if rid == "a":  # SGD: λ_max(H) against 2/η
                assert c["quantity"] == "sharpness"
                assert [s[0] for s in c["sharpness"]] == [e[1] for e in c["eigenvalues"]]
                assert all(t[0] == pytest.approx(2 / 0.001) for t in c["threshold"])
            else:  # Adam: λ_max(P⁻¹H) from its own state after each step, against 38/η
                assert c["quantity"] == "preconditioned_sharpness"
                assert all(t[0] == pytest.approx(38 / 0.05) for t in c["threshold"])
                for j, p in enumerate(r["points"]):
                    t = r["state"]["step"][j][0]
                    v = np.array(r["state"]["exp_avg_sq"][j])
                    diag = (1 - 0.9**t) * (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
                    h = torch.autograd.functional.hessian(
                        lambda v: fn(v[0], v[1]), torch.tensor(p, dtype=torch.float64)
                    ).numpy()
                    expected = np.linalg.eigvals(np.diag(1 / diag) @ h).real.max()
                    assert c["sharpness"][j][0] == pytest.approx(expected, rel=1e-9)
    socket.send({"type": "set_curvature", "enabled": False, "ref": "off"})
    socket.until("state", ref="off")
    socket.until("frame")
    for records in socket.race(20, ["a", "b"]).values():
        assert all("curvature" not in r for r in records)


def test_start_asks_for_curvature_and_a_typed_quadratic_reports_its_hessian(socket):
    runner = {"id": "a", "optimizer": "rmsprop", "hyperparameters": {"lr": 0.01}, "start": [1.0, 1.0]}
    socket.send(
        {
            "type": "start",
            "surface": EXPRESSION,
            "runners": [runner],
            "curvature": True,
            "speed": 300,
            "ref": "go",
        }
    )
    state, _ = socket.until("state", ref="go")
    assert state["curvature"] is True
    assert state["surface"]["hessian"] == [[6.0, 1.0], [1.0, 2.0]]
    w = np.linalg.eigvalsh([[6.0, 1.0], [1.0, 2.0]])
    assert state["surface"]["condition_number"] == pytest.approx(w[1] / w[0], rel=1e-12)
    records = socket.frames(5, "a")
    assert records[0]["curvature"]["quantity"] == "preconditioned_sharpness"
    socket.send({"type": "set_surface", "surface": "rosenbrock", "ref": "s"})
    state, _ = socket.until("state", ref="s")
    assert state["surface"]["hessian"] is None and state["surface"]["condition_number"] is None
    socket.send({"type": "set_curvature", "enabled": "maybe", "ref": "bad"})
    error, _ = socket.until("error", ref="bad")
    assert error["error"]["details"][0]["field"] == "set_curvature.enabled"


def test_curvature_is_priced_in_a_live_race(socket):
    settings = get_settings()
    logreg = surface_load("logreg")
    runners = [
        {"id": f"r{k}", "optimizer": "sgd", "hyperparameters": {"lr": 0.1}, "start": [0.0, 0.0]}
        for k in range(6)
    ]
    limit = settings.max_work / cost.WORK_SECONDS
    speed = 20_000
    assert cost.race_second([None] * 6, logreg, speed, settings.frame_rate).work <= limit
    assert cost.race_second([None] * 6, logreg, speed, settings.frame_rate, curvature=True).work > limit
    start = {"type": "start", "surface": "logreg", "runners": runners, "speed": speed, "playing": False}
    socket.send({**start, "curvature": True, "ref": "refused"})
    error, _ = socket.until("error", ref="refused")
    assert error["error"]["details"][0]["field"] == "speed"
    assert "GDVIZ_MAX_WORK" in error["error"]["message"]
    socket.send({**start, "ref": "go"})
    socket.until("state", ref="go")
    socket.send({"type": "set_curvature", "enabled": True, "ref": "on"})
    error, _ = socket.until("error", ref="on")
    assert error["error"]["details"][0]["field"] == "enabled"
    socket.send({"type": "set_speed", "speed": 100, "ref": "slow"})
    socket.until("state", ref="slow")
    socket.send({"type": "set_curvature", "enabled": True, "ref": "on"})
    state, _ = socket.until("state", ref="on")
    assert state["curvature"] is True
