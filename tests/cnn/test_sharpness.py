"""Sharpness, preconditioned sharpness and gradient noise scale against oracles: the full Hessian's
eigvalsh on networks small enough to build it, torch.optim's own step, and a per-example loop."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.autograd.functional import hessian
from torch.func import functional_call

from app.cnn.data import load_digits_split
from app.cnn.models import ModelConfig, build_model
from app.cnn.sharpness import (
    data_noise_scale,
    evaluation_subset,
    gradient_noise_scale,
    noise_scale,
    preconditioned_sharpness,
    preconditioner,
    sharpness,
    top_eigenvalue,
)
from app.descent.data import DataObjective, build_problem, gradient_spread
from app.descent.optimizers import get_optimizer

TINY = {"kind": "mlp", "depth": 1, "width": 8}  # 64·8 + 8 + 8·10 + 10 = 610 parameters


@pytest.fixture(scope="module")
def digits():
    data = load_digits_split(0)
    x, y = evaluation_subset(data, size=96, seed=1)
    return x, y


def _full_hessian(model, x, y, train: bool) -> torch.Tensor:
    """The (P, P) Hessian of the mean cross-entropy, by torch.autograd.functional.hessian over the flat
    weights; train=True runs batch norm on batch statistics (on copies of the running ones)."""
    names = [name for name, _ in model.named_parameters()]
    shapes = [p.shape for _, p in model.named_parameters()]
    buffers = {name: b.clone() for name, b in model.named_buffers()}
    model.train(train)

    def loss(flat: torch.Tensor) -> torch.Tensor:
        parts = flat.split([s.numel() for s in shapes])
        params = {n: p.view(s) for n, p, s in zip(names, parts, shapes, strict=True)}
        return F.cross_entropy(functional_call(model, {**params, **buffers}, (x,)), y)

    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    return hessian(loss, flat, vectorize=True)


def _trained(config: dict, optimizer_id: str, hp: dict, x, y, steps: int):
    model = build_model(ModelConfig(**config))
    optimizer = get_optimizer(optimizer_id).make_torch_optimizer(model.parameters(), hp)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model, optimizer


def test_sharpness_is_the_full_hessians_top_eigenvalue(digits):
    x, y = digits
    model, _ = _trained(TINY, "sgd", {"lr": 0.5}, x, y, 20)
    expected = float(torch.linalg.eigvalsh(_full_hessian(model, x, y, train=False).double())[-1])
    result = sharpness(model, x, y, tolerance=1e-4, max_iterations=500)
    assert result.converged and result.residual <= 1e-4
    assert result.lambda_max == pytest.approx(expected, rel=1e-3)
    assert result.vector.shape == (610,) and float(result.vector.norm()) == pytest.approx(1.0, rel=1e-5)
    # Warm-started from its own vector, a second measurement of the same weights needs one product.
    again = sharpness(model, x, y, previous=result.vector, tolerance=1e-3)
    assert again.iterations == 1
    assert again.lambda_max == pytest.approx(expected, rel=1e-3)
    # Another network's vector (another length) is no warm start: the seeded random one is used.
    fresh = sharpness(model, x, y, previous=torch.ones(7), tolerance=1e-4, max_iterations=500)
    assert fresh.iterations == result.iterations and fresh.lambda_max == result.lambda_max


def test_batch_norm_uses_batch_statistics_and_dropout_is_left_out(digits):
    x, y = digits
    model = build_model(ModelConfig(**TINY, batch_norm=True, dropout=0.5, seed=3))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    generator_state = model.drop1.generator.get_state()
    result = sharpness(model, x, y, tolerance=1e-4, max_iterations=500)
    # The oracle: the same network without its dropout layer, batch norm in training mode.
    plain = build_model(ModelConfig(**TINY, batch_norm=True, seed=3))
    plain.load_state_dict(model.state_dict())
    expected = float(torch.linalg.eigvalsh(_full_hessian(plain, x, y, train=True).double())[-1])
    assert result.lambda_max == pytest.approx(expected, rel=1e-3)
    for k, v in model.state_dict().items():  # running statistics and weights untouched
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    assert torch.equal(model.drop1.generator.get_state(), generator_state)  # no dropout mask was drawn


def test_a_cnn_sharpness_matches_its_full_hessian(digits):
    x, y = digits
    config = {"kind": "cnn", "blocks": [{"channels": 2, "kernel": 3, "pool": "max"}], "depth": 1, "width": 8}
    model, _ = _trained(config, "sgd", {"lr": 0.3}, x, y, 10)
    expected = float(torch.linalg.eigvalsh(_full_hessian(model, x, y, train=False).double())[-1])
    assert sharpness(model, x, y, tolerance=1e-4, max_iterations=500).lambda_max == pytest.approx(
        expected, rel=1e-3
    )


def test_power_iteration_finds_lambda_max_when_a_negative_eigenvalue_dominates():
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64))
    a = q @ torch.diag(torch.tensor([-10.0, -1.0, 0.2, 1.0, 2.5, 3.0], dtype=torch.float64)) @ q.T
    result = top_eigenvalue(lambda v: a @ v, 6, tolerance=1e-8, max_iterations=2000, dtype=torch.float64)
    assert result.converged
    assert result.lambda_max == pytest.approx(3.0, rel=1e-8)
    torch.testing.assert_close(a @ result.vector, 3.0 * result.vector, rtol=0, atol=1e-6)


@pytest.mark.parametrize(
    ("optimizer_id", "hp"),
    [
        ("adam", {"lr": 0.01}),
        ("adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
        ("adamw", {"lr": 0.01, "weight_decay": 0.5}),
        ("rmsprop", {"lr": 0.001, "centered": True, "weight_decay": 0.2}),
    ],
)
def test_the_preconditioner_is_the_one_torch_divides_by(digits, optimizer_id, hp):
    """θ ← θ − η·P⁻¹m (Adam, with m = exp_avg) or θ ← θ − η·P⁻¹(g + λθ) (RMSprop), P read after the step."""
    x, y = digits
    model, optimizer = _trained(TINY, optimizer_id, hp, x, y, 3)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.zero_grad()
    F.cross_entropy(model(x), y).backward()
    optimizer.step()
    decay = hp.get("weight_decay", 0.0)
    for (p, diag, coupled), theta in zip(preconditioner(optimizer), before, strict=True):
        if optimizer_id == "rmsprop":
            step = (p.grad + decay * theta) / diag
            assert coupled == decay
        else:
            step = optimizer.state[p]["exp_avg"] / diag
            assert coupled == (0.0 if optimizer_id == "adamw" else decay)
        shrink = 1 - hp["lr"] * decay if optimizer_id == "adamw" else 1.0
        torch.testing.assert_close(p.detach(), shrink * theta - hp["lr"] * step, rtol=1e-5, atol=1e-7)


def test_preconditioned_sharpness_is_the_top_eigenvalue_of_p_inverse_h(digits):
    x, y = digits
    model, optimizer = _trained(TINY, "adam", {"lr": 0.01, "weight_decay": 0.05}, x, y, 5)
    h = _full_hessian(model, x, y, train=False).double()
    p = torch.cat([diag.reshape(-1) for _, diag, _ in preconditioner(optimizer)]).double()
    m = (h + 0.05 * torch.eye(len(p), dtype=torch.float64)) / p[:, None]  # P⁻¹(H + λI), not symmetric
    expected = float(torch.linalg.eigvals(m).real.max())
    result = preconditioned_sharpness(model, optimizer, x, y, tolerance=1e-4, max_iterations=1000)
    assert result.lambda_max == pytest.approx(expected, rel=1e-3)


def test_preconditioned_sharpness_refuses_what_it_cannot_define(digits):
    x, y = digits
    model = build_model(ModelConfig(**TINY))
    with pytest.raises(ValueError, match="defined for Adam, AdamW and RMSprop, got SGD"):
        preconditioned_sharpness(model, torch.optim.SGD(model.parameters(), lr=0.1), x, y)
    with pytest.raises(ValueError, match="no state yet"):
        preconditioned_sharpness(model, torch.optim.Adam(model.parameters()), x, y)


def _direct_noise_scale(model, x, y):
    """Per-example gradients one digit at a time, then the sample estimators written out."""
    model.eval()
    rows = []
    for i in range(len(y)):
        grads = torch.autograd.grad(
            F.cross_entropy(model(x[i : i + 1]), y[i : i + 1]), list(model.parameters())
        )
        rows.append(torch.cat([g.reshape(-1) for g in grads]).double().numpy())
    g = np.stack(rows)  # (n, P)
    n = len(g)
    mean = g.mean(axis=0)
    trace = ((g - mean) ** 2).sum() / (n - 1)
    norm_sq = mean @ mean - trace / n
    return g, trace, norm_sq


def test_gradient_noise_scale_matches_a_per_example_loop(digits):
    x, y = digits
    config = {"kind": "cnn", "blocks": [{"channels": 2}], "depth": 1, "width": 8, "dropout": 0.3}
    model, _ = _trained(config, "sgd", {"lr": 0.1}, x, y, 5)
    g, trace, norm_sq = _direct_noise_scale(model, x, y)
    result = gradient_noise_scale(model, x, y)
    assert result.estimator == "sample" and result.n == 96
    assert result.trace_sigma == pytest.approx(trace, rel=1e-4)
    assert result.gradient_norm_sq == pytest.approx(norm_sq, rel=1e-4)
    assert result.b_simple == pytest.approx(trace / norm_sq, rel=1e-4)
    matrix = noise_scale(g, population=False)
    assert matrix.b_simple == pytest.approx(result.b_simple, rel=1e-4)
    population = gradient_noise_scale(model, x, y, population=True)
    assert population.trace_sigma == pytest.approx(trace * 95 / 96, rel=1e-4)
    assert population.gradient_norm_sq == pytest.approx(float(g.mean(0) @ g.mean(0)), rel=1e-4)


def test_gradient_noise_scale_refuses_batch_norm(digits):
    x, y = digits
    with pytest.raises(ValueError, match="undefined with batch norm"):
        gradient_noise_scale(build_model(ModelConfig(**TINY, batch_norm=True)), x, y)


def test_data_noise_scale_on_a_2d_problem():
    problem = build_problem("linreg")
    grads = DataObjective(problem).sample_gradients(0.5, -0.3)  # (N, 2)
    result = data_noise_scale(grads)
    full = np.array(problem.closed_form_gradient(0.5, -0.3))
    assert result.estimator == "population" and result.n == problem.n
    assert result.trace_sigma == pytest.approx(gradient_spread(grads), rel=1e-12)
    assert result.gradient_norm_sq == pytest.approx(float(full @ full), rel=1e-12)
    assert result.b_simple == pytest.approx(gradient_spread(grads) / float(full @ full), rel=1e-12)
    at_optimum = data_noise_scale(DataObjective(problem).sample_gradients(*problem.optimum))
    assert at_optimum.b_simple is None or at_optimum.b_simple > 1e12  # G = 0: all noise
