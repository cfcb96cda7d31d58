"""The curvature tab: the λ_max the chart draws is what the server sent (and what autograd says), the
numbers of a quadratic bowl, and the analytic boundary over the stability map."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from playwright.sync_api import expect

from app.descent.surfaces import SURFACES
from tests.browser.helpers import records, settled_steps, wait_steps

pytestmark = pytest.mark.browser

CHART = "document.getElementById('curvature-chart')"


def reference_lambda_max(surface: str, point) -> float:
    fn = SURFACES[surface].fn
    p = torch.tensor(point, dtype=torch.float64)
    h = torch.autograd.functional.hessian(lambda v: fn(v[0], v[1]), p).numpy()
    return float(np.linalg.eigvalsh(h)[-1])


def test_the_chart_draws_the_lambda_max_the_server_sent(gdviz, page):
    gdviz("?surface=rosenbrock&runner=sgd@-1.2,1;lr=0.001&play=0")
    page.get_by_role("tab", name="Curvature").click()
    expect(page.locator("#curvature-note")).to_have_text(
        "Not quadratic: the Hessian changes from point to point, so κ here is local."
        " Play or step: the curvature comes with the next steps."
    )
    for _ in range(6):
        page.get_by_role("button", name="Step", exact=True).click()
    wait_steps(page, 6)
    steps = settled_steps(page)
    page.wait_for_function(f"n => {CHART}.data && {CHART}.data[0].x.length === n", arg=steps)
    drawn = page.evaluate(f"() => ({{x: {CHART}.data[0].x, y: {CHART}.data[0].y, line: {CHART}.data[1].y}})")
    sent = records(page, runners_id(page))
    assert drawn["x"] == [r["step"] for r in sent]
    assert drawn["y"] == [r["curvature"]["sharpness"][0] for r in sent]  # the server's numbers, as sent
    for r, y in zip(sent, drawn["y"], strict=True):
        assert r["curvature"]["eigenvalues"][1] == y  # SGD: the sharpness is λ_max(H)
        assert y == pytest.approx(reference_lambda_max("rosenbrock", r["point"]), rel=1e-9)
    assert drawn["line"] == [pytest.approx(2 / 0.001)] * steps  # SGD's stability line 2/η
    expect(page.locator("#curvature-note")).to_contain_text("λ_max(H) < 2/η − λ")
    # The principal axes are drawn at the runner on the contour's canvas.
    painted = """() => {
        const c = document.getElementById('overlay-axes');
        const pixels = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return pixels.some((v, i) => i % 4 === 3 && v > 0);
    }"""
    assert page.evaluate(painted)


def runners_id(page) -> str:
    return page.evaluate("() => window.gdviz.runners()[0].id")


def test_a_bowl_shows_kappa_the_optimal_step_and_the_contraction(gdviz, page):
    gdviz("?surface=ill_conditioned_bowl&runner=sgd@-2.5,1.5;lr=0.07&play=0")  # ½(x² + 25y²): λ = 1, 25
    page.get_by_role("tab", name="Curvature").click()
    expect(page.locator("#curvature-kappa")).to_have_text("25")
    expect(page.locator("#curvature-eta")).to_have_text("0.07692")  # 2/(1 + 25)
    expect(page.locator("#curvature-predicted-dirs")).to_have_text("0.93, 0.75")  # |1 − 0.07·λ|
    expect(page.locator("#curvature-predicted")).to_have_text("0.93")
    page.get_by_role("button", name="Play").click()
    wait_steps(page, 60)
    page.get_by_role("button", name="Pause").click()
    settled_steps(page)
    page.wait_for_function(
        "() => !isNaN(parseFloat(document.getElementById('curvature-measured').textContent))"
    )
    measured = float(page.locator("#curvature-measured").inner_text())
    assert math.isclose(measured, 0.93, abs_tol=2e-3)


def test_the_stability_map_draws_the_analytic_boundary_on_a_bowl(gdviz, page):
    gdviz("?surface=ill_conditioned_bowl&runner=momentum@-2.5,1.5;lr=0.07;momentum=0.5&play=0")
    page.get_by_role("tab", name="Stability map").click()
    chart = "document.getElementById('stability-chart')"
    page.wait_for_function(
        f"() => {chart}.data && {chart}.data.some(t => t.name === 'analytic boundary')", timeout=20_000
    )
    line = page.evaluate(f"() => {chart}.data.find(t => t.name === 'analytic boundary')")
    for x, beta in zip(line["x"], line["y"], strict=True):  # heavy ball: η < 2(1 + β)/λ_max, λ_max = 25
        assert 10**x == pytest.approx(2 * (1 + beta) / 25, rel=1e-12)
    expect(page.locator("#stability-boundary-note")).to_be_visible()


def test_a_typed_quadratic_gets_its_kappa_from_the_server(gdviz, page):
    # 3x² + xy + y²: H = [[6, 1], [1, 2]], λ = 4 ∓ √5
    gdviz(
        "?surface=custom&expr=3*x%5E2%20%2B%20x*y%20%2B%20y%5E2&xr=-2,2&yr=-2,2&runner=sgd@1,1;lr=0.1&play=0"
    )
    page.get_by_role("tab", name="Curvature").click()
    low, high = 4 - math.sqrt(5), 4 + math.sqrt(5)
    expect(page.locator("#curvature-kappa")).to_have_text(f"{high / low:.4g}")
    expect(page.locator("#curvature-eta")).to_have_text(f"{2 / (low + high):.4g}")
    expect(page.locator("#curvature-predicted")).to_have_text(
        f"{max(abs(1 - 0.1 * low), abs(1 - 0.1 * high)):.4g}"
    )
