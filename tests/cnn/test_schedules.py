from __future__ import annotations

import math

import pytest

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
