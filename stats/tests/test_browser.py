import pytest

from stats.tests.test_stats_pages import seeded  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_ministry_sees_the_dashboard_with_drawn_charts_in_korean(login_page, seeded, ministry_user):  # noqa: F811
    page = login_page(ministry_user)
    page.goto("/stats/?from=2026-01&to=2026-03&group=center")
    assert page.locator("h1").inner_text() == "월별 통계"
    page.wait_for_selector("body[data-charts-ready='1']")
    for chart in ("chart-trend", "chart-domain", "chart-accept", "chart-funnel"):
        drawn = page.evaluate(
            """id => { const c = document.getElementById(id); if (!c.chart || c.width === 0) return 0;
                 const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                 let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }""",
            chart,
        )
        assert drawn > 500, chart
    assert "서울관악고용복지플러스센터" in page.locator("[data-testid=stats-table]").inner_text()
    assert "<5" in page.locator("[data-testid=stats-table]").inner_text()
    assert page.evaluate("Chart.defaults.font.family").startswith('"Noto Sans CJK KR"')
