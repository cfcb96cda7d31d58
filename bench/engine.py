"""Stepping engine speed, measured side by side in one run (print ratios; no timed tests).

1. A 6-optimizer race: the engine (one autograd pass, one kernel per optimizer) vs six per-runner
   torch.optim loops (zero_grad; loss = f(p); loss.backward(); step) — goal ≥ 5×.
2. A basin map of 10 000 starts × 500 steps, in runner-steps per second — goal ≥ 10 M/s.
3. For reference, the practical limit: the same updates with a hand-written NumPy gradient (no autograd).
4. Tune η (POST /api/tune): 6 optimizers × 40 learning rates × 1 000 steps — goal ≤ 1 s — beside the
   engine stepping the same runners without the loss history, and plain torch.optim loops (timed on a
   tenth of the runners, times ten).

    .venv/bin/python bench/engine.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.descent.engine import Engine
from app.descent.objective import FunctionObjective
from app.descent.optimizers import get_optimizer
from app.descent.surfaces import SURFACES
from app.descent.tune import learning_rates, tune

RACE = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"]
HYPER = {"lr": 2e-4}


def rosenbrock_numpy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Analytic J and ∇J of Rosenbrock: the practical limit with no autograd at all."""
    a, b = 1.0 - x, y - x * x
    return a * a + 100.0 * b * b, -2.0 * a - 400.0 * x * b, 200.0 * b


class NumpyObjective:
    per_runner = False

    def value_and_grad(self, x, y):
        return rosenbrock_numpy(x, y)


