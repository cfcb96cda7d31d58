"""The loss-landscape panel of the CNN tab, driven the way a person does: train, compute a landscape while the
training goes on, watch it fill in, read the contour, the projected path and the caption, switch to random
directions and back, cancel, and lose the connection mid-way. The server's own landscape messages, read off
the socket, are the reference for what the panel draws."""

from __future__ import annotations

import json
import math
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_cnn import cnn, wait_cnn, wait_steps

pytestmark = pytest.mark.browser

TRAINING = "/?play=0&tab=cnn&cnn.play=1&cnn.speed=30&lang=en"


def record_landscape(page) -> list[dict]:
    """Every cnn_landscape_* message the page receives, in order (appended as they come)."""
    got: list[dict] = []

    def on_socket(ws):
        def on_frame(payload):
            if isinstance(payload, str) and '"cnn_landscape' in payload[:40]:
                got.append(json.loads(payload))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return got


def watch_progress(page) -> None:
    """Keep every value the progress bar shows in window.progressSeen."""
    page.evaluate(
        """() => {
            const bar = document.getElementById('cnn-landscape-progress');
            window.progressSeen = [];
            new MutationObserver(() => window.progressSeen.push(Number(bar.getAttribute('aria-valuenow'))))
                .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
        }"""
    )


def plot(page, index: int) -> dict:
    """One trace of the plane plot as drawn: type, x, y and z (or their lengths' worth)."""
    return page.evaluate(
        """(i) => { const t = document.getElementById('cnn-landscape-plot').data[i];
            return { type: t.type, x: Array.from(t.x), y: Array.from(t.y), z: t.z ? Array.from(t.z) : null,
                     text: t.text ? Array.from(t.text) : null }; }""",
        index,
    )


def landscape(page) -> dict:
    return cnn(page, "landscape()")


def choose(page, plane: str, n: int) -> None:
    page.locator("#cnn-landscape-plane").get_by_role("button", name=plane).click()
    page.locator("#cnn-landscape-n").select_option(str(n))


