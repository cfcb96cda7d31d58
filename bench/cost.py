"""The figures of the cost model (app/descent/cost.py), measured again: CPU time ratios in sample-evaluations
and peak bytes per element, side by side with the constants the model uses (print ratios; no timed tests).

Times are CPU seconds of one torch thread (as the REST compute pool runs), the best of three; bytes are the
growth of the resident set's high-water mark (VmHWM) of a fresh process over one pass of a known size.

    .venv/bin/python bench/cost.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.descent import cost, runs  # noqa: E402
from app.descent.data import build_problem  # noqa: E402
from app.descent.grid import surface_values  # noqa: E402
from app.descent.objective import FunctionObjective  # noqa: E402
from app.descent.surfaces import SURFACES  # noqa: E402


def cpu(work: Callable[[], object], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return best


def times() -> None:
    torch.set_num_threads(1)
    logreg = build_problem("logreg", {"n": 2000}).surface
    surface_values(logreg, 8, 64)
    unit = cpu(lambda: surface_values(logreg, 60, 64)) / (60 * 60 * 2000)
    print(f"a sample-evaluation (logreg grid, N = 2000, chunks of 64 points): {unit * 1e9:.1f} ns")
    booth = SURFACES["booth"]
    runs.trajectory(booth, "adam", {"lr": 1e-3}, (1, 1), 10, 1e8)
    tick = cpu(lambda: runs.trajectory(booth, "adam", {"lr": 1e-3}, (1, 1), 1000, 1e8)) / 1000
    print(f"tick, traced (booth trajectory): {tick / unit:.0f}   model {cost.TICK:.0f}")
    small = build_problem("logreg", {"n": 8}).surface
    runs.trajectory(small, "adam", {"lr": 1e-3}, (1, 1), 10, 1e8)
    eager = cpu(lambda: runs.trajectory(small, "adam", {"lr": 1e-3}, (1, 1), 1000, 1e8)) / 1000
    print(f"tick, eager (logreg N = 8 trajectory): {eager / unit:.0f}   model {cost.EAGER_TICK:.0f}")
    for sid in ("booth", "rosenbrock", "goldstein_price", "ackley"):
        s = SURFACES[sid]
        args = (s, "adam", {"lr": 1e-4}, s.x_range, s.y_range, 100)
        runs.basin_map(*args, 2, 1e8, 0.02)
        one = cpu(lambda args=args: runs.basin_map(*args, 1, 1e8, 0.02), 2)
        many = cpu(lambda args=args: runs.basin_map(*args, 101, 1e8, 0.02), 2)
        step = (many - one) / (100 * 100 * 100) / unit
        print(
            f"{sid}: runner-step {step:.1f} (model {cost.step_work(cost.BUILTIN):.0f}), "
            f"runner {one / 1e4 / unit:.0f} (model {cost.RUNNER:.0f})"
        )
    for n in (200, 2000):
        s = build_problem("logreg", {"n": n}).surface
        args = (s, "adam", {"lr": 1e-2}, s.x_range, s.y_range, 20)
        runs.basin_map(*args, 2, 1e8, 0.02, group=64)
        a = cpu(lambda args=args: runs.basin_map(*args, 1, 1e8, 0.02, group=128), 2)
        b = cpu(lambda args=args: runs.basin_map(*args, 41, 1e8, 0.02, group=128), 2)
        print(
            f"logreg N = {n}: sample-step {(b - a) / (400 * 40 * n) / unit:.2f}   model {cost.GRADIENT:.0f}"
        )


def _hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
    return 0


def one_pass(kind: str, points: int, what: str) -> None:
    """In a fresh process: bytes per element of one pass (printed as a number)."""
    x, y = np.linspace(-1, 1, points), np.linspace(-1.5, 0.5, points)
    if what.isdigit():
        f, per = FunctionObjective(build_problem("logreg", {"n": int(what)}).surface.fn), points * int(what)
    else:
        f, per = runs.objective(SURFACES[what]), points
    call = f.value if kind == "eval" else f.value_and_grad
    call(x[:64].copy(), y[:64].copy())
    call(x[:64].copy(), y[:64].copy())
    base = _hwm()
    call(x, y)
    print((_hwm() - base) / per)


def memory() -> None:
    def measure(kind: str, points: int, what: str) -> float:
        out = subprocess.run(
            [sys.executable, __file__, "--pass", kind, str(points), what],
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout.strip())

    rows = [
        ("data loss, per sample", "eval", 1000, "2000", cost.DATA_EVAL_BYTES),
        ("data step, per sample", "step", 1000, "2000", cost.DATA_STEP_BYTES),
        ("built-in loss, per point", "eval", 200_000, "goldstein_price", cost.BUILTIN_EVAL_BYTES),
        ("built-in step, per point", "step", 200_000, "levi", cost.BUILTIN_STEP_BYTES),
    ]
    for label, kind, points, what, model in rows:
        print(f"{label}: {measure(kind, points, what):.0f} bytes   model {model}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pass"]:
        one_pass(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        times()
        memory()