def timed(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def race_torch_loops(steps: int) -> None:
    fn = SURFACES["rosenbrock"].fn
    runners = []
    for oid in RACE:
        p = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
        runners.append((p, get_optimizer(oid).make_torch_optimizer([p], HYPER)))
    for _ in range(steps):
        for p, opt in runners:
            opt.zero_grad()
            fn(p[0], p[1]).backward()
            opt.step()


def race_engine(steps: int, objective, record: bool) -> None:
    engine = Engine(objective)
    for oid in RACE:
        engine.add(oid, oid, HYPER, (-1.2, 1.0))
    engine.run(steps, record=record)


def basin(n: int, steps: int, objective) -> None:
    xs, ys = np.meshgrid(np.linspace(-2, 2, n), np.linspace(-1, 3, n))
    engine = Engine(objective)
    shared = {"lr": 1e-3}
    engine.add_many(
        [str(k) for k in range(n * n)], "adam", [shared] * (n * n), np.stack([xs.ravel(), ys.ravel()], 1)
    )
    engine.run(steps, record=False)


def tune_sweep(steps: int) -> None:
    surface = SURFACES["rosenbrock"]
    lrs = learning_rates((1e-5, 10.0), 40)
    tune(surface, [(oid, {}) for oid in RACE], surface.default_start, lrs, steps, 1e8, 4.0)


def tune_engine_only(steps: int) -> None:
    """The same 240 runners stepped with no record at all: what the loss history costs."""
    surface = SURFACES["rosenbrock"]
    engine = Engine(FunctionObjective(surface.fn, key="rosenbrock"), 1e8)
    lrs = learning_rates((1e-5, 10.0), 40)
    for oid in RACE:
        starts = np.repeat(np.array([surface.default_start]), len(lrs), axis=0)
        engine.add_many([f"{oid}{k}" for k in range(len(lrs))], oid, [{"lr": float(v)} for v in lrs], starts)
    engine.run(steps, record=False)


def tune_torch_loops(steps: int, every: int = 10) -> None:
    """Plain torch.optim loops for every ``every``-th learning rate of each optimizer."""
    surface = SURFACES["rosenbrock"]
    for oid in RACE:
        for lr in learning_rates((1e-5, 10.0), 40)[::every]:
            p = torch.tensor(surface.default_start, dtype=torch.float64, requires_grad=True)
            opt = get_optimizer(oid).make_torch_optimizer([p], {"lr": float(lr)})
            for _ in range(steps):
                opt.zero_grad()
                loss = surface.fn(p[0], p[1])
                if not torch.isfinite(loss):
                    break
                loss.backward()
                opt.step()


def cpu_timed(fn, repeat: int = 3) -> tuple[float, float]:
    """Best wall time and best CPU time of the process (the CPU time holds on a loaded host)."""
    wall = cpu = float("inf")
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall, cpu = min(wall, time.perf_counter() - t0), min(cpu, time.process_time() - c0)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (a smoke run)")
    ap.add_argument("--tune", action="store_true", help="only the Tune η measurement")
    args = ap.parse_args()
    torch.set_num_threads(1)  # per-step work is tiny; threads only add overhead (and the page is 1 core)
    race_steps = 300 if args.quick else 2000
    basin_n, basin_steps = (40, 100) if args.quick else (100, 500)
    if args.tune:
        return tune_report(300 if args.quick else 1000)
    autograd = FunctionObjective(SURFACES["rosenbrock"].fn)  # eager autograd
    traced = FunctionObjective(SURFACES["rosenbrock"].fn, key="rosenbrock")  # the traced autograd graph

    t_torch = timed(lambda: race_torch_loops(race_steps))
    t_eager = timed(lambda: race_engine(race_steps, autograd, record=False))
    t_engine = timed(lambda: race_engine(race_steps, traced, record=False))
    t_engine_rec = timed(lambda: race_engine(race_steps, traced, record=True))
    t_numpy = timed(lambda: race_engine(race_steps, NumpyObjective(), record=False))
    us = 1e6 / race_steps

    def row(label: str, t: float, note: str = "") -> None:
        print(f"  {label:26s} {t * us:8.1f} µs/tick   {t_torch / t:5.1f}× {note}")

    print(f"6-optimizer race on Rosenbrock ({', '.join(RACE)}), {race_steps} steps each")
    print(f"  {'six torch.optim loops':26s} {t_torch * us:8.1f} µs/tick")
    row("engine, eager autograd", t_eager)
    row("engine (traced autograd)", t_engine, "faster (goal ≥ 5×)")
    row("engine, recording traces", t_engine_rec)
    row("engine, NumPy gradient", t_numpy, "(the limit: no autograd)")

    t_basin = timed(lambda: basin(basin_n, basin_steps, traced), repeat=2)
    t_basin_np = timed(lambda: basin(basin_n, basin_steps, NumpyObjective()), repeat=2)
    work = basin_n * basin_n * basin_steps
    print(f"basin map: {basin_n * basin_n} starts × {basin_steps} steps (Adam on Rosenbrock)")
    for label, t in (("engine (traced autograd)", t_basin), ("engine, NumPy gradient", t_basin_np)):
        print(f"  {label:26s} {t:6.2f} s   {work / t / 1e6:6.1f} M runner-steps/s")
    print(f"  goal ≥ 10 M runner-steps/s; autograd costs {t_basin / t_basin_np:.2f}× the NumPy limit")
    tune_report(300 if args.quick else 1000)


def tune_report(steps: int) -> None:
    tune_sweep(steps)  # the first call traces the surface's graph: not timed
    wall, cpu = cpu_timed(lambda: tune_sweep(steps))
    wall_bare, cpu_bare = cpu_timed(lambda: tune_engine_only(steps))
    wall_torch, cpu_torch = cpu_timed(lambda: tune_torch_loops(steps), repeat=1)
    wall_torch, cpu_torch = wall_torch * 10, cpu_torch * 10  # a tenth of the runners

    def row(label: str, w: float, c: float, note: str = "") -> None:
        print(f"  {label:36s} {w:7.2f} {c:7.2f}   {note}")

    print(f"Tune η on Rosenbrock: {len(RACE)} optimizers × 40 η × {steps} steps ({len(RACE) * 40} runners)")
    print(f"  {'':36s} {'wall s':>7s} {'CPU s':>7s}")
    row("tune(), the route's compute", wall, cpu, "goal ≤ 1 s at 1 000 steps")
    row("engine alone, no loss history", wall_bare, cpu_bare)
    row("240 torch.optim loops (1/10, × 10)", wall_torch, cpu_torch, f"{cpu_torch / cpu:.1f}× tune()'s CPU")


if __name__ == "__main__":
    main()
