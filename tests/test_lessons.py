"""The Learn tab's numbers: the tutorial's worked examples, and every number against torch autograd."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from app import lessons
from app.descent.data import DataObjective, build_problem, gradient_spread
from tests.helpers import assert_error

ROOT = Path(__file__).resolve().parents[1]


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
        activation=activation, depth=depth, width=4, x=[0.7, -1.2, 0.3], target=0.5, seed=depth
    )
    lesson = lessons.backprop_lesson(req)
    weights, biases = lessons.backprop_network(req)
    params = [w.clone().requires_grad_() for w in weights]
    a = torch.tensor(req.x, dtype=torch.float64)
    for k, (W, b) in enumerate(zip(params, biases, strict=True)):
        z = W @ a + b
        a = z if k == len(params) - 1 else (torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z))
    loss = 0.5 * (a[0] - req.target) ** 2
    grads = torch.autograd.grad(loss, params)
    assert lesson.loss == pytest.approx(float(loss.detach()), rel=1e-12)
    for layer, g in zip(lesson.layers, grads, strict=True):
        np.testing.assert_allclose(layer.weight_grad, g.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_backprop_upstream_is_the_gradient_reaching_each_activation(activation):
    """upstream(l) = ∂L/∂a(l), what δ(l) is made of before ⊙ σ′(z(l)), checked against autograd."""
    req = lessons.BackpropRequest(activation=activation, depth=4, width=3, x=[0.4, -0.9], target=2.0, seed=5)
    lesson = lessons.backprop_lesson(req)
    weights, biases = lessons.backprop_network(req)
    a = torch.tensor(req.x, dtype=torch.float64, requires_grad=True)  # so every activation has a grad_fn
    acts = []
    for k, (W, b) in enumerate(zip(weights, biases, strict=True)):
        z = W @ a + b
        a = z if k == len(weights) - 1 else (torch.sigmoid(z) if activation == "sigmoid" else torch.relu(z))
        a.retain_grad()
        acts.append(a)
    (0.5 * (a[0] - req.target) ** 2).backward()
    for layer, act in zip(lesson.layers, acts, strict=True):
        np.testing.assert_allclose(layer.upstream, act.grad.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(
            layer.delta, np.array(layer.upstream) * np.array(layer.dsigma), rtol=1e-12, atol=1e-15
        )


def test_sigmoid_shrinks_the_gradient_layer_by_layer_and_relu_lets_it_through():
    def norms(activation):
        req = lessons.BackpropRequest(
            activation=activation, depth=8, width=6, x=[1.0, -0.5], target=3.0, seed=1
        )
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
    lrs = [0.01, 0.3, 0.5, 0.6, 0.9, 1.0, 1.0001, 1.1]
    runs = [
        run
        for part in (lrs[:4], lrs[4:])  # at most 6 learning rates a request
        for run in client.post("/api/lessons/descent", json={"lrs": part, "steps": 30}).json()["runs"]
    ]
    assert [run["verdict"] for run in runs] == [
        "crawls",
        "converges",
        "converges",
        "overshoots",  # 0.5 < η < 1: converges while jumping past t (issue 17)
        "overshoots",
        "oscillates",  # η = 1: x₀ and its mirror point for ever
        "diverges",  # η = 1.0001, however close to 1
        "diverges",
    ]
    assert [run["lr"] for run in runs] == lrs  # η = 1.0001 comes back as sent
    right = runs[1]
    assert right["xs"][0] == 2.0 and right["xs"][1] == pytest.approx(2.0 - 0.3 * -4.0)
    assert abs(right["xs"][-1] - 4.0) < 1e-6
    assert runs[2]["xs"][1:] == [4.0] * 30  # η = 0.5 lands on t in one step
    assert runs[5]["xs"][:4] == [2.0, 6.0, 2.0, 6.0]  # η = 1: the mirror point 2t − x₀ = 6
    too_big = runs[7]
    assert abs(too_big["xs"][-1] - 4.0) > abs(too_big["xs"][0] - 4.0)


@pytest.mark.parametrize("lr", [0.01, 0.3, 0.6, 0.9, 1.0, 1.0001, 1.7])
def test_each_step_multiplies_the_distance_by_the_factor_the_lesson_derives(lr):
    """x_{k+1} − t = (1 − 2η)·(x_k − t), the derivation the lesson shows, against autograd's descent."""
    run = lessons.descent_lesson(lessons.DescentRequest(x=-1.5, target=2.5, lrs=[lr], steps=12)).runs[0]
    assert run.factor == 1 - 2 * lr
    gaps = [x - 2.5 for x in run.xs]
    for before, after in itertools.pairwise(gaps):
        assert after == pytest.approx(run.factor * before, rel=1e-12, abs=1e-12)
    overshoots = all(a * b < 0 for a, b in itertools.pairwise(gaps))
    assert overshoots == (run.factor < 0)
    shrinking = all(abs(b) < abs(a) for a, b in itertools.pairwise(gaps))
    assert shrinking == (run.verdict in ("crawls", "converges", "overshoots"))


