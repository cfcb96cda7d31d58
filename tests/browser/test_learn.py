"""The Learn tab, driven the way a person does: open the lessons, type into their inputs, step through the
chain-rule graph and the backpropagation, switch the language and back, follow a "try it" link, and read
what is drawn (window.gdvizLearn is the tab's read-only hook)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import expect

from tests.browser.helpers import runners

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ["gradient", "descent", "chain", "backprop", "batches", "beyond"]


def number(text: str) -> float:
    """A number as the page writes it (U+2212 minus, 1.5e-3 exponents) back to a float."""
    return float(text.strip().replace("−", "-"))


def vector(text: str) -> list[float]:
    """A vector as the page writes it, "[0.5, −1, 0.00116]" (3 significant digits), as floats."""
    return [number(v) for v in text.strip().strip("[]").split(",")]


def open_learn(page, query: str = "lang=en") -> None:
    page.goto(f"/?tab=learn&play=0&{query}")
    page.wait_for_function("() => window.gdvizLearn && window.gdvizLearn.lesson")
    settle(page)


def settle(page) -> None:
    """Every lesson form has its answer drawn (no request in flight)."""
    page.wait_for_function(
        "() => { const l = window.gdvizLearn; return !l.busy"
        " && (!['gradient', 'descent', 'chain', 'backprop'].includes(l.lesson) || l.answer(l.lesson)); }"
    )
    page.wait_for_timeout(50)


def answer(page, lesson: str) -> dict:
    return page.evaluate("(id) => window.gdvizLearn.answer(id)", lesson)


def open_lesson(page, name: str) -> None:
    page.locator(".learn-nav").get_by_role("button", name=name).click()
    settle(page)


def test_the_tutorials_numbers_are_on_the_page_at_the_default_settings(page, watch):
    open_learn(page)
    expect(page.get_by_role("tab", name="Learn")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".layout")).to_be_hidden()
    lesson = page.locator("#lesson-gradient")
    expect(lesson.get_by_role("heading", name="What a gradient is")).to_be_visible()
    # J(x) = (x − 4)² at x = 2: gradient −4.0, and with η = 0.1 the next x is 2.4.
    expect(page.locator("#learn-gradient-value")).to_have_text("−4.0")
    expect(page.locator("#learn-gradient-next")).to_have_text("2.4")
    expect(page.locator("#learn-gradient-loss")).to_have_text("4.0")
    expect(page.locator("#learn-gradient-step math")).to_have_text(
        re.compile(r"=\s*2\s*−\s*0\.1\s*×\s*\(\s*−4\s*\)\s*=\s*2\.4")
    )
    expect(page.locator("#learn-gradient-sign")).to_contain_text("negative")
    # The chart: J drawn from the server's curve, the tangent with the server's slope, the two points.
    traces = page.evaluate(
        "() => document.getElementById('learn-gradient-chart').data.map((t) => [t.x, t.y])"
    )
    served = answer(page, "gradient")
    assert traces[0] == [[p[0] for p in served["curve"]], [p[1] for p in served["curve"]]]
    (tx, ty) = traces[1]
    assert (ty[1] - ty[0]) / (tx[1] - tx[0]) == pytest.approx(-4.0)
    assert traces[2] == [[2], [4]] and traces[3][0] == [pytest.approx(2.4)]

    # y = W·x + b, L = (y − 10)² with W = 2, b = 1, x = 3: ∂L/∂W = −18 and ∂L/∂b = −6 once walked back.
    open_lesson(page, "The chain rule as a graph")
    expect(page).to_have_url(re.compile(r"lesson=chain"))
    page.get_by_role("button", name="Show all").click()
    expect(page.locator("#learn-chain-dW")).to_have_text("−18")
    expect(page.locator("#learn-chain-db")).to_have_text("−6")
    expect(page.locator('#learn-graph [data-id="W"]')).to_contain_text("gradient −18")
    expect(page.locator('#learn-graph [data-id="b"]')).to_contain_text("gradient −6")
    assert watch.errors == [] and watch.foreign == []


def test_the_chain_graph_shows_the_servers_autograd_numbers_for_random_inputs(page, watch):
    open_learn(page, "lang=en&lesson=chain")
    page.get_by_role("button", name="Show all").click()  # the walk stays at its end as the inputs change
    rng = np.random.default_rng(7)
    for _ in range(3):
        W, b, x, t = (round(float(v), 3) for v in rng.uniform(-5, 5, 4))
        for name, value in (("W", W), ("b", b), ("x", x), ("target", t)):
            page.locator(f'#learn-chain-form input[name="{name}"]').fill(str(value))
        page.wait_for_function(
            "([W, b]) => { const a = window.gdvizLearn.answer('chain');"
            " if (!a || window.gdvizLearn.busy) return false;"
            " const value = (id) => a.nodes.find((n) => n.id === id).value;"
            " return value('W') === W && value('b') === b; }",
            arg=[W, b],
        )
        Wt, bt, xt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (W, b, x))
        loss = (Wt * xt + bt - t) ** 2
        grads = torch.autograd.grad(loss, (Wt, bt, xt))
        for cell, g in zip(("#learn-chain-dW", "#learn-chain-db", "#learn-chain-dx"), grads, strict=True):
            assert number(page.locator(cell).inner_text()) == pytest.approx(float(g), rel=5e-4, abs=1e-9)
        # every node of the drawing carries autograd's gradient of L with respect to it
        for node_id, g in (("W", grads[0]), ("b", grads[1]), ("x", grads[2])):
            text = page.locator(f'#learn-graph [data-id="{node_id}"] .graph-grad').text_content()
            assert number(text.split()[-1]) == pytest.approx(float(g), rel=5e-4, abs=1e-9)
        value = page.locator('#learn-graph [data-id="L"] .graph-value').text_content()
        assert number(value.split()[-1]) == pytest.approx(float(loss.detach()), rel=5e-4)
    assert watch.errors == []


def test_stepping_back_through_the_graph_one_node_at_a_time(page, watch):
    open_learn(page, "lang=en&lesson=chain")
    served = answer(page, "chain")
    assert served["order"] == ["L", "r", "y", "b", "wx", "W", "x"]
    expect(page.locator("#learn-chain-counter")).to_have_text(
        "Forward pass done: every node holds its value."
    )
    # Forward values on every node; no gradient yet.
    expect(page.locator("#learn-graph .graph-grad")).to_have_count(0)
    expect(page.locator('#learn-graph [data-id="y"] .graph-value')).to_have_text("value 7")
    edges = {(e["source"], e["target"]): e for e in served["edges"]}
    step = page.get_by_role("button", name="Step backward")
    for k, node in enumerate(served["order"], start=1):
        step.click()
        expect(page.locator("#learn-chain-counter")).to_have_text(f"Backward step {k} of 7")
        current = page.locator('#learn-graph .graph-node[data-state="current"]')
        expect(current).to_have_count(1)
        expect(current).to_have_attribute("data-id", node)
        expect(page.locator("#learn-graph .graph-grad")).to_have_count(k)
        explain = page.locator("#learn-chain-explain")
        if node == "L":
            expect(explain).to_contain_text("derivative of L with respect to itself is 1")
            continue
        (edge,) = [e for key, e in edges.items() if key[0] == node]
        words = (
            f"local {fmt(edge['local'])} × upstream {fmt(edge['upstream'])} = gradient {fmt(edge['product'])}"
        )
        expect(explain.locator(".chain-words")).to_have_text(words)
    expect(step).to_be_disabled()
    # W: local ∂(W·x)/∂W = x = 3, upstream ∂L/∂(W·x) = −6, gradient −18.
    page.get_by_role("button", name="Back", exact=True).click()
    page.get_by_role("button", name="Back", exact=True).click()
    expect(page.locator('#learn-graph .graph-node[data-state="current"]')).to_have_attribute("data-id", "wx")
    step.click()
    expect(page.locator("#learn-chain-explain .chain-words")).to_have_text(
        "local 3 × upstream −6 = gradient −18"
    )
    expect(page.locator("#learn-chain-explain .chain-check")).to_have_text(
        "torch autograd gives the same: −18"
    )
    page.get_by_role("button", name="Reset").click()
    expect(page.locator("#learn-graph .graph-grad")).to_have_count(0)
    # On a phone the graph is drawn top to bottom, and back left to right on a wide screen.
    graph = page.locator("#learn-graph")
    expect(graph).to_have_attribute("data-shape", "wide")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(graph).to_have_attribute("data-shape", "tall")
    page.set_viewport_size({"width": 1280, "height": 800})
    expect(graph).to_have_attribute("data-shape", "wide")
    assert watch.errors == []


def fmt(value: float) -> str:
    """The page's number format (static/js/dom.js fmt) for the plain values of these tests."""
    text = f"{value:.4g}"
    return text.replace("-", "−")


