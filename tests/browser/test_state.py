"""The whole state lives in the URL (docs/url-state.md): a link restores it, and the page writes it back."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import runners

pytestmark = pytest.mark.browser

SHARED = (
    "?surface=himmelblau"
    "&runner=adam@1,1;lr=0.02;betas=0.8,0.99;amsgrad=true"
    "&runner=momentum@-1,-2;lr=0.005;momentum=0.5"
    "&sel=1&speed=12&view=surface&play=0&lang=en"
)


def test_a_url_restores_surface_runners_hyperparameters_and_view(gdviz, page):
    gdviz(SHARED)
    expect(page.locator("#surface-select")).to_have_value("himmelblau")
    expect(page.locator("#tab-surface")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#surface3d")).to_be_visible()
    assert page.evaluate("() => window.gdviz.view") == "surface"
    assert page.evaluate("() => window.gdviz.selected") == 1
    adam, momentum = runners(page)  # as the server confirmed them
    assert adam["optimizer"] == "adam" and adam["start"] == [1, 1]
    assert adam["hyperparameters"] | {} == {
        "lr": 0.02,
        "betas": [0.8, 0.99],
        "eps": 1e-8,
        "weight_decay": 0,
        "amsgrad": True,
    }
    assert momentum["optimizer"] == "momentum" and momentum["start"] == [-1, -2]
    assert momentum["hyperparameters"]["momentum"] == 0.5
    # The selected card (#2) shows every hyperparameter with its value.
    card = page.locator('[data-runner="r2"]')
    expect(card.locator('[data-hp="momentum"] input[type="number"]')).to_have_value("0.5")
    expect(card.locator('[data-hp="lr"] input[type="number"]')).to_have_value("0.005")
    expect(page.locator("#speed-value")).to_have_text("12 steps/s")
    # And the page writes the same state back.
    page.wait_for_function("() => location.search.includes('runner=')")
    written = page.evaluate("() => decodeURIComponent(location.search)")
    for part in ("surface=himmelblau", "runner=adam@1,1;lr=0.02;betas=0.8,0.99;amsgrad=true", "view=surface"):
        assert part in written


def test_changes_are_written_to_the_url(gdviz, page):
    gdviz("?play=0")
    page.locator("#surface-select").select_option("booth")
    page.get_by_role("button", name="+ Add runner").click()
    page.wait_for_function("() => window.gdviz.runners().length === 5 && window.gdviz.runners()[4].confirmed")
    page.wait_for_function(
        "() => location.search.includes('surface=booth') && location.search.includes('sel=4')"
    )
    query = page.evaluate("() => decodeURIComponent(location.search)")
    assert query.count("runner=") == 5
    assert "runner=nesterov@-7,-6;lr=0.05" in query  # booth's default start and suggested lr
    # Reloading that URL gives the same race.
    before = runners(page)
    gdviz(page.evaluate("() => location.search"))
    after = runners(page)
    assert [(r["optimizer"], r["start"], r["hyperparameters"]) for r in after] == [
        (r["optimizer"], r["start"], r["hyperparameters"]) for r in before
    ]


def test_the_url_table_round_trips(gdviz, page):
    gdviz("?play=0")
    state = {
        "surface": "custom",
        "expr": "x^2 + 3*sin(y) / 2",
        "xr": [-4, 4.5],
        "yr": [-3, 3],
        "runner": [
            {"optimizer": "adam", "start": [0.25, -1], "hyperparameters": {"lr": 0.05, "betas": [0.9, 0.99]}},
            {"optimizer": "rmsprop", "start": [1, 2], "hyperparameters": {"lr": 0.01, "centered": True}},
        ],
        "sel": 1,
        "speed": 250,
        "seed": 7,
        "play": False,
        "view": "surface",
        "basins": True,
        "lang": "zh",
    }
    query, back = page.evaluate(
        """async (state) => {
            const m = await import('/static/js/state.js');
            const query = m.writeQuery(state);
            return [query, m.readQuery(query)];
        }""",
        state,
    )
    assert back == state
    assert query.startswith("?surface=custom&expr=x%5E2%20%2B%203*sin(y)%20/%202&xr=-4,4.5&yr=-3,3")
    assert "&runner=adam@0.25,-1;lr=0.05;betas=0.9,0.99&runner=rmsprop@1,2;lr=0.01;centered=true&" in query