@pytest.mark.parametrize(
    ("lr", "outcome", "next_x", "next_loss"),
    [
        (0.1, "toward", 2.4, 2.56),
        (0.5, "lands", 4.0, 0.0),
        (0.9, "overshoots_closer", 5.6, 2.56),
        (1.0, "mirror", 6.0, 4.0),  # the mirror point: J stays 4
        (1.5, "overshoots_farther", 8.0, 16.0),  # from 2 to 8, J from 4 to 16
        (2.0, "overshoots_farther", 10.0, 36.0),
    ],
)
def test_the_gradient_lesson_says_where_the_step_lands(lr, outcome, next_x, next_loss):
    lesson = lessons.gradient_lesson(lessons.GradientRequest(x=2.0, target=4.0, lr=lr))
    assert lesson.outcome == outcome
    assert lesson.next_x == pytest.approx(next_x, abs=1e-12)
    assert lesson.next_loss == pytest.approx(next_loss, abs=1e-12)
    assert lesson.step == pytest.approx(lesson.next_x - lesson.x, abs=1e-12)


def test_the_step_outcome_at_the_minimum_and_from_the_other_side():
    at = lessons.gradient_lesson(lessons.GradientRequest(x=4.0, target=4.0, lr=0.3))
    assert at.gradient == 0 and at.outcome == "at_minimum" and at.next_x == 4.0
    # from above t, the same factors: the words follow the distances, not the sign of x − t
    assert lessons.gradient_lesson(lessons.GradientRequest(x=7.0, target=4.0, lr=0.2)).outcome == "toward"
    assert lessons.gradient_lesson(lessons.GradientRequest(x=7.0, target=4.0, lr=1.0)).outcome == "mirror"
    assert lessons.gradient_lesson(lessons.GradientRequest(x=7.0, target=4.0, lr=0.75)).outcome == (
        "overshoots_closer"
    )
    # floating point: 0.1 − 0.5·2·(0.1 − 0.3) is 0.30000000000000004, which is t = 0.3
    assert lessons.gradient_lesson(lessons.GradientRequest(x=0.1, target=0.3, lr=0.5)).outcome == "lands"


def test_bad_lesson_input_names_the_field(client):
    assert_error(client.post("/api/lessons/gradient", json={"lr": -1}), 422, "invalid_input", "lr")
    assert_error(
        client.post("/api/lessons/backprop", json={"activation": "tanh"}), 422, "invalid_input", "activation"
    )
    error = assert_error(
        client.post("/api/lessons/descent", json={"lrs": [0.1, 50]}), 422, "invalid_input", "lrs.1"
    )
    assert error["details"][0]["code"] == "less_than_equal"
    assert_error(client.post("/api/lessons/chain", json={"W": "two"}), 422, "invalid_input", "W")


# --- the chain rule: each local derivative and its rule -------------------------------------------


def test_each_local_derivative_is_its_rule_at_the_node_values():
    """d(r²)/dr = 2r = 2·(−3) = −6, ∂(ŷ − t)/∂ŷ = 1, ∂(u + b)/∂u = ∂(u + b)/∂b = 1, ∂(W·x)/∂W = x and
    ∂(W·x)/∂x = W, each autograd's on its operation alone."""
    for req in (lessons.ChainRequest(), lessons.ChainRequest(W=-1.5, b=0.25, x=-2.0, target=3.0)):
        lesson = lessons.chain_lesson(req)
        value = {n.id: n.value for n in lesson.nodes}
        rules = {
            ("r", "L"): ("square", 2 * value["r"]),
            ("y", "r"): ("minus_target", 1.0),
            ("wx", "y"): ("sum", 1.0),
            ("b", "y"): ("sum", 1.0),
            ("W", "wx"): ("product", value["x"]),
            ("x", "wx"): ("product", value["W"]),
        }
        assert {(e.source, e.target): (e.rule, e.local) for e in lesson.edges} == rules
    default = {(e.source, e.target): e for e in lessons.chain_lesson(lessons.ChainRequest()).edges}
    assert default[("r", "L")].local == -6.0 and default[("r", "L")].upstream == 1.0


