"""Data problems in the page: batch, stochastic and mini-batch descent on a real data set, its scatter plot,
live batch sizes, the data set's parameters, and the "Batch vs SGD vs mini-batch" comparison and its URL."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import records, runners, settled_steps, wait_steps

pytestmark = pytest.mark.browser

N = 200  # samples in linreg's default data set
STEPS = 120


def path_length(page, runner_id: str, steps: int) -> float:
    points = [r["point"] for r in records(page, runner_id, 0, steps + 1)]
    assert len(points) == steps + 1
    return sum(math.dist(a, b) for a, b in zip(points, points[1:], strict=False))


def open_comparison(gdviz, page) -> list[dict]:
    gdviz("?play=0&speed=60&lang=en")
    page.get_by_role("button", name="Batch vs SGD vs mini-batch").click()
    page.wait_for_function(
        "() => window.gdviz.surface === 'linreg' && window.gdviz.runners().length === 3"
        " && window.gdviz.runners().every(r => r.confirmed && r.steps > 0)"
    )
    return runners(page)


def test_the_comparison_races_full_stochastic_and_minibatch_and_its_url_restores_it(
    gdviz, page, watch, results_dir
):
    page.set_viewport_size({"width": 1280, "height": 800})
    full, stochastic, minibatch = open_comparison(gdviz, page)
    # Same optimizer, learning rate and start; three batches.
    assert {r["optimizer"] for r in (full, stochastic, minibatch)} == {"sgd"}
    assert full["hyperparameters"]["lr"] == stochastic["hyperparameters"]["lr"] == 0.1
    assert full["start"] == stochastic["start"] == minibatch["start"]
    assert [r["batch"]["mode"] for r in (full, stochastic, minibatch)] == ["full", "stochastic", "minibatch"]
    assert minibatch["batch"]["size"] == 16
    for i in range(3):
        wait_steps(page, STEPS + 1, runner=i)

    # The server saw each batch: all N samples, one, sixteen (an epoch's last batch holds the rest, 8).
    sizes = [{r["extras"]["batch_size"][0] for r in records(page, r["id"], 0, STEPS)} for r in runners(page)]
    assert sizes == [{N}, {1}, {16, N % 16}]
    # Three distinct paths; the stochastic one wanders: longer over the same steps than full batch's.
    lengths = [path_length(page, r["id"], STEPS) for r in runners(page)]
    ends = [records(page, r["id"], STEPS, STEPS + 1)[0]["point"] for r in runners(page)]
    assert len({tuple(e) for e in ends}) == 3
    assert lengths[1] > 1.5 * lengths[0], lengths
    # The loss chart compares the full-batch loss of every runner, and says so.
    expect(page.locator("#loss-title")).to_have_text("Full-batch loss")
    full_losses = [r["extras"]["full_loss"][0] for r in records(page, stochastic["id"], 0, 50)]
    chart = page.evaluate("() => document.getElementById('loss-chart').data[1].y.slice(0, 50)")
    assert chart == pytest.approx(full_losses, rel=1e-12)
    # Counters on the cards; the noise of the selected (mini-batch) runner next to its prediction.
    expect(page.locator('[data-runner="r2"] .runner-status')).to_contain_text("epoch")
    expect(page.locator("#batch-noise-body")).to_contain_text("16 / 200")
    page.screenshot(path=str(results_dir / "data-1280x800.png"))

    # Its URL restores it (on a phone, which has room for everything without scrolling sideways).
    page.wait_for_function("() => location.search.includes('batch=16')")
    query = page.evaluate("() => location.search")
    written = page.evaluate("() => decodeURIComponent(location.search)")
    assert "surface=linreg" in written
    assert ";batch=1&" in written and ";batch=16" in written and "sel=2" in written
    page.set_viewport_size({"width": 390, "height": 844})
    gdviz(query)
    after = runners(page)
    assert [(r["optimizer"], r["hyperparameters"], r["batch"]) for r in after] == [
        (r["optimizer"], r["hyperparameters"], r["batch"]) for r in (full, stochastic, minibatch)
    ]
    for a, b in zip(after, (full, stochastic, minibatch), strict=True):
        assert a["start"] == pytest.approx(b["start"], rel=1e-5)  # the URL keeps 6 digits
    assert page.evaluate("() => window.gdviz.selected") == 2
    expect(page.locator("#surface-select")).to_have_value("linreg")
    expect(page.locator('[data-runner="r3"] .batch-number')).to_have_value("16")
    wait_steps(page, 60, runner=1)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") == 0
    expect(page.locator("#data-card")).to_be_visible()
    page.screenshot(path=str(results_dir / "data-390x844.png"), full_page=True)
    assert watch.foreign == []


def test_the_scatter_line_follows_theta_and_the_batch_size_changes_live(gdviz, page):
    gdviz("?surface=linreg&runner=sgd@-0.3,3;lr=0.05;batch=16&speed=40&play=0&lang=en")
    expect(page.locator("#data-card")).to_be_visible()
    assert page.evaluate("() => document.getElementById('data-chart').data[0].x.length") == N
    page.wait_for_function("() => window.gdviz.scatter().lines.length === 1")
    at_start = page.evaluate("() => window.gdviz.scatter().lines[0]")
    assert (at_start["w"], at_start["b"]) == (-0.3, 3)
    for _ in range(3):
        page.locator("#step").click()
    # Records 0, 1, 2: the head (and the line) is θ after two updates.
    page.wait_for_function("() => window.gdviz.scatter().lines[0].step === 2")
    moved = page.evaluate("() => window.gdviz.scatter().lines[0]")
    theta = records(page, "r1", 2, 3)[0]["point"]
    assert [moved["w"], moved["b"]] == theta
    assert math.dist(theta, [-0.3, 3]) > 0.05

    # Running, the batch size changes from the very next step: the server reports it.
    page.locator("#play").click()
    wait_steps(page, 12)
    slider = page.locator('[data-runner="r1"] .batch-slider')
    assert slider.input_value() == "10"  # sizes 2, 3, 4, 5, 6, 7, 8, 10, 11, 13, 16, … in steps of 2^¼
    slider.fill("14")  # four notches up: 16 → 19 → 23 → 27 → 32, as a drag would (an input event)
    expect(page.locator('[data-runner="r1"] .batch-number')).to_have_value("32")
    page.wait_for_function("() => window.gdviz.runners()[0].batch.size === 32")
    page.wait_for_function(
        "() => window.gdviz.records('r1', 0, 1e6).filter(r => r.extras.batch_size[0] === 32).length >= 5"
    )
    taken = records(page, "r1")
    sizes = [r["extras"]["batch_size"][0] for r in taken]
    epochs = [r["extras"]["epoch"][0] for r in taken]
    first = sizes.index(32)
    assert 16 in sizes[:first] and set(sizes[first:]) >= {32}
    # Every batch has the size asked for when it was drawn, but an epoch's last one, which takes the rest.
    for j, k in enumerate(sizes[:-1]):
        assert k == (16 if j < first else 32) or epochs[j + 1] == epochs[j] + 1, (j, k)
    # Live: the same run went on, no step lost or repeated.
    steps = [r["step"] for r in records(page, "r1")]
    assert steps == list(range(len(steps)))

    page.locator('[data-runner="r1"] .runner-batch').select_option("stochastic")
    page.wait_for_function(
        "() => window.gdviz.records('r1', 0, 1e6).filter(r => r.extras.batch_size[0] === 1).length >= 5"
    )
    page.wait_for_function("() => location.search.includes('batch=1&')")


def test_a_data_set_parameter_regenerates_the_data_and_the_surface(gdviz, page):
    gdviz("?surface=linreg&play=0&lang=en")
    page.wait_for_function("() => window.gdviz.scatter().n === 200")
    grid = page.evaluate("() => document.getElementById('contour').data[0].z[10][10]")
    field = page.locator('[data-param="n"] input')
    field.fill("50")
    field.press("Enter")
    page.wait_for_function("() => window.gdviz.scatter().n === 50")
    page.wait_for_function("() => location.search.includes('data=n:50')")
    assert page.evaluate("() => document.getElementById('contour').data[0].z[10][10]") != grid
    assert page.evaluate("() => document.getElementById('data-chart').data[0].x.length") == 50
    # A value out of range is clamped to the nearest one the data set takes.
    field.fill("1")
    field.press("Enter")
    page.wait_for_function("() => window.gdviz.scatter().n === 4")
    expect(field).to_have_value("4")


def test_the_export_carries_the_batch_and_the_full_batch_numbers(gdviz, page):
    full, stochastic, minibatch = open_comparison(gdviz, page)
    for i in range(3):
        wait_steps(page, 5, runner=i)
    page.get_by_role("button", name="Pause").click()
    settled_steps(page)
    steps = min(r["steps"] for r in runners(page))
    page.get_by_role("button", name="Export ▾").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Trajectories (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text("utf-8"))))
    sgd = [row for row in rows if row["runner"] == stochastic["id"]][:steps]
    expected = records(page, stochastic["id"], 0, steps)
    assert [float(row["full_loss"]) for row in sgd] == [r["extras"]["full_loss"][0] for r in expected]
    assert [float(row["full_grad_x"]) for row in sgd] == [r["extras"]["full_gradient"][0] for r in expected]
    assert {row["batch_size"] for row in sgd} == {"1"}
    assert float(sgd[0]["loss"]) != float(sgd[0]["full_loss"])  # one sample's loss, not the mean
    page.get_by_role("button", name="Export ▾").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Trajectories + state (JSON)").click()
    data = json.loads(Path(download.value.path()).read_text("utf-8"))
    batches = [r["batch"]["mode"] for r in data["runners"]]
    assert batches == ["full", "stochastic", "minibatch"]
    assert data["runners"][2]["extras"]["batch_size"][:2] == [[16.0], [16.0]]
