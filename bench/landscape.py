"""Loss-landscape speed for the default CNN after 200 Adam steps, measured side by side in one run.

1. The grid: time to the first coarse picture (11×11 points) and to the full 41×41 grid, through a
   filter-normalized random plane and a PCA plane — goals ≤ 0.5 s and ≤ 5 s — with 1 and 2 torch threads.
2. Against a reference loop in the style of the paper's code (deep-copy the model per point, set the
   weights, evaluate with DataLoader batches of 128) on a subset of the same points (its rows 0, 10, 20,
   30, 40 unless --reference-rows says otherwise: the whole grid takes it ~40 s), per point; the largest
   relative difference between the two at those points.
3. The alternatives, per point on one row of 41, the runners taking turns so a change in the machine's
   load hits all of them: the reference; one private copy of the module, its weights written in place,
   the whole evaluation set in one batch (no_grad, inference_mode, chunks of 256, channels-last, then
   also each max pool before its ReLU); the plan (app/cnn/landscape/evaluator.py).
4. Sharing the machine: the grid computed in a worker thread while a trainer steps in the main thread.

Each time is the fastest of the repeats (the least disturbed by other processes on a shared host), the
median beside it; the load average is printed before and after.

    .venv/bin/python bench/landscape.py [--quick] [--repeats N] [--reference-rows 0,20,40]
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from statistics import median

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cnn.landscape import (
    CoarseGrid,
    Evaluator,
    Plane,
    WeightPath,
    grid,
    line_profile,
    pca_plane,
    random_plane,
)
from app.cnn.models import ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig

N = 41
TRAIN_STEPS = 200


def paper_style_loss(model: torch.nn.Module, params: list[torch.Tensor], x, y) -> float:
    """As loss-landscape's plot_surface.py: a fresh copy, the weights set, the loss over batches of 128."""
    net = copy.deepcopy(model)
    with torch.no_grad():
        for p, w in zip(net.parameters(), params, strict=True):
            p.copy_(w)
    net.eval()
    total, count = 0.0, 0
    with torch.no_grad():
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=128, shuffle=False):
            total += F.cross_entropy(net(xb), yb, reduction="sum").item()
            count += len(yb)
    return total / count


def split(theta: torch.Tensor, model: torch.nn.Module) -> list[torch.Tensor]:
    out, start = [], 0
    for p in model.parameters():
        out.append(theta[start : start + p.numel()].view_as(p))
        start += p.numel()
    return out


def paper_style_row(model, plane: Plane, alphas: list[float], beta: float, x, y) -> list[float]:
    c, d1, d2 = (split(v, model) for v in (plane.center, plane.d1, plane.d2))
    return [
        paper_style_loss(model, [w + a * u + beta * v for w, u, v in zip(c, d1, d2, strict=True)], x, y)
        for a in alphas
    ]


def time_grid(
    evaluator: Evaluator, plane: Plane
) -> tuple[float, float, CoarseGrid, list[list[float | None]]]:
    """Seconds to the coarse picture and to the full grid, the coarse picture (axes) and the grid."""
    t0 = time.perf_counter()
    updates = grid(evaluator, plane, n=N)
    first = next(updates)
    coarse = time.perf_counter() - t0
    rows = [row.loss for row in updates]
    return coarse, time.perf_counter() - t0, first, rows


def module_runner(model, plane: Plane, x, y, channels_last: bool, mode, chunk: int | None = None):
    """One private copy of the module, its weights written in place per point (no deep copy)."""
    net = copy.deepcopy(model).eval()
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    params = list(net.parameters())
    c, d1, d2 = (split(v, model) for v in (plane.center, plane.d1, plane.d2))

    def row(alphas: list[float], beta: float) -> list[float]:
        losses = []
        with mode():
            base = [w + beta * v for w, v in zip(c, d2, strict=True)]
            for a in alphas:
                for p, b, u in zip(params, base, d1, strict=True):
                    torch.add(b, u, alpha=a, out=p)
                if chunk is None:
                    losses.append(F.cross_entropy(net(x), y))
                else:
                    total = sum(
                        F.cross_entropy(net(x[i : i + chunk]), y[i : i + chunk], reduction="sum")
                        for i in range(0, len(y), chunk)
                    )
                    losses.append(total / len(y))
            return torch.stack(losses).tolist()

    return row


def pool_first(model: torch.nn.Sequential) -> torch.nn.Sequential:
    """The same network with each ReLU → MaxPool2d pair swapped (max and ReLU commute exactly)."""
    layers = list(model.named_children())
    for i in range(len(layers) - 1):
        if isinstance(layers[i][1], torch.nn.ReLU) and isinstance(layers[i + 1][1], torch.nn.MaxPool2d):
            layers[i], layers[i + 1] = layers[i + 1], layers[i]
    return torch.nn.Sequential(OrderedDict(layers))