def test_the_chain_labels_use_the_lessons_one_notation():
    labels = {n.id: n.label for n in lessons.chain_lesson(lessons.ChainRequest()).nodes}
    assert labels == {
        "x": "x",
        "W": "W",
        "b": "b",
        "wx": "u = W·x",
        "y": "ŷ = u + b",
        "r": "r = ŷ − t",
        "L": "L = r²",
    }


# --- backpropagation: the weights shown, and the facts its words rest on ---------------------------


def test_backprop_shows_every_weight_and_bias_so_z_can_be_recomputed():
    req = lessons.BackpropRequest(activation="relu", depth=4, seed=2)
    lesson = lessons.backprop_lesson(req)
    weights, biases = lessons.backprop_network(req)
    a = np.array(req.x)
    for layer, W, b in zip(lesson.layers, weights, biases, strict=True):
        assert layer.weight == W.tolist() and layer.bias == b.tolist()
        z = np.array(layer.weight) @ a + np.array(layer.bias)
        np.testing.assert_allclose(layer.z, z, rtol=1e-12, atol=1e-15)
        a = np.array(layer.a)
    assert lesson.prediction == lesson.layers[-1].a[0]


def test_a_relu_layer_that_is_off_stops_the_gradient_below_it():
    """Depth 8, seed 3 (issue 17): layer 2 is off for the sample, so layers 1–2 get exactly 0, and layer 3
    too, its input a(2) being all zeros; the first layer's norm is exactly 0."""
    lesson = lessons.backprop_lesson(lessons.BackpropRequest(activation="relu", depth=8, seed=3))
    assert lesson.off_layers == [2]
    assert lesson.zero_grad_layers == [1, 2, 3]
    assert lesson.layers[1].dsigma == [0.0, 0.0, 0.0] and lesson.layers[1].delta == [0.0, 0.0, 0.0]
    assert lesson.norm_ratio == 0.0
    assert all(layer.weight_grad_norm > 0 for layer in lesson.layers[3:])


@pytest.mark.parametrize("seed", range(6))
def test_the_norm_ratio_and_what_relu_does_in_this_narrow_network(seed):
    """The lesson says ReLU does not shrink the signal where units are on, yet the weights still scale it:
    in this width-3 network the first layer's gradient is often well below the last one's even with ReLU."""
    sig = lessons.backprop_lesson(lessons.BackpropRequest(activation="sigmoid", depth=8, seed=seed))
    relu = lessons.backprop_lesson(lessons.BackpropRequest(activation="relu", depth=8, seed=seed))
    for lesson in (sig, relu):
        first, last = lesson.layers[0].weight_grad_norm, lesson.layers[-1].weight_grad_norm
        assert lesson.norm_ratio == first / last
    assert sig.norm_ratio < 1e-3  # the sigmoid: σ′ ≤ ¼ at each of 7 layers, every seed
    assert sig.off_layers == [] and sig.zero_grad_layers == []  # σ′ > 0 everywhere


def test_relu_first_layers_are_weaker_for_most_seeds_but_not_by_the_sigmoids_factor():
    ratios = [
        lessons.backprop_lesson(lessons.BackpropRequest(activation="relu", depth=8, seed=s)).norm_ratio
        for s in range(6)
    ]
    assert sum(r < 0.5 for r in ratios) >= 4  # ReLU alone does not keep the gradient at full strength
    assert max(ratios) > 0.05  # …but nothing like the sigmoid's 10⁻⁴


# --- batches: variance ∝ 1/B, spread ∝ 1/√B on real data --------------------------------------------


