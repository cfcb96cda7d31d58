"""What the browser said that it must not: every error-level console message and every uncaught exception
of every page of every context a test opens, less what the test declared it provokes on purpose."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest


@dataclass
class Console:
    """A test's console errors and uncaught exceptions; ``check()`` fails the test on any surprise."""

    errors: list[str] = field(default_factory=list)  # where and what, then the stack if any
    expected: list[re.Pattern[str]] = field(default_factory=list)
    watched: set[int] = field(default_factory=set)  # id() of the contexts listened to

    def expect(self, pattern: str) -> None:
        """This test provokes errors matching `pattern` (re.search) on purpose; at least one must occur."""
        self.expected.append(re.compile(pattern))

    def watch(self, context) -> None:
        """Listen to every page of a browser context, popups and pages opened later included."""
        if id(context) in self.watched:
            return
        self.watched.add(id(context))
        context.on("console", self.on_console)
        context.on("weberror", self.on_weberror)

    def on_console(self, message) -> None:
        if message.type != "error":
            return
        where = message.location or {}
        origin = f"{where.get('url') or '?'}:{where.get('lineNumber', '?')}:{where.get('columnNumber', '?')}"
        self.errors.append(f"console.error at {origin}: {message.text}")

    def on_weberror(self, error) -> None:
        exc = error.error
        head = f"{exc.name or 'Error'}: {exc.message}"
        stack = (exc.stack or "").removeprefix(head).strip("\n")  # V8 repeats the head as the first line
        self.errors.append(f"uncaught {head}\n{stack}".rstrip())

    def problems(self, finished: bool = True) -> list[str]:
        """Each error no expectation accounts for, and (if the test ran to its end, so it had the chance to
        provoke them all) each expectation that nothing matched."""
        surprises, met = [], set()
        for text in self.errors:
            hits = {pattern for pattern in self.expected if pattern.search(text)}
            met |= hits
            if not hits:
                surprises.append(text)
        if not finished:
            return surprises
        return surprises + [f"expected but never seen: /{p.pattern}/" for p in self.expected if p not in met]

    def check(self, finished: bool = True) -> None:
        problems = self.problems(finished)
        if problems:
            listed = "\n".join(f"  {i}. {p}".replace("\n", "\n     ") for i, p in enumerate(problems, 1))
            pytest.fail(f"the browser console reported {len(problems)} problem(s):\n{listed}", pytrace=False)
