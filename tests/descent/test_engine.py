"""The stepping engine: layout changes, divergence, and the traced autograd graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app.descent.engine import Engine
from app.descent.expressions import compile_expression
from app.descent.objective import FunctionObjective
from app.descent.surfaces import SURFACES


def eager(fn):
    return FunctionObjective(fn)


@pytest.mark.parametrize("surface_id", list(SURFACES))
def test_traced_autograd_equals_eager_autograd_bit_for_bit(surface_id):
    fn = SURFACES[surface_id].fn
    traced, plain = FunctionObjective(fn, key=f"test-{surface_id}"), FunctionObjective(fn)
    rng = np.random.default_rng(3)
    for n in (1, 5, 64):
        x, y = rng.uniform(-3, 3, n), rng.uniform(-3, 3, n)
        for _ in range(4):  # past TorchScript's profiling runs, the numbers must not change
            a, b = traced.value_and_grad(x, y), plain.value_and_grad(x, y)
            for p, q in zip(a, b, strict=True):
                np.testing.assert_array_equal(p, q)
    assert traced._fast is not None, "the traced graph was refused"


def test_traced_autograd_of_an_expression_handles_non_finite_values():
    fn = compile_expression("log(x) + sqrt(y) + max(x, y) * relu(x - 1)").fn
    traced, plain = FunctionObjective(fn, key="test-expr-nonfinite"), FunctionObjective(fn)
    x, y = np.array([-1.0, 0.0, 2.0, 3.0]), np.array([1.0, -1.0, 0.0, 4.0])
    for _ in range(3):
        for p, q in zip(traced.value_and_grad(x, y), plain.value_and_grad(x, y), strict=True):
            np.testing.assert_array_equal(p, q)  # NaN where NaN, inf where inf


def test_a_function_that_cannot_be_traced_falls_back_to_eager():
    def branchy(x, y):
        if float(x.detach().sum()) > 0:  # data-dependent Python: no trace can stand for it
            return x * x + y * y
        return -x + y * y

    obj = FunctionObjective(branchy, key="test-branchy")
    loss, gx, gy = obj.value_and_grad(np.array([1.0, 2.0]), np.array([0.5, 0.5]))
    np.testing.assert_array_equal(gx, [2.0, 4.0])
    loss, gx, gy = obj.value_and_grad(np.array([-1.0, -2.0]), np.array([0.5, 0.5]))
    np.testing.assert_array_equal(gx, [-1.0, -1.0])  # the eager path followed the other branch
    assert obj._fast is None


def test_gradients_are_autograd_of_each_runner_separately():
    fn = SURFACES["beale"].fn
    engine = Engine(eager(fn))
    starts = [(1.0, 1.5), (-2.0, 0.3), (3.1, -0.4)]
    for k, s in enumerate(starts):
        engine.add(str(k), "sgd", {"lr": 1e-4}, s)
    traces = engine.run(1)
    for k, s in enumerate(starts):
        p = torch.tensor(s, dtype=torch.float64, requires_grad=True)
        fn(p[0], p[1]).backward()
        np.testing.assert_allclose(traces[str(k)].gradients[0], p.grad.numpy(), rtol=1e-14)


def test_divergence_freezes_one_runner_and_the_others_carry_on():
    fn = SURFACES["ill_conditioned_bowl"].fn
    engine = Engine(eager(fn), bound=1e6)
    engine.add("calm", "sgd", {"lr": 0.05}, (2.0, 1.0))
    engine.add("wild", "sgd", {"lr": 0.2}, (2.0, 1.0))  # |1 − 25·0.2| = 4 > 1: y grows 4× per step
    traces = engine.run(40)
    wild, calm = engine.runners["wild"], engine.runners["calm"]
    assert wild.diverged_at is not None and "bound" in wild.divergence
    assert calm.running and calm.step == 40
    # y₀ = 1, yₖ = (−4)ᵏ: it passes 1e6 at k = 10
    assert wild.diverged_at == 10
    assert len(traces["wild"].points) == 10 and traces["wild"].diverged_at == 10
    np.testing.assert_allclose(engine.point("wild"), traces["wild"].points[-1])
    assert np.isfinite(engine.point("wild")).all()
    # A reset brings it back to its start, running.
    engine.reset("wild")
    assert engine.runners["wild"].running and engine.runners["wild"].step == 0
    np.testing.assert_array_equal(engine.point("wild"), [2.0, 1.0])


def test_non_finite_loss_at_the_start_diverges_at_step_zero():
    engine = Engine(eager(compile_expression("log(x)").fn))
    engine.add("r", "adam", {}, (-1.0, 0.0))
    trace = engine.run(5)["r"]
    assert trace.diverged_at == 0 and len(trace.points) == 0
    assert trace.divergence == "the loss is not a finite number"


def test_adding_and_removing_runners_keeps_the_others_state():
    fn = SURFACES["rosenbrock"].fn
    alone = Engine(eager(fn))
    alone.add("a", "adam", {"lr": 0.01}, (-1.0, 1.0))
    reference = alone.run(60)["a"].points

    engine = Engine(eager(fn))
    engine.add("a", "adam", {"lr": 0.01}, (-1.0, 1.0))
    first = engine.run(20)["a"].points
    engine.add("b", "momentum", {"lr": 1e-4}, (0.0, 0.0))  # rebuilds the layout mid-run
    engine.add("c", "adamw", {"lr": 0.02}, (0.5, 0.5))  # shares a's kernel block
    second = engine.run(20)["a"].points
    engine.remove("b")
    third = engine.run(20)["a"].points
    np.testing.assert_array_equal(np.concatenate([first, second, third]), reference)
    assert engine.runners["c"].step == 40


def test_records_are_consistent():
    fn = SURFACES["himmelblau"].fn
    engine = Engine(eager(fn))
    engine.add("r", "nesterov", {"lr": 0.005}, (0.0, 0.0))
    t = engine.run(30)["r"]
    # deltas[k] = points[k+1] − points[k]; losses and gradients are J and ∇J at points[k]
    np.testing.assert_allclose(t.deltas[:-1], np.diff(t.points, axis=0), rtol=1e-12, atol=1e-15)
    x, y = torch.tensor(t.points[:, 0]), torch.tensor(t.points[:, 1])
    np.testing.assert_allclose(t.losses, fn(x, y).numpy(), rtol=1e-14)
    assert t.first_step == 0 and engine.run(5)["r"].first_step == 30
    assert t.state["momentum_buffer"].shape == (30, 2)


def test_unknown_runner_and_duplicate_ids_are_refused():
    engine = Engine(eager(SURFACES["booth"].fn))
    engine.add("a", "sgd", {}, (0, 0))
    with pytest.raises(ValueError, match="exists already"):
        engine.add("a", "sgd", {}, (0, 0))
    with pytest.raises(KeyError, match="no runner 'zz'"):
        engine.set_hyperparameters("zz", {})
    with pytest.raises(KeyError, match="unknown optimizer"):
        engine.set_optimizer("a", "nope", {})