def test_the_batch_lesson_measures_variance_against_v1_over_b():
    lesson = lessons.batches_lesson(lessons.BatchesRequest(batch_sizes=[1, 4, 16, 64], draws=400))
    problem = build_problem("linreg")
    singles = DataObjective(problem).sample_gradients(0.0, 0.0)  # the race's per-sample autograd, (N, 2)
    assert lesson.single_variance == pytest.approx(gradient_spread(singles), rel=1e-12)
    assert lesson.full_gradient == pytest.approx(problem.closed_form_gradient(0.0, 0.0), rel=1e-12)
    for row in lesson.rows:
        assert row.predicted_variance == pytest.approx(lesson.single_variance / row.batch_size, rel=1e-12)
        assert row.predicted_std == pytest.approx((lesson.single_variance / row.batch_size) ** 0.5, rel=1e-12)
        assert row.std == pytest.approx(row.variance**0.5, rel=1e-12)
        # 400 draws: the measured variance is within ~15 % of V₁/B (its relative spread is about √(2/400))
        assert row.variance == pytest.approx(row.predicted_variance, rel=0.25)
        assert len(row.estimates) == lessons.batches.SHOWN
    small, large = lesson.rows[0], lesson.rows[-1]
    assert small.variance / large.variance == pytest.approx(64, rel=0.25)  # variance: 1/B
    assert small.std / large.std == pytest.approx(8, rel=0.15)  # spread: 1/√B


def test_each_mini_batch_gradient_is_autograd_on_its_batch():
    lesson = lessons.batches_lesson(lessons.BatchesRequest(batch_sizes=[3], draws=20, w=1.0, b=-0.5, seed=4))
    problem = build_problem("linreg")
    g = torch.Generator().manual_seed(4)
    index = torch.randint(problem.n, (20, 3), generator=g)
    for estimate, batch in zip(lesson.rows[0].estimates, index, strict=True):
        w = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
        b = torch.tensor(-0.5, dtype=torch.float64, requires_grad=True)
        loss = ((w * problem.features[batch, 0] + b - problem.targets[batch]) ** 2).mean()
        gw, gb = torch.autograd.grad(loss, (w, b))
        assert estimate == pytest.approx((float(gw), float(gb)), rel=1e-12, abs=1e-12)


# --- exercises ------------------------------------------------------------------------------------

FIRST_ANSWERS = {
    "gradient": 3.5,  # 5 − 0.25·2·(5 − 2)
    "descent": 4.5,  # 4 + (−0.5)³·(0 − 4)
    "chain": -12.0,  # 2·(−1·3 + 2 − 1)·3
    "backprop": 28.0,  # w₂·(ŷ − t)·ReLU′(z)·x = −2·(−7)·1·2
    "batches": 1.75,  # V₁ = 3.5 over 4 samples, B = 2
    "beyond": 1.122,  # η·(2 + 3.8 + 5.42)
}


def test_every_lesson_has_an_exercise():
    assert list(lessons.EXERCISES) == [
        "gradient",
        "descent",
        "chain",
        "backprop",
        "batches",
        "beyond",
        "stability",
    ]


@pytest.mark.parametrize("lesson", FIRST_ANSWERS)
def test_an_exercise_checks_the_answer_torch_computes(client, lesson):
    question = client.get(f"/api/lessons/{lesson}/exercise").json()
    assert question == {"lesson": lesson, "seed": 0, "params": lessons.EXERCISES[lesson].first}
    expected = FIRST_ANSWERS[lesson]
    right = client.post(f"/api/lessons/{lesson}/check", json={"answer": round(expected, 3)}).json()
    assert right["correct"] is True and right["feedback"] == "correct"
    assert right["expected"] == pytest.approx(expected, rel=1e-12)
    wrong = client.post(f"/api/lessons/{lesson}/check", json={"answer": expected + 7.31}).json()
    assert wrong == {**question, "correct": False, "feedback": "wrong", "expected": None}
    shown = client.post(f"/api/lessons/{lesson}/check", json={"answer": None}).json()
    assert shown["correct"] is None and shown["feedback"] == "revealed"
    assert shown["expected"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("lesson", lessons.EXERCISES)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 7, 12])
def test_each_named_mistake_is_recognised(lesson, seed):
    exercise = lessons.EXERCISES[lesson]
    params = exercise.params(seed)
    expected = exercise.solve(params)
    for code, value in exercise.mistakes(params).items():
        result = lessons.check(lesson, lessons.ExerciseCheck(seed=seed, answer=value))
        if exercise.accepts(value, expected):
            assert result.feedback == "correct"  # this mistake makes no difference with these numbers
        else:
            assert result.correct is False and result.feedback in exercise.mistakes(params), (code, result)


