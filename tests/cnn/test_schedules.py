from __future__ import annotations

import math

import pytest
import torch
from torch.optim import lr_scheduler

from app.cnn.schedules import ConstantSchedule, CosineSchedule, StepSchedule, WarmupSchedule


def test_factors():
    assert ConstantSchedule().factor(1000) == 1.0
    step = StepSchedule(gamma=0.5, every=10)
    assert [step.factor(t) for t in (0, 9, 10, 19, 20)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    cosine = CosineSchedule(total_steps=100, min_factor=0.1)
    assert cosine.factor(0) == 1.0
    assert cosine.factor(50) == pytest.approx(0.55)
    assert cosine.factor(100) == pytest.approx(0.1) and cosine.factor(500) == pytest.approx(0.1)
    assert cosine.factor(25) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 4)))
    warmup = WarmupSchedule(warmup_steps=4)
    assert [warmup.factor(t) for t in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


# Each schedule against torch.optim.lr_scheduler: a real SGD optimizer steps, the scheduler steps after it,
# and the lr it would use for update t is compared with base × factor(t) at every step.
BASE_LR = 0.1
TOLERANCE = 1e-12  # relative; torch's recursive (chainable) forms drift ~1e-14 over a few hundred steps


def torch_lrs(make_scheduler, steps: int) -> list[float]:
    """The lr torch.optim uses for each of `steps` updates under `make_scheduler`."""
    weight = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    optimizer = torch.optim.SGD([weight], lr=BASE_LR)
    scheduler = make_scheduler(optimizer)
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        weight.grad = torch.ones_like(weight)
        optimizer.step()
        scheduler.step()
    return lrs


def assert_matches(schedule, make_scheduler, steps: int) -> None:
    expected = torch_lrs(make_scheduler, steps)
    ours = [BASE_LR * schedule.factor(t) for t in range(steps)]
    for t, (mine, theirs) in enumerate(zip(ours, expected, strict=True)):
        assert mine == pytest.approx(theirs, rel=TOLERANCE, abs=TOLERANCE * BASE_LR), f"step {t}"


def test_constant_matches_torch():
    assert_matches(ConstantSchedule(), lambda o: lr_scheduler.ConstantLR(o, factor=1.0, total_iters=0), 300)


@pytest.mark.parametrize(("gamma", "every"), [(0.5, 200), (0.7, 37), (0.1, 1), (1.0, 5)])
def test_step_matches_step_lr(gamma, every):
    schedule = StepSchedule(gamma=gamma, every=every)
    assert_matches(schedule, lambda o: lr_scheduler.StepLR(o, step_size=every, gamma=gamma), 400)


@pytest.mark.parametrize(
    ("total_steps", "min_factor"), [(300, 0.0), (300, 0.1), (1, 0.0), (97, 0.5), (250, 1.0)]
)
def test_cosine_matches_cosine_annealing_lr(total_steps, min_factor):
    """Up to T, CosineAnnealingLR with eta_min = m·base."""
    schedule = CosineSchedule(total_steps=total_steps, min_factor=min_factor)
    make = lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=total_steps, eta_min=min_factor * BASE_LR)  # noqa: E731
    assert_matches(schedule, make, total_steps + 1)


def test_cosine_holds_its_floor_past_total_steps():
    """Deliberate difference: past T torch's cosine rises again (period 2T); ours stays at m (docstring)."""
    schedule = CosineSchedule(total_steps=100, min_factor=0.2)
    beyond = torch_lrs(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.2 * BASE_LR), 200)
    assert beyond[150] > 0.2 * BASE_LR * 1.5  # torch climbs back towards base
    assert all(schedule.factor(t) == pytest.approx(0.2, rel=1e-15) for t in range(100, 400))


@pytest.mark.parametrize("warmup_steps", [1, 2, 50, 300])
def test_warmup_matches_linear_lr(warmup_steps):
    """(t+1)/W up to 1 is LinearLR from 1/W to 1 over W − 1 iterations."""
    schedule = WarmupSchedule(warmup_steps=warmup_steps)
    make = lambda o: lr_scheduler.LinearLR(  # noqa: E731
        o, start_factor=1.0 / warmup_steps, end_factor=1.0, total_iters=warmup_steps - 1
    )
    assert_matches(schedule, make, 400)
