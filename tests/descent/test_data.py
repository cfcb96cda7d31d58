"""Data-backed problems: batch, stochastic and mini-batch descent on real samples."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.descent.data import (
    DATA_PROBLEMS,
    DataObjective,
    build_problem,
    gradient_spread,
    minibatch_variance,
    runner_seed,
)
from app.descent.engine import Engine
from app.descent.objective import FunctionObjective
from app.descent.optimizers import get_optimizer


def reference_loop(problem, optimizer_id, hp, start, steps, mode, k, seed, runner_id):
    """Written directly with torch: the documented sampling (a generator per runner, randperm per epoch,
    consecutive slices), the mean loss of the batch, and torch.optim."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = get_optimizer(optimizer_id).make_torch_optimizer([theta], hp)
    g = torch.Generator().manual_seed(runner_seed(seed, runner_id))
    n = problem.n
    order, position = None, n
    points = []
    for _ in range(steps):
        if mode == "full":
            index = torch.arange(n)
        else:
            size = 1 if mode == "stochastic" else k
            if position >= n:
                order, position = torch.randperm(n, generator=g), 0
            index = order[position : position + size]
            position += len(index)
        points.append(theta.detach().numpy().copy())
        opt.zero_grad()
        X, Y = problem.features[index], problem.targets[index]
        if problem.kind == "linear":
            loss = ((theta[0] * X[:, 0] + theta[1] - Y) ** 2).mean()
        else:
            logits = theta[0] * X[:, 0] + theta[1] * X[:, 1]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, Y)
        loss.backward()
        opt.step()
    return np.array(points)


@pytest.mark.parametrize("problem_id", list(DATA_PROBLEMS))
@pytest.mark.parametrize(
    ("optimizer_id", "hp"), [("sgd", {"lr": 0.05}), ("momentum", {"lr": 0.02}), ("adam", {"lr": 0.05})]
)
def test_every_batch_mode_equals_a_plain_torch_loop(problem_id, optimizer_id, hp):
    problem = build_problem(problem_id)
    objective = DataObjective(problem, seed=7)
    engine = Engine(objective)
    modes = {
        "full": ("full", None),
        "one": ("stochastic", None),
        "mini": ("minibatch", 16),
        "odd": ("minibatch", 30),
    }
    start = problem.surface.default_start
    for rid, (mode, k) in modes.items():
        engine.add(rid, optimizer_id, hp, start)
        objective.configure(rid, mode, k)
    traces = engine.run(150)  # 150 × 30 crosses several epochs with a short last batch (200 = 6·30 + 20)
    for rid, (mode, k) in modes.items():
        ref = reference_loop(problem, optimizer_id, hp, start, 150, mode, k, 7, rid)
        np.testing.assert_allclose(traces[rid].points, ref, rtol=1e-9, atol=1e-12)
    # The four took different paths from the same start.
    finals = {rid: tuple(np.round(t.points[-1], 6)) for rid, t in traces.items()}
    assert len(set(finals.values())) == 4


def test_full_batch_equals_the_surface_behaviour():
    problem = build_problem("linreg")
    data = Engine(DataObjective(problem))
    data.add("r", "adam", {"lr": 0.1}, (0.0, 3.0))
    data.objective.configure("r", "full")
    surface = Engine(FunctionObjective(problem.surface.fn))
    surface.add("r", "adam", {"lr": 0.1}, (0.0, 3.0))
    np.testing.assert_allclose(
        data.run(100)["r"].points, surface.run(100)["r"].points, rtol=1e-12, atol=1e-14
    )


def test_full_batch_gradient_is_the_closed_form():
    problem = build_problem("linreg", {"n": 50, "noise": 0.3, "true_w": -1.5, "true_b": 0.5, "seed": 3})
    objective = DataObjective(problem)
    for w, b in [(0.0, 0.0), (2.5, -1.0), (-1.5, 0.5)]:
        _, gx, gy = objective.value_and_grad(np.array([w]), np.array([b]))
        expected = problem.closed_form_gradient(w, b)  # 2/n·Xᵀ(Xθ − y)
        np.testing.assert_allclose([gx[0], gy[0]], expected, rtol=1e-12, atol=1e-14)
    # and the least-squares optimum has zero gradient
    _, gx, gy = objective.value_and_grad(np.array([problem.optimum[0]]), np.array([problem.optimum[1]]))
    assert abs(gx[0]) < 1e-12 and abs(gy[0]) < 1e-12


