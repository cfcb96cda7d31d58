"""The trainer's measurements every few steps (app/cnn/monitor.py), against the compute core called directly:
the sharpness with its threshold per optimizer, the noise scale, full-batch steps, and the cost bounds."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from pydantic import ValidationError

from app.cnn.models import ModelConfig
from app.cnn.monitor import (
    MAX_ITERATIONS,
    MAX_NOISE_WORK,
    MAX_SHARPNESS_WORK,
    NoiseScaleReport,
    SharpnessReport,
    lanczos_cap,
    multiply_adds,
)
from app.cnn.sharpness import gradient_noise_scale, preconditioned_sharpness, sharpness
from app.cnn.trainer import Trainer, TrainerConfig
from app.descent.curvature import stability_threshold
from app.sessions.cnn.protocol import CnnNoiseScale, CnnSharpness

SMALL = {"kind": "cnn", "blocks": [{"channels": 4, "kernel": 3, "pool": "max"}], "depth": 1, "width": 16}
BIG = {"kind": "mlp", "depth": 8, "width": 256}  # 479 754 parameters


def trainer(optimizer: str = "sgd", lr: float = 0.1, model: dict | None = None, **fields) -> Trainer:
    config = TrainerConfig(optimizer=optimizer, hyperparameters={"lr": lr}, eval_every=0, **fields)
    return Trainer(ModelConfig(**(SMALL if model is None else model)), config)


def test_a_full_batch_step_is_one_step_on_the_whole_training_split():
    t = trainer(batch_size="full")
    x, y = t.data.x_train, t.data.y_train
    with torch.no_grad():
        expected = float(F.cross_entropy(t.model(x), y))
    before = [p.detach().clone() for p in t.model.parameters()]
    loss = F.cross_entropy(t.model(x), y)
    grads = torch.autograd.grad(loss, list(t.model.parameters()))
    report = t.step()
    assert report.batch_size == t.data.n_train == 1437 and report.epoch == 1.0
    assert report.loss == pytest.approx(expected, rel=1e-5)
    for p, b, g in zip(t.model.parameters(), before, grads, strict=True):  # θ ← θ − η∇J(θ), full batch
        torch.testing.assert_close(p.detach(), b - 0.1 * g, rtol=1e-4, atol=1e-6)
    assert t.step().epoch == 2.0 and t.epoch == 2


def test_nothing_is_measured_unless_asked_and_then_every_so_many_steps():
    t = trainer()
    t.step()
    assert t.measure() == []
    t = trainer(sharpness_every=3, noise_scale_every=2, sharpness_samples=64)
    assert t.measure() == []  # before the first step
    kinds = {}
    for _ in range(6):
        t.step()
        kinds[t.step_count] = [type(m).__name__ for m in t.measure()]
    assert kinds == {
        1: [],
        2: ["NoiseScaleReport"],
        3: ["SharpnessReport"],
        4: ["NoiseScaleReport"],
        5: [],
        6: ["SharpnessReport", "NoiseScaleReport"],
    }


def test_the_sharpness_of_gd_is_lambda_max_of_h_and_its_threshold_two_over_eta():
    t = trainer(sharpness_every=5, sharpness_samples=128)
    for _ in range(5):
        t.step()
    (report,) = t.measure()
    x, y = t.monitor.x, t.monitor.y
    oracle = sharpness(t.model, x, y, tolerance=1e-5, max_iterations=2000)
    assert oracle.converged
    assert report.quantity == "sharpness" and report.optimizer == "sgd" and report.lr == 0.1
    assert report.lambda_max == pytest.approx(oracle.lambda_max, rel=1e-3)
    assert report.threshold == pytest.approx(2 / 0.1) and report.formula == "λ_max(H) < 2/η − λ"
    assert report.samples == 128 and report.converged and 1 <= report.iterations <= MAX_ITERATIONS
    assert report.seconds > 0
    again = t.monitor.sharpness(t.model, t.optimizer, "sgd", t.config.hyperparameters, t.lr, t.step_count)
    assert again.iterations == 1  # warm-started at the same weights


@pytest.mark.parametrize(("optimizer", "lr"), [("adam", 0.001), ("rmsprop", 0.001), ("adamw", 0.003)])
def test_an_adaptive_optimizer_measures_the_preconditioned_sharpness_against_its_own_threshold(optimizer, lr):
    t = trainer(optimizer, lr, sharpness_every=4, sharpness_samples=96)
    for _ in range(4):
        t.step()
    (report,) = t.measure()
    oracle = preconditioned_sharpness(t.model, t.optimizer, t.monitor.x, t.monitor.y, None, 1e-5, 2000)
    expected = stability_threshold(optimizer, {**t.config.hyperparameters, "lr": lr})
    assert report.quantity == "preconditioned_sharpness" == expected.quantity
    assert report.lambda_max == pytest.approx(oracle.lambda_max, rel=1e-3)
    assert report.threshold == pytest.approx(expected.threshold) and report.formula == expected.formula
    if optimizer == "adam":
        assert report.threshold == pytest.approx(38 / lr)  # (2 + 2β₁)/((1 − β₁)η), β₁ = 0.9


def test_without_a_known_threshold_the_plain_sharpness_comes_with_a_null_threshold():
    t = trainer("adagrad", 0.05, sharpness_every=2, sharpness_samples=64)
    t.step()
    t.step()
    (report,) = t.measure()
    assert report.quantity == "sharpness" and report.threshold is None
    assert report.formula.startswith("none known: Adagrad")
    oracle = sharpness(t.model, t.monitor.x, t.monitor.y, tolerance=1e-5, max_iterations=2000)
    assert report.lambda_max == pytest.approx(oracle.lambda_max, rel=1e-3)


def test_a_fresh_adaptive_optimizer_waits_for_its_first_step_and_the_threshold_follows_the_schedule():
    t = trainer(sharpness_every=2, sharpness_samples=64)
    t.step()
    t.set_optimizer("adam", {"lr": 0.001})  # fresh state: no P until its first step
    args = (t.model, t.optimizer, "adam", t.config.hyperparameters, t.lr, t.step_count)
    assert t.monitor.sharpness(*args) is None
    t.step()
    assert [m.quantity for m in t.measure()] == ["preconditioned_sharpness"]
    t = trainer(sharpness_every=2, sharpness_samples=64, schedule={"kind": "step", "gamma": 0.5, "every": 2})
    t.step()
    t.step()
    (report,) = t.measure()
    assert report.lr == 0.05 and report.threshold == pytest.approx(2 / 0.05)  # the coming step's η


def test_the_noise_scale_is_b_simple_of_the_evaluation_subset():
    t = trainer(noise_scale_every=1, sharpness_samples=200, batch_size=32)
    t.step()
    (report,) = t.measure()
    oracle = gradient_noise_scale(t.model, t.monitor.x, t.monitor.y)
    assert isinstance(report, NoiseScaleReport) and report.estimator == "sample"
    assert report.b_simple == pytest.approx(oracle.b_simple, rel=1e-6)
    assert report.trace_sigma == pytest.approx(oracle.trace_sigma, rel=1e-6)
    assert report.gradient_norm_sq == pytest.approx(oracle.gradient_norm_sq, rel=1e-6)
    assert report.batch_size == 32 and report.samples == 200 and report.unavailable is None
    whole = trainer(noise_scale_every=1, sharpness_samples=2048, batch_size="full")
    whole.step()
    (report,) = whole.measure()
    assert report.samples == 1437 and report.estimator == "population" and report.batch_size == 1437
    bn = trainer(model={**SMALL, "batch_norm": True}, noise_scale_every=1, sharpness_samples=64)
    bn.step()
    (report,) = bn.measure()
    assert report.b_simple is None and "undefined with batch norm" in report.unavailable


def test_costly_measurements_are_refused_naming_the_bound():
    assert multiply_adds(Trainer().model) == 16 * 9 * 64 + 32 * 16 * 9 * 16 + 128 * 64 + 64 * 10
    big = {"kind": "mlp", "depth": 8, "width": 256}
    with pytest.raises(ValidationError) as caught:
        trainer(model=big, sharpness_every=10)
    (error,) = caught.value.errors()
    assert error["loc"] == ("sharpness_samples",) and error["type"] == "measurement_cost"
    per_digit = 477_696 * (lanczos_cap(479_754) + 1)
    assert error["msg"] == (
        f"a sharpness measurement on 512 digits of this network may cost {512 * per_digit / 1e9:.2g} G "
        f"multiply-adds ({lanczos_cap(479_754)} Hessian-vector products and the gradient), over the bound "
        f"of {MAX_SHARPNESS_WORK / 1e9:g} G (~1.7 s of CPU): measure on at most "
        f"{MAX_SHARPNESS_WORK // per_digit} digits, or on a smaller network"
    )
    trainer(model=big, sharpness_every=10, sharpness_samples=MAX_SHARPNESS_WORK // per_digit)  # just inside
    with pytest.raises(
        ValidationError, match=r"over the bound of 85 M \(~1.7 s of CPU\): measure on at most 177"
    ):
        trainer(model=big, noise_scale_every=10, sharpness_samples=200)
    assert MAX_NOISE_WORK // 479_754 == 177
    # A refused change leaves the settings as they were; the default CNN takes the whole split.
    t = trainer(model=big)
    with pytest.raises(ValidationError):
        t.set_measurements(sharpness_every=10)
    assert t.config.sharpness_every == 0
    Trainer(ModelConfig(), TrainerConfig(sharpness_every=1, noise_scale_every=1, sharpness_samples=2048))


def test_the_basis_is_bounded_on_large_networks():
    assert lanczos_cap(13_706) == MAX_ITERATIONS
    assert lanczos_cap(1_039_754) == 8  # 32 MiB of float32 vectors


def test_a_new_sample_count_draws_a_new_subset_and_keeps_the_warm_start():
    t = trainer(sharpness_every=1, sharpness_samples=64)
    t.step()
    t.measure()
    vector = t.monitor.previous
    t.set_measurements(sharpness_samples=96)
    assert t.monitor.samples == 96 and t.monitor.previous is vector and t.config.sharpness_samples == 96


def test_the_messages_carry_the_reports_field_for_field():
    for report, message in ((SharpnessReport, CnnSharpness), (NoiseScaleReport, CnnNoiseScale)):
        assert [f.name for f in dataclasses.fields(report)] == [
            n for n in message.model_fields if n != "type"
        ]
