"""The cost model (app/descent/cost.py) and the chunked evaluation it sizes: chunks change no number."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.config import Settings
from app.descent import cost, runs
from app.descent.data import build_problem
from app.descent.expressions import compile_expression
from app.descent.grid import surface_values
from app.descent.objective import FunctionObjective
from app.descent.surfaces import SURFACES, Surface

MB256 = 256_000_000
LIMIT = Settings().max_work


# --- the formulas ------------------------------------------------------------------------------------------


def test_loads_count_samples_nodes_and_bytes():
    assert cost.BUILTIN == cost.Load(1.0, 100, 400)
    assert cost.data_load(2000) == cost.Load(2000.0, 80_000, 160_000, tick=cost.EAGER_TICK, data=True)
    assert cost.expression_load(200) == cost.Load(20.0, 100, 1200)
    assert cost.expression_load(3).samples == 1.0  # never below a built-in surface
    assert cost.step_work(cost.BUILTIN) == 6.0 and cost.step_work(cost.data_load(2000)) == 4004.0


def test_the_issues_grid_is_served_in_cache_sized_chunks_within_the_bound():
    """POST /api/surfaces/grid?n=300 on logreg of 2000 samples: 300² points × 2000 samples."""
    priced = cost.grid(300, cost.data_load(2000), MB256)
    assert priced.work == 90_000 * (2000 + cost.CELL) == 184_500_000 <= LIMIT
    assert priced.chunk == 64  # 2^17 elements // 2000 samples, down to a multiple of 64
    assert priced.peak_bytes == 90_000 * cost.CELL_BYTES + 64 * 80_000 == 23_120_000


@pytest.mark.parametrize("samples", [1, 4, 200, 2000, 10**6])
@pytest.mark.parametrize("max_bytes", [32_000_000, MB256, 2**31])
def test_chunks_keep_the_peak_under_the_bound_whatever_the_data_size(samples, max_bytes):
    load = cost.data_load(samples)
    for priced in (cost.grid(300, load, max_bytes), cost.basins(100, 10, load, max_bytes)):
        assert priced.chunk % cost.ALIGN == 0 and priced.chunk >= cost.ALIGN
        if samples <= cost.CACHE_ELEMENTS // cost.ALIGN:  # one aligned chunk fits in the cache
            assert priced.peak_bytes <= max_bytes
            assert priced.chunk * samples <= cost.CACHE_ELEMENTS


def test_map_and_trajectory_work():
    # a basin map: (steps + 1) ticks of each group, every runner's steps, every runner once
    assert cost.basins(200, 500, cost.BUILTIN, MB256) == cost.Cost(
        501 * (cost.TICK + 40_000 * 6) + 40_000 * cost.RUNNER, 40_000 * (2000 + 400), 40_000
    )
    logreg = cost.basins(50, 300, cost.data_load(2000), MB256)  # 40 groups of 64 runners, eager autograd
    assert logreg.chunk == 64 and logreg.work == 301 * (40 * 18_000 + 2500 * 4004) + 2500 * cost.RUNNER
    assert cost.trajectory(20_000, cost.BUILTIN, MB256).work == 20_001 * (6000 + 6) + cost.RUNNER
    swept = cost.stability(30, True, 200, cost.BUILTIN, MB256)
    assert swept.work == 201 * (6000 + 900 * 6) + 900 * cost.RUNNER
    assert swept.peak_bytes == 900 * (2000 + 200 * 30) + 900 * 400
    single = cost.stability(30, False, 200, cost.BUILTIN, MB256)  # lr alone: 30 settings
    assert single.work == 201 * (6000 + 30 * 6) + 30 * cost.RUNNER


@pytest.mark.parametrize("n", [200, 100, 64, 50, 40])
def test_built_in_maps_the_old_limit_allowed_stay_allowed_while_runners_dominate(n):
    """The old limit: n² × steps ≤ 2e7 runner-steps. Maps of 1600 starts or more keep all of it; fewer
    starts over many steps pay for the engine's ticks, which the old count left out (n = 2 × 5e6 steps
    took ~12 minutes)."""
    steps = 20_000_000 // (n * n)
    assert cost.basins(n, steps, cost.BUILTIN, MB256).work <= LIMIT
    if n <= 80:  # a stability map's n
        assert cost.stability(n, True, steps, cost.BUILTIN, MB256).work <= LIMIT


def test_every_trajectory_up_to_max_steps_is_allowed_but_on_data():
    steps = Settings().max_steps
    for load in (cost.BUILTIN, cost.expression_load(200)):
        assert cost.trajectory(steps, load, MB256).work <= LIMIT
    # eager autograd on 2000 samples: ~400 µs a step (20 000 steps took 10 s of CPU); 9000 pass
    assert cost.trajectory(steps, cost.data_load(2000), MB256).work > LIMIT
    assert cost.trajectory(9000, cost.data_load(2000), MB256).work <= LIMIT


def test_a_race_per_second():
    full = [None] * 8
    logreg = cost.data_load(2000)
    # the page's fastest (2000 steps/s), 8 runners on the full batch of 2000 samples: allowed
    assert cost.race_second(full, logreg, 2000, 30).work == 2000 * 8 * 4004 + 30 * 8 * 2 * 2000
    assert cost.race_second(full, logreg, 2000, 30).work <= LIMIT / cost.WORK_SECONDS
    # one runner on mini-batches: every runner also takes a pass at the largest batch (the full one)
    mixed = cost.race_second([*full[:7], 32], logreg, 2000, 30)
    assert mixed.work == 2000 * 8 * (2 * 4000 + 4) + 30 * 8 * 2 * 2000 > LIMIT / cost.WORK_SECONDS
    assert cost.race_second([32] * 8, logreg, 10, 30).work == 10 * 8 * (2 * 2032 + 4) + 10 * 8 * 2 * 2000
    assert cost.race_second([None] * 8, cost.BUILTIN, 100_000, 30).work == 100_000 * 8 * 6  # fast-forward
    assert cost.race_second([None] * 2, logreg, 1, 30).peak_bytes == 2 * 2000 * 80


def test_refusals_name_the_limit_and_the_cost():
    assert cost.over_work(cost.Cost(3.2e9, 0), 2e9) == (
        "this request costs 3.2e9 sample-evaluations; the limit is 2e9 (GDVIZ_MAX_WORK)"
    )
    assert cost.over_work(cost.Cost(2e9, 0), 2e9) is None
    assert cost.over_race(cost.Cost(1.3e8, 0), 2e8, 2000) == (
        "this race costs 1.3e8 sample-evaluations per second at 2000 steps per second; "
        "the limit is 1e8 per second (GDVIZ_MAX_WORK per 2 s)"
    )
    assert cost.over_bytes(cost.Cost(0, 300_000_000), MB256) == (
        "this request needs 300 MB at its peak; the limit is 256 MB (GDVIZ_MAX_REQUEST_BYTES)"
    )
    assert [cost.amount(v) for v in (42, 99_999, 1e5, 1.845e8, 3.07e9)] == [
        "42",
        "99999",
        "1e5",
        "1.8e8",
        "3.1e9",
    ]


# --- chunked == unchunked, bit for bit --------------------------------------------------------------------


@pytest.fixture(autouse=True)
def one_thread():
    """Maps and grids compute on one torch thread, as the REST compute pool runs them (app/api/compute.py);
    two threads also make a small cross-entropy pass wait ~25 ms for the second on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def logreg():
    # 48 samples: with a multiple of 8, runners that diverge shift no one into a vector loop's scalar tail
    return build_problem("logreg", {"n": 48, "seed": 3}).surface


