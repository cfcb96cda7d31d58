"""What a screen reader gets: every chart is an image with a generated summary of its current values
(Plotly's own SVG hidden), and the page speaks through one live region at most once a second however fast
things happen (a burst of pauses, a toast per diverging runner)."""

from __future__ import annotations

import pytest

from tests.browser.helpers import runners, wait_steps

pytestmark = pytest.mark.browser

# Every write into the page's live region, with its time (ms), from the moment the page loads.
RECORD = """() => {
    window.heard = [];
    new MutationObserver(() => window.heard.push([performance.now(), document.getElementById('announcer')
        .textContent])).observe(document.getElementById('announcer'), { childList: true, characterData: true,
        subtree: true });
}"""


def test_every_chart_is_an_image_with_its_current_values(gdviz, page):
    gdviz("?lang=en&speed=30")
    wait_steps(page, 20)
    page.wait_for_timeout(1200)  # summaries follow the drawing within a second
    charts = page.evaluate(
        """() => [...document.querySelectorAll('.js-plotly-plot')].filter((d) => d.offsetParent !== null)
            .map((d) => ({ id: d.id, role: d.getAttribute('role'), label: d.getAttribute('aria-label'),
                hidden: [...d.querySelectorAll('.svg-container')]
                    .every((s) => s.getAttribute('aria-hidden') === 'true') }))"""
    )
    assert len(charts) >= 2, charts  # the contour and the loss chart at least
    for chart in charts:
        assert chart["role"] == "img" and chart["label"] and chart["hidden"], chart
    loss = next(c for c in charts if c["id"] == "loss-chart")
    # The loss chart names each runner with its current loss (a number, as the page shows it).
    names = ["SGD", "Momentum", "Adam", "RMSprop"]
    assert all(name in loss["label"] for name in names), loss["label"]
    assert any(ch.isdigit() for ch in loss["label"].split("—", 1)[1]), loss["label"]


def test_the_page_speaks_at_most_once_a_second(gdviz, page):
    gdviz("?lang=en&speed=30")
    page.evaluate(RECORD)
    wait_steps(page, 3)
    play = page.locator("#play")
    for _ in range(8):  # eight pauses and plays within about a second
        play.click()
    page.wait_for_timeout(2500)
    heard = page.evaluate("() => window.heard")
    assert heard, "nothing was announced"
    assert any("Paused." in text for _, text in heard), heard
    times = [t for t, _ in heard]
    assert all(b - a >= 950 for a, b in zip(times, times[1:], strict=False)), heard
    # No other region speaks on its own (the toasts, the connection pills, the runners' step counters, the
    # CNN's banner go through the one live region), but the Learn tab's, which answer the learner's own
    # clicks (a stepper, an exercise's check).
    live = page.evaluate(
        """() => [...document.querySelectorAll('[aria-live]:not([aria-live="off"]), [role="status"]')]
            .filter((n) => !n.closest('[data-tab-panel="learn"]')).map((n) => n.id)"""
    )
    assert live == ["announcer"], live
    assert runners(page)[0]["steps"] >= 3
