"""What a request will cost before it runs: its work, its peak memory, and the chunk that keeps that peak
under a bound. Pure arithmetic on sizes: the callers refuse what is over the limits (app/schemas.py,
app/api/catalog.py, app/sessions/race/session.py) and compute in the chunks given here (app/descent/runs.py,
app/descent/grid.py).

The unit of work is the **sample-evaluation**: the loss of one sample of data at one point θ, 13-29 ns of
one core (logreg, N = 2000, one torch thread; the spread is the load of the shared 2-core machine it was
measured on). What one point evaluation of a surface counts (``Load.samples``):

- a built-in surface: 1 (its formula costs about one sample: 5-95 ns per point);
- a data problem: its N samples (a live runner on batches of k: k more);
- a typed expression: nodes / 10, at least 1 (≈ 0.8 ns per node and point for the loss, ≈ 3.3 ns with the
  gradient in a step: ten nodes cost about what one sample does).

A grid point costs its evaluation and ``CELL`` (its share of the answer). A runner's step costs
``GRADIENT × samples + STEP`` (the loss with its gradient, then the optimizer's update); an engine tick
``Load.tick`` whatever its runners (Python's and autograd's share, paid once per step of each group); a
runner of a map ``RUNNER`` once (setting it up, its final evaluation, its part of the answer). Measured, one
thread, in sample-evaluations: logreg sample-step 1.5-1.8, built-in runner-step 3.2-5.9, tick 5000-6200
traced and 12 900-17 700 eager, runner 290-342 (bench/cost.py measures them again).

GDVIZ_MAX_WORK = 2e8 is 2-4 s of one core (13-22 ns a unit; 43 under a load of 14 on 2 cores): the issue's
grid (300² × 2000 + the answer = 1.85e8) must pass, and so does every built-in map the old limit of 2e7
runner-steps allowed while its runners dominate (200² starts × 500 steps: 1.37e8; 40² × 12 500: 1.96e8),
and every trajectory up to GDVIZ_MAX_STEPS on a built-in surface or an expression (20 000 steps: 1.2e8).
A data problem's trajectory is held to ~9000 steps (N = 2000: 22 004 a step; 20 000 steps took 10 s).

Peak bytes come from the shapes, with per-element figures measured as the growth of the resident set's
high-water mark (VmHWM) of a fresh process over one pass of a known size (tracemalloc does not see torch's
buffers), rounded up; bench/cost.py measures them again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

GRADIENT = 2.0  # a sample's loss with its gradient: 1.5-1.8 sample-evaluations measured
STEP = 4.0  # a runner's update beyond its loss and gradient: a built-in runner-step is 3.2-5.9 in all
# An engine tick, whatever its runners: a one-runner trajectory step is 136-146 µs = 5000-6200 on a traced
# graph (built-in surfaces, expressions), 390-420 µs = 12 900-17 700 on eager autograd (data problems).
TICK = 6000.0
EAGER_TICK = 18000.0
RUNNER = 350.0  # a map's runner once: Engine.add_many, the final evaluation, the results
CELL = 50.0  # a grid point's share of the answer: 90 000 points of a cheap surface take 0.11 s in all
NODES_PER_SAMPLE = 10  # expression nodes that cost one sample-evaluation
WORK_SECONDS = 2.0  # GDVIZ_MAX_WORK is ~2 s of compute: a live race may ask for max_work / 2 s per second

# Bytes at the peak of a pass, per element (measured → used):
DATA_EVAL_BYTES = 40  # a data problem's loss, per point and sample (24-31)
DATA_STEP_BYTES = 80  # its loss and gradient, per point and sample (48-55)
BUILTIN_EVAL_BYTES = 100  # a built-in surface's loss, per point (22-62, Goldstein-Price the most)
BUILTIN_STEP_BYTES = 400  # its loss and gradient per point (103-168 traced, 170-327 eager)
NODE_STEP_BYTES = 4  # an expression's loss and gradient, per node and point, beyond a built-in's (1.1-2.5)
RUNNER_BYTES = 2000  # a map's runner: its Runner, engine rows, results and their JSON (1650)
TRACE_BYTES = 200  # a runner's recorded step: θ, J, ∇J, Δθ, state and their JSON (170)
CELL_BYTES = 200  # a grid point: x, y, z, the list of floats and the answer's JSON (116)

ALIGN = 64  # points per chunk are a multiple of 64: each point sits where the SIMD loops put it unchunked
# Elements (points × samples) one pass takes at most: a pass that outgrows the CPU's cache slows down
# (logreg N = 2000 grid: 14 ns per sample in passes of 1.3e5 elements, 26 at 2e6, 45 at 6e6).
CACHE_ELEMENTS = 2**17


@dataclass(frozen=True)
class Cost:
    """A request's work (sample-evaluations) and the bytes it holds at its peak; ``chunk``: the points or
    runners evaluated together to keep that peak (0 where nothing is chunked)."""

    work: float
    peak_bytes: int
    chunk: int = 0


@dataclass(frozen=True)
class Load:
    """What one point evaluation of a surface touches."""

    samples: float  # sample-evaluations of one loss
    eval_bytes: float  # bytes at the peak of one loss
    step_bytes: float  # bytes at the peak of one loss with its gradient
    tick: float = TICK  # an engine tick's own work on it
    data: bool = False  # a data problem: ``samples`` is its N, and live runners may sample batches


BUILTIN = Load(1.0, BUILTIN_EVAL_BYTES, BUILTIN_STEP_BYTES)


def data_load(samples: int) -> Load:
    """A data problem of ``samples`` samples (stepped by eager autograd: no trace is shared between data
    sets)."""
    return Load(float(samples), DATA_EVAL_BYTES * samples, DATA_STEP_BYTES * samples, EAGER_TICK, data=True)


def expression_load(nodes: int) -> Load:
    """A typed expression of ``nodes`` syntax-tree nodes."""
    return Load(
        max(1.0, nodes / NODES_PER_SAMPLE), BUILTIN_EVAL_BYTES, BUILTIN_STEP_BYTES + NODE_STEP_BYTES * nodes
    )


def step_work(load: Load) -> float:
    """Sample-evaluations of one runner's step."""
    return GRADIENT * load.samples + STEP


