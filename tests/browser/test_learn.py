"""The Learn tab, driven the way a person does: open the lessons, type into their inputs, step through the
chain-rule graph and the backpropagation, switch the language and back, follow a "try it" link, and read
what is drawn (window.gdvizLearn is the tab's read-only hook)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from playwright.sync_api import expect

from tests.browser.helpers import runners

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
LESSONS = ["gradient", "descent", "chain", "backprop", "batches", "beyond", "stability"]
DRAWN = [lesson for lesson in LESSONS if lesson != "beyond"]  # beyond is text, links and an exercise


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
    """The open lesson has its answer drawn and its exercise's numbers (no request in flight)."""
    page.wait_for_function(
        "() => { const l = window.gdvizLearn; return l && !l.busy && l.exercise(l.lesson)?.params"
        " && (!DRAWN.includes(l.lesson) || l.answer(l.lesson)); }".replace("DRAWN", json.dumps(DRAWN))
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
    expect(page.locator("#learn-gradient-step math").nth(0)).to_have_text(
        re.compile(r"=\s*2\s*\(\s*x\s*−\s*t\s*\)\s*=\s*2\s*·\s*\(\s*2\s*−\s*4\s*\)\s*=\s*−4")
    )
    expect(page.locator("#learn-gradient-step math").nth(1)).to_have_text(
        re.compile(r"=\s*2\s*−\s*0\.1\s*×\s*\(\s*−4\s*\)\s*=\s*2\.4")
    )
    expect(page.locator("#learn-gradient-sign")).to_contain_text("negative")
    expect(page.locator("#learn-gradient-outcome")).to_have_text(
        "That is toward the minimum at t = 4, without reaching it: J falls from 4 to 2.56."
    )
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
    assert watch.foreign == []


def test_the_chain_graph_shows_the_servers_autograd_numbers_for_random_inputs(page):
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


def test_stepping_back_through_the_graph_one_node_at_a_time(page):
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


def fmt(value: float) -> str:
    """The page's number format (static/js/dom.js fmt) for the plain values of these tests."""
    text = f"{value:.4g}"
    return text.replace("-", "−")


def test_backprop_steps_forward_then_back_and_sigmoid_shrinks_what_relu_keeps(page):
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


def wait_dimmed(page, lesson: str, dim: bool = True) -> None:
    """Every result region of the lesson faded out (the answer on screen belongs to older inputs), or
    every one back to full strength (after its 0.15 s transition)."""
    page.wait_for_function(
        """([id, dim]) => [...document.querySelectorAll(`#lesson-${id} .lesson-result`)]
            .every((node) => (Number(getComputedStyle(node).opacity) < 0.5) === dim)""",
        arg=[lesson, dim],
    )


def test_a_refused_input_is_said_in_the_learners_words_and_the_stale_result_dims(page, expect_console):
    # The server refuses the inputs with a 422, which Chromium logs.
    expect_console(r"/api/lessons/gradient:\d+:\d+: Failed to load resource: .* 422 ")
    expect_console(r"/api/lessons/descent:\d+:\d+: Failed to load resource: .* 422 ")
    open_learn(page)
    lr = page.locator('#learn-gradient-form input[name="lr"]')
    lr.fill("-0.1")
    error = page.locator("#learn-gradient-error")
    # The form's own label and the bound, never the field's code or the server's English.
    expect(error).to_have_text("“learning rate η” must be greater than 0. You typed −0.1.")
    expect(lr).to_have_attribute("aria-invalid", "true")
    expect(page.locator('#learn-gradient-form input[name="x"]')).to_have_attribute("aria-invalid", "false")
    wait_dimmed(page, "gradient")
    expect(page.locator("#learn-gradient-next")).to_have_text("2.4")  # the old answer, dimmed, not replaced
    # The same error in Chinese, said again at once.
    page.get_by_role("button", name="中文").click()
    expect(error).to_have_text("“学习率 η”必须大于 0。你输入的是 −0.1。")
    page.get_by_role("button", name="EN").click()
    lr.fill("0.25")
    expect(error).to_be_hidden()
    expect(lr).to_have_attribute("aria-invalid", "false")
    expect(page.locator("#learn-gradient-next")).to_have_text("3.0")  # 2 − 0.25·(−4)
    wait_dimmed(page, "gradient", dim=False)

    # A list field: the descent lesson names the one learning rate that is wrong, by its label.
    open_lesson(page, "Gradient descent and the learning rate")
    large = page.locator('#learn-descent-form input[name="lrs"]').nth(2)
    large.fill("twelve")
    expect(page.locator("#learn-descent-error")).to_have_text(
        "“η too large” must be a number. You typed twelve."
    )
    expect(large).to_have_attribute("aria-invalid", "true")
    wait_dimmed(page, "descent")
    large.fill("")
    expect(page.locator("#learn-descent-error")).to_have_text(
        "“η too large” must be a number. The field is empty."
    )
    large.fill("1.05")
    expect(page.locator("#learn-descent-error")).to_be_hidden()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_refused_input_of_the_forms_names_a_label_never_a_field(page, expect_console, lang):
    """Each lesson form, each input given a wrong value: the message names the input's label, in the
    page's language, and no field code or English server text appears."""
    expect_console(r"Failed to load resource: .* 422 ")
    open_learn(page, f"lang={lang}")
    fields = re.compile(r"\b(lr|lrs|target|steps|depth|seed|batch_sizes|Input should|Value error)\b")
    for lesson in ("gradient", "descent", "chain", "backprop", "batches"):
        page.goto(f"/?tab=learn&play=0&lang={lang}&lesson={lesson}")
        settle(page)
        inputs = page.locator(f"#learn-{lesson}-form input[type=text]")
        for i in range(inputs.count()):
            field = inputs.nth(i)
            label = field.locator("xpath=..").locator(".field-label").inner_text().strip()
            old = field.input_value()
            field.fill("1e12")
            error = page.locator(f"#learn-{lesson}-error")
            expect(error).to_be_visible()
            text = error.inner_text()
            assert f"“{label}”" in text and not fields.search(text.replace(f"“{label}”", "")), (lesson, text)
            assert (re.search(r"[\u4e00-\u9fff]", text) is not None) == (lang == "zh"), text
            field.fill(old)
            expect(error).to_be_hidden()


def test_the_learning_rate_lesson_draws_the_servers_runs_side_by_side(page):
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


def test_switching_to_chinese_and_back_keeps_the_lesson_and_its_numbers(page):
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
    expect(page.locator("#learn-gradient-sign-text")).to_have_text(re.compile("^梯度是 −4，为负"))
    # Remembered: opened again without lang in the URL, the page is still in Chinese, on the same lesson.
    page.wait_for_function("() => location.search.includes('lesson=') === false")  # gradient is the default
    page.goto("/?tab=learn&play=0")
    expect(page.locator("#lesson-gradient .lesson-title")).to_have_text("什么是梯度")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#learn-gradient-sign")).to_contain_text("The gradient is −4: negative")
    expect(page.locator(".learn-item[aria-current]")).to_have_text("What a gradient is")
    page.wait_for_function("() => location.search.includes('lang=en')")


def test_a_try_it_link_opens_the_race_in_the_lessons_state_and_the_lesson_is_kept(page):
    open_learn(page, "lang=en&lesson=descent")
    link = page.locator("#learn-try-descent a").first
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
    _, minima = parsed["descent"]  # two starts on the three-hump camel: a local and the global minimum
    assert minima["surface"] == "three_hump_camel"
    assert [r["start"] for r in minima["runner"]] == [[-1.8, 1.8], [-0.8, 1.6]]
    momentum, adam = parsed["beyond"]
    assert [r["optimizer"] for r in momentum["runner"]] == ["sgd", "momentum", "adam"]
    assert (momentum["sel"], adam["sel"]) == (1, 2)
    assert parsed["gradient"][0]["surface"] == "quadratic_bowl" and parsed["gradient"][0]["play"] is False
    (edge,) = parsed["stability"]  # what the CNN tab's "Edge of stability" preset sets
    assert edge["tab"] == "cnn" and edge["cnn.batch"] == "full" and edge["cnn.sharp"] == 10
    assert edge["cnn.opt"]["optimizer"] == "sgd" and edge["cnn.opt"]["hyperparameters"] == {"lr": 0.1}


def test_the_lesson_ids_are_the_url_keys_values_and_documented():
    lessons_js = (ROOT / "static/js/learn/lessons.js").read_text("utf-8")
    state_js = (ROOT / "static/js/state.js").read_text("utf-8")
    ids = json.loads(re.search(r"LESSONS = Object\.freeze\((\[[^\]]*\])\)", lessons_js)[1])
    values = json.loads(re.search(r'\{ name: "lesson", type: "string", values: (\[[^\]]*\])', state_js)[1])
    assert ids == values == LESSONS
    doc = (ROOT / "docs/url-state.md").read_text("utf-8")
    assert "| `lesson` |" in doc and all(f"`{lesson}`" in doc for lesson in LESSONS)
    template = (ROOT / "templates/_learn.html").read_text("utf-8")
    partials = re.findall(r'\{% include "learn/(\w+)\.html" %\}', template)
    assert partials == LESSONS
    for lesson in partials:
        page = (ROOT / f"templates/learn/{lesson}.html").read_text("utf-8")
        assert re.findall(r'<article class="lesson" id="lesson-(\w+)"', page) == [lesson]


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("size", [(1280, 800), (390, 844)], ids=["desktop", "phone"])
def test_screenshots(page, results_dir, lang, size):
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


def test_each_lessons_words_follow_its_numbers(page):
    """Issue 17: a step that overshoots, lands on the mirror point or diverges is said to, from the server's
    outcome; 0.5 < η < 1 converges while overshooting; η = 1.0001 is not shown as η = 1."""
    open_learn(page)
    lr = page.locator('#learn-gradient-form input[name="lr"]')
    outcome = page.locator("#learn-gradient-outcome")
    cases = {
        "1.5": "and lands farther from it than it started: J rises from 4 to 16.",
        "1": "to the mirror point 6, exactly as far on the other side: J stays at 4.",
        "0.5": "It lands exactly on the minimum t = 4: J falls from 4 to 0.",
        "0.9": "but lands closer to it than it started: J falls from 4 to 2.56.",
    }
    for value, words in cases.items():
        lr.fill(value)
        expect(outcome).to_contain_text(words)
        expect(page.locator("#learn-gradient-sign")).not_to_contain_text("toward")
    page.get_by_role("button", name="中文").click()
    lr.fill("2")
    expect(page.locator("#learn-gradient-next")).to_have_text("10.0")
    expect(outcome).to_have_text(
        "越过了最小值 t = 4，而且落点比出发点离它更远：J 从 4 升到 36。步子太大；重复下去，梯度下降会发散。"
    )
    expect(page.locator("#learn-gradient-sign")).not_to_contain_text("更靠近最小值")
    page.get_by_role("button", name="EN").click()

    open_lesson(page, "Gradient descent and the learning rate")
    lrs = page.locator('#learn-descent-form input[name="lrs"]')
    for i, value in enumerate(("0.6", "0.9", "1.0001")):
        lrs.nth(i).fill(value)
    page.wait_for_function(
        "() => !window.gdvizLearn.busy && window.gdvizLearn.answer('descent').lesson.runs[2].lr === 1.0001"
    )
    expect(page.locator("#lesson-descent .rate-head")).to_have_text(
        [
            re.compile(r"η = 0\.6\s*converges, overshooting"),
            re.compile(r"η = 0\.9\s*converges, overshooting"),
            re.compile(r"η = 1\.0001\s*diverges"),
        ]
    )
    expect(page.locator("#lesson-descent .rate-why").nth(1)).to_have_text(
        "1 − 2η = −0.8, between −1 and 0: x jumps past t at every step, each jump shorter than the last."
    )
    expect(page.locator("#lesson-descent .rate-why").nth(2)).to_contain_text("1 − 2η = −1.0002, below −1")


def run_python(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_backprop_code_on_the_page_prints_what_the_page_says_it_prints(page):
    """ReLU, 8 layers, seed 3: the code as shown, run, prints exactly the output block the page built from
    the server's numbers, the dead layers' exact 0 included."""
    open_learn(page, "lang=en&lesson=backprop")
    page.get_by_role("radio", name="ReLU").check()
    page.locator('#learn-backprop-form input[name="depth"]').fill("8")
    page.locator('#learn-backprop-form input[name="seed"]').fill("3")
    page.wait_for_function(
        "() => { const a = window.gdvizLearn.answer('backprop'); return !window.gdvizLearn.busy"
        " && a.layers.length === 8 && a.activation === 'relu' && a.off_layers.length === 1; }"
    )
    code = page.locator("#learn-code-backprop code").text_content()
    printed = page.locator("#learn-code-backprop .code-output").text_content()
    assert "torch.relu" in code and "manual_seed(3)" in code and "[2, 3, 3, 3, 3, 3, 3, 3, 1]" in code
    assert run_python(code) == printed
    assert "layer 1: |dL/dW| = 0\n" in printed


@pytest.mark.parametrize("lesson", ["gradient", "chain"])
def test_the_code_follows_the_inputs_and_runs(page, lesson):
    inputs = {
        "gradient": {"x": "-3", "target": "5", "lr": "0.6"},
        "chain": {"W": "-1.25", "b": "0.5", "x": "2"},
    }
    open_learn(page, f"lang=zh&lesson={lesson}")
    for name, value in inputs[lesson].items():
        page.locator(f'#learn-{lesson}-form input[name="{name}"]').fill(value)
    page.wait_for_timeout(300)
    settle(page)
    code = page.locator(f"#learn-code-{lesson} code").text_content()
    for value in inputs[lesson].values():
        assert f"{float(value)!r}" in code
    assert run_python(code) == page.locator(f"#learn-code-{lesson} .code-output").text_content()


def test_a_lesson_clicked_while_the_tab_is_still_loading_is_not_lost(gdviz):
    page = gdviz("?play=0&lang=en")
    held = []
    # The Learn tab's build waits for this answer, held until the lesson has been clicked.
    page.route("**/api/optimizers", lambda route: held.append(route))
    page.get_by_role("tab", name="Learn").click()
    page.wait_for_function("() => !document.querySelector('[data-tab-panel=learn]').hidden")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(20)
    assert held, "the tab asked for the optimizers"
    page.locator(".learn-nav").get_by_role("button", name="The chain rule as a graph").click()
    expect(page.locator("#lesson-chain")).to_be_visible()  # shown at once…
    for route in held:
        route.continue_()
    page.unroute("**/api/optimizers")
    page.wait_for_function("() => window.gdvizLearn && window.gdvizLearn.lesson === 'chain'")
    settle(page)  # …and drawn once the tab is built
    expect(page.locator("#learn-chain-counter")).to_have_text(
        "Forward pass done: every node holds its value."
    )
    expect(page.locator("#lesson-chain .lesson-title")).to_be_focused()
    expect(page).to_have_url(re.compile(r"lesson=chain"))


EXERCISES = {
    # lesson: (a named mistake's answer, its words, the right answer)
    "gradient": ("-1", "That is x − J′(x): the step forgot the learning rate η.", "3.5"),
    "descent": ("6", "That is x after one step only", "4.5"),
    "chain": ("-4", "That is ∂L/∂ŷ = 2(ŷ − t).", "-12"),
    "backprop": ("14", "That is δ₁ = ∂L/∂z.", "28"),
    "batches": ("3.5", "That is V₁, one sample's variance", "1.75"),
    "beyond": ("0.6", "That is plain descent, 3 steps of η·g", "1.122"),
    "stability": ("1", "That is 2/λ_min, the limit of the flat direction", "0.245"),
}


@pytest.mark.parametrize("lesson", LESSONS)
def test_each_lessons_exercise_is_checked_by_the_server(page, lesson):
    open_learn(page, f"lang=en&lesson={lesson}")
    box = page.locator(f"#learn-ex-{lesson}")
    answer = box.get_by_role("textbox")
    feedback = box.locator(".exercise-feedback")
    mistake, words, right = EXERCISES[lesson]
    answer.fill(mistake)
    box.get_by_role("button", name="Check").click()
    expect(feedback).to_contain_text(words)
    expect(feedback).to_have_attribute("data-verdict", "wrong")
    answer.fill(right.replace("-", "−"))
    box.get_by_role("button", name="Check").click()
    expect(feedback).to_contain_text("Right:")
    expect(feedback).to_have_attribute("data-verdict", "correct")
    question = box.locator(".exercise-question").inner_text()
    box.get_by_role("button", name="New numbers").click()
    expect(box.locator(".exercise-question")).not_to_have_text(question)
    expect(feedback).to_be_hidden()
    box.get_by_role("button", name="Show the answer").click()
    expect(feedback).to_contain_text("The answer is")
    served = page.evaluate("(id) => window.gdvizLearn.exercise(id)", lesson)
    assert served["seed"] == 1 and served["result"]["feedback"] == "revealed"


def test_an_exercise_in_chinese(page):
    open_learn(page, "lang=zh&lesson=batches")
    box = page.locator("#learn-ex-batches")
    expect(box.locator(".exercise-question")).to_contain_text("2、−1、4 和 3")
    box.get_by_role("textbox").fill("2.475")  # V₁/√B
    box.get_by_role("button", name="检查").click()
    expect(box.locator(".exercise-feedback")).to_have_text(
        "这是把 V₁ 除以 √B，那是标准差的变化方式；方差按 1/B 下降。还不对。逐步检查一下，或者显示答案。"
    )
    box.get_by_role("textbox").fill("abc")
    box.get_by_role("button", name="检查").click()
    expect(box.locator(".exercise-feedback")).to_have_text("请先输入一个数，例如 1.25 或 −3。")


def test_the_batch_lesson_draws_the_servers_measurements(page):
    open_learn(page, "lang=en&lesson=batches")
    served = answer(page, "batches")
    assert [r["batch_size"] for r in served["rows"]] == [1, 4, 16, 64]
    rows = page.locator("#learn-batches-table tbody tr")
    expect(rows).to_have_count(4)
    for i, r in enumerate(served["rows"]):
        cells = [number(c) for c in rows.nth(i).locator("td").all_inner_texts()]
        assert cells == pytest.approx(
            [r["variance"], r["predicted_variance"], r["std"], r["predicted_std"]], rel=5e-3
        )
    clouds = page.evaluate("() => document.getElementById('learn-batches-cloud').data.map((t) => t.x.length)")
    assert sorted(clouds) == [1, 150, 150, 150, 150]
    law = page.evaluate("() => document.getElementById('learn-batches-law').data.map((t) => t.y)")
    assert law[1] == [r["variance"] for r in served["rows"]] and law[3] == [r["std"] for r in served["rows"]]
    findings = page.locator("#learn-batches-findings")
    expect(findings).to_contain_text("From B = 1 to B = 64, 64 times the batch")
    expect(findings).to_contain_text("(1/B predicts 64)")
    expect(findings).to_contain_text("(1/√B predicts 8)")
    page.locator('#learn-batches-form input[name="batch_sizes"]').nth(3).fill("100")
    page.wait_for_function(
        "() => !window.gdvizLearn.busy && window.gdvizLearn.answer('batches').rows[3].batch_size === 100"
    )
    expect(findings).to_contain_text("(1/√B predicts 10)")


def test_the_backprop_lesson_shows_the_weights_and_says_what_its_numbers_show(page):
    open_learn(page, "lang=en&lesson=backprop")
    page.get_by_role("radio", name="ReLU").check()
    page.locator('#learn-backprop-form input[name="depth"]').fill("8")
    page.locator('#learn-backprop-form input[name="seed"]').fill("3")
    page.wait_for_function(
        "() => !window.gdvizLearn.busy && window.gdvizLearn.answer('backprop').layers.length === 8"
        " && window.gdvizLearn.answer('backprop').off_layers.length === 1"
    )
    served = answer(page, "backprop")
    page.locator("#learn-backprop-step").click()  # forward through layer 1: W, b and z with numbers
    card = page.locator('#learn-backprop-layers .layer-card[data-layer="1"]')
    expect(card.locator('[data-kind="a"] .vec-name')).to_have_text("a = ReLU(z)")
    shown_rows = [vector(r) for r in card.locator('[data-kind="W"] .vec span').all_inner_texts()]
    assert shown_rows == [pytest.approx(r, rel=5e-3, abs=1e-3) for r in served["layers"][0]["weight"]]
    formula = page.locator("#learn-backprop-explain math").first.text_content()
    assert "0.5" in formula and "0.1" in formula  # the sample and the bias, to redo z by hand
    page.get_by_role("button", name="Show all").click()
    findings = page.locator("#learn-backprop-findings")
    expect(findings).to_contain_text("Every unit of layer 2 is off for this sample")
    expect(findings).to_contain_text(
        "Layers 1, 2, 3 get exactly zero weight gradient from this sample (dead ReLUs)"
    )
    page.get_by_role("radio", name="sigmoid").check()
    page.wait_for_function(
        "() => !window.gdvizLearn.busy && window.gdvizLearn.answer('backprop').activation === 'sigmoid'"
    )
    expect(findings).to_contain_text("times smaller")
    expect(findings).not_to_contain_text("off")
