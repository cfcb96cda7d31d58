"""Built-in surfaces: registry shape, autograd against finite differences, minima against published tables."""

import dataclasses
import math
import re

import pytest
import torch
from torch import Tensor
from torch.autograd.functional import hessian

from app.descent.surfaces import SURFACES, Surface, get_surface

REQUIRED_IDS = {
    "rosenbrock",
    "beale",
    "himmelblau",
    "booth",
    "rastrigin",
    "ackley",
    "goldstein_price",
    "six_hump_camel",
    "three_hump_camel",
    "styblinski_tang",
    "matyas",
    "levi",
    "mccormick",
    "saddle",
    "monkey_saddle",
    "ill_conditioned_bowl",
    "quadratic_bowl",
}

# How many of a surface's listed minima are global (they come first); 1 unless named here.
GLOBAL_COUNT = {"himmelblau": 4, "six_hump_camel": 2, "saddle": 0, "monkey_saddle": 0}

# Points where f has a kink: autograd gives a subgradient there, and there is no Hessian.
KINKS = {"ackley": {(0.0, 0.0)}}

# Minima and global minimum values as the usual tables print them (Wikipedia's "Test functions for
# optimization", Surjanovic & Bingham), with the tolerance their printed digits allow (some truncate).
PUBLISHED = {
    "rosenbrock": (((1.0, 1.0),), 0.0, 1e-9),
    "beale": (((3.0, 0.5),), 0.0, 1e-9),
    "goldstein_price": (((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)), 3.0, 1e-9),
    "booth": (((1.0, 3.0),), 0.0, 1e-9),
    "matyas": (((0.0, 0.0),), 0.0, 1e-9),
    "levi": (((1.0, 1.0),), 0.0, 1e-9),
    "himmelblau": (
        ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)),
        0.0,
        1e-6,
    ),
    "three_hump_camel": (((0.0, 0.0),), 0.0, 1e-9),
    "six_hump_camel": (((0.0898, -0.7126), (-0.0898, 0.7126)), -1.0316, 1e-4),
    "styblinski_tang": (((-2.903534, -2.903534),), -78.332, 5e-4),
    "mccormick": (((-0.54719, -1.54719),), -1.9133, 1e-4),
    "rastrigin": (((0.0, 0.0),), 0.0, 1e-9),
    "ackley": (((0.0, 0.0),), 0.0, 1e-9),
}

# Fractions of the domain for the gradient check; none is ½, so no point lands on Ackley's kink.
GRID_FRACTIONS = (
    (0.11, 0.83),
    (0.27, 0.31),
    (0.38, 0.62),
    (0.53, 0.17),
    (0.66, 0.94),
    (0.79, 0.46),
    (0.91, 0.07),
)

SURFACE_LIST = list(SURFACES.values())
each_surface = pytest.mark.parametrize("surface", SURFACE_LIST, ids=[s.id for s in SURFACE_LIST])


def value(surface: Surface, point: tuple[float, float]) -> float:
    x, y = torch.tensor(point, dtype=torch.float64)
    return surface.fn(x, y).item()


