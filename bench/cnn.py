"""CNN training speed, measured side by side in one run (prints rates and ratios; no timed tests).

1. Steps per second of Trainer.step() (every per-step probe, no evaluation) vs a plain PyTorch loop
   (zero_grad; loss = cross_entropy(model(x), y); backward; step; loss.item()) on the same model, data and
   optimizer — goal: overhead ≤ 1.10×. The runners take turns in short blocks, so a change in the
   machine's load hits all of them; each runner's time is its fastest block (the least disturbed, the
   best estimate of its own cost on a shared machine), the median block shown beside it.
2. Trainer.step(measure=False) on three steps of four: a session that sends a frame every few steps
   needs the probes only on those.
3. For reference, the same probes collected naively: per tensor, one op and one .item() per number.
4. The cost of a snapshot() (histograms, filters, predictions, confusion matrix, validation pass).
5. The sharpness: one measurement's time (Lanczos on Hessian-vector products, 512 digits, warm-started as
   in training), and the training slowdown with it every 10 steps, two identical trainings side by side, one
   measuring (goal ≤ 1.3×): the "Edge of stability" preset (full-batch GD, η = 0.1) and, for reference, the
   default training (Adam, batch 64), where one product on 512 digits costs about eight steps. Beside them,
   one noise-scale measurement (per-example gradients by torch.func on the same 512 digits).

    .venv/bin/python bench/cnn.py [--quick] [--threads N] [--sharpness]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.cnn.data import BatchSampler
from app.cnn.models import ModelConfig, build_model, parameter_count
from app.cnn.trainer import Trainer, TrainerConfig
from app.descent.optimizers import get_optimizer

CASES = {
    "default cnn (2 blocks, adam)": (ModelConfig(), TrainerConfig(eval_every=0)),
    "mlp 4×128 + batch norm (momentum)": (
        ModelConfig(kind="mlp", depth=4, width=128, batch_norm=True),
        TrainerConfig(optimizer="momentum", hyperparameters={"lr": 0.05}, eval_every=0),
    ),
}


class PlainLoop:
    """What a person would write with no probes at all."""

    def __init__(self, model_config: ModelConfig, config: TrainerConfig, data) -> None:
        self.model = build_model(model_config)
        spec = get_optimizer(config.optimizer)
        self.optimizer = spec.make_torch_optimizer(self.model.parameters(), config.hyperparameters)
        self.sampler = BatchSampler(data.n_train, config.seed)
        self.data, self.batch_size = data, config.batch_size

    def step(self) -> float:
        batch = self.sampler.draw(self.batch_size)
        x, y = self.data.x_train[batch], self.data.y_train[batch]
        loss = F.cross_entropy(self.model(x), y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return loss.item()


class NaiveProbes(PlainLoop):
    """The same per-parameter and per-layer numbers, gathered one tensor and one .item() at a time."""

    def __init__(self, model_config: ModelConfig, config: TrainerConfig, data) -> None:
        super().__init__(model_config, config, data)
        self.outputs: dict[str, torch.Tensor] = {}
        self.grads: dict[str, torch.Tensor] = {}
        for name, module in self.model.named_children():
            if isinstance(module, torch.nn.Conv2d | torch.nn.Linear | torch.nn.ReLU):
                module.register_forward_hook(self._hook(name))

    def _hook(self, name: str):
        def keep(module, inputs, output):
            if output.requires_grad:
                self.outputs[name] = output
                output.register_hook(lambda g: self.grads.__setitem__(name, g))

        return keep

    def step(self) -> float:
        batch = self.sampler.draw(self.batch_size)
        x, y = self.data.x_train[batch], self.data.y_train[batch]
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        self.optimizer.zero_grad()
        loss.backward()
        before = [p.detach().clone() for p in self.model.parameters()]
        self.optimizer.step()
        stats = []
        with torch.no_grad():
            for p, b in zip(self.model.parameters(), before, strict=True):
                g = p.grad
                w = p.norm().item()
                stats += [g.norm().item(), g.mean().item(), g.std().item(), g.abs().max().item(), w]
                stats.append((p - b).norm().item() / w)
            for name, a in self.outputs.items():
                stats += [a.mean().item(), a.std().item(), (a == 0).float().mean().item()]
                stats.append(self.grads[name].norm().item())
        stats.append((logits.argmax(1) == y).float().mean().item())
        return loss.item()


def every_fourth(trainer: Trainer) -> None:
    trainer.step(measure=trainer.step_count % 4 == 0)


def block_times(
    runners: dict[str, object], steps: int, blocks: int, clock=time.perf_counter
) -> dict[str, list[float]]:
    """Seconds per step of each runner, per block, the runners taking turns block by block."""
    times: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(blocks):
        for name, step in runners.items():
            t0 = clock()
            for _ in range(steps):
                step()
            times[name].append((clock() - t0) / steps)
    return times


EDGE = TrainerConfig(optimizer="sgd", hyperparameters={"lr": 0.1}, batch_size="full", eval_every=0)
SHARPNESS_CASES = {
    "edge of stability (default cnn, full batch 1437, sgd η 0.1)": EDGE,
    "default cnn (adam, batch 64)": TrainerConfig(eval_every=0),
}


def ten_steps(trainer: Trainer) -> None:
    """What a session does for ten steps: each measured, the measurements due taken."""
    for _ in range(10):
        trainer.step()
        trainer.measure()


def sharpness_cost(quick: bool) -> None:
    blocks = 6 if quick else 20
    for label, config in SHARPNESS_CASES.items():
        plain = Trainer(ModelConfig(), config)
        measured = Trainer(ModelConfig(), config.model_copy(update={"sharpness_every": 10}))
        runners = {"plain": partial(ten_steps, plain), "sharpness every 10": partial(ten_steps, measured)}
        # A block: ten steps, and one measurement for the second. CPU seconds (process_time: every torch
        # thread), which a busy host disturbs far less than the wall clock; the wall clock beside it.
        times = block_times(runners, 1, blocks, time.process_time)
        wall = block_times(runners, 1, max(2, blocks // 4))
        best = {name: min(ts) for name, ts in times.items()}
        median = {name: statistics.median(ts) for name, ts in times.items()}
        seconds, products = [], []
        for _ in range(3 if quick else 10):  # one more measurement at a time, from the last one's vector
            measured.step()
            t0 = time.process_time()
            report = measured.monitor.sharpness(
                measured.model, measured.optimizer, measured.config.optimizer,
                measured.config.hyperparameters, measured.lr, measured.step_count,
            )  # fmt: skip
            seconds.append(time.process_time() - t0)
            products.append(report.iterations)
        print(f"\n{label}: {blocks} blocks of 10 steps (the measuring training measures once a block), "
              f"step {measured.step_count}")  # fmt: skip
        for name in runners:
            ms, med = best[name] * 1e2, median[name] * 1e2  # a block is ten steps: s/block × 100 = ms/step
            print(f"  {name:18s} {ms:7.1f} ms of CPU/step  (median block {med:7.1f})")
        walls = {name: statistics.median(ts) for name, ts in wall.items()}
        print(f"  slowdown in CPU time: {best['sharpness every 10'] / best['plain']:.3f}×  (median blocks: "
              f"{median['sharpness every 10'] / median['plain']:.3f}×; wall clock, median blocks: "
              f"{walls['sharpness every 10'] / walls['plain']:.3f}×)   goal ≤ 1.30×")  # fmt: skip
        print(f"  one measurement, warm: {statistics.median(seconds) * 1e3:.0f} ms of CPU median "
              f"({min(seconds) * 1e3:.0f}–{max(seconds) * 1e3:.0f}), {statistics.median(products):.0f} "
              f"Hessian-vector products median ({min(products)}–{max(products)}), "
              f"λ_max = {report.lambda_max:.3g}")  # fmt: skip
    trainer = Trainer(ModelConfig(), EDGE)
    trainer.step()
    trainer.monitor.noise_scale(trainer.model, 1, trainer.batch_size)  # torch.func's set-up, once a process
    noise = []
    for _ in range(3 if quick else 10):
        t0 = time.process_time()
        report = trainer.monitor.noise_scale(trainer.model, 1, trainer.batch_size)
        noise.append(time.process_time() - t0)
    print(f"\nnoise scale on 512 digits (default cnn): {statistics.median(noise) * 1e3:.0f} ms of CPU median "
          f"({min(noise) * 1e3:.0f}–{max(noise) * 1e3:.0f}); B_simple = {report.b_simple:.3g}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter blocks")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--sharpness", action="store_true", help="only part 5, the sharpness and noise scale")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    steps, blocks = (10, 10) if args.quick else (10, 60)
    if args.sharpness:
        sharpness_cost(args.quick)
        return

    for label, (model_config, config) in CASES.items():
        trainer = Trainer(model_config, config)
        sometimes = Trainer(model_config, config)
        plain = PlainLoop(model_config, config, trainer.data)
        naive = NaiveProbes(model_config, config, trainer.data)

        runners = {
            "plain": plain.step,
            "probed": trainer.step,
            "1 in 4": partial(every_fourth, sometimes),
            "naive": naive.step,
        }
        block_times(runners, 10, 1)  # warm up
        times = block_times(runners, steps, blocks)
        best = {name: min(ts) for name, ts in times.items()}
        median = {name: statistics.median(ts) for name, ts in times.items()}
        print(f"\n{label}: {parameter_count(trainer.model)} parameters, batch {config.batch_size}, "
              f"{torch.get_num_threads()} threads, {blocks} blocks of {steps} steps each")  # fmt: skip
        for name in runners:
            print(f"  {name:7s} {1 / best[name]:8.1f} steps/s  ({best[name] * 1e6:6.0f} µs/step; "
                  f"median block {median[name] * 1e6:6.0f} µs)")  # fmt: skip
        for name in ("probed", "1 in 4", "naive"):
            print(f"  {name:6s} / plain: {best[name] / best['plain']:.3f}×  "
                  f"(median blocks: {median[name] / median['plain']:.3f}×)"
                  + ("   goal ≤ 1.10×" if name == "probed" else ""))  # fmt: skip

        snaps = []
        for _ in range(5 if args.quick else 20):
            t0 = time.perf_counter()
            trainer.snapshot()
            snaps.append(time.perf_counter() - t0)
        evals = []
        for _ in range(5 if args.quick else 20):
            t0 = time.perf_counter()
            trainer.evaluate()
            evals.append(time.perf_counter() - t0)
        print(f"  snapshot(): {statistics.median(snaps) * 1e3:.2f} ms   (of which the validation pass, "
              f"evaluate(): {statistics.median(evals) * 1e3:.2f} ms)")  # fmt: skip
    sharpness_cost(args.quick)


if __name__ == "__main__":
    main()
