"""The CNN tab, driven the way a person does: open the tab, train, change the network and the learning rate
live, share a link, and read what is drawn (window.gdvizCnn is the tab's read-only hook)."""

from __future__ import annotations

import json
import re
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pydantic import TypeAdapter
from websockets.sync.client import connect

from app.cnn.models import ModelConfig
from app.cnn.schedules import Schedule
from app.descent.optimizers import OPTIMIZERS
from tests.browser.helpers import open_blank

pytestmark = pytest.mark.browser

SHARED = (
    "?tab=cnn&cnn.net=mlp&cnn.depth=3&cnn.width=32&cnn.act=tanh&cnn.bn=1&cnn.dropout=0.2&cnn.init=xavier"
    "&cnn.opt=momentum;lr=0.02;momentum=0.8&cnn.batch=32&cnn.sched=step;gamma=0.5;every=50"
    "&cnn.speed=20&cnn.seed=3&lang=en"
)


def cnn(page, expression: str, arg=None):
    return page.evaluate(f"(arg) => window.gdvizCnn.{expression}", arg)


def wait_cnn(page) -> None:
    """The CNN tab's socket is live and the server has described the training."""
    page.wait_for_function(
        "() => window.gdvizCnn && window.gdvizCnn.connection === 'live' && window.gdvizCnn.state"
    )


def wait_steps(page, n: int) -> None:
    page.wait_for_function("(n) => window.gdvizCnn.steps >= n", arg=n, timeout=20_000)


def luminance(color: str) -> float:
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def test_the_tab_opens_its_socket_and_training_draws_every_view(page, watch):
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto("/?play=0&lang=en")
    page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'")
    assert not any(url.endswith("/ws/cnn") for url in sockets)  # not on page load

    page.get_by_role("tab", name="CNN").click()
    wait_cnn(page)
    assert any(url.endswith("/ws/cnn") for url in sockets)
    expect(page.get_by_role("tab", name="CNN")).to_have_attribute("aria-selected", "true")
    expect(page.locator(".layout")).to_be_hidden()
    page.wait_for_function("() => location.search.includes('tab=cnn')")
    expect(page.locator("#cnn-param-count")).to_have_text("13,706 parameters")
    # Before the first step, no layer has a gradient: every block is the neutral colour.
    before = cnn(page, "colors()")
    assert set(before) >= {"conv1", "act1", "pool1", "conv2", "fc3", "out"}
    assert len(set(before.values())) == 1

    page.locator("#cnn-speed").fill("2")  # 100 steps/s
    page.get_by_role("button", name="Train").click()
    wait_steps(page, 12)
    page.wait_for_function("() => window.gdvizCnn.points('cnn-loss-chart')[0] >= 8")
    early = cnn(page, "colors()")
    first_points = cnn(page, "points('cnn-loss-chart')")[0]
    wait_steps(page, 60)
    page.wait_for_function("(n) => window.gdvizCnn.points('cnn-loss-chart')[0] > n + 30", arg=first_points)
    later = cnn(page, "colors()")
    # The diagram is coloured by the gradient, and the colours follow it as it changes.
    assert early["conv1"] != before["conv1"]
    assert any(later[name] != early[name] for name in ("conv1", "conv2", "fc3", "out"))
    # One line per weight layer of ‖∂L/∂a‖, one per parameter tensor of ‖Δθ‖/‖θ‖, all growing.
    grads = cnn(page, "points('cnn-grad-chart')")
    ratios = cnn(page, "points('cnn-ratio-chart')")
    assert len(grads) == 4 and min(grads) >= 30
    assert len(ratios) == 8 and min(ratios) >= 30
    expect(page.locator("#cnn-grad-legend")).to_have_text(re.compile("conv1.*conv2.*fc3.*out"))
    # The slower panels: 16 digits, the confusion matrix, histograms over time, the first-layer filters.
    expect(page.locator("#cnn-predictions figure")).to_have_count(16)
    page.wait_for_function("() => window.gdvizCnn.histogramColumns().grad >= 2")
    assert page.evaluate("() => document.getElementById('cnn-confusion').data[0].z.length") == 10
    assert page.locator("#cnn-filters-grads").bounding_box()["height"] > 20
    loss = cnn(page, "series('loss_ema')")
    assert loss[-1] < loss[0]  # it learns
    page.wait_for_timeout(300)
    assert watch.foreign == []


