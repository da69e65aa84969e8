"""Journey 1: the hotline operator finds an elder by phone and places an order; the dispatcher assigns
a caregiver; the caregiver (a phone with its location set to the elder's home) checks in, does the
tasks and checks out; an officer sees the visit audited; the family rates it."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tests.browser.conftest import login, shot

ELDER_NAME = "张桂英"
ELDER_PHONE = "13905781234"
CAREGIVER_NAME = "周丽"  # the demo 'caregiver' login's profile
ITEM = "comfort-chat"  # 陪伴聊天: every caregiver may do it, two required tasks


def _queue_empty(page) -> None:
    page.wait_for_function("JSON.parse(localStorage.getItem('yiyang.visits.queue.v1') || '[]').length === 0")


def _elder_home(page, elder_id: int) -> tuple[float, float]:
    """Her registry coordinates, else the nearest region centre (as homecare.queries.elder_home does)."""
    response = page.request.get(f"/api/v1/elders/{elder_id}")
    assert response.ok, response.text()
    elder = response.json()
    if elder["lat"] is not None and elder["lng"] is not None:
        return elder["lat"], elder["lng"]
    code = elder["residence_region"]
    while code:
        region = page.request.get(f"/api/v1/regions/{code}").json()
        if region.get("lat") is not None and region.get("lng") is not None:
            return region["lat"], region["lng"]
        code = region.get("parent_code")
    raise AssertionError("the elder's home has no location")


def test_hotline_order_to_dispatch_visit_audit_and_rating(new_page):
    # 1. The operator finds her by phone and places an order for tomorrow noon: a window that is
    # always free for the demo caregiver (the demo's own visits are around now and tomorrow 8:30, 14:00, 16:00).
    operator = new_page()
    login(operator, "operator")
    operator.goto("/homecare/hotline/")
    operator.fill("#id_q", ELDER_PHONE)
    operator.click("form.search button[type=submit]")
    operator.wait_for_selector("#elder-h")
    assert ELDER_NAME in operator.inner_text("#elder-h")
    elder_id = int(operator.get_attribute("input[type=hidden][name=elder]", "value"))
    operator.select_option("#id_item", ITEM)
    tomorrow = (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)).isoformat()
    operator.fill("#id_date", tomorrow)
    operator.fill("#id_start", "12:00")
    operator.fill("#id_end", "13:00")
    operator.fill("#id_note", "浏览器测试：请提前电话联系")
    shot(operator, "hotline-1-operator-order-form")
    operator.click("form.panel button[type=submit].primary")
    operator.wait_for_url(re.compile(r"/homecare/orders/\d+/$"))
    order_id = int(re.search(r"/orders/(\d+)/", operator.url).group(1))
    order_path = f"/homecare/orders/{order_id}/"
    assert operator.locator("h1 .status-requested").count() == 1
    shot(operator, "hotline-2-order-placed")
    home = _elder_home(operator, elder_id)

    # 2. The dispatcher assigns the demo caregiver on the board.
    dispatcher = new_page()
    login(dispatcher, "dispatcher")
    dispatcher.goto("/homecare/dispatch/")
    card = dispatcher.locator("li.board-card").filter(has=dispatcher.locator(f"h3 a[href='{order_path}']"))
    card.wait_for()
    assert ELDER_NAME in card.inner_text()
    shot(dispatcher, "hotline-3-dispatch-board")
    card.locator("form.assign-other select").select_option(label=CAREGIVER_NAME)
    card.locator("form.assign-other button[type=submit]").click()
    dispatcher.wait_for_load_state()
    assert dispatcher.locator(f"li.board-card h3 a[href='{order_path}']").count() == 0  # left the queue
    dispatcher.goto(order_path)
    assert dispatcher.locator("h1 .status-assigned").count() == 1
    assert CAREGIVER_NAME in dispatcher.inner_text("#h-order + dl")

    # 3. The caregiver, on a phone at the elder's home, checks in, does the tasks and checks out.
    phone = new_page(
        width=360,
        height=740,
        geolocation={"latitude": home[0] + 0.0002, "longitude": home[1]},  # about 20 m from the door
        permissions=["geolocation"],
        service_workers="allow",  # the visit page works offline through its worker, as on a real phone
    )
    login(phone, "caregiver")
    phone.goto("/homecare/visits/")
    visit = phone.locator(f'.visit[data-order="{order_id}"]')
    visit.wait_for()
    assert ELDER_NAME in visit.inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    shot(phone, "hotline-4-caregiver-visits-phone")
    visit.locator('[data-action="check-in"]').click()
    visit.locator(".visit-tasks").wait_for(state="visible")
    _queue_empty(phone)
    done = visit.locator('.task input[value="done"]')
    assert done.count() == 2
    for i in range(done.count()):
        done.nth(i).check()
        _queue_empty(phone)
    visit.locator('[data-role="confirmed"]').check()
    shot(phone, "hotline-5-caregiver-tasks-phone")
    visit.locator('[data-action="check-out"]').click()
    _queue_empty(phone)
    status = visit.locator('[data-role="status"]')
    status.filter(has_text="审核").or_(status.filter(has_text="支付")).wait_for()
    assert visit.locator('[data-role="error"]').inner_text().strip() == ""
    shot(phone, "hotline-6-caregiver-checked-out-phone")
    # Without signal the visit page still opens, from the service worker's copy.
    phone.evaluate("navigator.serviceWorker.ready.then(() => true)")
    phone.reload()
    phone.wait_for_function("navigator.serviceWorker.controller !== null")
    phone.context.set_offline(True)
    phone.reload()
    phone.locator(f'.visit[data-order="{order_id}"]').wait_for()
    phone.context.set_offline(False)

    # 4. The county officer sees the visit audited: paid at once, or flagged (a 60-minute chat
    # checked out within a minute is too short) and approved from the audit queue.
    officer = new_page()
    login(officer, "county-331102")
    officer.goto(order_path)
    assert "公里" in officer.inner_text("#h-evv + dl") or " m" in officer.inner_text("#h-evv + dl")
    if officer.locator("h1 .status-flagged").count():
        entry = None
        for page_no in range(1, 20):
            officer.goto(f"/homecare/audit/?page={page_no}")
            cards = officer.locator("li.board-card").filter(has=officer.locator(f"h3 a[href='{order_path}']"))
            if cards.count():
                entry = cards.first
                break
        assert entry is not None, "the flagged visit is not in the officer's audit queue"
        assert entry.locator("ul.flags li").count() >= 1
        shot(officer, "hotline-7-officer-audit-queue")
        entry.locator("input[name=comment]").fill("电话回访确认服务已完成")
        entry.locator("button.primary").click()
        officer.wait_for_load_state()
        officer.goto(order_path)
    assert officer.locator("h1 .status-paid").count() == 1
    shot(officer, "hotline-8-officer-order-paid")

    # 5. Her daughter rates the visit from her page.
    family = new_page()
    login(family, "family")
    family.goto("/homecare/my/")
    rate = family.locator(f"form[action='{order_path}rate/']")
    rate.wait_for()
    shot(family, "hotline-9-family-rates")
    rate.locator("input[name=score][value='5']").check()
    rate.locator("button[type=submit]").click()
    family.wait_for_load_state()
    assert family.locator(f"form[action='{order_path}rate/']").count() == 0
    family.goto(order_path)
    assert "5/5" in family.inner_text("section[aria-labelledby=h-rating]")
    assert family.locator("h1 .status-paid").count() == 1
    shot(family, "hotline-10-family-rated")
