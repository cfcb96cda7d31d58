"""Shared pieces of the CNN tests: small configs and an independent recomputation of one step."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F

from app.cnn.models import ModelConfig, build_model, layer_kind
from app.cnn.trainer import Trainer, TrainerConfig


@pytest.fixture(autouse=True)
def _one_thread():
    """Tests compare numbers, not speed: one torch thread keeps them steady on a busy 2-core host."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@dataclass
class Oracle:
    """One training step recomputed with plain torch, apart from the trainer's probes."""

    loss: float
    accuracy: float
    grads: dict[str, torch.Tensor]  # ∂L/∂θ by parameter name
    before: dict[str, torch.Tensor]  # θ before the step
    after: dict[str, torch.Tensor]  # θ after it
    outputs: dict[str, torch.Tensor]  # each conv, linear and activation layer's output
    out_grads: dict[str, torch.Tensor]  # ∂L/∂a of each, by torch.autograd.grad


def step_with_oracle(trainer: Trainer):
    """trainer.step(), and the same step recomputed on a copy of the model: hooks capture each layer's
    output, torch.autograd.grad gives ∂L/∂θ and ∂L/∂a, the trainer's own weights give θ before and after."""
    sampler = copy.deepcopy(trainer.sampler)
    batch = sampler.draw(trainer.batch_size)
    x, y = trainer.data.x_train[batch], trainer.data.y_train[batch]
    twin = build_model(trainer.model_config)
    twin.load_state_dict(trainer.model.state_dict())
    twin.train()
    outputs: dict[str, torch.Tensor] = {}
    for name, module in twin.named_children():
        if layer_kind(module) in ("conv", "linear", "activation"):
            module.register_forward_hook(lambda m, i, o, name=name: outputs.__setitem__(name, o))
    logits = twin(x)
    loss = F.cross_entropy(logits, y)
    names = [name for name, _ in twin.named_parameters()]
    grads = torch.autograd.grad(loss, [p for _, p in twin.named_parameters()] + list(outputs.values()))
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    report = trainer.step()
    after = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    oracle = Oracle(
        loss=loss.item(),
        accuracy=float((logits.argmax(1) == y).float().mean()),
        grads=dict(zip(names, grads[: len(names)], strict=True)),
        before=before,
        after=after,
        outputs={name: o.detach() for name, o in outputs.items()},
        out_grads=dict(zip(outputs, grads[len(names) :], strict=True)),
    )
    return report, oracle


def small_trainer(**model: object) -> Trainer:
    return Trainer(ModelConfig(**model), TrainerConfig(eval_every=0))
