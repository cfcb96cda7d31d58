"""Lesson 7, why η can be too large, driven the way a person does: pick η with a button, the slider or the
keyboard, read the verdict and the numbers drawn against the server's, switch to Chinese, answer the
exercise, and follow the "try it" link to the CNN tab's edge-of-stability preset."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_learn import number, open_learn, settle

pytestmark = pytest.mark.browser


def served(page) -> dict:
    return page.evaluate("() => window.gdvizLearn.answer('stability')")


def wait_lr(page, part: str, lr: float) -> None:
    page.wait_for_function(
        "([part, lr]) => { const l = window.gdvizLearn; const a = l.answer('stability');"
        " return !l.busy && a && a[part].lr === lr; }",
        arg=[part, lr],
    )


def test_too_large_a_learning_rate_diverges_and_says_so_in_both_languages(page):
    open_learn(page, "lang=en&lesson=stability")
    line = page.locator("#learn-stability-form")
    line.locator('button[data-lr="1.1"]').click()
    wait_lr(page, "line", 1.1)
    chip, why = page.locator("#learn-stability-chip"), page.locator("#learn-stability-why")
    expect(chip).to_have_text("diverges")
    expect(why).to_contain_text("With η = 1.1, above 2/J″ = 1: |1 − η·J″| = 1.2 > 1")
    expect(page.locator("#learn-stability-curvature")).to_have_text("2")
    expect(page.locator("#learn-stability-contraction")).to_have_text("1.2")
    answer = served(page)["line"]
    assert answer["verdict"] == "diverges" and answer["curvature"] == 2.0
    # what is drawn is the server's path: x_k against k, and the first points on the parabola
    drawn = page.evaluate("() => document.getElementById('learn-stability-steps').data[1].y")
    assert drawn == answer["xs"]
    on_curve = page.evaluate("() => document.getElementById('learn-stability-curve').data[1].x")
    assert on_curve == answer["xs"][: answer["on_curve"]]
    last = number(why.inner_text().rsplit("x = ", 1)[1].rstrip("."))
    assert last == pytest.approx(answer["xs"][-1], rel=1e-3)

    page.get_by_role("button", name="中文").click()
    expect(chip).to_have_text("发散")
    expect(why).to_contain_text("η = 1.1，大于 2/J″ = 1：|1 − η·J″| = 1.2 > 1")
    expect(page.locator("#lesson-stability .lesson-title")).to_have_text("学习率为什么不能太大")
    page.get_by_role("button", name="EN").click()

    line.locator('button[data-lr="1.0"]').click()
    wait_lr(page, "line", 1.0)
    expect(chip).to_have_text("oscillates for ever")
    expect(why).to_contain_text("x bounces between 2 and 6 for ever")
    line.get_by_role("slider").fill("0.3")  # the slider types into η
    wait_lr(page, "line", 0.3)
    expect(line.locator('input[name="lr"]')).to_have_value("0.3")
    expect(chip).to_have_text("converges")


def test_the_steep_direction_decides_on_the_bowl(page, expect_console):
    open_learn(page, "lang=en&lesson=stability")
    bowl = page.locator("#learn-stability-bowl-form")
    bowl.locator('button[data-lr="0.21"]').click()
    wait_lr(page, "bowl", 0.21)
    expect(page.locator("#learn-stability-lambda-min")).to_have_text("1")
    expect(page.locator("#learn-stability-lambda-max")).to_have_text("10")
    expect(page.locator("#learn-stability-bowl-limit")).to_have_text("0.2")
    expect(page.locator("#learn-stability-bowl-chip")).to_have_text("diverges")
    why = page.locator("#learn-stability-bowl-why")
    expect(why).to_contain_text("the steep direction (λ = 10) has |1 − ηλ| = 1.1 > 1")
    rows = page.locator("#learn-stability-table tbody tr")
    expect(rows.nth(0).locator("td").last).to_have_text("converges")
    expect(rows.nth(1).locator("td").last).to_have_text("diverges")
    answer = served(page)["bowl"]
    path = page.evaluate("() => document.getElementById('learn-stability-path').data[1]")
    assert [[x, y] for x, y in zip(path["x"], path["y"], strict=True)] == answer["points"]
    errors = page.evaluate("() => document.getElementById('learn-stability-errors').data.map((t) => t.y)")
    assert errors == [d["errors"] for d in answer["directions"]]

    bowl.locator('input[name="lr"]').fill("0.05")  # far below the limit the flat direction sets the pace
    wait_lr(page, "bowl", 0.05)
    expect(why).to_contain_text("the flat direction (λ = 1) decides")
    # The server refuses the input with a 422, which Chromium logs.
    expect_console(r"/api/lessons/stability/bowl:\d+:\d+: Failed to load resource: .* 422 ")
    bowl.locator('input[name="b"]').fill("0")
    expect(page.locator("#learn-stability-bowl-error")).to_contain_text("curvature b (along y)")


def test_the_exercise_names_the_mistake_and_marks_the_limit_as_diverging(page):
    open_learn(page, "lang=en&lesson=stability")
    box = page.locator("#learn-ex-stability")
    expect(box.locator(".exercise-question")).to_contain_text("½·(2·x² + 8·y²)")
    feedback = box.locator(".exercise-feedback")
    for answer, words in (
        ("0.125", "That is 1/λ_max"),
        ("0.25", "At η = 0.25 the steep direction's |1 − ηλ_max| is at least 1"),
    ):
        box.get_by_role("textbox").fill(answer)
        box.get_by_role("button", name="Check").click()
        expect(feedback).to_contain_text(words)
        expect(feedback).to_have_attribute("data-verdict", "wrong")
    box.get_by_role("textbox").fill("0.24")
    box.get_by_role("button", name="Check").click()
    expect(feedback).to_contain_text("Right: 0.25. Checked on the server: the limit is 2/λ_max")
    page.get_by_role("button", name="中文").click()
    box.get_by_role("textbox").fill("1")
    box.get_by_role("button", name="检查").click()
    expect(feedback).to_contain_text("这是 2/λ_min，是平的方向的上限")


def test_the_try_it_link_opens_the_cnn_tab_on_the_edge_of_stability_preset(page):
    open_learn(page, "lang=en&lesson=stability")
    settle(page)
    link = page.locator("#learn-try-stability a")
    expect(link).to_have_text("The CNN at the edge of stability")
    link.click()
    page.wait_for_function("() => window.gdvizCnn && window.gdvizCnn.state?.trainer.batch_size === 'full'")
    expect(page.locator("#cnn-preset")).to_have_value("edge_of_stability")
    expect(page.locator("#cnn-preset-hint")).to_contain_text("2/η = 20")
    expect(page).to_have_url(re.compile(r"lesson=stability"))
    assert page.evaluate("() => window.gdvizCnn.playing") is False
