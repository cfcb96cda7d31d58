"""Keyboard flows: the tab sets inside the race move with the arrow keys and keep one Tab stop (roving
tabindex), and the Export menu closes on Escape (focus back on its button) and when focus leaves it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def stops(page, selector: str) -> list[str]:
    """The ids of the tabs in this set that Tab reaches (tabIndex 0)."""
    return page.eval_on_selector_all(
        selector, "(tabs) => tabs.filter((t) => t.tabIndex === 0).map((t) => t.id)"
    )


def test_inner_tab_sets_rove_with_the_arrow_keys(gdviz, page):
    gdviz("?play=0&lang=en")
    side = ".side-tabs [role=tab]"
    assert stops(page, side) == ["tab-details"]
    page.locator("#tab-details").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-stability")).to_be_focused()
    expect(page.locator("#tab-stability")).to_have_attribute("aria-selected", "true")
    assert stops(page, side) == ["tab-stability"]
    page.keyboard.press("End")
    expect(page.locator("#tab-curvature")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowRight")  # wraps round
    expect(page.locator("#tab-details")).to_be_focused()
    page.keyboard.press("Home")
    assert stops(page, side) == ["tab-details"]
    # The arrow keys in a tab set are not the page's shortcuts (→ is one step): no step was taken.
    assert page.evaluate("() => window.gdviz.runners().every((r) => r.steps === 0)")

    view = ".stage-bar [role=tab]"
    assert stops(page, view) == ["tab-contour"]
    page.locator("#tab-contour").focus()
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#tab-surface")).to_have_attribute("aria-selected", "true")
    assert stops(page, view) == ["tab-surface"]


def test_the_export_menu_closes_on_escape_and_on_leaving_it(gdviz, page):
    gdviz("?play=0&lang=en")
    toggle, menu = page.locator("#export-toggle"), page.locator("#export-list")
    toggle.click()
    expect(menu).to_be_visible()
    page.locator("#export-csv").focus()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(toggle).to_be_focused()
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(menu).to_be_visible()
    page.locator("#export-png").focus()
    page.keyboard.press("Tab")  # past the last item: out of the menu
    expect(menu).to_be_hidden()