def test_backprop_steps_forward_then_back_and_sigmoid_shrinks_what_relu_keeps(page, watch):
    open_learn(page, "lang=en&lesson=backprop")
    served = answer(page, "backprop")
    assert served["activation"] == "sigmoid" and len(served["layers"]) == 3
    cards = page.locator("#learn-backprop-layers .layer-card")
    expect(cards).to_have_count(3)
    expect(cards.nth(0)).to_have_attribute("data-state", "waiting")
    step = page.locator("#learn-backprop-step")
    for k in range(1, 4):  # forward: z and a of layer k
        step.click()
        expect(page.locator("#learn-backprop-counter")).to_have_text(
            f"Step {k} of 6: forward through layer {k}"
        )
        expect(cards.nth(k - 1)).to_have_attribute("data-state", "current")
        z = cards.nth(k - 1).locator('[data-kind="z"] .vec').inner_text()
        assert vector(z) == pytest.approx(served["layers"][k - 1]["z"], rel=5e-3)
    expect(page.locator("#learn-backprop-result")).to_contain_text(f"loss L = {fmt(served['loss'])}")
    for k, layer in zip(range(4, 7), (3, 2, 1), strict=True):  # backward: δ from the output down
        step.click()
        expect(page.locator("#learn-backprop-counter")).to_have_text(
            f"Step {k} of 6: backward through layer {layer}"
        )
        card = cards.nth(layer - 1)
        expect(card).to_have_attribute("data-state", "current")
        numbers = served["layers"][layer - 1]
        delta = card.locator('[data-kind="delta"] .vec').inner_text()
        assert vector(delta) == pytest.approx(numbers["delta"], rel=5e-3)
        # the explanation writes δ(l) with the actual vectors: (Wᵀδ) ⊙ σ′(z) = δ
        if layer < 3:
            formula = page.locator("#learn-backprop-explain math").first.text_content()
            written = [vector(v) for v in re.findall(r"\[[^\]]*\]", formula)]
            expected = [numbers["upstream"], numbers["dsigma"], numbers["delta"]]
            assert len(written) == 3
            for shown, served_vector in zip(written, expected, strict=True):
                assert shown == pytest.approx(served_vector, rel=5e-3)
        bars = page.evaluate("() => document.getElementById('learn-backprop-chart').data[0].y")
        assert sum(v is not None for v in bars) == k - 3
    expect(step).to_be_disabled()

    # Deeper, then sigmoid against ReLU: the first layer's gradient against the last one's.
    page.locator('#learn-backprop-form input[name="depth"]').fill("8")
    page.wait_for_function(
        "() => window.gdvizLearn.answer('backprop').layers.length === 8 && !window.gdvizLearn.busy"
    )
    sig = [layer["weight_grad_norm"] for layer in answer(page, "backprop")["layers"]]
    page.get_by_role("radio", name="ReLU").check()
    page.wait_for_function(
        "() => window.gdvizLearn.answer('backprop').activation === 'relu' && !window.gdvizLearn.busy"
    )
    relu = [layer["weight_grad_norm"] for layer in answer(page, "backprop")["layers"]]
    assert sig[0] < sig[-1] / 100 and relu[0] > relu[-1] / 100, (sig, relu)
    page.get_by_role("button", name="Show all").click()
    bars = page.evaluate("() => document.getElementById('learn-backprop-chart').data[0].y")
    assert bars == pytest.approx(relu)
    assert watch.errors == []


