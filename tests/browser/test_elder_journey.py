"""Journey 2: in elder mode, order a meal in three taps; press help and watch the alert reach the
operator's console without anyone reloading it."""

from urllib.parse import parse_qs, urlparse

from tests.browser.conftest import login, resolve_alert, shot


def test_elder_orders_a_meal_in_three_taps_and_help_reaches_the_console_live(new_page):
    operator = new_page()
    login(operator, "operator")
    operator.goto("/guardian/console/")
    operator.wait_for_selector("#guardian-live .guardian-summary")

    elder = new_page(width=360, height=740)
    login(elder, "elder")
    assert elder.url.endswith("/care/")
    assert "elder-mode" in (elder.get_attribute("body", "class") or "")
    shot(elder, "elder-home-phone")
    # Body text is at least 20 px and the big buttons at least 48 px high.
    assert elder.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 20
    heights = elder.eval_on_selector_all(".care-button", "els => els.map(e => e.getBoundingClientRect().height)")
    assert heights and min(heights) >= 48
    assert elder.evaluate("document.documentElement.scrollWidth") <= 360

    elder.click("a.care-button[href*='/care/order/meal-delivery/']")  # tap 1
    elder.click("a.care-button[href*='slot=tomorrow-am']")  # tap 2
    summary = elder.inner_text(".care-summary")
    assert "送餐上门" in summary and "元" in summary
    shot(elder, "elder-confirm-phone")
    elder.click("button.care-confirm")  # tap 3
    elder.wait_for_url("**/care/orders/**")
    assert "送餐上门" in elder.inner_text("main")
    shot(elder, "elder-booked-phone")

    elder.goto("/care/")
    before = operator.locator(".guardian-alert").count()
    elder.click("button.care-sos")
    elder.wait_for_url("**/care/help/sent/**")
    shot(elder, "elder-help-sent-phone")

    # The console polls by itself: the new critical alert appears without a reload.
    operator.wait_for_function(f"document.querySelectorAll('.guardian-alert').length > {before}", timeout=30_000)
    critical = operator.locator(".guardian-alert[data-critical-open='1']").filter(has_text="张桂英")
    critical.first.wait_for()
    # …and a screen reader hears it once, through the console's status line.
    operator.wait_for_function("document.getElementById('guardian-announce').textContent.includes('张桂英')")
    shot(operator, "operator-console-help-alert")
    resolve_alert(operator, parse_qs(urlparse(elder.url).query)["alert"][0])  # later help requests raise new alerts
