"""axe-core on every tab as a person sees it: the race playing, the CNN training, every lesson of the Learn
tab, in English and in Chinese, on a laptop (1280×800) and on a phone (390×844). Any violation fails, named
with its rule, the elements (up to three) and axe's own words on how to fix it.

axe-core comes from the npm registry, pinned in the Makefile and installed by `make test` into
.venv/axe/ (GDVIZ_AXE names another axe.min.js). It is run through Playwright's evaluate, which the page's
Content-Security-Policy (script-src 'self') does not apply to.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.helpers import wait_steps
from tests.browser.test_cnn import wait_cnn
from tests.browser.test_cnn import wait_steps as wait_cnn_steps

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
AXE = Path(os.environ.get("GDVIZ_AXE", ROOT / ".venv/axe/node_modules/axe-core/axe.min.js"))
VIEWPORTS = {"1280x800": {"width": 1280, "height": 800}, "390x844": {"width": 390, "height": 844}}
# Every rule axe has for WCAG 2.0-2.2 A and AA, and its best practices (headings, landmarks, regions).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@pytest.fixture(scope="module")
def axe_source() -> str:
    assert AXE.exists(), f"no axe-core at {AXE}: `make test` installs it (npm), or set GDVIZ_AXE"
    return AXE.read_text("utf-8")


def violations(page, axe_source: str, where: str) -> list[str]:
    """axe's violations on the page as it is now, one line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, { runOnly: { type: 'tag', values: tags },
                                                    resultTypes: ['violations'] });
            return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ') + ': ' + n.failureSummary) }));
        }""",
        TAGS,
    )
    return [
        f"{where}: {v['id']} ({v['impact']}) {v['help']}\n    " + "\n    ".join(v["nodes"]) for v in found
    ]


def lessons(page) -> list[str]:
    return page.eval_on_selector_all(
        ".learn-item[data-lesson]", "(items) => items.map((i) => i.dataset.lesson)"
    )


@pytest.mark.parametrize("size", VIEWPORTS)
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.timeout(240)
def test_every_tab_passes_axe(browser, base_url, axe_source, lang, size):
    page = browser.new_page(base_url=base_url, viewport=VIEWPORTS[size])
    found: list[str] = []

    page.goto(f"/?lang={lang}")  # the race, playing
    page.wait_for_function("() => window.gdviz && window.gdviz.connection === 'live'")
    wait_steps(page, 5)
    found += violations(page, axe_source, "race (playing)")

    page.goto(f"/?tab=cnn&lang={lang}&cnn.speed=50")  # the CNN, training
    wait_cnn(page)
    page.locator("#cnn-play").click()
    wait_cnn_steps(page, 3)
    found += violations(page, axe_source, "CNN (training)")

    page.goto(f"/?play=0&tab=learn&lang={lang}")
    ids = lessons(page)
    assert len(ids) >= 6, ids
    for lesson in ids:
        page.locator(f".learn-item[data-lesson='{lesson}']").click()
        page.wait_for_function(
            "(id) => { const s = document.getElementById('lesson-' + id); return s && !s.hidden; }",
            arg=lesson,
        )
        page.wait_for_load_state("networkidle")  # its numbers fetched ...
        page.wait_for_timeout(300)
        page.wait_for_load_state("networkidle")  # ... and whatever their drawing asked for
        found += violations(page, axe_source, f"lesson {lesson}")
    page.close()
    assert not found, f"{len(found)} axe violations ({lang}, {size}):\n" + "\n".join(found)
