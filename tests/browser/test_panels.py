"""The panels around the race: custom surfaces, the basin and stability maps, the runner cards, export."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import records, runners, settled_steps

pytestmark = pytest.mark.browser


def test_a_custom_expression_error_is_shown_next_to_the_box(gdviz, page, expect_console):
    # The REST API answers the rejected expression with a 422, which Chromium logs.
    expect_console(r"/api/surfaces/grid\S*:\d+:\d+: Failed to load resource: .* 422 ")
    gdviz("?play=0")
    page.locator("#custom-surface summary").click()
    box = page.locator("#custom-expression")
    box.fill("x^2 + 3*sin(y")
    box.press("Enter")
    error = page.locator("#custom-error")
    expect(error).to_be_visible()
    expect(page.locator("#custom-error-message")).to_have_text(
        "column 12: syntax error at column 12: '(' was never closed"
    )
    assert page.locator("#custom-error-source").inner_text() == "x^2 + 3*sin(y\n           ^"
    assert page.evaluate("() => window.gdviz.surface") == "rosenbrock"

    box.fill("x^2 + 3*sin(y)")
    box.press("Enter")
    expect(error).to_be_hidden()
    page.wait_for_function("() => window.gdviz.surface === 'custom'")
    page.wait_for_function("() => decodeURIComponent(location.search).includes('expr=x^2 + 3*sin(y)')")


def test_basin_map_overlay_and_legend(gdviz, page):
    gdviz("?surface=himmelblau&play=0")
    page.get_by_label("Basins").check()
    legend = page.locator("#basin-legend")
    expect(legend).to_be_visible(timeout=15_000)
    expect(legend).to_contain_text("min 1 (3, 2)")
    expect(legend).to_contain_text("diverged")
    page.wait_for_function("() => location.search.includes('basins=1')")


def test_a_stability_map_cell_sets_the_runners_lr_and_momentum(gdviz, page):
    gdviz("?surface=quadratic_bowl&runner=momentum@-1.5,1.2;lr=0.1;momentum=0.9&play=0")
    page.get_by_role("tab", name="Stability map").click()
    cells = page.locator("#stability-chart .hm image, #stability-chart .hm")
    expect(cells.first).to_be_visible(timeout=15_000)
    plot = page.locator("#stability-chart .nsewdrag").bounding_box()
    # The lower left corner: the smallest learning rate and momentum.
    page.mouse.click(plot["x"] + 4, plot["y"] + plot["height"] - 4)
    page.wait_for_function("() => window.gdviz.runners()[0].hyperparameters.lr < 0.01")
    hp = runners(page)[0]["hyperparameters"]
    assert hp["momentum"] < 0.1
    card = page.locator('[data-runner="r1"]')
    expect(card.locator('[data-hp="lr"] input[type="number"]')).to_have_value(str(hp["lr"]))


def test_add_duplicate_remove_and_change_optimizer(gdviz, page):
    gdviz("?play=0")
    # Icon buttons say which runner they act on (a screen reader hears the name, not the icon).
    expect(page.locator('[data-runner="r3"] .icon-duplicate')).to_have_attribute(
        "aria-label", "Duplicate runner #3 (Adam)"
    )
    expect(page.locator('[data-runner="r2"] .icon-remove')).to_have_attribute(
        "aria-label", "Remove runner #2 (Momentum)"
    )
    page.locator('[data-runner="r3"] .icon-duplicate').click()
    page.wait_for_function("() => window.gdviz.runners().length === 5 && window.gdviz.runners()[4].confirmed")
    copy = runners(page)[4]
    assert copy["optimizer"] == "adam" and copy["hyperparameters"]["lr"] == 0.05
    assert len({r["color"] for r in runners(page)}) == 5
    page.get_by_role("button", name="+ Add runner").click()
    page.wait_for_function("() => window.gdviz.runners().length === 6")
    expect(page.get_by_role("button", name="+ Add runner")).to_be_disabled()  # six at most
    page.locator('[data-runner="r2"] .icon-remove').click()
    page.wait_for_function("() => window.gdviz.runners().length === 5")
    page.locator('[data-runner="r1"] .runner-pick').click()  # select it: its card shows every hyperparameter
    page.wait_for_function("() => window.gdviz.selected === 0")
    page.locator('[data-runner="r1"] select').select_option("nadam")
    page.wait_for_function(
        "() => window.gdviz.runners()[0].optimizer === 'nadam' && window.gdviz.runners()[0].hpVersion >= 1"
    )
    # The selected card now shows NAdam's own hyperparameters, from GET /api/optimizers.
    card = page.locator('[data-runner="r1"]')
    expect(card.locator('[data-hp="momentum_decay"]')).to_be_visible()
    expect(card.locator('[data-hp="betas"]')).to_have_count(2)
    expect(card.locator('[data-hp="decoupled_weight_decay"] input[type="checkbox"]')).not_to_be_checked()


def test_breakdown_shows_adams_state_and_terms(gdviz, page):
    gdviz("?sel=2&play=0")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.gdviz.runners()[2].steps === 1")
    body = page.locator("#breakdown-body")
    for name in ("m", "v", "t", "m̂", "v̂"):
        expect(body.get_by_role("rowheader", name=name, exact=True)).to_be_visible()
    record = records(page, "r3", 0, 1)[0]
    assert set(record["terms"]) >= {"m_hat", "v_hat", "denominator", "per_coordinate_lr"}


def test_export_csv_and_json_from_the_store(gdviz, page):
    gdviz("?play=0")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => window.gdviz.runners().every(r => r.steps === 2)")
    assert settled_steps(page) == 2
    page.get_by_role("button", name="Export ▾").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Trajectories (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    assert len(rows) == 4 * 2
    assert rows[0]["runner"] == "r1" and rows[0]["step"] == "0" and float(rows[0]["x"]) == -1.2
    page.get_by_role("button", name="Export ▾").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Trajectories + state (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text("utf-8"))
    adam = data["runners"][2]
    assert (
        adam["optimizer"] == "adam" and len(adam["points"]) == 2 and adam["state"]["step"] == [[1.0], [2.0]]
    )


def test_a_new_surface_restarts_the_race_and_its_loss_chart(gdviz, page):
    gdviz("?play=1&speed=60")
    page.wait_for_function("() => window.gdviz.runners()[0].steps > 60")
    page.locator("#surface-select").select_option("quadratic_bowl")
    page.wait_for_function("() => window.gdviz.surface === 'quadratic_bowl'")
    page.get_by_role("button", name="Pause").click()
    settled_steps(page)
    # Every runner restarted at the bowl's default start; the loss chart holds the new run only.
    assert all(r["start"] == [-1.5, 1.2] and r["firstStep"] == 0 for r in runners(page))
    page.wait_for_function(
        """() => {
            const data = document.getElementById('loss-chart').data;
            const steps = window.gdviz.runners()[0].steps;
            return data.length === 4 && data[0].x.length === steps && data[0].y[0] === 3.69;
        }"""
    )
