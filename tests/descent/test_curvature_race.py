"""What the race adds to app/descent/curvature.py: the diagonal preconditioner read from an optimizer's
state (held to torch.optim's own update), λ_max(P⁻¹H), the per-step sharpness track, quadratic summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.descent import cost
from app.descent.curvature import (
    hessians,
    preconditioned_sharpness,
    preconditioner,
    quadratic,
    sharpness_track,
)
from app.descent.surfaces import SURFACES

H = np.array([[3.0, 1.0], [1.0, 0.5]])  # the quadratic ½θᵀHθ the optimizers step on


def torch_steps(cls, kwargs, steps=5):
    """θ before and after each step of torch.optim on ½θᵀHθ, and the state after each step."""
    theta = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = cls([theta], **kwargs)
    hess = torch.tensor(H)
    rows = []
    for _ in range(steps):
        before = theta.detach().clone()
        opt.zero_grad()
        (0.5 * theta @ hess @ theta).backward()
        opt.step()
        state = {
            k: (v.detach().clone().reshape(-1) if torch.is_tensor(v) else v)
            for k, v in opt.state[theta].items()
        }
        rows.append((before, theta.detach().clone(), state))
    return rows


def as_state(rows, names):
    """The engine's layout: name → (M, width)."""
    return {n: np.stack([np.atleast_1d(np.asarray(r[2][n], dtype=np.float64)) for r in rows]) for n in names}


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adams_preconditioner_is_the_one_its_update_divides_by(amsgrad):
    hp = {"lr": 0.1, "betas": (0.8, 0.9), "eps": 1e-3, "amsgrad": amsgrad}
    rows = torch_steps(torch.optim.Adam, hp)
    names = ["exp_avg", "exp_avg_sq", "step"] + (["max_exp_avg_sq"] if amsgrad else [])
    p = preconditioner("adam", hp, as_state(rows, names))
    for (before, after, state), diag in zip(rows, p, strict=True):
        # torch: θ ← θ − η·m/P with m = exp_avg after the step
        expected = -0.1 * state["exp_avg"].numpy() / diag
        np.testing.assert_allclose((after - before).numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("centered", [False, True])
def test_rmsprops_preconditioner_is_the_one_its_update_divides_by(centered):
    hp = {"lr": 0.01, "alpha": 0.9, "eps": 1e-4, "centered": centered}
    rows = torch_steps(torch.optim.RMSprop, hp)
    state = as_state(rows, ["square_avg"] + (["grad_avg"] if centered else []))
    p = preconditioner("rmsprop", hp, state)
    for (before, after, _), diag in zip(rows, p, strict=True):
        gradient = H @ before.numpy()
        np.testing.assert_allclose((after - before).numpy(), -0.01 * gradient / diag, rtol=1e-12)


def test_no_preconditioner_for_sgd_or_without_the_state():
    assert preconditioner("sgd", {"lr": 0.1}, {}) is None
    assert preconditioner("adam", {"lr": 0.1}, {"exp_avg": np.zeros((1, 2))}) is None


def test_preconditioned_sharpness_is_the_largest_eigenvalue_of_p_inverse_h():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(50, 2, 2))
    h = a @ a.transpose(0, 2, 1) - 0.5 * np.eye(2)  # symmetric, some indefinite
    p = rng.uniform(0.01, 3.0, size=(50, 2))
    got = preconditioned_sharpness(h, p)
    for k in range(50):
        expected = np.linalg.eigvals(np.diag(1 / p[k]) @ h[k]).real.max()
        assert got[k] == pytest.approx(expected, rel=1e-10, abs=1e-12)
    h[0, 0, 0], p[1, 0] = np.nan, 0.0
    assert np.isnan(preconditioned_sharpness(h[:2], p[:2])).all()


def test_the_sharpness_track_names_each_optimizers_quantity():
    fn = SURFACES["rosenbrock"].fn
    points = np.array([[-1.2, 1.0], [0.5, 0.5]])
    curv = hessians(fn, points)
    sgd = sharpness_track("sgd", {"lr": 0.001}, curv, {})
    assert sgd.quantity == "sharpness" and sgd.threshold == pytest.approx(2000.0)
    np.testing.assert_array_equal(sgd.values, curv.eigenvalues[:, 1])
    adagrad = sharpness_track("adagrad", {"lr": 0.1}, curv, {})
    assert adagrad.quantity is None and adagrad.threshold is None
    state = {"exp_avg_sq": np.array([[4.0, 1.0], [1.0, 9.0]]), "step": np.array([[1.0], [2.0]])}
    adam = sharpness_track("adam", {"lr": 0.01, "weight_decay": 0.5}, curv, state)
    p = preconditioner("adam", {"lr": 0.01}, state)
    expected = [
        np.linalg.eigvals(np.diag(1 / p[k]) @ (curv.hessians[k] + 0.5 * np.eye(2))).real.max() for k in (0, 1)
    ]
    np.testing.assert_allclose(adam.values, expected, rtol=1e-10)
    assert adam.quantity == "preconditioned_sharpness" and adam.threshold == pytest.approx(3800.0)
    fallback = sharpness_track("adam", {"lr": 0.01}, curv, {})  # no state: λ_max(H), said so
    assert fallback.quantity is None and fallback.threshold is None


def test_quadratic_summaries_have_the_closed_forms():
    bowl = SURFACES["ill_conditioned_bowl"]  # ½(x² + 25y²)
    q = quadratic(bowl.fn, (bowl.x_range, bowl.y_range))
    np.testing.assert_allclose(q.hessian, [[1, 0], [0, 25]], rtol=1e-12)
    assert q.condition_number == pytest.approx(25.0) and q.optimal_step == pytest.approx(2 / 26)
    saddle = SURFACES["saddle"]
    s = quadratic(saddle.fn, (saddle.x_range, saddle.y_range))
    assert s.condition_number is None and s.optimal_step is None
    rosen = SURFACES["rosenbrock"]
    assert quadratic(rosen.fn, (rosen.x_range, rosen.y_range)) is None


def test_a_race_with_curvature_costs_a_hessian_per_step():
    plain = cost.race_second([None, None], cost.BUILTIN, 100, 30)
    curved = cost.race_second([None, None], cost.BUILTIN, 100, 30, curvature=True)
    per_step = cost.HESSIAN * 1 + cost.HESSIAN_POINT  # a built-in surface: one sample a point
    assert curved.work - plain.work == 100 * 2 * per_step + 30 * 2 * cost.HESSIAN_CALL
