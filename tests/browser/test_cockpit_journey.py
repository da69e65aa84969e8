"""Journey 4: the plan cockpit draws its charts (ECharts), for the city and for a county officer,
who cannot open another county's cockpit."""

from tests.browser.conftest import login, shot

# A chart container holding a drawn canvas or svg with a non-zero size.
CHART_DRAWN = """() => [...document.querySelectorAll('.plan-chart')].some(box => {
    const drawn = box.querySelector('canvas, svg');
    if (!drawn) return false;
    const r = drawn.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
})"""


def _wait_for_chart(page) -> None:
    page.wait_for_selector(".plan-chart")
    page.wait_for_function(CHART_DRAWN, timeout=30_000)


def test_city_officer_cockpit_and_indicator_draw_their_charts(new_page):
    page = new_page()
    login(page, "city-officer")
    page.goto("/plan/")
    assert page.locator("table a[href*='/plan/indicators/']").count() > 0
    _wait_for_chart(page)
    shot(page, "cockpit-1-city")

    page.locator("table a[href*='/plan/indicators/']").first.click()
    page.wait_for_url("**/plan/indicators/**")
    _wait_for_chart(page)
    # The same values are given as a table for those who cannot see the chart.
    assert page.locator("table caption").first.is_visible()
    shot(page, "cockpit-2-indicator")


def test_county_officer_sees_their_county_but_not_another(new_page):
    page = new_page()
    login(page, "county-331121")
    response = page.goto("/plan/")
    assert response.status == 200
    assert "青田县" in page.inner_text("main")
    _wait_for_chart(page)
    shot(page, "cockpit-3-county-qingtian")

    indicator = page.locator("table a[href*='/plan/indicators/']").first.get_attribute("href")
    assert "region=331121" in indicator

    # Another county's cockpit and indicator, by URL: not found.
    assert page.goto("/plan/?region=331102").status == 404
    assert page.goto(indicator.replace("region=331121", "region=331102")).status == 404
    # The city as a whole is not theirs either.
    assert page.goto("/plan/?region=331100").status == 404