def _chunk(count: int, load: Load, per_item: float, fixed: float, max_bytes: int) -> int:
    """How many of ``count`` items to evaluate together: what fits in ``max_bytes`` beside ``fixed`` and in
    the cache, a multiple of ALIGN, at least one ALIGN (a request over the bound is refused by its peak)."""
    fits = (max_bytes - fixed) // per_item
    cached = CACHE_ELEMENTS // max(1.0, load.samples)
    chunk = int(min(fits, cached)) // ALIGN * ALIGN
    return max(ALIGN, min(chunk, math.ceil(count / ALIGN) * ALIGN))


def grid(n: int, load: Load, max_bytes: int) -> Cost:
    """An n×n grid of the loss, in chunks of points."""
    points = n * n
    fixed = CELL_BYTES * points
    chunk = _chunk(points, load, load.eval_bytes, fixed, max_bytes)
    work = points * (load.samples + CELL)
    return Cost(work, int(fixed + min(chunk, points) * load.eval_bytes), chunk)


def _runs(runners: int, steps: int, load: Load, max_bytes: int, recorded: int) -> Cost:
    """``runners`` runners stepped ``steps`` times in groups, one more evaluation at the end, ``recorded``
    steps of each kept."""
    fixed = (RUNNER_BYTES + TRACE_BYTES * recorded) * runners
    chunk = _chunk(runners, load, load.step_bytes, fixed, max_bytes)
    groups = math.ceil(runners / chunk)
    work = (steps + 1) * (groups * load.tick + runners * step_work(load)) + runners * RUNNER
    return Cost(work, int(fixed + min(chunk, runners) * load.step_bytes), chunk)


# Hessians (app/descent/curvature.py ``hessians``), measured on one thread: per point and sample 110 ns on a
# data problem (logreg, N = 200: 5-8 sample-evaluations), per point 660-1050 ns on a built-in surface in bulk
# (Rosenbrock, Goldstein-Price: 30-80), and 0.5-1.3 ms a call whatever its points (autograd's set-up).
HESSIAN = 8.0  # per point and sample
HESSIAN_POINT = 80.0  # per point, beyond its samples
HESSIAN_CALL = 65_000.0  # per call: once for a trajectory, once per runner and frame in a race
HESSIAN_PASS_BYTES = 32 * 2**20  # its graph: at most curvature.PASS_BUDGET a pass
HESSIAN_BYTES = 150  # per point: the Hessian, its eigen-decomposition and their JSON


def hessian_work(points: float, load: Load) -> float:
    """Sample-evaluations of the Hessians at ``points`` points (one call)."""
    return points * (HESSIAN * load.samples + HESSIAN_POINT)


def trajectory(steps: int, load: Load, max_bytes: int, curvature: bool = False) -> Cost:
    """One runner's ``steps`` updates, every step recorded; with ``curvature``, the Hessian at every point."""
    priced = _runs(1, steps, load, max_bytes, recorded=steps + 1)
    if not curvature:
        return priced
    points = steps + 1
    graph = min(HESSIAN_PASS_BYTES, points * 2 * load.step_bytes)
    return Cost(
        priced.work + hessian_work(points, load) + HESSIAN_CALL,
        int(priced.peak_bytes + points * HESSIAN_BYTES + graph),
        priced.chunk,
    )


