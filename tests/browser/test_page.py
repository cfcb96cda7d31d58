"""The page as a whole: it loads clean and offline, fits a laptop and a phone, and speaks two languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import runners

pytestmark = pytest.mark.browser


def test_loads_without_console_errors_or_foreign_requests(gdviz, page, watch):
    gdviz("?play=0")
    # The default race: four runners on Rosenbrock, each card with its optimizer, the contour drawn.
    assert [r["optimizer"] for r in runners(page)] == ["sgd", "momentum", "adam", "rmsprop"]
    expect(page.locator("#surface-select")).to_have_value("rosenbrock")
    expect(page.locator(".runner")).to_have_count(4)
    expect(page.locator("#connection-text")).to_have_text("live")
    expect(page).to_have_title("gdviz — gradient descent, live")
    page.wait_for_timeout(300)
    assert watch.foreign == []


def test_laptop_screen_shows_plot_controls_and_charts_without_scrolling(gdviz, page, results_dir):
    page.set_viewport_size({"width": 1280, "height": 800})
    gdviz("?sel=2")
    page.wait_for_function("() => window.gdviz.runners()[2].steps > 60")
    page.wait_for_function("() => document.getElementById('loss-chart').data[0].x.length > 40")
    for selector in (
        "#contour",
        "#play",
        "#speed",
        "#timeline-range",
        "#loss-chart",
        "#readout",
        "#runner-list",
    ):
        box = page.locator(selector).bounding_box()
        assert box and box["width"] > 0, selector
        assert box["y"] >= 0 and box["y"] + box["height"] <= 800, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, selector
    assert page.evaluate("() => document.documentElement.scrollHeight") <= 800
    page.screenshot(path=str(results_dir / "desktop-1280x800.png"))


def test_phone_screen_has_no_horizontal_overflow(gdviz, page, results_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    gdviz("?play=1")
    page.wait_for_function("() => window.gdviz.runners()[0].steps > 30")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow == 0
    # The plot comes first and fills the width.
    plot = page.locator("#plot-wrap").bounding_box()
    assert plot["x"] >= 0 and plot["x"] + plot["width"] <= 390 and plot["width"] > 330
    page.screenshot(path=str(results_dir / "phone-390x844.png"), full_page=True)


def test_language_switch_to_chinese_is_remembered_and_back(gdviz, page):
    gdviz("?play=0&lang=en")
    expect(page.locator("#play-label")).to_have_text("Play")
    page.get_by_role("button", name="中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("#play-label")).to_have_text("播放")
    expect(page.get_by_role("heading", name="曲面")).to_be_visible()
    expect(page.locator("#tab-contour")).to_have_text("等高线")
    expect(page.locator("#surface-select option:checked")).to_have_text("Rosenbrock 函数（香蕉函数）")
    page.wait_for_function("() => new URLSearchParams(location.search).get('lang') === 'zh'")
    assert page.evaluate("() => localStorage.getItem('gdviz.lang')") == "zh"

    gdviz("?play=0")  # no language in the URL: the remembered one
    expect(page.locator("#play-label")).to_have_text("播放")
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#play-label")).to_have_text("Play")
    expect(page.get_by_role("heading", name="Surface")).to_be_visible()
