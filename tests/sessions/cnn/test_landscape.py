"""The loss landscape over /ws/cnn: the plane, a coarse picture, the line and every row, computed in a worker
thread while the session lives; cancel, reset and bad requests; the loss at θ* equal to a network trained
the same way in this process and evaluated plainly."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from app.cnn.models import ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig
from tests.sessions.cnn.test_session import SMALL, CnnClient

TRAINER = {"optimizer": "adam", "hyperparameters": {"lr": 0.003}}


def trained(c: CnnClient, steps: int) -> None:
    c.send({"type": "cnn_start", "model": SMALL, "trainer": TRAINER, "playing": False, "ref": "go"})
    c.until("cnn_state", ref="go")
    if steps:
        c.send({"type": "step", "count": steps, "ref": "s"})
        c.until("cnn_state", ref="s")
        c.steps(steps)


def landscape(c: CnnClient, timeout: float = 60.0, **request) -> dict[str, list[dict]]:
    """Every landscape message of one request, by type, up to its done message."""
    c.send({"type": "cnn_landscape", "ref": "land", **request})
    c.until("cnn_state", ref="land")
    got: dict[str, list[dict]] = {}
    while True:
        message = c.recv(timeout)
        if message["type"].startswith("cnn_landscape"):
            got.setdefault(message["type"], []).append(message)
        if message["type"] == "cnn_landscape_done":
            return got


def test_a_pca_landscape_streams_plane_coarse_line_and_rows_and_its_centre_is_the_trained_loss(server_url):
    c = CnnClient(server_url)
    trained(c, 30)
    got = landscape(c, plane="pca", n=9)
    (plane,), (coarse,), (line,), (done,) = (
        got["cnn_landscape_plane"],
        got["cnn_landscape_coarse"],
        got["cnn_landscape_line"],
        got["cnn_landscape_done"],
    )
    assert done["status"] == "done" and done["job"] == plane["job"] == coarse["job"]
    info = plane["plane"]
    assert info["kind"] == "pca" and info["center_step"] == 30
    ratios = info["explained_variance_ratio"]
    assert len(ratios) == 2 and ratios[0] >= ratios[1] > 0 and sum(ratios) <= 1 + 1e-9
    path = info["path"]
    assert path["steps"][0] == 0 and path["steps"][-1] == 30 and path["meaningful"]
    assert abs(path["alpha"][-1]) < 1e-6 and abs(path["beta"][-1]) < 1e-6  # θ* is the origin
    assert len(plane["alphas"]) == len(plane["betas"]) == 9 and plane["snapshots"] == 31

    rows = got["cnn_landscape_row"]
    assert [r["index"] for r in rows] == list(range(9))
    assert all(len(r["loss"]) == 9 and all(v is not None and v > 0 for v in r["loss"]) for r in rows)
    assert rows[-1]["progress"] == 1.0
    for j, b in enumerate(coarse["beta_index"]):  # the coarse points are points of the full grid
        for k, a in enumerate(coarse["alpha_index"]):
            assert coarse["loss"][j][k] == rows[b]["loss"][a]

    # The same training in this process, evaluated the plain way: the line's end (t = 1) is θ*.
    t = Trainer(ModelConfig.model_validate(SMALL), TrainerConfig.model_validate(TRAINER))
    for _ in range(30):
        t.step()
    t.model.eval()
    with torch.no_grad():
        expected = F.cross_entropy(t.model(t.data.x_train), t.data.y_train).item()
    assert line["start_step"] == 0 and line["end_step"] == 30
    assert math.isclose(line["loss"][line["t"].index(1.0)], expected, rel_tol=1e-5)
    initial = Trainer(ModelConfig.model_validate(SMALL), TrainerConfig.model_validate(TRAINER))
    initial.model.eval()
    with torch.no_grad():
        at_start = F.cross_entropy(initial.model(initial.data.x_train), initial.data.y_train).item()
    assert math.isclose(line["loss"][line["t"].index(0.0)], at_start, rel_tol=1e-5)
    assert at_start > expected  # 30 steps of Adam went downhill
    c.close()


def test_a_random_plane_centres_on_the_trained_weights_and_says_the_path_is_not_in_it(server_url):
    c = CnnClient(server_url)
    trained(c, 12)
    got = landscape(c, plane="random", n=7, seed=3, radius=0.5)
    (plane,) = got["cnn_landscape_plane"]
    info = plane["plane"]
    assert info["kind"] == "random" and info["seed"] == 3 and not info["path"]["meaningful"]
    assert plane["alphas"][0] == -0.5 and plane["alphas"][3] == 0.0 and plane["alphas"][-1] == 0.5
    (line,) = got["cnn_landscape_line"]
    rows = {r["index"]: r["loss"] for r in got["cnn_landscape_row"]}
    assert rows[3][3] == pytest.approx(line["loss"][line["t"].index(1.0)], rel=1e-6)  # both θ*
    c.close()


def test_cancel_stops_at_the_next_row_and_training_goes_on_meanwhile(server_url):
    c = CnnClient(server_url)
    trained(c, 5)
    c.send({"type": "play", "ref": "p"})
    c.until("cnn_state", ref="p")
    c.send({"type": "cnn_landscape", "plane": "random", "n": 51, "ref": "land"})
    c.until("cnn_landscape_coarse", timeout=30)
    c.send({"type": "cnn_landscape_cancel", "ref": "x"})
    done, between = c.until("cnn_landscape_done", timeout=30)
    assert done["status"] == "cancelled"
    assert len([m for m in between if m["type"] == "cnn_landscape_row"]) < 51
    assert c.steps(3)  # the training never stopped
    c.close()


def test_a_reset_cancels_the_landscape_of_the_old_weights(server_url):
    c = CnnClient(server_url)
    trained(c, 5)
    c.send({"type": "cnn_landscape", "plane": "random", "n": 51, "ref": "land"})
    c.until("cnn_landscape_coarse", timeout=30)
    c.send({"type": "cnn_reset", "ref": "r"})
    done, _ = c.until("cnn_landscape_done", timeout=30)
    assert done["status"] == "cancelled"
    c.close()


def test_too_early_for_pca_and_bad_requests_name_the_problem_and_the_session_lives(server_url):
    c = CnnClient(server_url)
    trained(c, 0)
    c.send({"type": "cnn_landscape", "plane": "pca", "ref": "early"})
    error, _ = c.until("error", ref="early")
    assert error["error"]["code"] == "too_early" and "random" in error["error"]["message"]
    c.send({"type": "cnn_landscape", "n": 52, "ref": "big"})
    error, _ = c.until("error", ref="big")
    assert error["error"]["details"][0]["field"] == "cnn_landscape.n"
    c.send({"type": "cnn_landscape", "plane": "sideways", "ref": "kind"})
    error, _ = c.until("error", ref="kind")
    assert error["error"]["details"][0]["field"] == "cnn_landscape.plane"
    got = landscape(c, plane="random", n=5)
    assert got["cnn_landscape_done"][0]["status"] == "done"
    c.close()


def test_snapshots_stay_within_their_budget_on_a_long_run(server_with):
    server = server_with(landscape_snapshot_bytes=2**20)
    c = CnnClient(server.url)
    trained(c, 400)
    (plane,) = landscape(c, plane="pca", n=5)["cnn_landscape_plane"]
    size = 4 * plane["parameters"]
    assert plane["snapshots"] * size <= 2**20 + size  # the budget, plus θ* added on request
    assert plane["snapshot_every"] > 1  # thinned: every other snapshot went, the interval doubled
    assert plane["plane"]["path"]["steps"][0] == 0 and plane["plane"]["path"]["steps"][-1] == 400
    c.close()


def test_the_current_weights_are_placed_on_the_last_landscapes_plane(server_url):
    c = CnnClient(server_url)
    trained(c, 20)
    got = landscape(c, plane="pca", n=5)
    job = got["cnn_landscape_done"][0]["job"]
    assert got["cnn_landscape_done"][0]["ref"] == "land"
    c.send({"type": "cnn_snapshot", "ref": "now"})  # paused at θ*: the point is the origin
    point, _ = c.until("cnn_landscape_point")
    assert point["job"] == job and point["step"] == 20
    assert point["alpha"] == point["beta"] == 0.0 and point["in_plane"] is None
    c.send({"type": "step", "count": 15, "ref": "more"})
    c.until("cnn_state", ref="more")
    c.steps(15)
    point, _ = c.until("cnn_landscape_point")
    assert point["step"] == 35 and (point["alpha"], point["beta"]) != (0.0, 0.0)
    assert 0.0 < point["in_plane"] <= 1.0
    c.send({"type": "cnn_reset", "ref": "r"})  # new weights: the old plane gets no more points
    c.until("cnn_state", ref="r")
    snapshot, seen = c.until("cnn_snapshot")
    assert not [m for m in seen if m["type"] == "cnn_landscape_point"]
    with pytest.raises(TimeoutError):
        c.until("cnn_landscape_point", timeout=1.0)
    c.close()


def test_projection_onto_a_plane_by_least_squares():
    from app.cnn.landscape import Plane
    from app.sessions.cnn.landscape import project

    g = torch.Generator().manual_seed(0)
    center, d1, d2, off = (torch.randn(500, generator=g) for _ in range(4))
    d2 = d2 + 0.5 * d1  # not orthogonal, not unit: random planes are neither
    basis = torch.stack([d1, d2]).double()
    off = off.double() - basis.T @ torch.linalg.solve(basis @ basis.T, basis @ off.double())  # ⟂ the plane
    in_plane = 0.3 * d1.double() - 0.2 * d2.double()
    theta = (center.double() + in_plane + off).float()
    plane = Plane(center=center, d1=d1, d2=d2, info=None)
    point = project(4, plane, 12, theta)
    assert point.job == 4 and point.step == 12
    assert point.alpha == pytest.approx(0.3, abs=1e-5) and point.beta == pytest.approx(-0.2, abs=1e-5)
    share = float(in_plane @ in_plane) / float((in_plane + off) @ (in_plane + off))
    assert point.in_plane == pytest.approx(share, rel=1e-4)