def test_extras_carry_the_full_batch_gradient_beside_the_batch_one():
    problem = build_problem("linreg")
    objective = DataObjective(problem)
    engine = Engine(objective)
    engine.add("s", "sgd", {"lr": 0.01}, (0.0, 0.0))
    objective.configure("s", "stochastic")
    t = engine.run(30)["s"]
    for k in range(30):
        w, b = t.points[k]
        np.testing.assert_allclose(
            t.extras["full_gradient"][k], problem.closed_form_gradient(w, b), rtol=1e-12
        )
        assert t.extras["batch_size"][k, 0] == 1
    assert not np.allclose(t.gradients, t.extras["full_gradient"])  # one sample is not the whole data
    # After 200 single-sample steps the second epoch begins.
    t = engine.run(200)["s"]
    assert t.extras["epoch"][0, 0] == 0 and t.extras["epoch"][-1, 0] == 1
    # A full-batch step sees all 200 samples: every step is an epoch.
    engine.add("f", "sgd", {"lr": 0.01}, (0.0, 0.0))
    objective.configure("f", "full")
    np.testing.assert_array_equal(engine.run(5)["f"].extras["epoch"][:, 0], [0, 1, 2, 3, 4])


def test_minibatch_gradient_variance_scales_as_one_over_k():
    problem = build_problem("linreg")
    objective = DataObjective(problem, seed=1)
    theta = (0.5, 2.5)
    samples = objective.sample_gradients(*theta)
    # per-sample gradients, by autograd, average to the full-batch gradient
    np.testing.assert_allclose(samples.mean(axis=0), problem.closed_form_gradient(*theta), rtol=1e-12)
    spread = gradient_spread(samples)
    x, y = np.full(1, theta[0]), np.full(1, theta[1])
    measured = {}
    for k in (1, 4, 16, 64):
        objective.configure("r", "minibatch", k)
        errors = []
        for _ in range(2000):
            _, gx, gy, extras = objective.evaluate(x, y, ["r"])
            errors.append(((np.array([gx[0], gy[0]]) - extras["full_gradient"][0]) ** 2).sum())
        measured[k] = float(np.mean(errors))
        # An epoch is N // k batches of k and, when k does not divide N, one shorter batch.
        sizes = [k] * (problem.n // k) + ([problem.n % k] if problem.n % k else [])
        predicted = float(np.mean([minibatch_variance(spread, problem.n, size) for size in sizes]))
        assert measured[k] == pytest.approx(predicted, rel=0.12), (k, measured[k], predicted)
    # k = 1, 4 and 16 divide N = 200: the variance falls as 1/k (times the finite-population factor)
    assert measured[1] / measured[16] == pytest.approx(16 * 199 / 184, rel=0.15)
    assert measured[4] / measured[16] == pytest.approx(4 * 196 / 184, rel=0.15)


def test_a_reset_runner_replays_the_same_batches():
    problem = build_problem("logreg")
    objective = DataObjective(problem, seed=4)
    engine = Engine(objective)
    engine.add("r", "sgd", {"lr": 0.3}, (0.0, 0.0))
    objective.configure("r", "minibatch", 8)
    first = engine.run(60)["r"].points
    engine.reset("r")
    objective.restart("r")
    np.testing.assert_array_equal(engine.run(60)["r"].points, first)


def test_runners_with_the_same_settings_but_other_ids_sample_differently():
    problem = build_problem("linreg")
    objective = DataObjective(problem, seed=0)
    engine = Engine(objective)
    for rid in ("a", "b"):
        engine.add(rid, "sgd", {"lr": 0.05}, (0.0, 0.0))
        objective.configure(rid, "stochastic")
    t = engine.run(20)
    assert not np.allclose(t["a"].points, t["b"].points)


def test_ill_conditioned_logistic_problem_and_feature_scaling():
    def condition(problem) -> float:
        w, b = problem.optimum
        theta = torch.tensor([w, b], dtype=torch.float64)
        hessian = torch.autograd.functional.hessian(lambda t: problem.full_loss(t[0], t[1]), theta)
        eig = torch.linalg.eigvalsh(hessian)
        return float(eig.max() / eig.min())

    ill = build_problem("logreg_ill")
    fixed = build_problem("logreg_ill", {"standardize": True})
    balanced = build_problem("logreg")
    assert condition(ill) > 50
    assert condition(fixed) < 10 and condition(balanced) < 10
    for problem in (ill, fixed, balanced):
        _, gx, gy = DataObjective(problem).value_and_grad(
            np.array([problem.optimum[0]]), np.array([problem.optimum[1]])
        )
        assert max(abs(gx[0]), abs(gy[0])) < 1e-10  # Newton found the minimizer


def test_data_sets_are_seeded_and_validated():
    a, b = build_problem("linreg", {"seed": 5}), build_problem("linreg", {"seed": 5})
    assert torch.equal(a.features, b.features) and torch.equal(a.targets, b.targets)
    assert not torch.equal(a.targets, build_problem("linreg", {"seed": 6}).targets)
    with pytest.raises(ValueError, match="noise"):
        build_problem("linreg", {"noise": -1})
