"""Browser fixtures: the page served by the shared live server (tests/conftest.py), driven in headless
Chromium by pytest-playwright, with every console error and every request leaving 127.0.0.1 recorded."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

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


@dataclass
class Watch:
    """What the page did that it must not: console errors, uncaught exceptions, requests off 127.0.0.1."""

    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)


@pytest.fixture
def watch(page, base_url):
    seen = Watch()
    own = re.compile(rf"^(https?|wss?)://{re.escape(base_url.split('://', 1)[1])}/|^(data|blob|about):")
    page.on("console", lambda m: seen.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.errors.append(str(exc)))
    page.on("request", lambda r: None if own.match(r.url) else seen.foreign.append(r.url))
    return seen


@pytest.fixture
def gdviz(page, watch):
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
