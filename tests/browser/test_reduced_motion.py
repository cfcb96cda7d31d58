"""prefers-reduced-motion: reduce. Nothing moves on its own: the race does not start until Play, nothing
blinks, no transition runs. The same page without the preference is the control (it autoplays, its dots
blink), so the test fails if the page stops honouring either."""

from __future__ import annotations

import pytest

from tests.browser.helpers import runners, wait_steps

pytestmark = pytest.mark.browser

# Computed styles of elements that move when motion is welcome: the connection dot's blink (shown while
# connecting), a busy status's spinner, the CNN progress bar's and the lesson results' transitions.
STYLES = """() => {
    const style = (selector, pseudo) => {
        const node = document.querySelector(selector);
        return node ? getComputedStyle(node, pseudo) : null;
    };
    document.body.dataset.connection = 'connecting';  // the blinking state, as while a socket connects
    const dot = style('.connection-dot');
    const result = {
        blink: dot.animationName,
        progress: style('.cnn-progress-fill').transitionDuration,
        lesson: style('.lesson-result').transitionDuration,
    };
    document.body.dataset.connection = 'live';
    return result;
}"""


def open_race(browser, base_url, motion: str):
    context = browser.new_context(base_url=base_url, reduced_motion=motion)
    page = context.new_page()
    page.goto("/?lang=en")  # play defaults to on
    page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'")
    return context, page


def test_with_reduced_motion_nothing_moves_until_asked(browser, base_url):
    context, page = open_race(browser, base_url, "reduce")
    page.wait_for_timeout(1500)
    assert page.evaluate("() => window.gdviz.playing") is False
    assert all(r["steps"] == 0 for r in runners(page)), runners(page)
    assert page.evaluate(STYLES) == {"blink": "none", "progress": "0s", "lesson": "0s"}
    page.get_by_role("button", name="Play").click()  # asked for: it moves
    wait_steps(page, 5)
    context.close()


def test_without_the_preference_the_race_plays_and_the_dot_blinks(browser, base_url):
    context, page = open_race(browser, base_url, "no-preference")
    wait_steps(page, 5)
    assert page.evaluate("() => window.gdviz.playing") is True
    styles = page.evaluate(STYLES)
    assert styles["blink"] == "blink" and styles["progress"] != "0s" and styles["lesson"] != "0s", styles
    context.close()
