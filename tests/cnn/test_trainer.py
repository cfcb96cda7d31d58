from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from pydantic import ValidationError

from app.cnn.models import ModelConfig
from app.cnn.trainer import MAX_THREADS, Trainer, TrainerConfig


def sgd(lr: float, **fields: object) -> TrainerConfig:
    return TrainerConfig(optimizer="sgd", hyperparameters={"lr": lr}, **fields)


def test_the_default_cnn_learns_the_digits():
    """≥ 95 % validation accuracy within 600 steps of batch 64 with Adam (lr 1e-3), seeded."""
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=50))
    reached = None
    for _ in range(600):
        report = trainer.step()
        if report.eval is not None and report.eval.accuracy >= 0.95:
            reached = report.step
            break
    assert reached is not None and reached <= 600
    assert report.eval.loss < 0.3 and report.eval.samples == 360


def _first_and_last_hidden_grad_norms(config: ModelConfig, steps: int = 5) -> tuple[float, float]:
    trainer = Trainer(config, sgd(0.01, eval_every=0))
    reports = [trainer.step() for _ in range(steps)]
    names = reports[0].params.names
    first, last = names.index("fc1.weight"), names.index(f"fc{config.depth}.weight")
    return (
        sum(r.params.grad_norm[first] for r in reports) / steps,
        sum(r.params.grad_norm[last] for r in reports) / steps,
    )


def test_gradients_vanish_through_eight_sigmoid_layers_but_not_relu_with_kaiming():
    first, last = _first_and_last_hidden_grad_norms(ModelConfig(kind="mlp", depth=8, activation="sigmoid"))
    assert first * 10 <= last  # measured: ~4·10⁵× smaller
    first, last = _first_and_last_hidden_grad_norms(
        ModelConfig(kind="mlp", depth=8, activation="relu", init="kaiming")
    )
    assert first * 10 > last  # measured: about equal


def test_an_lr_change_applies_to_the_next_step_and_keeps_the_optimizer():
    trainer = Trainer(
        ModelConfig(), TrainerConfig(optimizer="sgd", hyperparameters={"lr": 0.01}, eval_every=0)
    )
    trainer.step()
    optimizer = trainer.optimizer
    assert trainer.set_hyperparameters({"lr": 0.2}) == {"lr": 0.2, "weight_decay": 0.0}
    assert trainer.optimizer is optimizer and optimizer.param_groups[0]["lr"] == 0.2
    report = trainer.step()
    assert report.lr == 0.2
    for grad_norm, update_norm in zip(report.params.grad_norm, report.params.update_norm, strict=True):
        assert update_norm == pytest.approx(0.2 * grad_norm, rel=1e-4)  # SGD: Δθ = −η·g


def test_optimizer_state_survives_a_hyperparameter_change():
    trainer = Trainer(ModelConfig(), TrainerConfig(optimizer="adam", eval_every=0))
    for _ in range(3):
        trainer.step()
    weight = trainer.model.conv1.weight
    state = {k: v.clone() for k, v in trainer.optimizer.state[weight].items()}
    trainer.set_hyperparameters({"lr": 0.005, "betas": (0.8, 0.99), "amsgrad": True})
    kept = trainer.optimizer.state[weight]
    assert all(torch.equal(kept[k], v) for k, v in state.items())
    group = trainer.optimizer.param_groups[0]
    assert group["lr"] == 0.005 and group["betas"] == (0.8, 0.99) and group["amsgrad"] is True
    trainer.step()  # amsgrad switched on mid-run: its running maximum starts now
    assert float(trainer.optimizer.state[weight]["step"]) == 4


@pytest.mark.parametrize("change", [{"momentum": 0.9}, {"centered": True}])
def test_rmsprop_options_can_be_switched_on_mid_run(change):
    trainer = Trainer(
        ModelConfig(), TrainerConfig(optimizer="rmsprop", hyperparameters={"lr": 1e-3}, eval_every=0)
    )
    trainer.step()
    trainer.set_hyperparameters(change)
    assert trainer.step().loss is not None


def test_switching_optimizer_resets_its_state_and_keeps_the_weights():
    trainer = Trainer(ModelConfig(), TrainerConfig(optimizer="adam", eval_every=0))
    for _ in range(3):
        trainer.step()
    weights = [p.detach().clone() for p in trainer.model.parameters()]
    trainer.set_optimizer("momentum", {"lr": 0.05})
    assert isinstance(trainer.optimizer, torch.optim.SGD) and len(trainer.optimizer.state) == 0
    assert trainer.config.hyperparameters == {
        "lr": 0.05,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
    }
    assert all(torch.equal(p, w) for p, w in zip(trainer.model.parameters(), weights, strict=True))
    assert trainer.step().step == 4


def test_bad_live_changes_are_refused_and_change_nothing():
    trainer = Trainer(ModelConfig(batch_norm=True), TrainerConfig(eval_every=0))
    with pytest.raises(ValidationError) as caught:
        trainer.set_hyperparameters({"lr": 0})
    assert caught.value.errors()[0]["loc"] == ("hyperparameters", "lr")
    with pytest.raises(ValidationError) as caught:
        trainer.set_hyperparameters({"momentum": 0.9})  # not Adam's
    assert caught.value.errors()[0]["loc"] == ("hyperparameters", "momentum")
    with pytest.raises(ValidationError) as caught:
        trainer.set_batch_size(1)
    assert caught.value.errors()[0]["loc"] == ("batch_size",)
    assert caught.value.errors()[0]["msg"] == "batch norm needs at least 2 digits per batch"
    with pytest.raises(ValidationError) as caught:
        trainer.set_optimizer("lbfgs")
    assert caught.value.errors()[0]["type"] == "unknown_optimizer"
    assert trainer.config == TrainerConfig(eval_every=0)
    assert trainer.optimizer.param_groups[0]["lr"] == 0.001