def turns(runners: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    return times


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, no alternatives")
    parser.add_argument("--repeats", type=int, default=3, help="full grids per plane and thread count")
    parser.add_argument("--reference-rows", default="0,10,20,30,40", help="grid rows the reference computes")
    args = parser.parse_args()
    repeats = 1 if args.quick else args.repeats
    ref_rows = [int(r) for r in args.reference_rows.split(",")]

    torch.set_num_threads(2)
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    snapshots = WeightPath()
    snapshots.maybe_add(0, trainer.model)
    for step in range(1, TRAIN_STEPS + 1):
        trainer.step(measure=False)
        snapshots.maybe_add(step, trainer.model)
    model, x, y = trainer.model, trainer.data.x_train, trainer.data.y_train
    t0 = time.perf_counter()
    evaluator = Evaluator.on_training_split(model, trainer.data)
    planes = {"random": random_plane(snapshots, seed=0), "pca": pca_plane(snapshots)}
    setup = time.perf_counter() - t0
    print(f"default CNN, {sum(p.numel() for p in model.parameters())} parameters, {TRAIN_STEPS} Adam steps; "
          f"evaluation set {len(y)} digits; {len(snapshots)} snapshots; {load()}")  # fmt: skip
    print(f"evaluator + both planes built in {setup * 1e3:.0f} ms")

    print(f"\n1–2. {N}×{N} grid, best of {repeats} (median), vs the paper-style loop on rows {ref_rows}")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        for kind, plane in planes.items():
            coarse, full, ref_point, worst = [], [], [], 0.0
            for _ in range(repeats):
                c, f, first, values = time_grid(evaluator, plane)
                coarse.append(c)
                full.append(f)
                t0 = time.perf_counter()
                for j in ref_rows:
                    ref = paper_style_row(model, plane, first.alphas, first.betas[j], x, y)
                    for a, b in zip(values[j], ref, strict=True):
                        worst = max(worst, abs(a - b) / max(1.0, abs(b))) if a is not None else worst
                ref_point.append((time.perf_counter() - t0) / (len(ref_rows) * N))
            ours, ref = min(full), min(ref_point) * N * N  # the whole grid, the reference's extrapolated
            ratio_median = median(ref_point) * N * N / median(full)
            print(
                f"  {threads} thread(s), {kind:6s}: coarse {min(coarse):5.2f} s ({median(coarse):5.2f})"
                f"   full {ours:5.2f} s ({median(full):5.2f}), {ours / N**2 * 1e3:.2f} ms/point"
                f"   reference {min(ref_point) * 1e3:5.1f} ms/point → {ref:5.1f} s"
                f"   {ref / ours:4.1f}× ({ratio_median:4.1f}×)   max rel. diff {worst:.1e}"
            )
        t0 = time.perf_counter()
        line_profile(evaluator, snapshots.first[1], snapshots.latest[1])
        print(f"  {threads} thread(s), 1-D view (61 points): {(time.perf_counter() - t0) * 1e3:.0f} ms")
    print(f"  {load()}")

    torch.set_num_threads(2)
    if not args.quick:
        plane = planes["random"]
        alphas = torch.linspace(-1, 1, N, dtype=torch.float64).tolist()
        beta = 0.3
        row_runners = {
            "paper-style reference": lambda a, b: paper_style_row(model, plane, a, b, x, y),
            "module, no_grad": module_runner(model, plane, x, y, False, torch.no_grad),
            "module, inference_mode": module_runner(model, plane, x, y, False, torch.inference_mode),
            "module, inference, chunks of 256": module_runner(
                model, plane, x, y, False, torch.inference_mode, chunk=256
            ),
            "module, channels-last": module_runner(model, plane, x, y, True, torch.inference_mode),
            "module, channels-last, pool first": module_runner(
                pool_first(model), plane, x, y, True, torch.inference_mode
            ),
            "plan": lambda a, b: evaluator.row(plane, a, b),
        }
        for threads in (1, 2):
            torch.set_num_threads(threads)
            runners = {name: (lambda r=r: r(alphas, beta)) for name, r in row_runners.items()}
            times = turns(runners, 1)  # warm up
            times = turns(runners, 5)
            best = {name: min(ts) / N for name, ts in times.items()}
            reference = best["paper-style reference"]
            print(f"\n3. per point, one row of {N}, {threads} thread(s), best of 5 turns (median)")
            for name, ts in times.items():
                typical = median(ts) / N * 1e3
                speedup = reference / best[name]
                print(f"  {name:34s} {best[name] * 1e3:6.2f} ms ({typical:6.2f})   {speedup:5.2f}×")
        print(f"  {load()}")

    print("\n4. the grid in a worker thread while a trainer steps (measure=False) in the main thread")
    other = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        for _ in range(100):
            other.step(measure=False)
        alone = 100 / (time.perf_counter() - t0)
        done = threading.Event()
        result: dict[str, float] = {}

        def work(result=result, done=done) -> None:
            t = time.perf_counter()
            for _ in grid(evaluator, planes["random"], n=N):
                pass
            result["grid"] = time.perf_counter() - t
            done.set()

        worker = threading.Thread(target=work)
        t0, steps = time.perf_counter(), 0
        worker.start()
        while not done.is_set():
            other.step(measure=False)
            steps += 1
        worker.join()
        during = steps / (time.perf_counter() - t0)
        grid_s = result["grid"]
        print(
            f"  {threads} thread(s) each: grid {grid_s:5.2f} s; training {alone:4.0f} → {during:4.0f} steps/s"
        )
    print(f"  {load()}")


if __name__ == "__main__":
    main()
