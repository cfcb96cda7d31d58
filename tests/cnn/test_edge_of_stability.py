"""The "Edge of stability" preset, run headless on the trainer: full-batch gradient descent on the default
CNN at η = 0.1, the sharpness every 10 steps (Cohen et al. 2021, arXiv 2103.00065). λ_max rises to 2/η and
hovers there while the loss keeps falling."""

from __future__ import annotations

import statistics

import pytest

from app.cnn.models import ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig

LR = 0.1
EVERY = 10
MAX_STEPS = 300  # bounds the run: measured, λ_max reaches 0.8 × 2/η by step 60-70


@pytest.mark.timeout(600)  # ~15 s on an idle host, ~60 s on a busy one
def test_the_sharpness_rises_to_two_over_eta_and_hovers_there():
    preset = TrainerConfig(
        optimizer="sgd", hyperparameters={"lr": LR}, batch_size="full", sharpness_every=EVERY, eval_every=0
    )
    trainer = Trainer(ModelConfig(), preset)
    edge = 2 / LR
    measured: list[tuple[int, float]] = []
    losses: dict[int, float] = {}
    reached = None
    while trainer.step_count < MAX_STEPS:
        report = trainer.step(measure=False)
        losses[report.step] = report.loss
        for m in trainer.measure():
            assert m.threshold == pytest.approx(edge) and m.quantity == "sharpness" and m.samples == 512
            measured.append((m.step, m.lambda_max))
            if reached is None and m.lambda_max >= 0.8 * edge:
                reached = m.step
        if reached is not None and trainer.step_count >= reached + 100:
            break
    assert [s for s, _ in measured] == list(range(EVERY, trainer.step_count + 1, EVERY))
    assert measured[0][1] < 0.1 * edge  # it starts flat: 0.79 measured
    assert reached is not None, measured
    after = [v for s, v in measured if reached < s <= reached + 100]
    assert len(after) == 100 // EVERY
    assert 0.7 * edge <= statistics.median(after) <= 1.3 * edge, measured
    # Meanwhile the loss keeps falling, though not monotonically.
    assert losses[reached + 100] < 0.5 * losses[reached]
    steps = sorted(losses)
    assert any(losses[b] > losses[a] for a, b in zip(steps[reached:], steps[reached + 1 :], strict=False))