def test_a_pca_landscape_fills_in_while_training_goes_on(page, results_dir):
    page.set_viewport_size({"width": 1280, "height": 800})
    messages = record_landscape(page)
    page.goto(TRAINING)
    wait_cnn(page)
    wait_steps(page, 40)
    card = page.locator("#cnn-landscape-card")
    card.scroll_into_view_if_needed()
    expect(page.locator("#cnn-landscape-status")).to_have_text("not computed yet")
    watch_progress(page)
    choose(page, "PCA of the path", 21)
    page.get_by_role("button", name="Compute", exact=True).click()
    expect(page.get_by_role("button", name="Cancel")).to_be_visible()
    steps_at_request = cnn(page, "steps")
    expect(page.locator("#cnn-landscape-status")).to_have_text(
        re.compile(r"^done: 21 × 21 grid in [\d.]+ s$"), timeout=30_000
    )

    # The bar advanced through the rows to 100 %, and the training went on meanwhile.
    seen = page.evaluate("() => window.progressSeen")
    assert seen[-1] == 100 and any(0 < v < 100 for v in seen), seen
    assert seen == sorted(seen)
    expect(page.locator("#cnn-landscape-percent")).to_have_text("100 %")
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    assert cnn(page, "steps") > steps_at_request

    (plane,) = [m for m in messages if m["type"] == "cnn_landscape_plane"]
    rows = {m["index"]: m["loss"] for m in messages if m["type"] == "cnn_landscape_row"}
    (line,) = [m for m in messages if m["type"] == "cnn_landscape_line"]
    assert sorted(rows) == list(range(21))
    # The contour: the full grid, its colour log10 of the server's losses.
    contour = plot(page, 0)
    assert contour["type"] == "contour"
    assert contour["x"] == plane["alphas"] and contour["y"] == plane["betas"]
    assert len(contour["z"]) == 21 and all(len(row) == 21 for row in contour["z"])
    for j in (0, 10, 20):
        assert contour["z"][j] == pytest.approx([math.log10(v) for v in rows[j]], rel=1e-12)
    # The path: every snapshot projected, from the start (step 0) to θ* at the origin.
    path = plane["plane"]["path"]
    drawn = plot(page, 1)
    assert drawn["x"] == path["alpha"] and drawn["y"] == path["beta"]
    assert len(drawn["x"]) == plane["snapshots"] == len(path["steps"]) > 3
    ends = plot(page, 2)
    assert ends["x"] == [path["alpha"][0], 0] and ends["y"] == [path["beta"][0], 0]
    assert ends["text"] == ["start", f"θ* · step {plane['plane']['center_step']}"]
    # The caption gives the explained variance, as the axis titles do.
    r1, r2 = plane["plane"]["explained_variance_ratio"]
    caption = page.locator(".cnn-landscape-caption")
    expect(caption).to_contain_text(re.compile(r"^PC1 explains \d+ %, PC2 [\d.]+ % of the path's variance"))
    assert f"PC1 explains {100 * r1:.0f} %" in caption.inner_text()
    titles = page.evaluate(
        "() => { const l = document.getElementById('cnn-landscape-plot').layout;"
        " return [l.xaxis.title.text, l.yaxis.title.text]; }"
    )
    assert titles[0] == f"α · PC1 ({100 * r1:.0f} %)" and titles[1].startswith("β · PC2 (")
    # The 1-D line: from the initial weights (t = 0) to θ* (t = 1) and beyond, marked.
    line_trace = page.evaluate("() => document.getElementById('cnn-landscape-line').data[0]")
    assert line_trace["x"] == line["t"] and len(line_trace["x"]) == 61
    notes = page.evaluate(
        "() => document.getElementById('cnn-landscape-line').layout.annotations.map(a => [a.x, a.text])"
    )
    assert notes == [[0, "initial"], [1, "now"]]
    x_title = page.evaluate("() => document.getElementById('cnn-landscape-line').layout.xaxis.title.text")
    assert x_title == f"t (0: step 0, 1: step {plane['plane']['center_step']})"

    # Hovering the contour gives the exact α, β and loss there.
    page.locator("#cnn-landscape-key").scroll_into_view_if_needed()
    box = page.locator("#cnn-landscape-plot .nsewdrag").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    expect(page.locator("#cnn-landscape-plot .hoverlayer")).to_contain_text(
        re.compile(r"α = .*β = .*loss = [\d.]+")
    )
    page.mouse.move(0, 0)
    # The training moves on past θ*: the panel says so, and offers to re-centre.
    expect(page.locator("#cnn-landscape-where")).to_contain_text("training has moved on to step")
    expect(page.get_by_role("button", name="Re-centre")).to_be_visible()
    # ... and where it is now is marked on the plane: the server's last projection of the current weights.
    page.wait_for_function("() => window.gdvizCnn.landscape().current !== null", timeout=10_000)
    current = landscape(page)["current"]
    points = [m for m in messages if m["type"] == "cnn_landscape_point" and m["step"] == current["step"]]
    assert points and points[-1]["job"] == plane["job"] and current["step"] > plane["plane"]["center_step"]
    assert (current["alpha"], current["beta"]) == (points[-1]["alpha"], points[-1]["beta"])
    page.wait_for_function(
        "() => document.getElementById('cnn-landscape-plot').data.some(t => t.name === 'current')"
    )
    marker = page.evaluate(
        "() => { const d = document.getElementById('cnn-landscape-plot').data;"
        " const t = d.find(t => t.name === 'current'); return { x: t.x[0], y: t.y[0], text: t.text[0] }; }"
    )
    assert marker["text"].startswith("now · step ")
    expect(page.locator("#cnn-landscape-where")).to_contain_text(re.compile(r"Step \d+ is at α = \S+, β = "))
    assert math.isfinite(marker["x"]) and math.isfinite(marker["y"])
    page.screenshot(path=str(results_dir / "cnn-landscape-1280x800.png"))

    # The 3-D view: the same grid as a surface, the path lifted onto it (a height at every snapshot).
    page.locator("#cnn-landscape-view").get_by_role("button", name="3-D").click()
    page.wait_for_function("() => document.getElementById('cnn-landscape-plot').data[0].type === 'surface'")
    lifted = plot(page, 1)
    assert len(lifted["z"]) == len(path["steps"]) and all(isinstance(z, float) for z in lifted["z"])
    page.wait_for_timeout(300)
    card.screenshot(path=str(results_dir / "cnn-landscape-3d.png"))
    page.locator("#cnn-landscape-view").get_by_role("button", name="Contour").click()
    page.wait_for_function("() => document.getElementById('cnn-landscape-plot').data[0].type === 'contour'")

    # A phone: the panel in one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_function("() => document.documentElement.scrollWidth === window.innerWidth", timeout=5_000)
    # The plots follow their new width (their resize is asynchronous).
    page.wait_for_function(
        "() => document.querySelector('#cnn-landscape-plot .main-svg').getAttribute('width') <= 390",
        timeout=5_000,
    )
    card.scroll_into_view_if_needed()
    for selector in (
        "#cnn-landscape-card",
        "#cnn-landscape-plot",
        "#cnn-landscape-line",
        "#cnn-landscape-compute",
    ):
        b = page.locator(selector).bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= 390, selector
    assert page.locator("#cnn-landscape-plot").bounding_box()["width"] > 300
    card.screenshot(path=str(results_dir / "cnn-landscape-390x844.png"))