def basins(n: int, steps: int, load: Load, max_bytes: int) -> Cost:
    """An n×n grid of starts, each stepped ``steps`` times."""
    return _runs(n * n, steps, load, max_bytes, recorded=0)


STABILITY_TAIL = 30  # a stability map records the last 30 steps of each setting (app/descent/runs.py)


def stability(n: int, swept_axis: bool, steps: int, load: Load, max_bytes: int) -> Cost:
    """n learning rates (× n values of a second hyperparameter when one is swept), ``steps`` each."""
    runners = n * n if swept_axis else n
    return _runs(runners, steps, load, max_bytes, recorded=min(STABILITY_TAIL, steps // 2))


TUNE_RECORD = 100  # a tune records its runners' steps in pieces of 100 ticks, keeping only the loss
HISTORY_BYTES = 8  # a tune's kept loss, per runner and step


def tune(runners: int, steps: int, load: Load, max_bytes: int) -> Cost:
    """``runners`` (optimizer, η) runs of ``steps`` updates, each one's loss kept at every step (the
    tie-break), the rest of a step recorded for a piece of TUNE_RECORD ticks at a time."""
    fixed = (RUNNER_BYTES + HISTORY_BYTES * (steps + 1)) * runners
    per_runner = load.step_bytes + TRACE_BYTES * min(steps, TUNE_RECORD)
    chunk = _chunk(runners, load, per_runner, fixed, max_bytes)
    groups = math.ceil(runners / chunk)
    work = (steps + 1) * (groups * load.tick + runners * step_work(load)) + runners * RUNNER
    return Cost(work, int(fixed + min(chunk, runners) * per_runner), chunk)


def race_second(
    batches: Sequence[int | None], load: Load, speed: float, frame_rate: float, curvature: bool = False
) -> Cost:
    """A live race's work per second at ``speed`` steps per second, and its peak bytes in one tick.

    ``batches``: each runner's batch size (None: the full batch). On a data problem a tick evaluates every
    runner's full batch (the full-batch loss and gradient ride along), plus one pass at the largest batch
    for all when any runner samples; each frame (at most ``frame_rate`` a second) adds every runner's
    per-sample gradients; with ``curvature`` every runner's step adds the Hessian of the (full-batch) loss.
    A tick's own overhead is left out: it does not grow with the request, and the frame loop paces it (what
    does not fit runs flat out).
    """
    runners = len(batches)
    calls = min(speed, frame_rate) * runners * HESSIAN_CALL  # one call per runner and frame
    hessians = hessian_work(speed * runners, load) + calls if curvature else 0.0
    if not load.data:
        return Cost(speed * runners * step_work(load) + hessians, int(runners * load.step_bytes))
    sampled = [k for k in batches if k is not None]
    widest = (load.samples if len(sampled) < runners else max(sampled)) if sampled else 0.0
    tick = runners * (GRADIENT * (load.samples + widest) + STEP)
    frames = min(speed, frame_rate) * runners * GRADIENT * load.samples
    per_sample = load.step_bytes / load.samples
    return Cost(speed * tick + frames + hessians, int(runners * (load.samples + widest) * per_sample))


def amount(value: float) -> str:
    """3.2e9, 2e8, 5000: short enough for a message, exact enough to compare."""
    if value < 1e5:
        return f"{value:.0f}"
    mantissa, exponent = f"{value:.2g}".split("e")
    return f"{mantissa}e{int(exponent)}"


def over_work(cost: Cost, max_work: float, per: str = "") -> str | None:
    """The refusal when ``cost`` is over the work limit, else None."""
    if cost.work <= max_work:
        return None
    return (
        f"this request costs {amount(cost.work)} sample-evaluations{per}; "
        f"the limit is {amount(max_work)}{per} (GDVIZ_MAX_WORK)"
    )


def over_race(cost: Cost, max_work: float, speed: float) -> str | None:
    """The refusal when a race's work per second passes what GDVIZ_MAX_WORK allows in a second, else None."""
    limit = max_work / WORK_SECONDS
    if cost.work <= limit:
        return None
    return (
        f"this race costs {amount(cost.work)} sample-evaluations per second at {speed:g} steps per second; "
        f"the limit is {amount(limit)} per second (GDVIZ_MAX_WORK per {WORK_SECONDS:g} s)"
    )


def over_bytes(cost: Cost, max_bytes: int) -> str | None:
    """The refusal when even the smallest chunk of ``cost`` passes the memory bound, else None."""
    if cost.peak_bytes <= max_bytes:
        return None
    return (
        f"this request needs {cost.peak_bytes / 1e6:.0f} MB at its peak; "
        f"the limit is {max_bytes / 1e6:.0f} MB (GDVIZ_MAX_REQUEST_BYTES)"
    )