def _expression() -> Surface:
    fn = compile_expression("sin(3*x)*exp(-y^2) + log(1 + x^2 + y^2)").fn
    return Surface("custom", "c", "", fn, (-2.0, 2.0), (-1.0, 3.0), (), None, (1.0, 1.0), False, "", 0.01)


@pytest.mark.parametrize("which", ["logreg", "rosenbrock", "expression"])
def test_a_chunked_grid_equals_the_unchunked_one(logreg, which):
    surface = {"logreg": logreg, "rosenbrock": SURFACES["rosenbrock"], "expression": _expression()}[which]
    xs, ys, whole = surface_values(surface, 23, None)  # 529 points: 8 chunks of 64 and one of 17
    _, _, chunked = surface_values(surface, 23, 64)
    np.testing.assert_array_equal(chunked, whole)
    gx, gy = np.meshgrid(xs, ys)  # what the grid route computed before chunks: f over the (n, n) arrays
    np.testing.assert_array_equal(whole, FunctionObjective(surface.fn).value(gx, gy))


def test_a_basin_map_in_groups_equals_the_map_in_one(logreg):
    args = (logreg, "adam", {"lr": 0.3}, logreg.x_range, logreg.y_range, 11, 40, 1e8, 0.05)
    whole = runs.basin_map(*args)  # 121 runners at once
    for group in (64, 128):
        part = runs.basin_map(*args, group=group)
        for name in ("basin", "final_points", "final_losses", "x", "y"):
            np.testing.assert_array_equal(getattr(part, name), getattr(whole, name), err_msg=name)
    assert (whole.basin == 0).sum() > 0  # some starts reach the optimum: the map is not trivially empty


def test_a_stability_map_in_groups_equals_the_map_in_one(logreg):
    args = (
        logreg,
        "momentum",
        {},
        logreg.default_start,
        (1e-3, 30.0),
        "momentum",
        (0.0, 0.95),
        12,
        60,
        12.0,  # a tight bound, which the fast settings leave (cross-entropy's gradient is bounded)
        6.0,
    )
    whole = runs.stability_map(*args)  # 144 settings, some of which diverge
    part = runs.stability_map(*args, group=64)
    assert part.outcome == whole.outcome
    np.testing.assert_array_equal(part.final_losses, whole.final_losses)
    assert {o for row in whole.outcome for o in row} >= {"converged", "diverged"}