def test_a_deep_sigmoid_mlp_starves_its_first_layer_of_gradient(page):
    page.goto("/?play=0&tab=cnn&cnn.speed=100&lang=en")
    wait_cnn(page)
    page.get_by_role("button", name="MLP", exact=True).click()
    page.locator("#cnn-depth").focus()
    page.keyboard.press("End")  # 8 dense layers
    page.locator("#cnn-activation").select_option("sigmoid")
    page.wait_for_function(
        "() => { const m = window.gdvizCnn.state.model;"
        " return m.kind === 'mlp' && m.depth === 8 && m.activation === 'sigmoid'; }"
    )
    page.get_by_role("button", name="Reset").click()
    page.get_by_role("button", name="Train").click()
    wait_steps(page, 10)
    last = cnn(page, "last()")
    norms = dict(zip(last["layers"]["names"], last["layers"]["grad_norm"], strict=True))
    assert list(norms)[:2] == ["fc1", "act1"] and "fc8" in norms
    # Each sigmoid multiplies the gradient by at most 1/4: eight of them leave the first layer ~1e-6 of it.
    assert norms["fc1"] < 1e-4 * norms["out"]
    page.wait_for_function("() => new Set(Object.values(window.gdvizCnn.colors())).size > 2")  # drawn
    colors = cnn(page, "colors()")
    assert luminance(colors["fc1"]) < luminance(colors["fc8"]) < luminance(colors["out"])


def test_an_lr_change_mid_run_is_the_next_steps_lr_and_a_dropped_socket_resumes(page):
    sockets = []

    def through(ws):
        sockets.append((ws, ws.connect_to_server()))

    page.route_web_socket(re.compile(r"/ws/cnn"), through)
    page.goto("/?play=0&tab=cnn&cnn.opt=sgd;lr=0.05&cnn.speed=100&cnn.play=1&lang=en")
    wait_cnn(page)
    wait_steps(page, 8)
    box = page.locator('#cnn-hps [data-hp="lr"] input[type="number"]')
    box.fill("0.02")
    box.press("Enter")
    page.wait_for_function("() => window.gdvizCnn.state.trainer.hyperparameters.lr === 0.02")
    changed_at = cnn(page, "steps")
    wait_steps(page, changed_at + 8)
    lrs, steps = page.evaluate("() => [window.gdvizCnn.series('lr'), window.gdvizCnn.series('step')]")
    switch = lrs.index(0.02)
    assert switch >= 8
    assert set(lrs[:switch]) == {0.05} and set(lrs[switch:]) == {
        0.02
    }  # from one step to the next, no restart
    assert steps == list(range(1, len(lrs) + 1))
    page.wait_for_function("() => decodeURIComponent(location.search).includes('cnn.opt=sgd;lr=0.02')")

    # The server side drops: the tab notices, backs off, comes back and resumes the same training.
    sockets[0][1].close()
    expect(page.locator("#cnn-connection")).to_have_attribute("data-connection", "reconnecting")
    wait_cnn(page)
    assert len(sockets) == 2 and re.search(r"\?resume=[\w-]+&seq=\d+$", sockets[1][0].url)
    n = cnn(page, "steps")
    wait_steps(page, n + 10)
    # Its steps go on from where they were, with the new lr; nothing restarted or repeated. (Steps the server
    # had computed but not sent when the socket dropped can be missing: it replays only frames it sent.)
    lrs, steps = page.evaluate("() => [window.gdvizCnn.series('lr'), window.gdvizCnn.series('step')]")
    assert steps[:switch] == list(range(1, switch + 1)) and steps == sorted(set(steps))
    assert set(lrs[switch:]) == {0.02} and steps[-1] - len(steps) < 10

    # The keys belong to the tab shown: space pauses the training, not the surfaces race.
    page.locator(".brand").click()
    page.keyboard.press(" ")
    page.wait_for_function("() => !window.gdvizCnn.playing && !window.gdvizCnn.state.playing")
    expect(page.locator("#cnn-play-label")).to_have_text("Train")
    assert page.evaluate("() => window.gdviz.playing") is False


