"""The console check of conftest.py: it hears every page of every context, fails on what nobody expected,
and on an expectation nothing met."""

from __future__ import annotations

import pytest

from tests.browser.console import Console

pytestmark = pytest.mark.browser

NOISY = """<script>
console.warn("only a warning");
console.error("x");
setTimeout(() => { throw new TypeError("boom"); });
setTimeout(() => { window.thrown = true; });
</script>"""


def failure(console: Console) -> str:
    with pytest.raises(pytest.fail.Exception) as failed:
        console.check()
    return str(failed.value)


def test_a_console_error_or_an_uncaught_exception_fails_the_test(page, console):
    page.set_content(NOISY)
    page.wait_for_function("() => window.thrown")
    message = failure(console)
    assert "the browser console reported 2 problem(s)" in message
    assert "console.error at " in message and ": x" in message
    assert "uncaught TypeError: boom" in message
    assert "only a warning" not in message

    # Declared, they are what this test is about: the teardown check passes.
    console.expect(r": x$")
    console.expect(r"^uncaught TypeError: boom")
    console.check()


def test_every_context_and_page_is_heard_not_only_the_page_fixture(browser, new_context, console):
    own = new_context()
    own.new_page().set_content("<script>console.error('from new_context')</script>")
    direct = browser.new_context()
    direct.new_page().set_content("<script>console.error('from browser.new_context')</script>")
    lone = browser.new_page()
    lone.set_content("<script>console.error('from browser.new_page')</script>")
    for where in ("new_context", "browser.new_context", "browser.new_page"):
        console.expect(rf": from {where}$")
    console.check()
    lone.context.close()
    direct.close()


def test_an_expectation_nothing_met_fails_and_the_rest_still_fails():
    refused = "console.error at /api/x:0:0: Failed to load resource: the server responded with a 422"
    console = Console(errors=[refused, "uncaught Error"])
    console.expect(r"422")
    console.expect(r"WebSocket")
    message = failure(console)
    assert "2 problem(s)" in message
    assert "1. uncaught Error" in message
    assert "2. expected but never seen: /WebSocket/" in message
    assert "Failed to load resource" not in message
    # A test that failed before its end may not have provoked what it expects: only the surprises count.
    assert console.problems(finished=False) == ["uncaught Error"]
