"""Every per-step number of the probes against the same step recomputed with plain torch (conftest.Oracle)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from app.cnn.models import ConvBlock, ModelConfig
from app.cnn.trainer import Trainer, TrainerConfig

from .conftest import step_with_oracle

CONFIGS = {
    "default cnn": ModelConfig(),
    "cnn gelu, batch norm, avg pool 5×5": ModelConfig(
        blocks=[ConvBlock(channels=6, kernel=5, pool="avg")], activation="gelu", batch_norm=True, depth=2
    ),
    "mlp tanh, too small": ModelConfig(kind="mlp", depth=4, width=32, activation="tanh", init="too_small"),
    "mlp sigmoid, batch norm": ModelConfig(kind="mlp", depth=3, activation="sigmoid", batch_norm=True),
}


def close(value: float | None, expected: float, rel: float = 2e-5, abs_: float = 1e-9) -> bool:
    return value is not None and math.isclose(value, expected, rel_tol=rel, abs_tol=abs_)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_probes_equal_an_independent_recomputation(config, optimizer):
    trainer = Trainer(config, TrainerConfig(optimizer=optimizer, hyperparameters={"lr": 0.01}, eval_every=0))
    for _ in range(3):  # past the first step, so the optimizer has state and the weights have moved
        trainer.step()
    report, oracle = step_with_oracle(trainer)

    assert close(report.loss, oracle.loss) and report.accuracy == oracle.accuracy
    params = report.params
    assert params.names == list(oracle.grads)
    for i, name in enumerate(params.names):
        g, before, after = oracle.grads[name], oracle.before[name], oracle.after[name]
        w, delta = torch.linalg.vector_norm(after).item(), torch.linalg.vector_norm(after - before).item()
        assert close(params.grad_norm[i], torch.linalg.vector_norm(g).item()), name
        # a mean that cancels to ~0 is known to float32 rounding of the entries' scale
        assert close(params.grad_mean[i], g.mean().item(), rel=1e-4, abs_=1e-6 * g.abs().mean().item()), name
        assert close(params.grad_std[i], g.std(correction=0).item(), rel=1e-4), name
        assert close(params.grad_max_abs[i], g.abs().max().item()), name
        assert close(params.weight_norm[i], w), name
        assert close(params.update_norm[i], delta, rel=1e-4), name
        assert close(params.update_ratio[i], delta / w, rel=1e-4), name

    layers = report.layers
    assert layers.names == list(oracle.outputs)
    for i, name in enumerate(layers.names):
        a, grad = oracle.outputs[name], oracle.out_grads[name]
        assert close(layers.act_mean[i], a.mean().item(), rel=1e-4, abs_=1e-6 * a.abs().mean().item()), name
        assert close(layers.act_std[i], a.std(correction=0).item(), rel=1e-4, abs_=1e-9), name
        assert close(layers.grad_norm[i], torch.linalg.vector_norm(grad).item(), rel=1e-4), name
        if layers.kinds[i] != "activation":
            assert layers.dead_fraction[i] is None and layers.dead_rule[i] is None
            continue
        per_unit = a.abs().mean(dim=(0, 2, 3) if a.dim() == 4 else 0)  # (units,)
        if layers.dead_rule[i] == "zero":
            dead = (a.amax(dim=(0, 2, 3) if a.dim() == 4 else 0) == 0).float().mean().item()
        else:
            dead = (per_unit < 1e-6).float().mean().item()
        assert layers.dead_fraction[i] == pytest.approx(dead), name


def test_dead_relu_units_are_counted():
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    with torch.no_grad():
        trainer.model.fc3.bias[:16] = -1e4  # these 16 of fc3's 64 units can never fire
    report, oracle = step_with_oracle(trainer)
    act3 = report.layers.names.index("act3")
    assert report.layers.dead_rule[act3] == "zero"
    assert report.layers.dead_fraction[act3] == (oracle.outputs["act3"].amax(0) == 0).float().mean().item()
    assert report.layers.dead_fraction[act3] >= 16 / 64


def test_vanishing_layers_of_a_tiny_tanh_network_count_as_dead():
    trainer = Trainer(
        ModelConfig(kind="mlp", depth=4, width=32, activation="tanh", init="too_small"),
        TrainerConfig(eval_every=0),
    )
    layers = trainer.step().layers
    dead = dict(zip(layers.names, layers.dead_fraction, strict=True))
    assert layers.dead_rule[layers.names.index("act1")] == "mean|a|<1e-6"
    assert dead["act1"] == 0.0 and dead["act4"] == 1.0  # each layer shrinks the signal ~100×


def test_non_finite_values_are_reported_as_none_and_the_step_as_diverged():
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    with torch.no_grad():
        trainer.model.out.weight.fill_(math.inf)
    report = trainer.step()
    assert report.loss is None and report.diverged and trainer.diverged
    assert None in report.params.grad_norm and None in report.layers.act_mean
    json.dumps(report, default=vars, allow_nan=False)  # no NaN reaches the page
    assert not trainer.step().diverged or trainer.diverged  # stepping on is allowed; the flag stays
    assert trainer.diverged


def test_measure_false_skips_the_probes_only():
    trainer = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    twin = Trainer(ModelConfig(), TrainerConfig(eval_every=0))
    quiet = trainer.step(measure=False)
    loud = twin.step()
    assert quiet.params is None and quiet.layers is None
    assert quiet.loss == loud.loss and quiet.accuracy == loud.accuracy
    assert all(
        torch.equal(p, q) for p, q in zip(trainer.model.parameters(), twin.model.parameters(), strict=True)
    )
    # and a measured step after an unmeasured one is measured right
    report, oracle = step_with_oracle(trainer)
    g = oracle.grads["conv1.weight"]
    assert close(report.params.grad_norm[0], torch.linalg.vector_norm(g).item())
