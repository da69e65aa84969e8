"""The caregiver's phone without signal: actions are queued on the phone and sent when the signal returns.

Chromium (Playwright) on a 360 px wide screen against the live test server. The server keeps the phone's
time of each action and the time it received it.
"""

import shutil
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from tests.factories import PASSWORD
from tests.homecare.conftest import HOME
from tests.services import require_binary
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)

pytestmark = [pytest.mark.browser]


def phone_options(live_server, *, locale: str, at: tuple[float, float]) -> dict:
    """A 360 px wide phone at `at`, with location allowed."""
    return {
        "viewport": {"width": 360, "height": 740},
        "locale": locale,
        "base_url": live_server.url,
        "bypass_csp": True,
        "geolocation": {"latitude": at[0], "longitude": at[1]},
        "permissions": ["geolocation"],
    }


def assigned_visit(personas, elder, offerings, caregiver) -> Order:
    """A visit starting in a quarter of an hour, assigned to the caregiver."""
    start = timezone.localtime() + timezone.timedelta(minutes=15)
    order, _ = ops.order_create(
        elder=elder,
        item=offerings["comfort-chat"].item,
        window_start=start,
        window_end=start + timezone.timedelta(hours=1),
        actor=personas["operator"],
    )
    return ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])


def open_visits(page, user) -> None:
    """Log in as `user` and open today's visits."""
    page.goto("/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("form button[type=submit].primary")
    page.goto("/homecare/visits/")


@pytest.fixture
def phone(restore_regions, transactional_db, live_server, monkeypatch):
    if connection.vendor != "sqlite":
        pytest.skip("browser tests run once, in the SQLite pass")
    require_binary("chromium", CHROMIUM)
    # Playwright's sync API keeps an event loop in this thread; the ORM calls in the test are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(**phone_options(live_server, locale="zh-CN", at=(HOME[0], HOME[1] + 0.0004)))
        context.set_default_timeout(30_000)
        yield context
        browser.close()


def test_check_in_and_tasks_offline_then_sync(phone, personas, elder, offerings, caregiver):
    order = assigned_visit(personas, elder, offerings, caregiver)
    page = phone.new_page()
    open_visits(page, personas["caregiver"])
    card = page.locator(f'.visit[data-order="{order.pk}"]')
    assert card.is_visible()
    # Nothing is wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360

    phone.set_offline(True)
    card.locator('[data-action="check-in"]').click()
    page.wait_for_function("JSON.parse(localStorage.getItem('yiyang.visits.queue.v1') || '[]').length === 1")
    card.locator(".visit-tasks").wait_for(state="visible")
    card.locator('input[value="done"]').first.check()
    card.locator('input[value="done"]').nth(1).check()
    page.wait_for_function("JSON.parse(localStorage.getItem('yiyang.visits.queue.v1') || '[]').length === 3")
    assert "3" in page.locator("#sync-state").inner_text()
    order.refresh_from_db()
    assert order.status == "assigned" and order.checkin_at is None  # nothing reached the server

    page.wait_for_timeout(1500)  # the phone's clock moves on while offline
    phone.set_offline(False)
    page.wait_for_function("JSON.parse(localStorage.getItem('yiyang.visits.queue.v1') || '[]').length === 0")
    order.refresh_from_db()
    assert order.status == "in_service"
    assert order.checkin_received_at - order.checkin_at >= timezone.timedelta(seconds=1)
    assert 0 < order.checkin_distance_m < 100
    assert set(order.task_outcomes.values_list("task_code", flat=True)) == {"chat", "mood"}

    # Back online: check out goes straight through, and the automatic audit has run.
    card.locator('[data-role="confirmed"]').check()
    card.locator('[data-action="check-out"]').click()
    page.wait_for_function("JSON.parse(localStorage.getItem('yiyang.visits.queue.v1') || '[]').length === 0")
    card.locator('[data-role="status"]').filter(has_text="审核").or_(
        card.locator('[data-role="status"]').filter(has_text="支付")
    ).wait_for()
    order.refresh_from_db()
    assert order.status in ("paid", "flagged") and order.checkout_at is not None
    assert Order.objects.get(pk=order.pk).transitions.filter(action="check_in").get().device_time == order.checkin_at


def test_a_refused_check_in_shows_the_distance(phone, personas, elder, offerings, caregiver):
    order = assigned_visit(personas, elder, offerings, caregiver)
    phone.set_geolocation({"latitude": HOME[0] + 0.09, "longitude": HOME[1]})  # about 10 km north
    page = phone.new_page()
    open_visits(page, personas["caregiver"])
    card = page.locator(f'.visit[data-order="{order.pk}"]')
    card.locator('[data-action="check-in"]').click()
    error = card.locator('[data-role="error"]')
    error.filter(has_text="10.0").wait_for()
    order.refresh_from_db()
    assert order.status == "assigned"


def test_a_phone_set_to_english_gets_the_pages_language_in_refusals(phone, live_server, personas, elder, offerings, caregiver):
    """Many phones here report an English browser language their users never chose: the page is Chinese,
    and so must be the API's refusal it shows."""
    order = assigned_visit(personas, elder, offerings, caregiver)
    english = phone.browser.new_context(**phone_options(live_server, locale="en-US", at=(HOME[0] + 0.09, HOME[1])))  # about 10 km north
    try:
        page = english.new_page()
        open_visits(page, personas["caregiver"])
        assert page.locator("html").get_attribute("lang") == "zh-hans"
        card = page.locator(f'.visit[data-order="{order.pk}"]')
        card.locator('[data-action="check-in"]').click()
        error = card.locator('[data-role="error"]')
        error.filter(has_text="公里").wait_for()
        assert "km from" not in error.inner_text()
    finally:
        english.close()
