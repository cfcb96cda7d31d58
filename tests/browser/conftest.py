"""Browser fixtures: the page served by the shared live server (tests/conftest.py), driven in headless
Chromium by pytest-playwright. Every test that opens a page fails on a console error or an uncaught
exception it did not declare with `expect_console`; `watch` records the requests leaving 127.0.0.1."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser.console import Console

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RESULTS = Path(__file__).resolve().parents[2] / "test-results"
PASSED = pytest.StashKey[bool]()  # on a test item: its body ran to the end without failing


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if report.when == "call":
        item.stash[PASSED] = report.passed


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {**browser_type_launch_args, "args": CHROMIUM_ARGS}
    if os.path.exists(CHROMIUM):
        args["executable_path"] = CHROMIUM
    return args


@pytest.fixture(scope="session")
def base_url(live_server):
    """pytest-playwright resolves page.goto("/…") against this."""
    return live_server.url


@pytest.fixture(scope="session")
def results_dir():
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


@pytest.fixture(autouse=True)
def console(request, monkeypatch):
    """Listen to every context the test makes through the `browser` fixture (pytest-playwright's `context`
    and `page` included) and fail it at teardown, after its contexts closed, on what the console said."""
    seen = Console()
    if "browser" in request.fixturenames:
        browser = request.getfixturevalue("browser")
        new_context, new_page = browser.new_context, browser.new_page

        def watched_context(*args, **kwargs):
            context = new_context(*args, **kwargs)
            seen.watch(context)
            return context

        def watched_page(*args, **kwargs):
            page = new_page(*args, **kwargs)
            seen.watch(page.context)
            return page

        monkeypatch.setattr(browser, "new_context", watched_context)
        monkeypatch.setattr(browser, "new_page", watched_page)
    yield seen
    seen.check(finished=request.node.stash.get(PASSED, False))


@pytest.fixture
def expect_console(console):
    """Declare an error the test provokes on purpose: expect_console(r"regex"); it must show up."""
    return console.expect


@dataclass
class Watch:
    """Requests the page made that leave 127.0.0.1 (it must make none)."""

    foreign: list[str] = field(default_factory=list)


@pytest.fixture
def watch(page, base_url):
    seen = Watch()
    own = re.compile(rf"^(https?|wss?)://{re.escape(base_url.split('://', 1)[1])}/|^(data|blob|about):")
    page.on("request", lambda r: None if own.match(r.url) else seen.foreign.append(r.url))
    return seen


@pytest.fixture
def gdviz(page):
    """Open the page with a query string and wait until the session is live and the contour is drawn."""

    def open_page(query: str = "?play=0") -> object:
        page.goto(f"/{query}")
        page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'")
        page.wait_for_function(
            "() => document.querySelector('#contour .contourlayer path') || window.gdviz.view === 'surface'"
        )
        # The server's answer to `start` has described every runner.
        page.wait_for_function("() => window.gdviz.runners().every(r => r.confirmed)")
        return page

    return open_page
