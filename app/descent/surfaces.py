"""Built-in 2-D loss surfaces: each entry carries its function, formula, domain and known minima."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class Surface:
    id: str  # registry key, ^[a-z0-9_]+$
    name: str  # display name
    formula: str  # plain Unicode text, shown beside the plot
    fn: Callable[[Tensor, Tensor], Tensor]  # elementwise f(x, y), any broadcastable shapes, differentiable
    x_range: tuple[float, float]  # plot domain, (low, high)
    y_range: tuple[float, float]
    minima: tuple[tuple[float, float], ...]  # (x, y): global minima first, then local ones
    minimum_value: float | None  # global minimum value; None when f is not bounded below
    default_start: tuple[float, float]  # where descent is instructive, inside the domain
    # True when the domain's highest value exceeds 200× the 10th-percentile height above the minimum:
    # on a linear colour scale the region around the minima would then be one flat colour.
    log_scale: bool
    description: str  # one sentence: what this surface teaches
    suggested_lr: float  # plain GD from default_start stays stable and visibly descends with it


def _quadratic_bowl(x: Tensor, y: Tensor) -> Tensor:
    return x**2 + y**2


def _ill_conditioned_bowl(x: Tensor, y: Tensor) -> Tensor:
    return 0.5 * (x**2 + 25 * y**2)


def _matyas(x: Tensor, y: Tensor) -> Tensor:
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


def _booth(x: Tensor, y: Tensor) -> Tensor:
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _rosenbrock(x: Tensor, y: Tensor) -> Tensor:
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


def _beale(x: Tensor, y: Tensor) -> Tensor:
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


def _goldstein_price(x: Tensor, y: Tensor) -> Tensor:
    a = 1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x**2 - 14 * y + 6 * x * y + 3 * y**2)
    b = 30 + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x**2 + 48 * y - 36 * x * y + 27 * y**2)
    return a * b


def _himmelblau(x: Tensor, y: Tensor) -> Tensor:
    return (x**2 + y - 11) ** 2 + (x + y**2 - 7) ** 2


def _three_hump_camel(x: Tensor, y: Tensor) -> Tensor:
    return 2 * x**2 - 1.05 * x**4 + x**6 / 6 + x * y + y**2


def _six_hump_camel(x: Tensor, y: Tensor) -> Tensor:
    return (4 - 2.1 * x**2 + x**4 / 3) * x**2 + x * y + (-4 + 4 * y**2) * y**2


def _styblinski_tang(x: Tensor, y: Tensor) -> Tensor:
    return 0.5 * (x**4 - 16 * x**2 + 5 * x + y**4 - 16 * y**2 + 5 * y)


def _mccormick(x: Tensor, y: Tensor) -> Tensor:
    return torch.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1


def _saddle(x: Tensor, y: Tensor) -> Tensor:
    return x**2 - y**2


def _monkey_saddle(x: Tensor, y: Tensor) -> Tensor:
    return x**3 - 3 * x * y**2


def _levi(x: Tensor, y: Tensor) -> Tensor:
    return (
        torch.sin(3 * math.pi * x) ** 2
        + (x - 1) ** 2 * (1 + torch.sin(3 * math.pi * y) ** 2)
        + (y - 1) ** 2 * (1 + torch.sin(2 * math.pi * y) ** 2)
    )


def _rastrigin(x: Tensor, y: Tensor) -> Tensor:
    return 20 + x**2 - 10 * torch.cos(2 * math.pi * x) + y**2 - 10 * torch.cos(2 * math.pi * y)


def _ackley(x: Tensor, y: Tensor) -> Tensor:
    # sqrt(0.5·(x² + y²)) written as a norm: torch.sqrt backward at 0 is inf·0 = NaN, while the norm's
    # backward returns 0 there. The true gradient at the origin (a cone's tip) is undefined; 0 is a
    # subgradient, so an optimizer started at or landing on the origin gets a finite step.
    x, y = torch.broadcast_tensors(x, y)
    r = math.sqrt(0.5) * torch.linalg.vector_norm(torch.stack((x, y), dim=-1), dim=-1)  # same shape as x
    wave = 0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y))
    return -20 * torch.exp(-0.2 * r) - torch.exp(wave) + math.e + 20


# Minimizers below were polished with Newton's method in float64 (gradient < 1e-14 at each).
_HIMMELBLAU_MINIMA = (
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.2831859912861696),
    (3.5844283403304917, -1.8481265269644034),
)
_SIX_HUMP_X, _SIX_HUMP_Y = 0.08984201310031806, -0.7126564030207396
_THREE_HUMP_X, _THREE_HUMP_Y = 1.7475523458302888, -0.8737761729151444
# Each coordinate of Styblinski–Tang is the 1-D quartic ½(t⁴ − 16t² + 5t): minima at _ST_LOW (global)
# and _ST_HIGH (local), so the 2-D surface has four minima.
_ST_LOW, _ST_HIGH = -2.903534027771177, 2.746802770990837
# McCormick's stationary points satisfy x − y = 1 and cos(x + y) = −½ exactly.
_MCCORMICK_MIN = (0.5 - math.pi / 3, -0.5 - math.pi / 3)
_MCCORMICK_LOCAL = (0.5 + 2 * math.pi / 3, -0.5 + 2 * math.pi / 3)


_ALL = (
    Surface(
        id="quadratic_bowl",
        name="Quadratic bowl",
        formula="x² + y²",
        fn=_quadratic_bowl,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0),),
        minimum_value=0.0,
        default_start=(-1.5, 1.2),
        log_scale=False,
        description="a round bowl: the gradient points straight at the minimum and every method gets there",
        suggested_lr=0.1,
    ),
    Surface(
        id="ill_conditioned_bowl",
        name="Ill-conditioned bowl",
        formula="½·(x² + 25·y²)",
        fn=_ill_conditioned_bowl,
        x_range=(-3.0, 3.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0),),
        minimum_value=0.0,
        default_start=(-2.5, 1.5),
        log_scale=False,
        description=(
            "a bowl with condition number 25: a step near the stability limit of the steep y direction"
            " zig-zags across it, while the shallow x direction sets the pace"
        ),
        suggested_lr=0.07,
    ),
    Surface(
        id="matyas",
        name="Matyas",
        formula="0.26·(x² + y²) − 0.48·x·y",
        fn=_matyas,
        x_range=(-10.0, 10.0),
        y_range=(-10.0, 10.0),
        minima=((0.0, 0.0),),
        minimum_value=0.0,
        default_start=(8.0, 3.0),
        log_scale=False,
        description=(
            "a bowl stretched along the diagonal (condition number 25): per-coordinate step sizes"
            " cannot undo an ill-conditioning that is not aligned with the axes"
        ),
        suggested_lr=0.5,
    ),
    Surface(
        id="booth",
        name="Booth",
        formula="(x + 2y − 7)² + (2x + y − 5)²",
        fn=_booth,
        x_range=(-10.0, 10.0),
        y_range=(-10.0, 10.0),
        minima=((1.0, 3.0),),
        minimum_value=0.0,
        default_start=(-7.0, -6.0),
        log_scale=False,
        description="a tilted elliptic bowl: the gradient does not point at the minimum, so the path bends",
        suggested_lr=0.05,
    ),
    Surface(
        id="rosenbrock",
        name="Rosenbrock",
        formula="(1 − x)² + 100·(y − x²)²",
        fn=_rosenbrock,
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        minima=((1.0, 1.0),),
        minimum_value=0.0,
        default_start=(-1.2, 1.0),
        log_scale=True,
        description="a narrow curved valley: fast to find, slow to follow",
        suggested_lr=0.001,
    ),
    Surface(
        id="beale",
        name="Beale",
        formula="(1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        fn=_beale,
        x_range=(-4.5, 4.5),
        y_range=(-4.5, 4.5),
        minima=((3.0, 0.5),),
        minimum_value=0.0,
        default_start=(1.0, 1.5),
        log_scale=True,
        description="flat plateaus next to steep walls: one step size cannot suit both",
        suggested_lr=0.002,
    ),
    Surface(
        id="goldstein_price",
        name="Goldstein–Price",
        formula=(
            "[1 + (x + y + 1)²·(19 − 14x + 3x² − 14y + 6xy + 3y²)]"
            " · [30 + (2x − 3y)²·(18 − 32x + 12x² + 48y − 36xy + 27y²)]"
        ),
        fn=_goldstein_price,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, -1.0), (-0.6, -0.4), (1.8, 0.2), (1.2, 0.8)),
        minimum_value=3.0,
        default_start=(-1.0, 1.0),
        log_scale=True,
        description=(
            "values from 3 to about a million and three local minima:"
            " a step that is safe on the rim crawls at the bottom"
        ),
        suggested_lr=5e-6,
    ),
    Surface(
        id="himmelblau",
        name="Himmelblau",
        formula="(x² + y − 11)² + (x + y² − 7)²",
        fn=_himmelblau,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=_HIMMELBLAU_MINIMA,
        minimum_value=0.0,
        default_start=(-0.5, -0.5),
        log_scale=False,
        description="four equally deep minima: where you start decides which one you find",
        suggested_lr=0.01,
    ),
    Surface(
        id="three_hump_camel",
        name="Three-hump camel",
        formula="2x² − 1.05x⁴ + x⁶/6 + xy + y²",
        fn=_three_hump_camel,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0), (_THREE_HUMP_X, _THREE_HUMP_Y), (-_THREE_HUMP_X, -_THREE_HUMP_Y)),
        minimum_value=0.0,
        default_start=(-1.8, 1.8),
        log_scale=False,
        description="one global and two shallow local minima: plain descent settles in whichever is nearest",
        suggested_lr=0.02,
    ),
    Surface(
        id="six_hump_camel",
        name="Six-hump camel",
        formula="(4 − 2.1x² + x⁴/3)·x² + xy + (−4 + 4y²)·y²",
        fn=_six_hump_camel,
        x_range=(-3.0, 3.0),
        y_range=(-2.0, 2.0),
        minima=(
            (_SIX_HUMP_X, _SIX_HUMP_Y),
            (-_SIX_HUMP_X, -_SIX_HUMP_Y),
            (-1.7036067149699807, 0.7960835686726252),
            (1.7036067149699807, -0.7960835686726252),
            (1.6071047529201974, 0.5686514548841314),
            (-1.6071047529201974, -0.5686514548841314),
        ),
        minimum_value=-1.0316284534898774,
        default_start=(-1.0, 1.5),
        log_scale=False,
        description="six minima, two of them global: a symmetric landscape where the start breaks the tie",
        suggested_lr=0.01,
    ),
    Surface(
        id="styblinski_tang",
        name="Styblinski–Tang",
        formula="½·(x⁴ − 16x² + 5x + y⁴ − 16y² + 5y)",
        fn=_styblinski_tang,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=(
            (_ST_LOW, _ST_LOW),
            (_ST_HIGH, _ST_LOW),
            (_ST_LOW, _ST_HIGH),
            (_ST_HIGH, _ST_HIGH),
        ),
        minimum_value=-78.33233140754284,
        default_start=(0.3, 0.1),
        log_scale=False,
        description="four basins of unequal depth: a start beyond a ridge ends in a shallower one",
        suggested_lr=0.01,
    ),
    Surface(
        id="mccormick",
        name="McCormick",
        formula="sin(x + y) + (x − y)² − 1.5x + 2.5y + 1",
        fn=_mccormick,
        x_range=(-1.5, 4.0),
        y_range=(-3.0, 4.0),
        minima=(_MCCORMICK_MIN, _MCCORMICK_LOCAL),
        minimum_value=-math.sqrt(3) / 2 - math.pi / 3,
        default_start=(3.5, -2.0),
        log_scale=False,
        description="a long sloping trough with a wavy floor: descent follows the trough into a basin",
        suggested_lr=0.05,
    ),
    Surface(
        id="saddle",
        name="Saddle",
        formula="x² − y²",
        fn=_saddle,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=(),
        minimum_value=None,
        default_start=(1.8, 0.02),
        log_scale=False,
        description="a saddle point: the gradient vanishes there, so a start near it lingers before escaping",
        suggested_lr=0.01,
    ),
    Surface(
        id="monkey_saddle",
        name="Monkey saddle",
        formula="x³ − 3xy²",
        fn=_monkey_saddle,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=(),
        minimum_value=None,
        default_start=(1.8, 0.05),
        log_scale=False,
        description="a saddle so flat that even the curvature vanishes, so every method is slow to escape it",
        suggested_lr=0.003,
    ),
    Surface(
        id="levi",
        name="Lévi N.13",
        formula="sin²(3πx) + (x − 1)²·(1 + sin²(3πy)) + (y − 1)²·(1 + sin²(2πy))",
        fn=_levi,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=((1.0, 1.0),),
        minimum_value=0.0,
        default_start=(-2.75, -3.75),
        log_scale=False,
        description="a bowl covered in ripples: local minima everywhere trap a small step",
        suggested_lr=0.001,
    ),
    Surface(
        id="rastrigin",
        name="Rastrigin",
        formula="20 + x² − 10·cos(2πx) + y² − 10·cos(2πy)",
        fn=_rastrigin,
        x_range=(-5.12, 5.12),
        y_range=(-5.12, 5.12),
        minima=((0.0, 0.0),),
        minimum_value=0.0,
        default_start=(4.4, -3.4),
        log_scale=False,
        description="a regular grid of local minima on a bowl: gradient descent stops in the nearest one",
        suggested_lr=0.002,
    ),
    Surface(
        id="ackley",
        name="Ackley",
        formula="−20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
        fn=_ackley,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=((0.0, 0.0),),
        minimum_value=0.0,
        default_start=(2.5, -1.5),
        log_scale=False,
        description="a nearly flat, bumpy plain around one deep funnel: the gradient far out says little",
        suggested_lr=0.02,
    ),
)

SURFACES: dict[str, Surface] = {surface.id: surface for surface in _ALL}


def get_surface(surface_id: str) -> Surface:
    """Return the built-in surface with this id."""
    try:
        return SURFACES[surface_id]
    except KeyError:
        raise KeyError(f"unknown surface {surface_id!r}; expected one of: {', '.join(SURFACES)}") from None
