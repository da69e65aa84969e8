"""The issue's bad inputs: each refused with a message naming the problem, and nothing changes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, region
from tests.homecare.conftest import HOME, offset, window
from tests.homecare.helpers import place
from yiyang.audit.models import AuditEvent
from yiyang.homecare.models import Order, OrderTransition, ProviderOffering, Rating


def post(client, url, headers, body):
    return client.post(url, body, content_type="application/json", **headers)


def snapshot():
    return (
        Order.objects.count(),
        OrderTransition.objects.count(),
        Rating.objects.count(),
        AuditEvent.objects.filter(action__startswith="order.").count(),
    )


def order_body(elder, item="clean-home", **kw):
    start, end = window()
    return {"elder_id": elder.pk, "item_code": item, "window_start": start.isoformat(), "window_end": end.isoformat(), **kw}


def test_elder_outside_the_providers_area(client, api_client, personas, offerings, provider):
    # 青田县 is not in the test provider's area (莲都区); the city operator can see the elder.
    far = ElderFactory(name="青田的长辈", residence_region=region("331121001"))
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(far, provider_id=provider.pk))
    assert r.status_code == 400
    assert r.json()["field"] == "elder" and r.json()["code"] == "outside_provider_area"
    assert "青田的长辈" in r.json()["message"]
    # Without a provider nobody covers the home: named as such.
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(far))
    assert r.status_code == 400 and r.json()["code"] == "item_not_offered_here"
    assert snapshot() == before


def test_archived_elder(client, api_client, personas, offerings, archived_elder):
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(archived_elder))
    assert r.status_code == 400 and r.json()["field"] == "elder" and r.json()["code"] == "elder_archived"
    assert snapshot() == before


def test_item_the_provider_does_not_offer(client, api_client, personas, elder, offerings, provider):
    ProviderOffering.objects.filter(provider=provider, item__code="bath-home").delete()
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(elder, "bath-home", provider_id=provider.pk))
    assert r.status_code == 400 and r.json()["field"] == "item" and r.json()["code"] == "item_not_offered"
    assert snapshot() == before


def test_window_in_the_past(client, api_client, personas, elder, offerings):
    start = timezone.now() - timedelta(hours=3)
    body = {
        "elder_id": elder.pk,
        "item_code": "clean-home",
        "window_start": start.isoformat(),
        "window_end": (start + timedelta(hours=1)).isoformat(),
    }
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), body)
    assert r.status_code == 400 and r.json()["field"] == "window_start" and r.json()["code"] == "window_past"
    r = post(
        client, "/api/v1/orders", api_client(personas["operator"]), {**order_body(elder), "window_end": order_body(elder)["window_start"]}
    )
    assert r.status_code == 400 and r.json()["field"] == "window_end"
    assert snapshot() == before


@pytest.fixture
def assigned(personas, elder, offerings, caregiver):
    from yiyang.homecare.operations import order_assign

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    return order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])


def test_check_in_beyond_the_hard_limit(client, api_client, personas, assigned):
    before = snapshot()
    lat, lng = offset(HOME, 7300)
    r = post(client, f"/api/v1/orders/{assigned.pk}/check-in", api_client(personas["caregiver"]), {"lat": lat, "lng": lng})
    assert r.status_code == 400
    body = r.json()
    assert body["field"] == "location" and body["code"] == "too_far"
    assert 7200 < body["distance_m"] < 7400 and body["limit_m"] == 5000
    assert "7.3" in body["message"]
    assigned.refresh_from_db()
    assert assigned.status == "assigned" and assigned.checkin_at is None
    assert snapshot() == before


def test_hard_limit_is_configurable(client, api_client, personas, assigned, settings):
    settings.YIYANG_CHECKIN_MAX_METERS = 1000
    lat, lng = offset(HOME, 1500)
    r = post(client, f"/api/v1/orders/{assigned.pk}/check-in", api_client(personas["caregiver"]), {"lat": lat, "lng": lng})
    assert r.status_code == 400 and r.json()["limit_m"] == 1000


def test_check_out_before_check_in(client, api_client, personas, assigned):
    before = snapshot()
    r = post(client, f"/api/v1/orders/{assigned.pk}/check-out", api_client(personas["caregiver"]), {"lat": HOME[0], "lng": HOME[1]})
    assert r.status_code == 409
    assert r.json()["code"] == "illegal_transition" and r.json()["status"] == "assigned"
    assert r.json()["action"] == "check_out" and r.json()["message"]
    assert snapshot() == before


def test_second_check_in(client, api_client, personas, assigned):
    phone = api_client(personas["caregiver"])
    assert post(client, f"/api/v1/orders/{assigned.pk}/check-in", phone, {"lat": HOME[0], "lng": HOME[1]}).status_code == 200
    assigned.refresh_from_db()
    first = assigned.checkin_at
    before = snapshot()
    r = post(client, f"/api/v1/orders/{assigned.pk}/check-in", phone, {"lat": HOME[0], "lng": HOME[1]})
    assert r.status_code == 409 and r.json()["status"] == "in_service" and r.json()["action"] == "check_in"
    assigned.refresh_from_db()
    assert assigned.checkin_at == first
    assert snapshot() == before


def test_rating_of_six(client, api_client, personas, elder, offerings, caregiver):
    from tests.homecare.helpers import serve

    order = serve(place(elder, offerings["comfort-chat"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    before = snapshot()
    r = post(client, f"/api/v1/orders/{order.pk}/rate", api_client(personas["family"]), {"score": 6})
    assert r.status_code == 400 and r.json()["field"] == "score" and "5" in r.json()["message"]
    r = post(client, f"/api/v1/orders/{order.pk}/rate", api_client(personas["family"]), {"score": 0})
    assert r.status_code == 400 and r.json()["field"] == "score"
    assert snapshot() == before


def test_check_out_with_a_required_task_open(client, api_client, personas, assigned):
    phone = api_client(personas["caregiver"])
    post(client, f"/api/v1/orders/{assigned.pk}/check-in", phone, {"lat": HOME[0], "lng": HOME[1]})
    post(client, f"/api/v1/orders/{assigned.pk}/tasks", phone, {"task_code": "floors", "outcome": "done"})
    before = snapshot()
    r = post(client, f"/api/v1/orders/{assigned.pk}/check-out", phone, {"lat": HOME[0], "lng": HOME[1]})
    assert r.status_code == 400 and r.json()["field"] == "tasks"
    assert "厨房卫生间清洁" in r.json()["message"] and "清运垃圾" in r.json()["message"]
    assigned.refresh_from_db()
    assert assigned.status == "in_service"
    assert snapshot() == before


def test_unknown_task_and_outcome(client, api_client, personas, assigned):
    phone = api_client(personas["caregiver"])
    post(client, f"/api/v1/orders/{assigned.pk}/check-in", phone, {"lat": HOME[0], "lng": HOME[1]})
    r = post(client, f"/api/v1/orders/{assigned.pk}/tasks", phone, {"task_code": "nope", "outcome": "done"})
    assert r.status_code == 400 and r.json()["field"] == "task_code"
    r = post(client, f"/api/v1/orders/{assigned.pk}/tasks", phone, {"task_code": "floors", "outcome": "maybe"})
    assert r.status_code == 400 and r.json()["field"] == "outcome"


def test_device_time_in_the_future(client, api_client, personas, assigned):
    future = (timezone.now() + timedelta(hours=2)).isoformat()
    r = post(
        client,
        f"/api/v1/orders/{assigned.pk}/check-in",
        api_client(personas["caregiver"]),
        {"lat": HOME[0], "lng": HOME[1], "device_time": future},
    )
    assert r.status_code == 400 and r.json()["field"] == "device_time"
    assigned.refresh_from_db()
    assert assigned.status == "assigned"


def test_cancel_needs_a_reason(client, api_client, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    before = snapshot()
    r = post(client, f"/api/v1/orders/{order.pk}/cancel", api_client(personas["family"]), {"reason": "  "})
    assert r.status_code == 400 and r.json()["field"] == "reason"
    assert snapshot() == before


def test_offering_area_narrower_than_the_providers(client, api_client, personas, elder, offerings, provider):
    # The provider serves all of 莲都区 but offers bathing only in 岩泉街道.
    offerings["bath-home"].regions.set([region("331102002")])
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(elder, "bath-home", provider_id=provider.pk))
    assert r.status_code == 400 and r.json()["code"] == "outside_provider_area"
    assert snapshot() == before
    there = ElderFactory(name="岩泉的长辈", residence_region=region("331102002"))
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(there, "bath-home"))
    assert r.status_code == 201 and r.json()["provider_id"] == provider.pk


@pytest.mark.parametrize("note", ["call first\x00", "bell\x07"])
def test_a_note_with_control_characters_is_refused_naming_it(client, api_client, personas, elder, offerings, note):
    # PostgreSQL refuses NUL in text: without the check this was a server error there, not a message.
    before = snapshot()
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(elder, note=note))
    assert r.status_code == 400 and r.json()["field"] == "note" and r.json()["code"] == "control_characters"
    assert snapshot() == before


def test_a_note_may_have_line_breaks(client, api_client, personas, elder, offerings):
    r = post(client, "/api/v1/orders", api_client(personas["operator"]), order_body(elder, note="Gate code 1234\nDog is friendly"))
    assert r.status_code == 201
    assert Order.objects.get().note == "Gate code 1234\nDog is friendly"


def test_a_recurrence_note_with_nul_is_refused_naming_it(client, api_client, personas, elder, offerings):
    from yiyang.homecare.models import Recurrence

    body = {
        "elder_id": elder.pk,
        "item_code": "clean-home",
        "weekdays": [0, 2, 4],
        "start_time": "09:00",
        "end_time": "10:00",
        "starts_on": (timezone.localdate() + timedelta(days=1)).isoformat(),
        "note": "x\x00",
    }
    r = post(client, "/api/v1/homecare/recurrences", api_client(personas["operator"]), body)
    assert r.status_code == 400 and r.json()["field"] == "note", r.json()
    assert not Recurrence.objects.exists()


def test_caregivers_homes_are_shown_only_to_those_who_manage_them(client, api_client, personas, caregiver):
    rows = client.get("/api/v1/homecare/caregivers", **api_client(personas["operator"])).json()["items"]
    assert rows and all(r["home_lat"] is None and r["home_lng"] is None for r in rows)
    rows = client.get("/api/v1/homecare/caregivers", **api_client(personas["dispatcher"])).json()["items"]
    assert any(r["home_lat"] is not None for r in rows)