def gradient(surface: Surface, point: tuple[float, float]) -> Tensor:
    p = torch.tensor(point, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(surface.fn(p[0], p[1]), p)
    return grad  # (2,)


def central_difference(surface: Surface, point: tuple[float, float], h: float = 1e-6) -> Tensor:
    x, y = point
    dx = (value(surface, (x + h, y)) - value(surface, (x - h, y))) / (2 * h)
    dy = (value(surface, (x, y + h)) - value(surface, (x, y - h))) / (2 * h)
    return torch.tensor([dx, dy], dtype=torch.float64)


def hessian_at(surface: Surface, point: tuple[float, float]) -> Tensor:
    p = torch.tensor(point, dtype=torch.float64)
    return hessian(lambda q: surface.fn(q[0], q[1]), p)  # (2, 2)


def inside(surface: Surface, point: tuple[float, float]) -> bool:
    (x_low, x_high), (y_low, y_high) = surface.x_range, surface.y_range
    return x_low <= point[0] <= x_high and y_low <= point[1] <= y_high


def domain_grid(surface: Surface, n: int) -> Tensor:
    xs = torch.linspace(*surface.x_range, n, dtype=torch.float64)
    ys = torch.linspace(*surface.y_range, n, dtype=torch.float64)
    return surface.fn(xs[:, None], ys[None, :])  # (n, n)


def split_minima(surface: Surface) -> tuple[tuple, tuple]:
    count = GLOBAL_COUNT.get(surface.id, 1)
    return surface.minima[:count], surface.minima[count:]


# --- the registry ---------------------------------------------------------------------------------------


def test_registry_holds_every_required_surface() -> None:
    assert len(SURFACES) >= 15
    assert REQUIRED_IDS <= SURFACES.keys()


@each_surface
def test_entry_is_keyed_by_a_plain_id(surface: Surface) -> None:
    assert re.fullmatch(r"[a-z0-9_]+", surface.id)
    assert SURFACES[surface.id] is surface


@each_surface
def test_domain_holds_start_and_minima(surface: Surface) -> None:
    assert surface.x_range[0] < surface.x_range[1]
    assert surface.y_range[0] < surface.y_range[1]
    assert inside(surface, surface.default_start)
    for minimum in surface.minima:
        assert inside(surface, minimum), minimum


@each_surface
def test_minimum_value_is_given_exactly_when_minima_are(surface: Surface) -> None:
    assert (surface.minimum_value is None) == (len(surface.minima) == 0)
    assert len(surface.minima) >= GLOBAL_COUNT.get(surface.id, 1)


@each_surface
def test_texts_are_plain_and_short(surface: Surface) -> None:
    assert surface.name.strip() and surface.formula.strip()
    # A formula for people: Unicode superscripts, not code.
    assert "**" not in surface.formula and "^" not in surface.formula
    # One sentence, in the "what it teaches" voice: no sentence break inside, no full stop at the end.
    assert surface.description.strip()
    assert re.search(r"[.!?](\s|$)", surface.description) is None, surface.description


def test_surface_is_frozen() -> None:
    surface = get_surface("rosenbrock")
    with pytest.raises(dataclasses.FrozenInstanceError):
        surface.suggested_lr = 1.0  # type: ignore[misc]


def test_get_surface_returns_registry_entry() -> None:
    for surface_id, surface in SURFACES.items():
        assert get_surface(surface_id) is surface


def test_get_surface_unknown_id_names_the_valid_ones() -> None:
    with pytest.raises(KeyError) as caught:
        get_surface("rosenbrok")
    message = caught.value.args[0]
    assert message == "unknown surface 'rosenbrok'; expected one of: " + ", ".join(SURFACES)
    assert "rosenbrock" in message and "quadratic_bowl" in message


# --- the functions ------------------------------------------------------------------------------------


@each_surface
@pytest.mark.parametrize("fraction", GRID_FRACTIONS)
def test_autograd_gradient_matches_central_differences(
    surface: Surface, fraction: tuple[float, float]
) -> None:
    (x_low, x_high), (y_low, y_high) = surface.x_range, surface.y_range
    point = (x_low + fraction[0] * (x_high - x_low), y_low + fraction[1] * (y_high - y_low))
    # Rounding in the difference quotient is about eps·|f|/h ≈ 2e-10·|f|; the floor sits well above it.
    floor = 1e-7 * (1 + abs(value(surface, point)))
    torch.testing.assert_close(
        gradient(surface, point), central_difference(surface, point), rtol=1e-6, atol=floor
    )


@each_surface
def test_fn_is_elementwise_over_grids(surface: Surface) -> None:
    xs = torch.linspace(*surface.x_range, 5, dtype=torch.float64)
    ys = torch.linspace(*surface.y_range, 7, dtype=torch.float64)
    grid_x, grid_y = torch.meshgrid(xs, ys, indexing="ij")  # (5, 7) each
    values = surface.fn(grid_x, grid_y)  # (5, 7)
    pointwise = torch.tensor([[surface.fn(x, y).item() for y in ys] for x in xs], dtype=torch.float64)

    assert values.shape == (5, 7) and values.dtype == torch.float64
    torch.testing.assert_close(values, pointwise, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(surface.fn(xs[:, None], ys[None, :]), values, rtol=0, atol=0)
    torch.testing.assert_close(
        surface.fn(grid_x.flatten(), grid_y.flatten()), values.flatten(), rtol=0, atol=0
    )
    assert surface.fn(xs[1], ys[2]).shape == ()


@each_surface
def test_log_scale_marks_surfaces_whose_values_span_orders_of_magnitude(surface: Surface) -> None:
    heights = domain_grid(surface, 201).flatten()
    heights = heights - heights.min()
    spread = heights.max() / torch.quantile(heights, 0.1)
    assert surface.log_scale == bool(spread > 200), f"max / 10th percentile = {spread.item():.3g}"


# --- minima ---------------------------------------------------------------------------------------------


@each_surface
def test_global_minima_reach_the_minimum_value(surface: Surface) -> None:
    global_minima, _ = split_minima(surface)
    for minimum in global_minima:
        assert value(surface, minimum) == pytest.approx(surface.minimum_value, abs=1e-6), minimum


@each_surface
def test_local_minima_lie_above_the_global_minimum(surface: Surface) -> None:
    _, local_minima = split_minima(surface)
    for minimum in local_minima:
        assert value(surface, minimum) > surface.minimum_value + 1e-3, minimum


@each_surface
def test_nothing_in_the_domain_lies_below_the_minimum_value(surface: Surface) -> None:
    if surface.minimum_value is None:
        assert domain_grid(surface, 201).min() < value(surface, (0.0, 0.0))  # the saddle point is no minimum
    else:
        assert domain_grid(surface, 201).min() >= surface.minimum_value - 1e-9


@each_surface
def test_minima_are_stationary_with_positive_definite_hessian(surface: Surface) -> None:
    smooth_minima = [m for m in surface.minima if m not in KINKS.get(surface.id, set())]
    for minimum in smooth_minima:
        assert gradient(surface, minimum).abs().max() <= 1e-5, minimum
        eigenvalues = torch.linalg.eigvalsh(hessian_at(surface, minimum))
        assert eigenvalues.min() > 1e-3, (minimum, eigenvalues)


def test_ackley_origin_is_finite_with_zero_subgradient() -> None:
    # The gradient at the cone's tip is undefined; the norm's backward gives the subgradient 0, not NaN.
    ackley = get_surface("ackley")
    assert value(ackley, (0.0, 0.0)) == pytest.approx(0.0, abs=1e-12)
    assert gradient(ackley, (0.0, 0.0)).tolist() == [0.0, 0.0]


@pytest.mark.parametrize("surface_id", sorted(PUBLISHED))
def test_minima_agree_with_published_tables(surface_id: str) -> None:
    surface = get_surface(surface_id)
    published_minima, published_value, tolerance = PUBLISHED[surface_id]
    assert surface.minimum_value == pytest.approx(published_value, abs=tolerance)
    for published in published_minima:
        distance = min(math.dist(published, listed) for listed in surface.minima)
        assert distance <= tolerance, published
    assert math.dist(published_minima[0], surface.minima[0]) <= tolerance  # the global one comes first


# --- the suggested start and step -----------------------------------------------------------------------


@each_surface
def test_default_start_is_not_stationary(surface: Surface) -> None:
    assert gradient(surface, surface.default_start).norm() > 1e-3


@each_surface
def test_suggested_lr_descends_stably_from_default_start(surface: Surface) -> None:
    point = torch.tensor(surface.default_start, dtype=torch.float64)
    path, losses = [point], [surface.fn(point[0], point[1])]
    for _ in range(200):
        p = point.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(surface.fn(p[0], p[1]), p)
        point = point - surface.suggested_lr * grad  # plain gradient descent
        path.append(point)
        losses.append(surface.fn(point[0], point[1]))
    path_t, losses_t = torch.stack(path), torch.stack(losses)  # (201, 2), (201,)

    assert torch.isfinite(path_t).all() and torch.isfinite(losses_t).all()
    assert all(inside(surface, tuple(p.tolist())) for p in path_t)  # the path stays on the plot
    # Stable: no step goes uphill beyond rounding, so the rate is below the 2/L limit along the way.
    assert (losses_t.diff() <= 1e-12 * (1 + losses_t.abs().max())).all()
    assert losses_t[-1] < losses_t[0]
    # Visible: the end point is at least 2% of the domain's diagonal away from the start.
    diagonal = math.hypot(surface.x_range[1] - surface.x_range[0], surface.y_range[1] - surface.y_range[0])
    assert (path_t[-1] - path_t[0]).norm() >= 0.02 * diagonal