@pytest.mark.parametrize(
    ("fields", "loc", "kind"),
    [
        ({"optimizer": "lbfgs"}, ("optimizer",), "unknown_optimizer"),
        ({"hyperparameters": {"lr": -1}}, ("hyperparameters", "lr"), "greater_than"),
        ({"hyperparameters": {"lr": float("inf")}}, ("hyperparameters", "lr"), "finite_number"),
        ({"hyperparameters": {"rate": 1}}, ("hyperparameters", "rate"), "extra_forbidden"),
        ({"hyperparameters": {"betas": [0.9, 1.0]}}, ("hyperparameters", "betas", 1), "less_than"),
        ({"batch_size": 0}, ("batch_size",), "greater_than_equal"),
        ({"batch_size": 513}, ("batch_size",), "less_than_equal"),
        ({"schedule": {"kind": "step", "gamma": 0}}, ("schedule", "step", "gamma"), "greater_than"),
        (
            {"schedule": {"kind": "cosine", "total_steps": 0}},
            ("schedule", "cosine", "total_steps"),
            "greater_than_equal",
        ),
        ({"schedule": {"kind": "exponential"}}, ("schedule",), "union_tag_invalid"),
        ({"eval_every": -1}, ("eval_every",), "greater_than_equal"),
        ({"seed": 2**40}, ("seed",), "less_than_equal"),
        ({"epochs": 3}, ("epochs",), "extra_forbidden"),
    ],
)
def test_bad_trainer_configs_are_refused_naming_the_field(fields, loc, kind):
    with pytest.raises(ValidationError) as caught:
        TrainerConfig.model_validate(fields)
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [(loc, kind)]


def test_omitted_hyperparameters_take_the_registry_defaults():
    config = TrainerConfig(optimizer="adamw", hyperparameters={"lr": 0.01})
    assert config.hyperparameters == {
        "lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.01, "amsgrad": False,
    }  # fmt: skip


def test_same_seeds_give_identical_reports():
    config = ModelConfig(dropout=0.3, batch_norm=True)  # dropout draws random masks too
    a, b = Trainer(config, TrainerConfig(seed=7)), Trainer(config, TrainerConfig(seed=7))
    first = [a.step() for _ in range(5)]
    torch.manual_seed(123)  # the global generator's state must not matter
    assert [b.step() for _ in range(5)] == first
    other = Trainer(config, TrainerConfig(seed=8)).step()
    assert other.loss != first[0].loss
    a.reset()
    assert a.step_count == 0 and a.step() == first[0]


def test_reset_with_a_seed_starts_from_new_weights():
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    first = trainer.step()
    trainer.reset(seed=3)
    assert trainer.model_config.seed == 3 and trainer.config.seed == 3
    assert trainer.step() == Trainer(ModelConfig(seed=3), TrainerConfig(seed=3, eval_every=0)).step()
    assert trainer.step_count == 1 and first.loss != trainer.evaluate().loss


def test_schedules_set_the_lr_of_each_step():
    trainer = Trainer(
        ModelConfig(),
        TrainerConfig(
            optimizer="sgd", hyperparameters={"lr": 0.1}, schedule={"kind": "warmup", "warmup_steps": 4}
        ),
    )
    assert [trainer.step().lr for _ in range(5)] == pytest.approx([0.025, 0.05, 0.075, 0.1, 0.1])
    trainer.set_schedule({"kind": "step", "gamma": 0.5, "every": 5})  # step 6 is t = 5: one drop
    assert trainer.step().lr == pytest.approx(0.05)
    trainer.set_hyperparameters({"lr": 1.0})  # the base rate; the schedule still applies
    assert trainer.step().lr == pytest.approx(0.5) and trainer.lr == pytest.approx(0.5)


def test_evaluation_comes_once_per_epoch_by_default():
    trainer = Trainer(
        ModelConfig(kind="mlp"), TrainerConfig(batch_size=512)
    )  # 1437 digits: 2 steps per epoch
    evaluated = [trainer.step().eval is not None for _ in range(6)]
    assert evaluated == [False, True, False, True, False, True]
    assert trainer.epoch == 2  # the third epoch began at step 5
    trainer.set_eval_every(3)
    assert [trainer.step().eval is not None for _ in range(3)] == [False, False, True]
    trainer.set_batch_size(100)
    assert trainer.step().batch_size == 100


def test_threads_are_capped_when_a_trainer_is_made():
    torch.set_num_threads(MAX_THREADS + 2)
    Trainer(ModelConfig(kind="mlp"), TrainerConfig())
    assert torch.get_num_threads() == MAX_THREADS


def test_the_cnn_package_imports_no_web_code():
    code = (
        "import sys, app.cnn.trainer, app.cnn.measurements, app.cnn.landscape, app.cnn.reports\n"
        "web = {'fastapi', 'starlette', 'uvicorn', 'websockets'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & web),"
        " sorted(m for m in sys.modules if m.startswith(('app.api', 'app.sessions', 'app.main'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"
