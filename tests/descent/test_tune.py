"""Tune η: every run of a sweep against a plain torch.optim loop, the pick against the theory of gradient
descent on a quadratic, the statuses against the stability map's, and the tie rule."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from app.config import Settings
from app.descent import cost, runs
from app.descent.optimizers import get_optimizer
from app.descent.surfaces import SURFACES
from app.descent.tune import TIE, _pick, learning_rates, tune

BOUND = 1e8


def span_of(surface) -> float:
    return max(surface.x_range[1] - surface.x_range[0], surface.y_range[1] - surface.y_range[0])


def torch_final(surface, optimizer_id, hyperparameters, start, steps) -> tuple[float, bool]:
    """The final loss of a plain torch.optim loop and whether it diverged, stopping as the engine does: at
    the first θ whose loss or gradient is not finite or that leaves the bound, keeping the loss before it."""
    p = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    opt = get_optimizer(optimizer_id).make_torch_optimizer([p], hyperparameters)
    last = math.nan
    for k in range(steps + 1):
        opt.zero_grad()
        loss = surface.fn(p[0], p[1])
        loss.backward()
        ok = math.isfinite(loss.item()) and bool(torch.isfinite(p.grad).all()) and p.abs().max() <= BOUND
        if not ok:
            return last, True
        last = loss.item()
        if k < steps:
            opt.step()
    return last, False


# Some runs are chaotic: Rosenbrock between η ≈ 1e-3 and divergence, Adam there at η ≈ 1, NAdam at η ≈ 1 on
# the bowl. The last bit by which torch's own arithmetic may differ from NumPy's (an FMA or not in
# add_(grad, alpha=-lr)) grows there to 1e-8 or percents in 300 steps, for the engine's own trajectory
# (app/descent/runs.py) as for these runs. The torch sample stays clear of them; every η, chaotic or not,
# is held to that trajectory bit for bit.
@pytest.mark.parametrize(
    ("surface_id", "choices", "sample"),
    [
        (
            "rosenbrock",
            [("sgd", {}), ("momentum", {"momentum": 0.8}), ("adam", {"betas": (0.85, 0.99)})],
            (0, 1, 2, 11),
        ),
        (
            "ill_conditioned_bowl",
            [("rmsprop", {"alpha": 0.9}), ("nesterov", {}), ("nadam", {})],
            (0, 3, 5, 6, 7, 8, 9, 11),
        ),
    ],
)
def test_every_run_equals_a_torch_optim_loop_and_the_trajectory(surface_id, choices, sample):
    surface = SURFACES[surface_id]
    start, steps = surface.default_start, 300
    lrs = learning_rates((1e-4, 3.0), 12)
    sweeps = tune(surface, choices, start, lrs, steps, BOUND, span_of(surface))
    assert [s.optimizer for s in sweeps] == [oid for oid, _ in choices]
    checked = set()
    for (oid, hyper), sweep in zip(choices, sweeps, strict=True):
        for j in sample:
            expected, diverged = torch_final(surface, oid, {**hyper, "lr": float(lrs[j])}, start, steps)
            assert (sweep.statuses[j] == "diverged") == diverged, (oid, lrs[j])
            # as tests/descent/test_optimizers.py holds points: 1e-9 relative, a floor near 0
            np.testing.assert_allclose(sweep.final_losses[j], expected, rtol=1e-9, atol=1e-12, err_msg=oid)
            checked.add(diverged)
        for j, lr in enumerate(lrs):
            path = runs.trajectory(surface, oid, {**hyper, "lr": float(lr)}, start, steps, BOUND)
            assert sweep.final_losses[j] == path.losses[-1], (oid, lr)
            assert (sweep.statuses[j] == "diverged") == (path.diverged_at is not None), (oid, lr)
    assert checked == {True, False}  # the sample holds runs that diverged and runs that did not


def test_plain_gradient_descent_picks_the_optimal_step_on_a_quadratic():
    """On ½(x² + 25y²), GD contracts by max(|1 − η|, |1 − 25η|) a step: fastest at η* = 2/(1 + 25)."""
    surface = SURFACES["ill_conditioned_bowl"]
    optimal = 2 / (1 + 25)
    for lr_range, n in (((1e-5, 10.0), 40), ((0.01, 0.1), 40)):
        lrs = learning_rates(lr_range, n)
        (sweep,) = tune(surface, [("sgd", {})], surface.default_start, lrs, 1000, BOUND, span_of(surface))
        grid_step = math.log(lrs[1] / lrs[0])
        assert abs(math.log(lrs[sweep.best] / optimal)) <= grid_step, (lrs[sweep.best], optimal)
        assert all(s == "diverged" for lr, s in zip(lrs, sweep.statuses, strict=True) if lr > 2 / 25)


def test_a_round_bowl_picks_the_step_that_lands_at_once():
    """On x² + y² (λ = 2, 2), η* = 2/(2 + 2) = 0.5 reaches the minimum in one step."""
    surface = SURFACES["quadratic_bowl"]
    lrs = learning_rates((0.1, 2.5), 41)  # 0.5 is on this grid
    (sweep,) = tune(surface, [("sgd", {})], surface.default_start, lrs, 200, BOUND, span_of(surface))
    assert lrs[sweep.best] == pytest.approx(0.5, rel=1e-12)
    assert sweep.steps_to_best[sweep.best] == 1


def test_statuses_and_losses_are_the_stability_maps():
    surface = SURFACES["ill_conditioned_bowl"]
    span, start = span_of(surface), (-2.5, 1.5)
    lr_range, n, steps = (0.001, 0.5), 30, 200
    stability = runs.stability_map(surface, "sgd", {}, start, lr_range, None, None, n, steps, BOUND, span)
    (sweep,) = tune(surface, [("sgd", {})], start, learning_rates(lr_range, n), steps, BOUND, span)
    assert sweep.statuses == stability.outcome[0]
    np.testing.assert_array_equal(sweep.final_losses, stability.final_losses[0])
    assert {"converged", "slow", "diverged"} <= set(sweep.statuses)


def test_groups_change_no_number():
    """In groups of 64 (as the cost model chunks a data problem) the runs are the same bit for bit."""
    surface = SURFACES["rosenbrock"]
    choices = [("sgd", {}), ("adam", {}), ("rmsprop", {})]
    lrs = learning_rates((1e-5, 10.0), 40)  # 120 runners: two groups, one of them mixing optimizers
    whole = tune(surface, choices, surface.default_start, lrs, 120, BOUND, 4.0)
    grouped = tune(surface, choices, surface.default_start, lrs, 120, BOUND, 4.0, group=64)
    for a, b in zip(whole, grouped, strict=True):
        np.testing.assert_array_equal(a.final_losses, b.final_losses)
        assert (a.statuses, a.best) == (b.statuses, b.best)


def test_the_tie_rule():
    lrs = np.array([0.1, 0.2, 0.3, 0.4])
    history = np.array(
        [
            [9.0, 5.0, 1.0, 0.0, 0.0],  # ends at 0, within TIE from step 3
            [9.0, 0.0, 0.0, 0.0, 0.5 * TIE],  # ends within TIE of 0, from step 1: the pick
            [9.0, 0.0, 0.0, np.nan, np.nan],  # diverged (its last finite loss: -1), never picked
            [9.0, 4.0, 2.0, 1.0, 1.0],  # never within TIE
        ]
    )
    finals = np.array([0.0, 0.5 * TIE, -1.0, 1.0])
    diverged = np.array([False, False, True, False])
    best, reach = _pick(finals, diverged, history, lrs)
    assert best == 1 and reach.tolist() == [3, 1, 1, -1]
    history[1, 1:4] = 1.0  # now it comes within TIE only at its last step: the first wins
    assert _pick(finals, diverged, history, lrs)[0] == 0
    best, reach = _pick(finals, np.ones(4, dtype=bool), history, lrs)
    assert best is None and reach.tolist() == [-1] * 4


def test_the_pages_sweep_fits_the_default_limits():
    """6 optimizers × 40 η × 1 000 steps (the page's Tune η) on a built-in surface and an expression."""
    settings = Settings()
    for load in (cost.BUILTIN, cost.expression_load(200)):
        priced = cost.tune(240, 1000, load, settings.max_request_bytes)
        assert priced.work <= settings.max_work and priced.peak_bytes <= settings.max_request_bytes
        assert priced.chunk >= 240  # one group: one engine tick a step for all