def test_the_momentum_exercise_is_torch_optims_sgd():
    p = lessons.EXERCISES["beyond"].first
    v, moved = 0.0, 0.0
    for _ in range(int(p["steps"])):
        v = p["mu"] * v + p["g"]
        moved += p["lr"] * v
    assert lessons.EXERCISES["beyond"].solve(p) == pytest.approx(moved, rel=1e-12)


def test_new_numbers_are_seeded_and_well_posed():
    for lesson, exercise in lessons.EXERCISES.items():
        assert exercise.params(5) == exercise.params(5)
        assert len({tuple(exercise.params(s).values()) for s in range(1, 30)}) > 5, lesson
        for seed in range(1, 30):
            assert math.isfinite(exercise.solve(exercise.params(seed)))


def test_an_unknown_exercise_and_a_bad_answer(client):
    assert_error(client.get("/api/lessons/nope/exercise"), 404, "not_found")
    assert_error(client.post("/api/lessons/nope/check", json={}), 404, "not_found")
    assert_error(
        client.post("/api/lessons/chain/check", json={"answer": "ten"}), 422, "invalid_input", "answer"
    )
    assert_error(client.get("/api/lessons/chain/exercise?seed=-1"), 422, "invalid_input", "query.seed")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_exercise_has_its_words_in_both_catalogs(lang):
    catalog = json.loads((ROOT / f"static/i18n/learn.{lang}.json").read_text("utf-8"))
    exercise_js = (ROOT / "static/js/learn/views/exercise.js").read_text("utf-8")
    for lesson, codes in lessons.MISTAKES.items():
        question = catalog[f"learn.{lesson}.ex_question"]
        assert set(re.findall(r"\{(\w+)\}", question)) == set(lessons.EXERCISES[lesson].first), lesson
        for code in codes:
            key = f"learn.{lesson}.ex_{code}"
            assert catalog.get(key) and f'{code}: "{key}"' in exercise_js, key


# --- errors in the learner's words ----------------------------------------------------------------

REQUESTS = {
    "gradient": lessons.GradientRequest,
    "descent": lessons.DescentRequest,
    "chain": lessons.ChainRequest,
    "backprop": lessons.BackpropRequest,
    "batches": lessons.BatchesRequest,
    "stability": lessons.StepFactorRequest,
    "stability/bowl": lessons.BowlRequest,
    "gradient/check": lessons.ExerciseCheck,
}
BAD_VALUES = [
    "abc",
    "",
    None,
    True,
    {},
    [],
    1.5,
    -1e9,
    1e9,
    2**40,
    "1e400",
    "-inf",
    [1.0] * 20,
    ["abc"],
    [1e9],
]
BAD_VALUES += [[-1e9], [1.5], [0], [[1]]]


def answered_codes(client) -> set[str]:
    """Every validation code the lesson endpoints answer, for every field given every kind of bad value,
    for unknown fields, and for bodies that are not an object or not JSON."""
    codes: set[str] = set()

    def collect(response):
        if response.status_code == 422:
            codes.update(d["code"] for d in response.json()["error"]["details"])

    for path, model in REQUESTS.items():
        url = f"/api/lessons/{path}"
        for field in model.model_fields:
            for value in BAD_VALUES:
                collect(client.post(url, json={field: value}))
        collect(client.post(url, json={"nope": 1}))
        for body in ([], "text", 7):
            collect(client.post(url, json=body))
        collect(client.post(url, content=b"{", headers={"content-type": "application/json"}))
    for seed in ("abc", -1, 2**40, 1.5):
        collect(client.get("/api/lessons/gradient/exercise", params={"seed": seed}))
    return codes


def test_every_code_the_lesson_endpoints_answer_has_words_in_both_languages(client):
    codes = answered_codes(client)
    assert {"greater_than", "less_than_equal", "float_parsing", "int_parsing", "literal_error"} <= codes
    assert {"too_long", "too_short", "extra_forbidden", "finite_number", "json_invalid"} <= codes
    errors_js = (ROOT / "static/js/learn/errors.js").read_text("utf-8")
    table = dict(re.findall(r'^\s+(\w+): "(learn\.error\.\w+)",$', errors_js, re.M))
    assert set(codes) <= set(table), set(codes) - set(table)
    for lang in ("en", "zh"):
        catalog = json.loads((ROOT / f"static/i18n/learn.{lang}.json").read_text("utf-8"))
        for code in codes:
            text = catalog[table[code]]
            assert text and set(re.findall(r"\{(\w+)\}", text)) <= {"label", "limit"}, (lang, code)