def test_a_shared_link_restores_the_network_and_its_training(page):
    page.goto(f"/{SHARED}")
    wait_cnn(page)  # the tab is shown at once: its socket opens on load
    expect(page.get_by_role("tab", name="CNN")).to_have_attribute("aria-selected", "true")
    state = cnn(page, "state")
    assert state["model"] == {
        "kind": "mlp",
        "blocks": [
            {"channels": 16, "kernel": 3, "pool": "max"},
            {"channels": 32, "kernel": 3, "pool": "max"},
        ],
        "depth": 3,
        "width": 32,
        "activation": "tanh",
        "batch_norm": True,
        "dropout": 0.2,
        "init": "xavier",
        "seed": 3,
    }
    trainer = state["trainer"]
    assert trainer["optimizer"] == "momentum"
    assert trainer["hyperparameters"] | {} == {
        "lr": 0.02,
        "momentum": 0.8,
        "dampening": 0,
        "weight_decay": 0,
    }
    assert trainer["batch_size"] == 32 and trainer["seed"] == 3
    assert trainer["schedule"] == {"kind": "step", "gamma": 0.5, "every": 50}
    assert state["speed"] == 20 and state["playing"] is False
    # The controls say the same.
    expect(page.get_by_role("button", name="MLP", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#cnn-blocks-box")).to_be_hidden()
    expect(page.locator("#cnn-depth")).to_have_value("3")
    expect(page.locator("#cnn-width")).to_have_value("32")
    expect(page.locator("#cnn-activation")).to_have_value("tanh")
    expect(page.locator("#cnn-init")).to_have_value("xavier")
    expect(page.locator("#cnn-bn")).to_be_checked()
    expect(page.locator("#cnn-optimizer")).to_have_value("momentum")
    expect(page.locator('#cnn-hps [data-hp="momentum"] input[type="number"]')).to_have_value("0.8")
    expect(page.locator("#cnn-batch")).to_have_value("32")
    expect(page.locator("#cnn-schedule")).to_have_value("step")
    expect(page.locator('#cnn-schedule-params [data-param="every"]')).to_have_value("50")
    expect(page.locator("#cnn-speed-value")).to_have_text("20 steps/s")
    expect(page.locator("#cnn-seed")).to_have_value("3")
    # And the page writes the same link back.
    page.wait_for_function("() => location.search.includes('cnn.')")
    written = page.evaluate("() => decodeURIComponent(location.search)")
    for part in re.findall(r"[?&]([^&]+)", SHARED):
        assert part in written

    # In Chinese, the tab speaks Chinese too.
    page.get_by_role("button", name="中文").click()
    expect(page.locator("#cnn-play-label")).to_have_text("训练")
    expect(page.get_by_role("tab", name="曲面")).to_be_visible()
    expect(page.locator("#cnn-activation option:checked")).to_have_text("tanh")
    expect(page.locator("#cnn-init option:checked")).to_have_text("Xavier（Glorot）")
    expect(page.locator("#cnn-param-count")).to_have_text(re.compile(r"^[\d,]+ 个参数$"))


def test_the_url_table_round_trips_the_cnn_properties(page):
    open_blank(page)
    state = {
        "tab": "cnn",
        "cnn.net": "mlp",
        "cnn.blocks": [{"channels": 8, "kernel": 5, "pool": "avg"}],
        "cnn.depth": 8,
        "cnn.width": 128,
        "cnn.act": "gelu",
        "cnn.bn": True,
        "cnn.dropout": 0.25,
        "cnn.init": "too_large",
        "cnn.opt": {
            "optimizer": "adam",
            "start": None,
            "hyperparameters": {"lr": 0.003, "betas": [0.8, 0.99]},
        },
        "cnn.batch": 16,
        "cnn.sched": {"kind": "cosine", "total_steps": 500, "min_factor": 0.1},
        "cnn.speed": 250,
        "cnn.seed": 9,
        "cnn.play": True,
    }
    query, back = page.evaluate(
        """async (state) => {
            const m = await import('/static/js/state.js');
            const query = m.writeQuery(state);
            return [query, m.readQuery(query)];
        }""",
        state,
    )
    assert back == state
    assert "&cnn.blocks=8:5:avg&" in query and "&cnn.sched=cosine;total_steps=500;min_factor=0.1&" in query


def test_every_cnn_url_key_is_documented():
    root = Path(__file__).resolve().parents[2]
    keys = re.findall(r'\{ name: "(tab|cnn\.[a-z]+)"', (root / "static/js/state.js").read_text("utf-8"))
    doc = (root / "docs/url-state.md").read_text("utf-8")
    assert len(keys) == 18
    assert [key for key in keys if f"| `{key}` |" not in doc] == []


def test_the_pages_rules_agree_with_the_servers(page):
    open_blank(page)
    out = page.evaluate(
        """async () => {
            const c = await import('/static/js/cnn/config.js');
            const { rebin } = await import('/static/js/cnn/histograms.js');
            const schedules = [{ kind: 'step', gamma: 0.3, every: 100 }, { kind: 'cosine', total_steps: 700,
                min_factor: 0.05 }, { kind: 'warmup', warmup_steps: 50 }, { kind: 'constant' }];
            const ts = [0, 1, 49, 50, 99, 100, 250, 699, 700, 5000];
            const odd = { kind: 'rnn', blocks: [{ channels: 99, kernel: 4, pool: 'x' }], depth: 20, width: 3,
                dropout: 5, activation: 'swish', init: 'bad', batch_norm: 'yes' };
            const histogram = { limit: 1, counts: Array.from({ length: 41 }, (_, i) => (i * 7) % 5) };
            return {
                factors: schedules.map((s) => ts.map((t) => c.scheduleFactor(s, t))),
                schedules, ts,
                models: [c.normalModel(odd), c.normalModel({}),
                    ...c.PRESETS.map((p) => c.normalModel(p.model))],
                presets: c.PRESETS.map((p) => [p.optimizer, p.lr]),
                oddSchedules: [c.normalSchedule({ kind: 'step', gamma: 9, every: -3 }),
                    c.normalSchedule({ kind: 'x' }), c.normalSchedule({ kind: 'cosine', total_steps: 2.5 })],
                same: rebin(histogram, 1), wider: rebin(histogram, 4),
                counts: histogram.counts,
            };
        }"""
    )
    adapter = TypeAdapter(Schedule)
    for schedule, factors in zip(out["schedules"], out["factors"], strict=True):
        oracle = adapter.validate_python(schedule)
        assert factors == [pytest.approx(oracle.factor(t), rel=1e-12, abs=1e-15) for t in out["ts"]], schedule
    for model in out["models"]:  # every model the page can send, the server takes
        ModelConfig.model_validate({**model, "seed": 0})
    assert out["models"][1] == ModelConfig().model_dump(exclude={"seed"})  # the same default network
    for schedule in out["oddSchedules"]:
        adapter.validate_python(schedule)
    for optimizer, lr in out["presets"]:
        lr_spec = next(hp for hp in OPTIMIZERS[optimizer].hyperparameters if hp.name == "lr")
        assert lr_spec.low < lr <= lr_spec.high
    total = sum(out["counts"])
    assert out["same"] == pytest.approx([c / total for c in out["counts"]], abs=1e-12)
    assert sum(out["wider"]) == pytest.approx(1, abs=1e-12)
    assert all(
        v == 0 for v in out["wider"][:15] + out["wider"][26:]
    )  # [−1, 1] is the middle quarter of [−4, 4]


def test_a_diverging_training_says_why_in_plain_words(page):
    page.goto(
        "/?play=0&tab=cnn&cnn.net=mlp&cnn.depth=4&cnn.init=too_large&cnn.opt=sgd;lr=1&cnn.play=1&lang=en"
    )
    wait_cnn(page)
    banner = page.locator("#cnn-banner")
    expect(banner).to_have_attribute("data-kind", "diverged", timeout=15_000)
    expect(banner).to_contain_text(re.compile(r"The loss overflowed at step \d+ \(η = 1\)"))
    expect(banner).to_contain_text("Lower the learning rate or fix the initialisation")
    page.wait_for_function("() => window.gdvizCnn.state.diverged && !window.gdvizCnn.playing")
    # Reset with a saner learning rate: the explanation goes away.
    box = page.locator('#cnn-hps [data-hp="lr"] input[type="number"]')
    box.fill("0.0001")
    box.press("Enter")
    page.get_by_role("button", name="Reset").click()
    expect(banner).to_be_hidden()


def test_a_full_server_puts_the_training_in_line(page, live_server):
    # Others hold every training slot (plain clients: the queue does not care which page a training is).
    slots = live_server.app.state.settings.max_trainings
    url = f"{live_server.url.replace('http', 'ws', 1)}/ws/cnn"
    with ExitStack() as stack:
        holders = [stack.enter_context(connect(url)) for _ in range(slots)]
        for holder in holders:
            holder.send(json.dumps({"type": "cnn_start", "speed": 2, "playing": True}))
        page.goto("/?play=0&tab=cnn&lang=en")
        wait_cnn(page)
        for holder in holders:  # each trains: each holds a slot
            while json.loads(holder.recv(timeout=10))["type"] != "cnn_frame":
                pass
        page.get_by_role("button", name="Train").click()
        banner = page.locator("#cnn-banner")
        expect(banner).to_have_text(re.compile(r"^Waiting for a free training slot: #1 in line"))
        holders[0].send(json.dumps({"type": "pause"}))  # a slot frees up: this training starts by itself
        expect(banner).to_be_hidden()
        wait_steps(page, 1)


def test_the_tab_fits_a_laptop_and_a_phone(page, results_dir):
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/?play=0&tab=cnn&cnn.play=1&cnn.speed=100&lang=en")
    wait_cnn(page)
    wait_steps(page, 50)
    page.wait_for_function("() => window.gdvizCnn.histogramColumns().grad >= 2")
    page.wait_for_timeout(300)  # the next tick has drawn the newest steps
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") == 0
    # The transport, the diagram, the four charts, the digits and the network card in view without scrolling.
    for selector in (
        "#cnn-play",
        "#cnn-diagram",
        "#cnn-loss-chart",
        "#cnn-grad-chart",
        "#cnn-ratio-chart",
        "#cnn-hist-grad",
        "#cnn-predictions",
        "#cnn-confusion",
        "#cnn-preset",
    ):
        box = page.locator(selector).bounding_box()
        assert box and box["width"] > 0, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, selector
    page.screenshot(path=str(results_dir / "cnn-1280x800.png"))

    # A phone: one column, nothing wider than the screen, the transport and the diagram first.
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)  # the charts follow their new size
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") == 0
    assert (
        page.locator("#cnn-play").bounding_box()["y"] < page.locator("#cnn-diagram").bounding_box()["y"] < 844
    )
    for selector in ("#cnn-loss-chart", "#cnn-diagram", "#cnn-predictions"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, selector
    page.screenshot(path=str(results_dir / "cnn-390x844.png"), full_page=True)
