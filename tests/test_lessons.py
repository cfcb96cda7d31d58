"""The Learn tab's numbers: the tutorial's worked examples, and every number against torch autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from app import lessons
from tests.helpers import assert_error


def test_the_tutorials_gradient_example(client):
    """J(x) = (x − 4)² at x = 2: gradient −4.0; with η = 0.1 the next x is 2.4."""
    body = client.post("/api/lessons/gradient", json={}).json()
    assert body["gradient"] == -4.0 and body["next_x"] == pytest.approx(2.4, abs=1e-15)
    assert body["loss"] == 4.0 and body["tangent"] == [-4.0, 12.0]


def test_the_gradient_lessons_curve_is_j_over_x_the_target_and_the_step():
    lesson = lessons.gradient_lesson(lessons.GradientRequest(x=-3.0, target=5.0, lr=0.6))
    xs = [x for x, _ in lesson.curve]
    assert len(xs) == lessons.CURVE_POINTS and xs == sorted(xs)
    assert xs[0] < min(-3.0, 5.0, lesson.next_x) and xs[-1] > max(-3.0, 5.0, lesson.next_x)
    for x, j in lesson.curve:
        assert j == pytest.approx((x - 5.0) ** 2, rel=1e-12, abs=1e-12)


def test_the_tutorials_chain_rule_example(client):
    """y = W·x + b, L = (y − 10)² with W = 2, b = 1, x = 3: ∂L/∂W = −18, ∂L/∂b = −6."""
    body = client.post("/api/lessons/chain", json={}).json()
    nodes = {n["id"]: n for n in body["nodes"]}
    assert nodes["W"]["grad"] == -18.0 and nodes["b"]["grad"] == -6.0
    assert nodes["y"]["value"] == 7.0 and nodes["L"]["value"] == 9.0
    edges = {(e["source"], e["target"]): e for e in body["edges"]}
    assert edges[("W", "wx")]["local"] == 3.0 and edges[("W", "wx")]["upstream"] == -6.0
    assert edges[("W", "wx")]["product"] == -18.0
    assert body["order"][0] == "L"


@pytest.mark.parametrize("seed", range(12))
def test_chain_rule_graph_equals_autograd_for_random_inputs(seed):
    rng = np.random.default_rng(seed)
    W, b, x, t = rng.uniform(-5, 5, 4)
    lesson = lessons.chain_lesson(lessons.ChainRequest(W=W, b=b, x=x, target=t))
    Wt, bt, xt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (W, b, x))
    loss = (Wt * xt + bt - t) ** 2
    gW, gb, gx = torch.autograd.grad(loss, (Wt, bt, xt))
    nodes = {n.id: n for n in lesson.nodes}
    assert nodes["W"].grad == pytest.approx(float(gW), rel=1e-12)
    assert nodes["b"].grad == pytest.approx(float(gb), rel=1e-12)
    assert nodes["x"].grad == pytest.approx(float(gx), rel=1e-12)
    # each node's gradient is the sum of local × upstream over the edges leaving it
    for node in lesson.nodes:
        outgoing = [e.product for e in lesson.edges if e.source == node.id]
        if outgoing:
            assert node.grad == pytest.approx(sum(outgoing), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
@pytest.mark.parametrize("depth", [2, 3, 6])
def test_backprop_recursion_equals_autograd(activation, depth):
    req = lessons.BackpropRequest(
        activation=activation, depth=depth, width=4, x=[0.7, -1.2, 0.3], y=0.5, seed=depth
    )
    lesson = lessons.backprop_lesson(req)
    weights, biases = lessons.backprop_network(req)
    params = [w.clone().requires_grad_() for w in weights]
    a = torch.tensor(req.x, dtype=torch.float64)
    for k, (W, b) in enumerate(zip(params, biases, strict=True)):
        z = W @ a + b
        a = z if k == len(params) - 1 else (torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z))
    loss = 0.5 * (a[0] - req.y) ** 2
    grads = torch.autograd.grad(loss, params)
    assert lesson.loss == pytest.approx(float(loss.detach()), rel=1e-12)
    for layer, g in zip(lesson.layers, grads, strict=True):
        np.testing.assert_allclose(layer.weight_grad, g.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_backprop_upstream_is_the_gradient_reaching_each_activation(activation):
    """upstream(l) = ∂L/∂a(l), what δ(l) is made of before ⊙ σ′(z(l)), checked against autograd."""
    req = lessons.BackpropRequest(activation=activation, depth=4, width=3, x=[0.4, -0.9], y=2.0, seed=5)
    lesson = lessons.backprop_lesson(req)
    weights, biases = lessons.backprop_network(req)
    a = torch.tensor(req.x, dtype=torch.float64, requires_grad=True)  # so every activation has a grad_fn
    acts = []
    for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = W @ a + b
        a = z if k == len(weights) - 1 else (torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z))
        a.retain_grad()
        acts.append(a)
    (0.5 * (a[0] - req.y) ** 2).backward()
    for layer, act in zip(lesson.layers, acts, strict=True):
        np.testing.assert_allclose(layer.upstream, act.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            layer.delta, np.array(layer.upstream) * np.array(layer.dsigma), rtol=1e-12, atol=1e-15
        )


def test_sigmoid_shrinks_the_gradient_layer_by_layer_and_relu_lets_it_through():
    def norms(activation):
        req = lessons.BackpropRequest(activation=activation, depth=8, width=6, x=[1.0, -0.5], y=3.0, seed=1)
        return [layer.weight_grad_norm for layer in lessons.backprop_lesson(req).layers]

    sig, relu = norms("sigmoid"), norms("relu")
    assert sig[0] < sig[-1] / 100  # σ′ ≤ ¼ per layer: the first layer hears almost nothing
    assert relu[0] > relu[-1] / 100
    assert all(
        d <= 0.25 + 1e-12
        for layer in lessons.backprop_lesson(lessons.BackpropRequest()).layers[:-1]
        for d in layer.dsigma
    )


def test_learning_rate_lesson_verdicts(client):
    body = client.post("/api/lessons/descent", json={"lrs": [0.01, 0.3, 0.9, 1.1], "steps": 30}).json()
    verdicts = [run["verdict"] for run in body["runs"]]
    assert verdicts == ["crawls", "converges", "oscillates", "diverges"]
    right = body["runs"][1]
    assert right["xs"][0] == 2.0 and right["xs"][1] == pytest.approx(2.0 - 0.3 * -4.0)
    assert abs(right["xs"][-1] - 4.0) < 1e-6
    too_big = body["runs"][3]
    assert abs(too_big["xs"][-1] - 4.0) > abs(too_big["xs"][0] - 4.0)


def test_bad_lesson_input_names_the_field(client):
    assert_error(client.post("/api/lessons/gradient", json={"lr": -1}), 422, "invalid_input", "lr")
    assert_error(
        client.post("/api/lessons/backprop", json={"activation": "tanh"}), 422, "invalid_input", "activation"
    )
    assert_error(client.post("/api/lessons/descent", json={"lrs": [0.1, 50]}), 422, "invalid_input", "lrs")
    assert_error(client.post("/api/lessons/chain", json={"W": "two"}), 422, "invalid_input", "W")
