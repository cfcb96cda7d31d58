"""The loss landscape: every number against a straightforward recomputation with the model itself."""

from __future__ import annotations

import copy
import math
import queue
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from app.cnn.landscape import (
    MAX_GRID,
    CoarseGrid,
    Evaluator,
    GridRow,
    Plane,
    WeightPath,
    coarse_indices,
    grid,
    line_profile,
    pca_plane,
    random_plane,
)
from app.cnn.models import ConvBlock, ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig

LOSS_TOLERANCE = dict(rel=1e-6, abs=1e-6)  # float32 rounding of another order of the same operations


def reference_loss(model: nn.Module, theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> float:
    """Copy the model, set its weights, evaluate: what the landscape computes, done the plain way."""
    twin = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(theta, twin.parameters())
    twin.eval()
    with torch.no_grad():
        return F.cross_entropy(twin(x), y).item()


def trained(config: ModelConfig | None = None, steps: int = 30, every: int = 3) -> tuple[Trainer, WeightPath]:
    trainer = Trainer(config or ModelConfig(), TrainerConfig(eval_every=0))
    snapshots = WeightPath(every=every)
    snapshots.maybe_add(0, trainer.model)
    for step in range(1, steps + 1):
        trainer.step(measure=False)
        snapshots.maybe_add(step, trainer.model)
    snapshots.add(steps, trainer.model)
    return trainer, snapshots


@pytest.fixture(scope="module")
def run() -> tuple[Trainer, WeightPath, Evaluator]:
    trainer, snapshots = trained()
    return trainer, snapshots, Evaluator.on_training_split(trainer.model, trainer.data)


def full_grid(evaluator: Evaluator, plane: Plane, **kwargs) -> tuple[CoarseGrid, list[GridRow]]:
    updates = list(grid(evaluator, plane, **kwargs))
    assert isinstance(updates[0], CoarseGrid) and all(isinstance(u, GridRow) for u in updates[1:])
    return updates[0], updates[1:]


# --- grid values ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["random", "pca"])
def test_grid_values_equal_the_model_evaluated_at_those_weights(run, kind):
    trainer, snapshots, evaluator = run
    plane = random_plane(snapshots, seed=3) if kind == "random" else pca_plane(snapshots)
    coarse, rows = full_grid(evaluator, plane, n=9, coarse=3)
    x, y = trainer.data.x_train, trainer.data.y_train
    for j, i in [(0, 0), (4, 4), (2, 7), (8, 1), (5, 8)]:
        theta = plane.center + coarse.alphas[i] * plane.d1 + coarse.betas[j] * plane.d2
        assert rows[j].loss[i] == pytest.approx(reference_loss(trainer.model, theta, x, y), **LOSS_TOLERANCE)
    assert coarse.alphas[4] == coarse.betas[4] == 0.0 or kind == "pca"


@pytest.mark.parametrize(
    "config",
    [
        ModelConfig(batch_norm=True, dropout=0.5),
        ModelConfig(kind="mlp", depth=2, width=32, batch_norm=True, dropout=0.2),
        ModelConfig(activation="gelu", blocks=[ConvBlock(channels=8, kernel=5)]),
        ModelConfig(
            activation="tanh",
            blocks=[ConvBlock(channels=8, kernel=1, pool="avg"), ConvBlock(channels=8, pool="none")],
        ),
        ModelConfig(activation="leaky_relu", blocks=[ConvBlock(channels=4)] * 3),
        ModelConfig(activation="sigmoid", blocks=[ConvBlock(channels=4, pool="none")], init="kaiming"),
    ],
    ids=["bn-dropout", "mlp-bn", "gelu-k5", "tanh-avg-k1-nopool", "leaky-3-blocks", "sigmoid-nopool"],
)
def test_every_kind_of_layer_evaluates_as_the_model_in_eval_mode(config):
    """Batch norm with its running statistics, dropout off, each pooling, kernel and activation."""
    trainer, snapshots = trained(config, steps=8, every=2)
    evaluator = Evaluator.on_training_split(trainer.model, trainer.data)
    plane = random_plane(snapshots, seed=1)
    x, y = trainer.data.x_train, trainer.data.y_train
    for alpha, beta in [(0.0, 0.0), (0.4, -0.3)]:
        theta = plane.center + alpha * plane.d1 + beta * plane.d2
        expected = reference_loss(trainer.model, theta, x, y)
        assert evaluator.row(plane, [alpha], beta)[0] == pytest.approx(expected, **LOSS_TOLERANCE)
        assert evaluator.loss(theta) == pytest.approx(expected, **LOSS_TOLERANCE)


def test_the_origin_is_the_current_weights_exactly(run):
    trainer, snapshots, evaluator = run
    plane = random_plane(snapshots)
    assert torch.equal(plane.center, snapshots.latest[1])
    assert evaluator.row(plane, [0.0], 0.0) == [evaluator.loss(plane.center)]
    with torch.no_grad():
        trainer.model.eval()
        expected = F.cross_entropy(trainer.model(trainer.data.x_train), trainer.data.y_train).item()
        trainer.model.train()
    assert evaluator.loss(plane.center) == pytest.approx(expected, **LOSS_TOLERANCE)


def test_values_that_are_not_finite_are_none(run):
    _, snapshots, evaluator = run
    plane = random_plane(snapshots)
    coarse, rows = full_grid(evaluator, plane, n=3, alpha_range=(-1e38, 1e38), beta_range=(-1e38, 1e38))
    values = [v for row in rows for v in row.loss] + [v for row in coarse.loss for v in row]
    assert None in values and all(v is None or math.isfinite(v) for v in values)
    assert rows[1].loss[1] is not None  # the origin


def test_the_evaluator_keeps_its_own_copy_while_training_goes_on():
    """Built between two steps, the evaluator gives the same grid in a worker thread while the trainer
    keeps stepping (batch norm's running statistics included) as it does afterwards, alone."""
    trainer, snapshots = trained(ModelConfig(batch_norm=True), steps=6, every=2)
    evaluator = Evaluator.on_training_split(trainer.model, trainer.data)
    plane = pca_plane(snapshots)
    results: list[list[GridRow | CoarseGrid]] = []
    worker = threading.Thread(target=lambda: results.append(list(grid(evaluator, plane, n=5, coarse=3))))
    worker.start()
    while worker.is_alive():
        trainer.step(measure=False)
    worker.join()
    assert results[0] == list(grid(evaluator, plane, n=5, coarse=3))


# --- planes --------------------------------------------------------------------------------------


def test_pca_directions_are_orthonormal_and_match_numpys_svd(run):
    _, snapshots, _ = run
    plane = pca_plane(snapshots)
    dirs = torch.stack([plane.d1, plane.d2]).double()  # (2, P)
    assert torch.allclose(dirs @ dirs.T, torch.eye(2, dtype=torch.float64), atol=1e-6)

    steps, vectors = snapshots.read()
    offsets = np.stack([v.double().numpy() for v in vectors]) - vectors[-1].double().numpy()  # (S, P)
    centered = offsets - offsets.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    ratios = s**2 / np.sum(s**2)
    info = plane.info
    assert info.explained_variance_ratio == pytest.approx(ratios[:2].tolist(), rel=1e-6)
    assert sum(info.explained_variance_ratio) <= 1.0
    for d, v in zip(dirs.numpy(), vt[:2], strict=True):
        assert abs(d @ v) == pytest.approx(1.0, abs=1e-6)  # the same direction, up to sign

    path = info.path
    assert path.steps == steps and path.meaningful and info.kind == "pca"
    assert (path.alpha[-1], path.beta[-1]) == (0.0, 0.0) and path.in_plane[-1] is None
    assert path.alpha[0] <= 0 and path.beta[0] <= 0  # the sign convention: the start at bottom left
    np.testing.assert_allclose(path.alpha, offsets @ dirs[0].numpy(), rtol=1e-9, atol=1e-12)
    assert info.alpha_range[0] < min(path.alpha) and info.alpha_range[1] > max(path.alpha)
    assert info.beta_range[0] < min(path.beta) and info.beta_range[1] > max(path.beta)


def test_pca_through_an_earlier_snapshot_uses_the_path_up_to_it(run):
    _, snapshots, _ = run
    plane = pca_plane(snapshots, center=5)
    steps, vectors = snapshots.read()
    assert torch.equal(plane.center, vectors[5]) and plane.info.path.steps == steps[:6]
    assert plane.info.center_step == steps[5]


def test_filter_normalized_directions(run):
    trainer, snapshots, _ = run
    plane = random_plane(snapshots, seed=7)
    center = plane.center
    for d in (plane.d1, plane.d2):
        start = 0
        for shape in snapshots.shapes:
            size = math.prod(shape)
            block, ref = d[start : start + size], center[start : start + size]
            start += size
            if len(shape) == 1:
                assert torch.count_nonzero(block) == 0  # biases stay at θ*
                continue
            rows, ref_rows = block.view(shape[0], -1), ref.view(shape[0], -1)
            torch.testing.assert_close(rows.norm(dim=1), ref_rows.norm(dim=1), rtol=1e-5, atol=0)
    assert not torch.equal(plane.d1, plane.d2)
    again, other = random_plane(snapshots, seed=7), random_plane(snapshots, seed=8)
    assert torch.equal(again.d1, plane.d1) and torch.equal(again.d2, plane.d2)
    assert not torch.equal(other.d1, plane.d1)


def test_batch_norm_parameters_of_a_random_direction_are_zero():
    trainer, snapshots = trained(ModelConfig(batch_norm=True), steps=2, every=1)
    plane = random_plane(snapshots)
    start = 0
    for name, shape in zip(snapshots.names, snapshots.shapes, strict=True):
        size = math.prod(shape)
        if name.startswith("bn"):
            assert torch.count_nonzero(plane.d1[start : start + size]) == 0
        start += size


def test_a_random_plane_places_the_path_by_least_squares_and_says_it_is_not_meaningful(run):
    _, snapshots, _ = run
    plane = random_plane(snapshots)
    path = plane.info.path
    assert not path.meaningful and plane.info.explained_variance_ratio is None
    assert (path.alpha[-1], path.beta[-1]) == (0.0, 0.0)
    dirs = torch.stack([plane.d1, plane.d2]).double().T  # (P, 2)
    first = snapshots.first[1].double() - plane.center.double()
    coords = torch.tensor([path.alpha[0], path.beta[0]], dtype=torch.float64)
    residual = dirs @ coords - first
    assert torch.allclose(dirs.T @ residual, torch.zeros(2, dtype=torch.float64), atol=1e-8)  # ⟂ the plane
    assert path.in_plane[0] < 0.01  # two random directions hold almost none of the path


# --- snapshots -----------------------------------------------------------------------------------


def test_snapshots_stay_within_budget_over_a_long_run_and_keep_the_first_and_latest():
    model = nn.Linear(20, 5)  # 105 weights: 420 bytes a snapshot
    snapshots = WeightPath(budget_bytes=50 * 105 * 4)
    added = []
    with torch.no_grad():
        for step in range(1000):
            model.weight.fill_(step)
            model.bias.fill_(-step)
            if snapshots.maybe_add(step, model):
                added.append(step)
            assert snapshots.nbytes <= snapshots.budget_bytes
    steps, vectors = snapshots.read()
    assert snapshots.capacity == 50 and 25 <= len(steps) <= 50 and len(added) > 50
    assert steps[0] == 0 and steps[-1] == added[-1] and set(steps) <= set(added) and steps == sorted(steps)
    assert all(v[0] == s and v[-1] == -s for s, v in zip(steps, vectors, strict=True))
    assert snapshots.every == 32  # doubled at each of the five thinnings
    assert snapshots.add(1000, model) and snapshots.latest[0] == 1000  # the current weights, off the pace


def test_snapshots_keep_every_step_until_the_budget_is_full():
    model = nn.Linear(20, 5)
    snapshots = WeightPath(budget_bytes=50 * 105 * 4)
    assert all(snapshots.maybe_add(step, model) for step in range(50))
    assert snapshots.read()[0] == list(range(50)) and snapshots.every == 1
    assert snapshots.maybe_add(50, model) and snapshots.every == 2  # full: every other one went
    assert not snapshots.maybe_add(51, model) and snapshots.maybe_add(52, model)
    assert snapshots.read()[0] == [*range(0, 50, 2), 50, 52] and snapshots.every == 2


def test_snapshots_refuse_what_they_cannot_hold():
    model = nn.Linear(4, 2)
    with pytest.raises(ValueError, match="at least 3 snapshots of 40 bytes, got 100"):
        WeightPath(budget_bytes=100).add(0, model)
    snapshots = WeightPath()
    with pytest.raises(ValueError, match="no snapshot yet"):
        snapshots.read()
    assert snapshots.add(5, model) and not snapshots.add(5, model)
    with pytest.raises(ValueError, match="steps must increase: got 3 after 5"):
        snapshots.add(3, model)
    with pytest.raises(ValueError, match="the model has 15 parameters, the snapshots 10"):
        snapshots.add(6, nn.Linear(4, 3))
    with pytest.raises(ValueError, match="at least 3 snapshots, got 1"):
        pca_plane(snapshots)


# --- progressive and cancelable ------------------------------------------------------------------


def test_the_coarse_grid_is_the_full_grids_values_at_its_points(run):
    _, snapshots, evaluator = run
    coarse, rows = full_grid(evaluator, random_plane(snapshots), n=13, coarse=4)
    assert coarse.alpha_index == coarse.beta_index == [0, 4, 8, 12]
    for r, j in enumerate(coarse.beta_index):
        assert coarse.loss[r] == [rows[j].loss[i] for i in coarse.alpha_index]
    assert [row.index for row in rows] == list(range(13))
    progress = [coarse.progress] + [row.progress for row in rows]
    assert progress == sorted(progress) and progress[0] == 16 / 169 and progress[-1] == 1.0
    assert coarse_indices(41, 11) == list(range(0, 41, 4)) and coarse_indices(51, 11) == list(range(0, 51, 5))


def test_cancel_stops_within_one_row(run):
    _, snapshots, evaluator = run
    cancel = threading.Event()
    updates: queue.Queue = queue.Queue()

    def work() -> None:
        for update in grid(evaluator, random_plane(snapshots), n=15, coarse=3, cancel=cancel):
            updates.put(update)
        updates.put(None)

    worker = threading.Thread(target=work)
    worker.start()
    assert isinstance(updates.get(timeout=30), CoarseGrid)
    assert updates.get(timeout=30).index == 0
    cancel.set()
    worker.join(timeout=30)
    after = []
    while (update := updates.get_nowait()) is not None:
        after.append(update)
    assert len(after) <= 1  # the row being computed when the flag was set

    cancel = threading.Event()
    cancel.set()
    assert list(grid(evaluator, random_plane(snapshots), n=5, cancel=cancel)) == []


def test_grid_arguments_are_checked(run):
    _, snapshots, evaluator = run
    plane = random_plane(snapshots)
    with pytest.raises(ValueError, match=f"n must be in \\[2, {MAX_GRID}\\] points per side, got 52"):
        next(grid(evaluator, plane, n=52))
    with pytest.raises(ValueError, match=r"finite with lo < hi, got \(1.0, -1.0\)"):
        next(grid(evaluator, plane, n=5, alpha_range=(1.0, -1.0)))
    with pytest.raises(ValueError, match=r"must have shape \(13706,\), got \(3,\)"):
        evaluator.loss(torch.zeros(3))


# --- the 1-D view --------------------------------------------------------------------------------


def test_the_line_runs_from_the_initial_weights_to_the_current_ones(run):
    trainer, snapshots, evaluator = run
    first, latest = snapshots.first[1], snapshots.latest[1]
    profile = line_profile(evaluator, first, latest)
    assert len(profile.t) == 61 and profile.t[0] == -0.25 and profile.t[-1] == 1.25
    at_0, at_1 = profile.t.index(0.0), profile.t.index(1.0)
    assert profile.loss[at_0] == evaluator.loss(first)
    assert profile.loss[at_1] == evaluator.loss(latest)
    x, y = trainer.data.x_train, trainer.data.y_train
    assert profile.loss[at_0] == pytest.approx(reference_loss(trainer.model, first, x, y), **LOSS_TOLERANCE)
    assert profile.loss[at_1] == pytest.approx(reference_loss(trainer.model, latest, x, y), **LOSS_TOLERANCE)
    assert profile.loss[at_1] < profile.loss[at_0]  # training lowered the loss
