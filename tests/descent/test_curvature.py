"""Curvature: Hessians against torch.autograd.functional.hessian and LAPACK, quadratic detection, and every
stability threshold against the optimizer it describes, run just below and just above it."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import hessian

from app.descent.curvature import (
    condition_number,
    contraction_per_direction,
    heavy_ball_max_lr,
    heavy_ball_spectral_radius,
    hessians,
    nesterov_max_lr,
    nesterov_spectral_radius,
    optimal_step,
    quadratic_hessian,
    stability_threshold,
)
from app.descent.data import build_problem
from app.descent.expressions import compile_expression
from app.descent.optimizers import OPTIMIZERS, get_optimizer
from app.descent.surfaces import SURFACES

EXPRESSION = "sin(x)*exp(y/3) + x^2*y - log(1 + x^2 + y^2) + tanh(x - y)"
QUADRATIC_EXPRESSION = "3*x^2 + 2*x*y + y^2 - 4*x + 1"


@functools.cache
def _problem(problem_id: str):
    return build_problem(problem_id)  # a logistic one runs Newton's method: build each once


def _function(name: str):
    if name.startswith("expr:"):
        return compile_expression(name[5:]).fn
    if name.startswith("data:"):
        return _problem(name[5:]).surface.fn
    return SURFACES[name].fn


def _domain(name: str) -> tuple[tuple[float, float], tuple[float, float]]:
    if name.startswith("expr:"):
        return (-2.0, 2.0), (-2.0, 2.0)
    surface = _problem(name[5:]).surface if name.startswith("data:") else SURFACES[name]
    return surface.x_range, surface.y_range


def _oracle(fn, point: np.ndarray) -> np.ndarray:
    p = torch.tensor(point, dtype=torch.float64)
    return hessian(lambda q: fn(q[0], q[1]), p).numpy()


@pytest.mark.parametrize(
    "name",
    [
        "rosenbrock",
        "himmelblau",
        "goldstein_price",
        "levi",
        "mccormick",
        "ackley",
        f"expr:{EXPRESSION}",
        "data:logreg",
    ],
)
def test_hessians_and_eigenvalues_match_autograd_and_lapack(name):
    fn = _function(name)
    (x0, x1), (y0, y1) = _domain(name)
    points = np.random.default_rng(7).uniform((x0, y0), (x1, y1), size=(6, 2))
    result = hessians(fn, points)
    assert result.finite.all()
    for i, point in enumerate(points):
        expected = _oracle(fn, point)
        scale = np.abs(expected).max()
        np.testing.assert_allclose(result.hessians[i], expected, rtol=0, atol=1e-9 * scale)
        eig = np.linalg.eigvalsh(expected)
        np.testing.assert_allclose(result.eigenvalues[i], eig, rtol=0, atol=1e-9 * np.abs(eig).max())
        h, w, v = result.hessians[i], result.eigenvalues[i], result.eigenvectors[i]
        np.testing.assert_allclose(h @ v, v * w, rtol=0, atol=1e-9 * scale)  # columns are eigenvectors
        np.testing.assert_allclose(v.T @ v, np.eye(2), atol=1e-12)
        assert (v[0] >= 0).all()


def test_many_points_in_chunks_equal_one_at_a_time():
    fn = SURFACES["goldstein_price"].fn
    points = np.random.default_rng(1).uniform(-2, 2, size=(300, 2))  # over UNPROBED: chunked from a probe
    many = hessians(fn, points)
    for i in (0, 137, 299):
        np.testing.assert_array_equal(many.hessians[i], hessians(fn, points[i : i + 1]).hessians[0])


def test_no_points_and_wrong_shapes():
    assert len(hessians(SURFACES["booth"].fn, np.zeros((0, 2)))) == 0
    with pytest.raises(ValueError, match=r"points must have shape \(N, 2\), got \(3,\)"):
        hessians(SURFACES["booth"].fn, [1.0, 2.0, 3.0])


def test_a_point_without_a_finite_hessian_is_none():
    result = hessians(SURFACES["ackley"].fn, [[0.0, 0.0], [0.5, -0.3]])  # the cone's tip, then a smooth point
    assert result.finite.tolist() == [False, True]
    assert result.at(0) is None and np.isnan(result.eigenvalues[0]).all()
    assert result.at(1) is not None
    logged = hessians(compile_expression("log(x) + y^2").fn, [[-1.0, 0.0], [2.0, 1.0]])
    assert logged.finite.tolist() == [False, True]
    np.testing.assert_allclose(logged.at(1).eigenvalues, [-0.25, 2.0], rtol=1e-15)


def test_linear_and_constant_functions_have_zero_hessians():
    for text in ("3*x - y + 2", "pi", "x"):
        result = hessians(compile_expression(text).fn, [[0.3, -1.2], [2.0, 5.0]])
        np.testing.assert_array_equal(result.hessians, np.zeros((2, 2, 2)))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("quadratic_bowl", [[2, 0], [0, 2]]),
        ("ill_conditioned_bowl", [[1, 0], [0, 25]]),
        ("matyas", [[0.52, -0.48], [-0.48, 0.52]]),
        ("booth", [[10, 8], [8, 10]]),
        ("saddle", [[2, 0], [0, -2]]),
        (f"expr:{QUADRATIC_EXPRESSION}", [[6, 2], [2, 2]]),
    ],
)
def test_quadratics_are_detected_with_their_hessian(name, expected):
    h = quadratic_hessian(_function(name), _domain(name))
    assert h is not None
    np.testing.assert_allclose(h, expected, rtol=1e-12, atol=1e-12)


def test_linear_regression_on_data_is_a_quadratic():
    problem = build_problem("linreg")
    x = problem.features[:, 0].numpy()
    # J(w, b) = mean (w·x + b − y)²: H = 2·[[E x², E x], [E x, 1]]
    expected = 2 * np.array([[np.mean(x * x), np.mean(x)], [np.mean(x), 1.0]])
    h = quadratic_hessian(problem.surface.fn, _domain("data:linreg"))
    np.testing.assert_allclose(h, expected, rtol=1e-12)


@pytest.mark.parametrize(
    "name",
    ["rosenbrock", "himmelblau", "monkey_saddle", "rastrigin", "expr:x^2 + y^2 + 0.001*x^3", "data:logreg"],
)
def test_non_quadratics_are_not(name):
    assert quadratic_hessian(_function(name), _domain(name)) is None


def test_condition_number_and_optimal_step():
    assert condition_number([1.0, 25.0]) == 25.0
    w = hessians(SURFACES["matyas"].fn, [[1.0, 2.0]]).eigenvalues[0]  # 0.04 and 1
    assert condition_number(w) == pytest.approx(25.0, rel=1e-12)
    assert condition_number([-2.0, 2.0]) == math.inf
    assert optimal_step([1.0, 25.0]) == 2 / 26
    assert optimal_step([0.0, 3.0]) is None
    # At η*, both extreme directions contract by (κ − 1)/(κ + 1), the best GD can do.
    np.testing.assert_allclose(contraction_per_direction(2 / 26, [1.0, 25.0]), [24 / 26, 24 / 26], rtol=1e-15)
    np.testing.assert_array_equal(contraction_per_direction(0.1, [5.0, 30.0]), [0.5, 2.0])


def test_spectral_radii_are_the_iteration_matrices_eigenvalues():
    rng = np.random.default_rng(3)
    for _ in range(200):
        lr, beta, lam = rng.uniform(0.01, 1.0), rng.uniform(0.0, 0.99), rng.uniform(0.1, 10.0)
        a = lr * lam
        heavy = np.array([[1 + beta - a, -beta], [1.0, 0.0]])
        nesterov = np.array([[1 - a * (1 + beta), -lr * beta**2], [lam, beta]])
        assert heavy_ball_spectral_radius(lr, beta, [lam]) == pytest.approx(
            np.abs(np.linalg.eigvals(heavy)).max()
        )
        assert nesterov_spectral_radius(lr, beta, [lam]) == pytest.approx(
            np.abs(np.linalg.eigvals(nesterov)).max()
        )


def test_an_eta_beta_map_comes_in_one_call_and_its_boundary_is_analytic():
    lrs, betas = np.meshgrid(np.linspace(0.01, 0.5, 40), np.linspace(0.0, 0.95, 30))  # (30, 40)
    radius = heavy_ball_spectral_radius(lrs, betas, [1.0, 10.0])
    assert radius.shape == (30, 40)
    assert radius[7, 11] == heavy_ball_spectral_radius(lrs[7, 11], betas[7, 11], [1.0, 10.0])
    np.testing.assert_array_equal(radius < 1, lrs < heavy_ball_max_lr(betas, 10.0))
    beta = np.linspace(0.0, 0.95, 20)
    for boundary, radius_of in (
        (heavy_ball_max_lr, heavy_ball_spectral_radius),
        (nesterov_max_lr, nesterov_spectral_radius),
    ):
        edge = boundary(beta, 10.0)
        assert (radius_of(edge * 0.999, beta, [10.0]) < 1).all()
        assert (radius_of(edge * 1.001, beta, [10.0]) > 1).all()


# --- thresholds, run on torch.optim -----------------------------------------------------------------------


def _critical_lr(optimizer_id: str, hp: dict, quantity: float) -> float:
    """The lr at which stability_threshold equals the measured quantity (the threshold falls as lr grows)."""
    low, high = 1e-6, 1e3
    for _ in range(200):
        mid = math.sqrt(low * high)
        if stability_threshold(optimizer_id, {**hp, "lr": mid}).threshold > quantity:
            low = mid
        else:
            high = mid
    return math.sqrt(low * high)


def _run_torch(optimizer_id: str, hp: dict, h: np.ndarray, start, steps: int) -> float:
    """‖θ_T‖/‖θ_0‖ after the registry's torch.optim optimizer steps on J = ½θᵀHθ with gradient Hθ; stops
    early once the ratio is below 1e-6 or above 1e6."""
    theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    matrix = torch.from_numpy(h)
    optimizer = get_optimizer(optimizer_id).make_torch_optimizer([theta], hp)
    size = float(theta.detach().norm())
    ratio = 1.0
    for _ in range(steps):
        theta.grad = matrix @ theta.detach()
        optimizer.step()
        ratio = float(theta.detach().norm()) / size
        if not 1e-6 <= ratio <= 1e6:
            break
    return ratio


@pytest.mark.parametrize(
    ("optimizer_id", "hp"),
    [
        ("sgd", {}),
        ("sgd", {"weight_decay": 3.0}),
        ("momentum", {"momentum": 0.9}),
        ("momentum", {"momentum": 0.5, "dampening": 0.3}),
        ("momentum", {"momentum": 0.9, "weight_decay": 1.0}),
        ("momentum", {"momentum": 0.0, "dampening": 0.5}),  # no buffer: plain GD, dampening unused
        ("nesterov", {"momentum": 0.9}),
        ("nesterov", {"momentum": 0.3, "weight_decay": 0.5}),
    ],
)
def test_gd_and_momentum_converge_just_below_their_threshold_and_diverge_just_above(optimizer_id, hp):
    surface = SURFACES["ill_conditioned_bowl"]
    curvature = hessians(surface.fn, [surface.default_start]).at(0)
    lambda_max = curvature.eigenvalues[1]  # 25
    edge = _critical_lr(optimizer_id, hp, lambda_max)
    assert stability_threshold(optimizer_id, {**hp, "lr": edge}).quantity == "sharpness"
    below = _run_torch(
        optimizer_id, {**hp, "lr": 0.98 * edge}, curvature.hessian, surface.default_start, 5000
    )
    above = _run_torch(
        optimizer_id, {**hp, "lr": 1.02 * edge}, curvature.hessian, surface.default_start, 5000
    )
    assert below < 1e-6
    assert above > 1e6


def test_published_thresholds():
    assert stability_threshold("sgd", {"lr": 0.01}).threshold == pytest.approx(200.0)
    assert stability_threshold("momentum", {"lr": 0.01, "momentum": 0.9}).threshold == pytest.approx(380.0)
    nesterov = stability_threshold("nesterov", {"lr": 0.01, "momentum": 0.9}).threshold
    assert nesterov == pytest.approx(380.0 / 2.8)
    adam = stability_threshold("adam", {"lr": 0.01, "betas": (0.9, 0.999)})
    assert adam.quantity == "preconditioned_sharpness"
    assert adam.threshold == pytest.approx(3800.0)  # 38/η
    assert "2207.14484" in adam.source
    assert stability_threshold("rmsprop", {"lr": 0.01}).threshold == pytest.approx(200.0)


def test_every_optimizer_gets_an_answer_and_none_is_invented():
    for optimizer_id in OPTIMIZERS:
        answer = stability_threshold(optimizer_id, {})
        assert answer.formula and answer.source
        assert (answer.quantity is None) == (answer.threshold is None)
    for optimizer_id in ("adagrad", "adadelta", "nadam", "radam", "adamax"):
        answer = stability_threshold(optimizer_id, {})
        assert answer.quantity is None and answer.formula.startswith("none known")
    assert stability_threshold("momentum", {"momentum": 0.9, "dampening": 1.0}).threshold is None
    with pytest.raises(KeyError, match="unknown optimizer 'lbfgs'"):
        stability_threshold("lbfgs", {})


def _frozen_adaptive(optimizer_id: str, hp: dict, h: np.ndarray, p: np.ndarray, steps: int) -> float:
    """The optimizer's update with its preconditioner P frozen (diagonal p), on J = ½θᵀHθ: ‖θ_T‖/‖θ_0‖.

    adam: m ← β₁m + (1 − β₁)(g + λθ), θ ← θ − η·P⁻¹m. adamw: θ ← (1 − ηλ)θ − η·P⁻¹m with m of g alone.
    rmsprop: buf ← μ·buf + P⁻¹(g + λθ), θ ← θ − η·buf.
    """
    kw = get_optimizer(optimizer_id).torch_kwargs(hp)
    lr, wd = kw["lr"], kw["weight_decay"]
    theta = np.linspace(1.0, -0.5, len(p))
    start, m = np.linalg.norm(theta), np.zeros_like(theta)
    for _ in range(steps):
        g = h @ theta
        if optimizer_id == "rmsprop":
            m = kw["momentum"] * m + (g + wd * theta) / p
            theta = theta - lr * m
        else:
            beta1 = kw["betas"][0]
            decoupled = optimizer_id == "adamw"
            m = beta1 * m + (1 - beta1) * (g if decoupled else g + wd * theta)
            theta = (1 - lr * wd if decoupled else 1.0) * theta - lr * m / p
        if not np.isfinite(theta).all() or np.linalg.norm(theta) > 1e12 * start:
            return math.inf
    return float(np.linalg.norm(theta) / start)


@pytest.mark.parametrize(
    ("optimizer_id", "hp"),
    [
        ("adam", {}),
        ("adam", {"betas": (0.5, 0.99), "weight_decay": 0.7}),
        ("adamw", {"weight_decay": 2.0}),
        ("rmsprop", {}),
        ("rmsprop", {"momentum": 0.8, "weight_decay": 0.3}),
    ],
)
def test_adaptive_thresholds_hold_for_a_frozen_preconditioner(optimizer_id, hp):
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    h = q @ np.diag([0.5, 2.0, 7.0, 30.0]) @ q.T
    p = rng.uniform(0.2, 3.0, size=4)  # P's diagonal
    wd = get_optimizer(optimizer_id).torch_kwargs(hp)["weight_decay"]
    coupled = 0.0 if optimizer_id == "adamw" else wd
    sharp = np.linalg.eigvals((h + coupled * np.eye(4)) / p[:, None]).real.max()  # λ_max(P⁻¹(H + λI))
    edge = _critical_lr(optimizer_id, hp, sharp)
    assert stability_threshold(optimizer_id, {**hp, "lr": edge}).quantity == "preconditioned_sharpness"
    assert _frozen_adaptive(optimizer_id, {**hp, "lr": 0.98 * edge}, h, p, 4000) < 1e-6
    assert _frozen_adaptive(optimizer_id, {**hp, "lr": 1.02 * edge}, h, p, 4000) > 1e6