def test_a_validation_error_carries_its_code_and_the_bound(client):
    """What the page needs to say it in the learner's words: the field, the code, and the bound."""
    error = assert_error(client.post("/api/lessons/gradient", json={"lr": -0.1}), 422, "invalid_input", "lr")
    assert error["details"] == [
        {
            "field": "lr",
            "message": "Input should be greater than 0",
            "code": "greater_than",
            "expected": "> 0.0",
            "received": -0.1,
        }
    ]


# --- lesson 7: why η can be too large -------------------------------------------------------------


def test_the_curve_of_lesson_1_has_second_derivative_2_by_autograd():
    assert [lessons.second_derivative(x) for x in (-3.0, 0.0, 2.0, 4.0, 17.5)] == [2.0] * 5


@pytest.mark.parametrize("lr", [0.05, 0.3, 0.5, 0.9, 1.0, 1.1, 1.5])
def test_the_stability_path_is_the_closed_form(lr):
    """x_k = 4 + (1 − 2η)^k·(x₀ − 4): J″ = 2, so every step multiplies the error by 1 − 2η."""
    lesson = lessons.stability_lesson(lessons.StepFactorRequest(lr=lr, x=2.0, steps=25))
    assert (lesson.curvature, lesson.limit, lesson.target) == (2.0, 1.0, 4.0)
    assert lesson.factor == 1 - 2 * lr and lesson.contraction == abs(1 - 2 * lr)
    assert len(lesson.xs) == len(lesson.losses) == 26
    for k, (x, j) in enumerate(zip(lesson.xs, lesson.losses, strict=True)):
        closed = 4 + (1 - 2 * lr) ** k * (2.0 - 4)
        assert x == pytest.approx(closed, rel=1e-12, abs=1e-12), k
        assert j == pytest.approx((closed - 4) ** 2, rel=1e-11, abs=1e-12), k
    assert lesson.on_curve == 12
    span = [x for x, _ in lesson.curve]
    assert span[0] < min(lesson.xs[:12]) and span[-1] > max(lesson.xs[:12])


def test_the_stability_verdicts_follow_the_factor(client):
    said = {}
    for lr in (0.3, 0.9, 1.0, 1.1):
        body = client.post("/api/lessons/stability", json={"lr": lr}).json()
        said[lr] = (body["factor"], body["contraction"], body["verdict"])
    assert said[0.3] == (pytest.approx(0.4), pytest.approx(0.4), "converges")
    assert said[0.9] == (pytest.approx(-0.8), pytest.approx(0.8), "overshoots")
    assert said[1.0] == (-1.0, 1.0, "oscillates")
    assert said[1.1] == (pytest.approx(-1.2), pytest.approx(1.2), "diverges")
    bounce = client.post("/api/lessons/stability", json={"lr": 1.0, "x": 2, "steps": 6}).json()
    assert bounce["xs"] == [2.0, 6.0, 2.0, 6.0, 2.0, 6.0, 2.0]  # between 2 and 6 for ever


def test_a_diverging_path_stops_finite(client):
    body = client.post("/api/lessons/stability", json={"lr": 10, "steps": 200}).json()
    # the last point kept is the last one under the escape bound: the next would be past it
    assert 1 < len(body["xs"]) < 201 and abs(body["xs"][-1]) * 19 > lessons.stability.ESCAPE  # 1 − 2η = −19
    assert all(math.isfinite(v) for v in body["xs"] + body["losses"])
    bowl = client.post("/api/lessons/stability/bowl", json={"lr": 10, "a": 100, "b": 90, "steps": 200}).json()
    assert all(math.isfinite(v) for p in bowl["points"] for v in p)
    assert all(math.isfinite(v) for d in bowl["directions"] for v in d["errors"])


