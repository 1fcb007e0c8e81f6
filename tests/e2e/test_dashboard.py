"""Scenario 5: the jurisdiction overview (辖区概览) draws its charts in the browser."""

from __future__ import annotations

from tests.e2e.browser import expect

#: ECharts' default animation lasts 1 s; the picture is taken once it has settled
ANIMATION_MS = 1200


def test_the_jurisdiction_overview_draws_every_chart_with_the_local_echarts(users):
    official = users("official_jd")
    official.page.set_viewport_size({"width": 1366, "height": 1400})  # the README's picture: KPIs and two charts
    official.visit("/dashboard/jurisdiction/")  # the watch: no other host, no JS or console error
    page = official.page
    expect(page.locator(".dashboard h3")).to_contain_text("辖区概览")
    charts = page.locator(".dashboard-chart")
    assert charts.count() > 1, "the demo data gives the overview charts to draw"
    # each figure gets its own canvas from ECharts, drawn at the box's size
    expect(page.locator(".dashboard-chart canvas")).to_have_count(charts.count())
    for canvas in page.locator(".dashboard-chart canvas").all():
        box = canvas.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100
    assert page.evaluate("() => [...document.querySelectorAll('.dashboard-chart')]"
                         ".every(box => window.echarts.getInstanceByDom(box))")
    page.wait_for_timeout(ANIMATION_MS)
    official.shot("jurisdiction-overview", readme="dashboard")
    official.check()
