"""Driving the live race the way a person does: play, drag a slider mid-run, click the contour, keys."""

from __future__ import annotations

import math
import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import click_data_point, records, runners, settled_steps, wait_steps

pytestmark = pytest.mark.browser

ONE_SGD = "?surface=quadratic_bowl&runner=sgd@-1.5,1.2;lr=0.01&speed=20&play=0"


def test_play_grows_the_drawn_path(gdviz, page):
    gdviz("?play=0")
    assert all(r["steps"] == 0 for r in runners(page))
    blank = page.evaluate("() => document.getElementById('overlay-lines').toDataURL()")
    page.get_by_role("button", name="Play").click()
    wait_steps(page, 20)
    grown = runners(page)
    assert all(r["steps"] >= 20 for r in grown)
    # The path is drawn: the canvas changed, and the first runner's points left its start.
    assert page.evaluate("() => document.getElementById('overlay-lines').toDataURL()") != blank
    first = records(page, grown[0]["id"], 0, 1)[0]
    last = records(page, grown[0]["id"], grown[0]["steps"] - 1)[0]
    assert first["point"] == pytest.approx(grown[0]["start"])
    assert math.dist(first["point"], last["point"]) > 0.01
    expect(page.locator("#play-label")).to_have_text("Pause")


def test_moving_the_lr_slider_mid_run_changes_the_step_the_server_takes(gdviz, page):
    gdviz(ONE_SGD)
    page.get_by_role("button", name="Play").click()
    wait_steps(page, 8)
    slider = page.locator('[data-runner] [data-hp="lr"] input[type="range"]')
    box = slider.bounding_box()
    page.mouse.click(box["x"] + 0.6 * box["width"], box["y"] + box["height"] / 2)  # log scale: ≈ 0.06
    new_lr = float(page.locator('[data-runner] [data-hp="lr"] input[type="number"]').input_value())
    assert 0.03 < new_lr < 0.2
    page.wait_for_function("() => window.gdviz.runners()[0].hpVersion >= 1")
    runner = runners(page)[0]
    assert runner["hyperparameters"]["lr"] == pytest.approx(new_lr)
    page.wait_for_function(
        "(v) => window.gdviz.records('r1', 0, 1e6).filter(r => r.hpVersion >= v).length >= 5",
        arg=runner["hpVersion"],
    )
    before = [r for r in records(page, "r1") if r["hpVersion"] == 0]
    after = [r for r in records(page, "r1") if r["hpVersion"] == runner["hpVersion"]]
    assert len(before) >= 8 and len(after) >= 5
    # Plain gradient descent: |Δθ| = η·‖∇J‖, with the η each step was taken with.
    for lr, steps in ((0.01, before), (new_lr, after)):
        for r in steps:
            assert math.hypot(*r["delta"]) == pytest.approx(lr * math.hypot(*r["gradient"]), rel=1e-9)
    # The steps really are consecutive: the change applied from one step to the next.
    assert after[0]["step"] > before[-1]["step"]


def test_click_on_the_contour_moves_the_start(gdviz, page):
    gdviz("?play=0")
    click_data_point(page, 0.5, 0.5)
    page.wait_for_function(
        "() => window.gdviz.runners().every(r => Math.hypot(r.start[0] - 0.5, r.start[1] - 0.5) < 0.03)"
    )
    start = runners(page)[0]["start"]
    page.keyboard.press("ArrowRight")  # one step: its record begins where the click put the runner
    wait_steps(page, 1)
    assert records(page, "r1", 0, 1)[0]["point"] == pytest.approx(start, abs=1e-12)

    # Shift-click: the selected runner (#1) only.
    click_data_point(page, 1.0, 2.0, shift=True)  # top right: the runners' legend is at the top left
    page.wait_for_function(
        "() => Math.hypot(...window.gdviz.runners()[0].start.map((v, i) => v - [1, 2][i])) < 0.03"
    )
    others = runners(page)[1:]
    assert all(r["start"] == pytest.approx(start) for r in others)


def test_keyboard_space_arrow_and_r(gdviz, page):
    gdviz("?play=0&speed=30")
    page.locator(".brand").click()  # focus on the page, not on a control
    page.keyboard.press(" ")
    expect(page.locator("#play-label")).to_have_text("Pause")
    wait_steps(page, 5)
    page.keyboard.press(" ")
    expect(page.locator("#play-label")).to_have_text("Play")
    n = settled_steps(page)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("(n) => window.gdviz.runners()[0].steps === n + 1", arg=n)
    assert settled_steps(page) == n + 1
    page.keyboard.press("r")
    page.wait_for_function("() => window.gdviz.runners().every(r => r.steps === 0)")

    # Typing in a text box is typing, not a command.
    page.locator("#custom-surface summary").click()
    page.locator("#custom-expression").press_sequentially("x r ")
    assert page.evaluate("() => window.gdviz.playing") is False
    expect(page.locator("#custom-expression")).to_have_value("x r ")


def test_a_diverging_runner_says_why_and_where(gdviz, page):
    gdviz("?surface=quadratic_bowl&runner=sgd@-1.5,1.2;lr=5&runner=sgd@-1.5,1.2;lr=0.1&speed=60&play=1")
    status = page.locator('[data-runner="r1"] .runner-status')
    expect(status).to_have_attribute("data-kind", "diverged", timeout=15_000)
    text = status.inner_text()
    assert text.startswith("diverged at step ") and "learning rate η = 5 is too large" in text
    assert runners(page)[0]["status"] == "diverged"
    assert runners(page)[1]["status"] == "running"


def test_a_dropped_socket_reconnects_and_resumes_the_race(gdviz, page):
    sockets = []

    def through(ws):
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws"), through)
    gdviz("?play=1&speed=40")
    wait_steps(page, 10)
    _, server = sockets[0]
    server.close()  # the server side drops; the page must notice, back off and come back
    expect(page.locator("body")).to_have_attribute("data-connection", "reconnecting")
    page.wait_for_function("() => window.gdviz.connection === 'live'")
    assert len(sockets) == 2 and "resume=" in sockets[1][0].url
    before = runners(page)[0]["steps"]
    wait_steps(page, before + 10)
    # The same session went on: the trail kept its first steps, none was lost or repeated.
    runner = runners(page)[0]
    assert runner["firstStep"] == 0
    steps = [r["step"] for r in records(page, runner["id"])]
    assert steps == list(range(len(steps)))
    expect(page.locator("#connection-text")).to_have_text("live")