@pytest.mark.parametrize(("a", "b"), [(1.0, 10.0), (10.0, 1.0), (2.0, 8.0), (0.5, 3.0)])
def test_the_bowls_hessian_eigenvalues_are_its_curvatures(a, b):
    lesson = lessons.bowl_lesson(lessons.BowlRequest(lr=0.1, a=a, b=b, x=3.0, y=-2.0, steps=15))
    assert lesson.hessian == ((a, 0.0), (0.0, b))
    low, high = sorted((a, b))
    assert [d.eigenvalue for d in lesson.directions] == [low, high]
    assert lesson.limit == pytest.approx(2 / high, rel=1e-15)
    for d in lesson.directions:
        assert d.factor == 1 - 0.1 * d.eigenvalue and d.contraction == abs(d.factor)
        assert d.limit == pytest.approx(2 / d.eigenvalue, rel=1e-15)
    # torch.optim.SGD's path is the closed form: each axis multiplied by 1 − ηλ per step
    for k, (x, y) in enumerate(lesson.points):
        assert x == pytest.approx((1 - 0.1 * a) ** k * 3.0, rel=1e-12, abs=1e-12)
        assert y == pytest.approx((1 - 0.1 * b) ** k * -2.0, rel=1e-12, abs=1e-12)
    flat_start = 3.0 if a < b else 2.0
    assert lesson.directions[0].errors[0] == pytest.approx(flat_start, rel=1e-12)


@pytest.mark.parametrize(
    ("lr", "verdict", "deciding", "verdicts"),
    [
        (0.05, "crawls", 0, ["crawls", "converges"]),  # flat: 0.95, steep: 0.5
        (0.18, "converges", 0, ["converges", "overshoots"]),  # flat: 0.82, steep: −0.8
        (0.2, "oscillates", 1, ["converges", "oscillates"]),  # η = 2/λ_max
        (0.21, "diverges", 1, ["converges", "diverges"]),  # the steep direction decides
    ],
)
def test_the_steep_direction_sets_the_limit(client, lr, verdict, deciding, verdicts):
    body = client.post("/api/lessons/stability/bowl", json={"lr": lr, "a": 1, "b": 10}).json()
    assert (body["verdict"], body["deciding"]) == (verdict, deciding)
    assert [d["verdict"] for d in body["directions"]] == verdicts
    assert body["limit"] == 0.2
    assert len(body["axis"]) == len(body["grid"]) == len(body["grid"][0]) == lessons.stability.GRID_N


def test_bad_stability_input_names_the_field(client):
    assert_error(client.post("/api/lessons/stability", json={"lr": 0}), 422, "invalid_input", "lr")
    assert_error(client.post("/api/lessons/stability/bowl", json={"a": -1}), 422, "invalid_input", "a")
    assert_error(client.post("/api/lessons/stability/bowl", json={"b": 1e9}), 422, "invalid_input", "b")
    assert_error(client.post("/api/lessons/stability/bowl", json={"eta": 1}), 422, "invalid_input", "eta")


def test_the_stability_exercise_accepts_within_5_percent_below_the_limit(client):
    """½·(2x² + 8y²): λ_max = 8, the limit 2/8 = 0.25; anything in [0.2375, 0.25) converges and counts."""
    question = client.get("/api/lessons/stability/exercise").json()
    assert question == {"lesson": "stability", "seed": 0, "params": {"a": 2.0, "b": 8.0}}

    def said(answer):
        body = client.post("/api/lessons/stability/check", json={"answer": answer}).json()
        return body["correct"], body["feedback"]

    for right in (0.249, 0.24, 0.2375):
        assert said(right) == (True, "correct"), right
    for past in (0.25, 0.251, 0.3):
        assert said(past) == (False, "diverges"), past  # at or past the limit it does not converge
    assert said(1.0) == (False, "lambda_min")  # 2/λ_min
    assert said(0.125) == (False, "one_over")  # 1/λ_max
    assert said(0.2) == (False, "optimal")  # 2/(λ_min + λ_max), the fastest, not the largest
    assert said(0.237) == (False, "too_small")
    assert said(-1) == (False, "wrong")
    shown = client.post("/api/lessons/stability/check", json={"answer": None}).json()
    assert shown["expected"] == 0.25 and shown["feedback"] == "revealed"


def test_each_stability_exercise_is_two_over_the_largest_curvature():
    exercise = lessons.EXERCISES["stability"]
    for seed in range(30):
        p = exercise.params(seed)
        assert p["a"] != p["b"]
        assert exercise.solve(p) == pytest.approx(2 / max(p["a"], p["b"]), rel=1e-15)
        # no common mistake lands in the accepted window
        assert not any(exercise.accepts(v, exercise.solve(p)) for v in exercise.mistakes(p).values())