def test_random_directions_say_the_path_is_not_meaningful_and_pca_is_one_click_away(page):
    page.goto(TRAINING)
    wait_cnn(page)
    wait_steps(page, 20)
    choose(page, "Random", 21)
    page.locator("#cnn-landscape-seed").fill("7")
    page.locator("#cnn-landscape-seed").press("Tab")
    page.get_by_role("button", name="Compute", exact=True).click()
    warning = page.locator(".cnn-landscape-warning")
    expect(warning).to_contain_text("Random directions (seed 7)", timeout=30_000)
    expect(warning).to_contain_text("so the path drawn on this plane is not meaningful")
    expect(page.locator(".cnn-landscape-caption")).to_have_count(0)
    assert landscape(page)["kind"] == "random"
    assert page.evaluate("() => document.getElementById('cnn-landscape-plot').data[1].line.dash") == "dot"

    warning.get_by_role("button", name="Use PCA").click()
    expect(page.locator(".cnn-landscape-caption")).to_contain_text("PC1 explains", timeout=30_000)
    expect(page.locator(".cnn-landscape-warning")).to_have_count(0)
    expect(
        page.locator("#cnn-landscape-plane").get_by_role("button", name="PCA of the path")
    ).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#cnn-landscape-status")).to_have_text(re.compile("^done"), timeout=30_000)
    assert landscape(page)["kind"] == "pca" and landscape(page)["n"] == 21


def test_a_large_grid_cancelled_stays_cancelled_short_of_100_percent_and_training_goes_on(page):
    page.goto(TRAINING)
    wait_cnn(page)
    wait_steps(page, 10)
    choose(page, "Random", 51)
    page.get_by_role("button", name="Compute", exact=True).click()
    page.wait_for_function("() => window.gdvizCnn.landscape().progress > 0", timeout=30_000)
    page.get_by_role("button", name="Cancel").click()
    status = page.locator("#cnn-landscape-status")
    expect(status).to_have_text(re.compile(r"^cancelled after [\d.]+ s$"), timeout=30_000)
    assert int(page.locator("#cnn-landscape-progress").get_attribute("aria-valuenow")) < 100
    assert landscape(page)["rows"] < 51
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    # What was done stays drawn; the training never stopped.
    assert page.evaluate("() => document.getElementById('cnn-landscape-plot').data[0].z.length") == 51
    n = cnn(page, "steps")
    wait_steps(page, n + 5)

    # A reset replaces the weights the landscape was drawn through: the panel says so.
    page.get_by_role("button", name="Reset").click()
    expect(page.locator("#cnn-landscape-where")).to_contain_text("These weights were replaced")


def test_pca_before_the_path_exists_is_refused_inline_with_a_way_out(page):
    page.goto("/?play=0&tab=cnn&lang=en")
    wait_cnn(page)
    page.get_by_role("button", name="Compute", exact=True).click()
    error = page.locator(".cnn-landscape-error")
    expect(error).to_contain_text("A PCA plane needs at least 3 saved weights along the path")
    expect(page.locator("#cnn-landscape-status")).to_have_text("not started")
    expect(page.locator(".toast-error")).to_have_count(0)  # in the panel, not as a toast
    page.locator("#cnn-landscape-n").select_option("21")
    error.get_by_role("button", name="Use random directions").click()
    expect(page.locator("#cnn-landscape-status")).to_have_text(re.compile("^done"), timeout=30_000)
    assert landscape(page)["kind"] == "random"
    expect(page.locator(".cnn-landscape-error")).to_have_count(0)


def test_a_dropped_socket_stops_the_landscape_and_it_can_be_computed_again(page):
    sockets = []

    def through(ws):
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/cnn"), through)
    page.goto(TRAINING)
    wait_cnn(page)
    wait_steps(page, 10)
    choose(page, "Random", 51)
    page.get_by_role("button", name="Compute", exact=True).click()
    page.wait_for_function("() => window.gdvizCnn.landscape().progress > 0", timeout=30_000)
    sockets[0][1].close()
    status = page.locator("#cnn-landscape-status")
    expect(status).to_have_text(re.compile(r"^stopped: the connection dropped"))
    wait_cnn(page)  # resumed
    expect(page.get_by_role("button", name="Cancel")).to_be_hidden()
    page.locator("#cnn-landscape-n").select_option("21")
    page.get_by_role("button", name="Re-centre").click()
    expect(status).to_have_text(re.compile("^done: 21 × 21"), timeout=30_000)
    assert landscape(page)["n"] == 21
