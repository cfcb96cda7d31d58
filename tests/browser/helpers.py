"""Reading the page in browser tests: the read-only window.gdviz hook, and waiting for it to settle."""

from __future__ import annotations

import time


def runners(page) -> list[dict]:
    return page.evaluate("() => window.gdviz.runners()")


def records(page, runner_id: str, first: int = 0, last: int = 1_000_000) -> list[dict]:
    return page.evaluate("([id, a, b]) => window.gdviz.records(id, a, b)", [runner_id, first, last])


def wait_steps(page, at_least: int, runner: int = 0) -> None:
    page.wait_for_function("([n, i]) => window.gdviz.runners()[i].steps >= n", arg=[at_least, runner])


def settled_steps(page, runner: int = 0, quiet: float = 0.4, timeout: float = 10.0) -> int:
    """The runner's step count once no frame has changed it for `quiet` seconds (after a pause)."""
    deadline = time.monotonic() + timeout
    last, since = runners(page)[runner]["steps"], time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = runners(page)[runner]["steps"]
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return now
    raise AssertionError(f"runner {runner} kept moving for {timeout} s")


def click_data_point(page, x: float, y: float, shift: bool = False) -> None:
    """Click the contour where the data point (x, y) is drawn."""
    px, py = page.evaluate("([x, y]) => window.gdviz.toPixels(x, y)", [x, y])
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(px, py)
    if shift:
        page.keyboard.up("Shift")


def open_blank(page) -> None:
    """An empty page of the app's origin, to import its modules without booting the app. The browser
    serves it itself; it names an icon, so Chromium asks for no /favicon.ico (a 404 in the console)."""
    blank = '<!doctype html><link rel="icon" href="data:,">'
    page.route("**/blank.html", lambda route: route.fulfill(content_type="text/html", body=blank))
    page.goto("/blank.html")