def test_a_refused_input_shows_the_servers_message_and_marks_the_field(page, watch):
    open_learn(page)
    lr = page.locator('#learn-gradient-form input[name="lr"]')
    lr.fill("-1")
    error = page.locator("#learn-gradient-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("lr")
    expect(error).to_contain_text("greater than 0")
    expect(lr).to_have_attribute("aria-invalid", "true")
    expect(page.locator('#learn-gradient-form input[name="x"]')).to_have_attribute("aria-invalid", "false")
    lr.fill("0.25")
    expect(error).to_be_hidden()
    expect(lr).to_have_attribute("aria-invalid", "false")
    expect(page.locator("#learn-gradient-next")).to_have_text("3.0")  # 2 − 0.25·(−4)

    # A list field: the descent lesson names the one learning rate out of range.
    open_lesson(page, "Gradient descent and the learning rate")
    large = page.locator('#learn-descent-form input[name="lrs"]').nth(2)
    large.fill("twelve")
    expect(page.locator("#learn-descent-error")).to_contain_text("lrs.2")
    expect(large).to_have_attribute("aria-invalid", "true")
    large.fill("1.05")
    expect(page.locator("#learn-descent-error")).to_be_hidden()
    # The HTTP 422 answers are the expected ones; nothing else went wrong.
    assert [e for e in watch.errors if "422" not in e] == []


def test_the_learning_rate_lesson_draws_the_servers_runs_side_by_side(page, watch):
    open_learn(page, "lang=en&lesson=descent")
    served = answer(page, "descent")
    verdicts = [run["verdict"] for run in served["lesson"]["runs"]]
    assert verdicts == ["crawls", "converges", "diverges"]
    heads = page.locator("#lesson-descent .rate-head")
    expect(heads).to_have_text(
        [
            re.compile(r"η = 0\.02\s*crawls"),
            re.compile(r"η = 0\.3\s*converges"),
            re.compile(r"η = 1\.05\s*diverges"),
        ]
    )
    for i, (run, path) in enumerate(zip(served["lesson"]["runs"], served["trajectories"], strict=True)):
        line = page.evaluate("(i) => document.querySelectorAll('#lesson-descent .rate-line')[i].data[1].y", i)
        assert line == run["xs"]
        bowl = page.evaluate("(i) => document.querySelectorAll('#lesson-descent .rate-bowl')[i].data[1].x", i)
        assert bowl == [p[0] for p in path["points"]]
    # On the round bowl the same η does what it does on the curve: the third one runs away.
    assert abs(served["trajectories"][2]["points"][-1][0]) > abs(served["trajectories"][2]["points"][0][0])
    assert abs(served["trajectories"][1]["points"][-1][0]) < 1e-6
    assert watch.errors == []


def test_switching_to_chinese_and_back_keeps_the_lesson_and_its_numbers(page, watch):
    open_learn(page, "lang=en&lesson=chain")
    page.get_by_role("button", name="Step backward").click()
    page.get_by_role("button", name="Step backward").click()
    page.get_by_role("button", name="中文").click()
    expect(page.locator("#lesson-chain .lesson-title")).to_have_text("用计算图看链式法则")
    expect(page.get_by_role("tab", name="学习")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#learn-chain-counter")).to_have_text("反向第 2 步，共 7 步")
    expect(page.locator('#learn-graph [data-id="r"] .graph-grad')).to_have_text("梯度 −6")
    expect(page.locator("#learn-chain-explain .chain-words")).to_have_text(
        "局部导数 −6 × 上游梯度 1 = 梯度 −6"
    )
    expect(page.locator("#learn-try-chain a")).to_have_text("把这个损失看成 (W, b) 上的曲面")
    page.wait_for_function(
        "() => location.search.includes('lang=zh') && location.search.includes('lesson=chain')"
    )
    assert "lang=zh" in page.locator("#learn-try-chain a").get_attribute("href")
    open_lesson(page, "什么是梯度")
    expect(page.locator("#learn-gradient-sign")).to_have_text(re.compile("^梯度是 −4，为负"))
    # Remembered: opened again without lang in the URL, the page is still in Chinese, on the same lesson.
    page.wait_for_function("() => location.search.includes('lesson=') === false")  # gradient is the default
    page.goto("/?tab=learn&play=0")
    expect(page.locator("#lesson-gradient .lesson-title")).to_have_text("什么是梯度")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#learn-gradient-sign")).to_contain_text("The gradient is −4: negative")
    expect(page.locator(".learn-item[aria-current]")).to_have_text("What a gradient is")
    page.wait_for_function("() => location.search.includes('lang=en')")
    assert watch.errors == []


def test_a_try_it_link_opens_the_race_in_the_lessons_state_and_the_lesson_is_kept(page, watch):
    open_learn(page, "lang=en&lesson=descent")
    link = page.locator("#learn-try-descent a")
    expect(link).to_have_text("Race three learning rates in a narrow valley")
    link.click()
    page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'")
    page.wait_for_function(
        "() => window.gdviz.runners().length === 3 && window.gdviz.runners().every(r => r.confirmed)"
    )
    expect(page.get_by_role("tab", name="Surfaces")).to_have_attribute("aria-selected", "true")
    assert page.evaluate("() => window.gdviz.surface") == "ill_conditioned_bowl"
    race = runners(page)
    assert [r["optimizer"] for r in race] == ["sgd"] * 3
    assert [r["hyperparameters"]["lr"] for r in race] == [0.005, 0.07, 0.085]
    assert page.evaluate("() => window.gdviz.selected") == 1
    # Back to the Learn tab: the same lesson.
    page.get_by_role("tab", name="Learn").click()
    page.wait_for_function("() => window.gdvizLearn && window.gdvizLearn.lesson === 'descent'")
    expect(page.locator("#lesson-descent")).to_be_visible()

    # The chain rule's link: this sample's loss over (W, b), one runner at (W, b) = (2, 1), paused; the
    # gradient there is the graph's (∂L/∂W, ∂L/∂b) = (−18, −6).
    open_lesson(page, "The chain rule as a graph")
    page.locator("#learn-try-chain a").click()
    page.wait_for_function(
        "() => window.gdviz && window.gdviz.connection === 'live' && window.gdviz.surface === 'custom'"
    )
    page.wait_for_function("() => window.gdviz.runners().length === 1 && window.gdviz.runners()[0].confirmed")
    assert page.evaluate("() => window.gdviz.playing") is False
    page.locator("#step").click()  # what the lesson's hint says to do
    page.wait_for_function("() => window.gdviz.runners()[0].steps > 0")
    (runner,) = runners(page)
    assert runner["start"] == [2, 1] and runner["optimizer"] == "sgd"
    first = page.evaluate("(id) => window.gdviz.record(id, 0)", runner["id"])
    assert first["point"] == [2, 1] and first["gradient"] == pytest.approx([-18.0, -6.0])

    # Batches: the comparison preset, one SGD per batch mode, the mini-batch selected.
    page.goto("/?tab=learn&play=0&lang=en&lesson=batches")
    page.wait_for_function("() => window.gdvizLearn && window.gdvizLearn.lesson === 'batches'")
    page.locator("#learn-try-batches a").click()
    page.wait_for_function(
        "() => window.gdviz && window.gdviz.surface === 'linreg' && window.gdviz.runners().length === 3"
    )
    assert [r["batch"]["mode"] for r in runners(page)] == ["full", "stochastic", "minibatch"]
    assert page.evaluate("() => window.gdviz.selected") == 2
    assert watch.errors == []


def test_every_try_it_link_is_a_url_of_the_state_table(page):
    open_learn(page)
    hrefs = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.try-links')].map((box) => [
            box.id.replace('learn-try-', ''),
            [...box.querySelectorAll('a')].map((a) => a.getAttribute('href')),
        ]))"""
    )
    assert set(hrefs) == set(LESSONS) and all(hrefs.values())
    parsed = page.evaluate(
        """async (hrefs) => {
            const m = await import('/static/js/state.js');
            const out = {};
            for (const [id, list] of Object.entries(hrefs)) {
                out[id] = list.map((href) => m.readQuery(href.slice(1)));
            }
            return out;
        }""",
        hrefs,
    )
    for lesson, states in parsed.items():
        for state in states:
            assert state.get("lesson", "gradient") == lesson and state["lang"] == "en"
    (sigmoid, relu) = parsed["backprop"]
    assert sigmoid["tab"] == relu["tab"] == "cnn" and sigmoid["cnn.act"] == "sigmoid"
    assert "cnn.act" not in relu  # ReLU, the default, is left out of the URL
    assert sigmoid["cnn.net"] == "mlp" and sigmoid["cnn.depth"] == 8 and sigmoid["cnn.play"] is True
    momentum, adam = parsed["beyond"]
    assert [r["optimizer"] for r in momentum["runner"]] == ["sgd", "momentum", "adam"]
    assert (momentum["sel"], adam["sel"]) == (1, 2)
    assert parsed["gradient"][0]["surface"] == "quadratic_bowl" and parsed["gradient"][0]["play"] is False


def test_the_lesson_ids_are_the_url_keys_values_and_documented():
    lessons_js = (ROOT / "static/js/learn/lessons.js").read_text("utf-8")
    state_js = (ROOT / "static/js/state.js").read_text("utf-8")
    ids = json.loads(re.search(r"LESSONS = Object\.freeze\((\[[^\]]*\])\)", lessons_js)[1])
    values = json.loads(re.search(r'\{ name: "lesson", type: "string", values: (\[[^\]]*\])', state_js)[1])
    assert ids == values == LESSONS
    doc = (ROOT / "docs/url-state.md").read_text("utf-8")
    assert "| `lesson` |" in doc and all(f"`{lesson}`" in doc for lesson in LESSONS)
    template = (ROOT / "templates/_learn.html").read_text("utf-8")
    assert re.findall(r'<article class="lesson" id="lesson-(\w+)"', template) == LESSONS


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_screenshots(page, watch, results_dir, lang, size):
    page.set_viewport_size({"width": size[0], "height": size[1]})
    open_learn(page, f"lang={lang}")
    for lesson in LESSONS:
        page.goto(f"/?tab=learn&play=0&lang={lang}&lesson={lesson}")
        page.wait_for_function("(id) => window.gdvizLearn && window.gdvizLearn.lesson === id", arg=lesson)
        settle(page)
        if lesson in ("chain", "backprop"):
            for _ in range(5):
                page.locator(f"#learn-{lesson}-step").click()
        # Nothing is wider than the screen.
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0
        page.screenshot(path=results_dir / f"learn-{lesson}-{lang}-{size[0]}x{size[1]}.png", full_page=True)
    assert watch.errors == []
