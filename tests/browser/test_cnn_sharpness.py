"""The sharpness on the CNN tab, driven the way a person does: pick the "Edge of stability" preset, train
briefly, and read the loss chart's sharpness panel (λ_max with the optimizer's threshold line, on the same
step axis), its caption and the noise-scale note beside the batch size. The server's own cnn_sharpness
messages, read off the socket, are the reference for what is drawn."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from app.cnn.trainer import TrainerConfig
from tests.browser.helpers import open_blank
from tests.browser.test_cnn import cnn, wait_cnn

pytestmark = pytest.mark.browser


def record(page, kind: str) -> list[dict]:
    """Every message of this type the page receives, in order (appended as they come)."""
    got: list[dict] = []
    marker = f'"type":"{kind}"'

    def on_socket(ws):
        def on_frame(payload):
            if isinstance(payload, str) and marker in payload:
                got.append(json.loads(payload))

        ws.on("framereceived", on_frame)

    page.on("websocket", on_socket)
    return got


def traces(page, div: str) -> dict[str, dict]:
    """The chart's traces as drawn, by their key (meta): x, y and the y axis."""
    return page.evaluate(
        """(id) => Object.fromEntries(document.getElementById(id).data.map((t) =>
            [t.meta, { x: Array.from(t.x), y: Array.from(t.y), yaxis: t.yaxis, name: t.name }]))""",
        div,
    )


@pytest.mark.timeout(240)  # full-batch steps: ~30 ms each on an idle host, several times that on a busy one
def test_the_edge_of_stability_preset_plots_the_sharpness_against_two_over_eta(page, watch):
    sent = record(page, "cnn_sharpness")
    page.goto("/?play=0&tab=cnn&cnn.speed=100&lang=en")
    wait_cnn(page)
    sharp_note, noise_note = page.locator("#cnn-sharp-note"), page.locator("#cnn-noise-note")
    expect(sharp_note).to_be_hidden()  # measuring is off by default
    assert "sharpness" not in str(traces(page, "cnn-loss-chart").keys())

    page.locator("#cnn-preset").select_option("edge_of_stability")
    page.wait_for_function(
        "() => { const t = window.gdvizCnn.state.trainer; return t.batch_size === 'full'"
        " && t.optimizer === 'sgd' && t.sharpness_every === 10 && t.hyperparameters.lr === 0.1; }"
    )
    expect(page.locator("#cnn-preset-hint")).to_contain_text("2/η = 20")
    expect(page.locator("#cnn-batch")).to_have_value("full")
    expect(page.locator("#cnn-sharp-every")).to_have_value("10")
    expect(sharp_note).to_contain_text("every 10 steps")
    expect(noise_note).to_contain_text("every 50 steps")
    # The share URL follows (written a moment after the change, as every edit is)
    page.wait_for_function(
        "() => ['cnn.batch=full', 'cnn.sharp=10'].every((p) => location.search.includes(p))"
    )

    page.get_by_role("button", name="Train").click()
    page.wait_for_function("() => window.gdvizCnn.sharpness().step.length >= 3", timeout=180_000)
    page.get_by_role("button", name="Pause").click()
    # Drawn at the next tick: every measurement the store holds is on the chart.
    page.wait_for_function(
        """() => { const n = window.gdvizCnn.sharpness().step.length;
            const t = document.getElementById('cnn-loss-chart').data
                .find((d) => String(d.meta).startsWith('sharpness'));
            return t && t.x.length === n; }"""
    )
    drawn = traces(page, "cnn-loss-chart")
    line = drawn["sharpness:sharpness"]
    edge = drawn["threshold"]
    assert line["yaxis"] == edge["yaxis"] == "y3" and line["name"] == "λ_max(H)"
    # The values drawn are the server's, step for step.
    server = sent[: len(line["x"])]
    assert line["x"] == [m["step"] for m in server] == list(range(10, 10 * len(server) + 1, 10))
    assert line["y"] == [m["lambda_max"] for m in server]
    assert edge["x"] == line["x"] and edge["y"] == [m["threshold"] for m in server] == [20.0] * len(server)
    assert all(m["quantity"] == "sharpness" and m["samples"] == 512 for m in server)
    # Its own panel under the loss, on the loss chart's step axis, the threshold inside its range.
    layout = page.evaluate(
        """() => { const l = document.getElementById('cnn-loss-chart').layout;
            return { x: l.xaxis.anchor, y3: l.yaxis3.domain, y: l.yaxis.domain, range: l.yaxis3.range }; }"""
    )
    assert layout["x"] == "y3" and layout["y3"][1] < layout["y"][0]
    assert layout["range"][0] == 0 and layout["range"][1] > 20
    last = cnn(page, "sharpness()")["last"]
    expect(sharp_note).to_be_visible()
    expect(sharp_note).to_contain_text("λ_max(H) = ")
    expect(sharp_note).to_contain_text(f"(step {last['step']})")
    expect(sharp_note).to_contain_text("threshold 20")
    assert "Hessian-vector products on 512 digits" in sharp_note.get_attribute("title")
    assert "λ_max(H) < 2/η − λ" in sharp_note.get_attribute("title")

    # The same in Chinese.
    page.get_by_role("button", name="中文").click()
    expect(sharp_note).to_contain_text("阈值 20")
    page.wait_for_function(
        "() => document.getElementById('cnn-loss-chart').layout.yaxis3.title.text === '锐度'"
    )
    page.wait_for_timeout(300)
    assert watch.foreign == []  # console errors fail the test by themselves (conftest.py)


def test_the_url_carries_full_batches_and_the_measurements_and_the_server_takes_every_choice(page):
    open_blank(page)
    state = {"tab": "cnn", "cnn.batch": "full", "cnn.sharp": 10, "cnn.noise": 50, "cnn.samples": 256}
    query, back, fallback = page.evaluate(
        """async (state) => {
            const m = await import('/static/js/state.js');
            const c = await import('/static/js/cnn/config.js');
            const query = m.writeQuery(state);
            const odd = m.readQuery('?cnn.batch=half&cnn.sharp=x');
            return [query, m.readQuery(query),
                    [c.normalBatch(odd['cnn.batch']), c.normalEvery(-3), c.normalSamples(99999)]];
        }""",
        state,
    )
    assert back == state
    assert "cnn.batch=full" in query and "cnn.sharp=10" in query and "cnn.samples=256" in query
    assert fallback == [64, 0, 2048]
    choices = page.evaluate(
        """async () => {
            const c = await import('/static/js/cnn/config.js');
            return { batch: c.BATCH_SIZES, sharp: c.SHARPNESS_EVERY, noise: c.NOISE_EVERY, samples: c.SAMPLES,
                     presets: c.PRESETS.map((p) => c.presetTrainer(p, c.DEFAULT_TRAINER)) };
        }"""
    )
    for batch in choices["batch"]:
        TrainerConfig(batch_size=batch)
    for every in choices["sharp"] + choices["noise"]:
        TrainerConfig(sharpness_every=every, noise_scale_every=every)
    for samples in choices["samples"]:
        TrainerConfig(sharpness_samples=samples)
    for trainer in choices["presets"]:  # what a preset makes of the defaults, the server takes
        TrainerConfig.model_validate({**trainer, "hyperparameters": {}})
    assert choices["presets"][-1]["batch_size"] == "full" and choices["presets"][-1]["sharpness_every"] == 10
