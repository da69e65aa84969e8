"""The closed loop through the HTTP API: create -> accept -> assign -> travel -> check in -> tasks -> check out -> audit -> rate."""

from datetime import timedelta

from django.utils import timezone

from tests.homecare.conftest import HOME, window
from yiyang.homecare.models import Order, OrderTransition


def post(client, url, headers, body=None, **extra):
    return client.post(url, body or {}, content_type="application/json", **headers, **extra)


def test_lifecycle_through_the_api(client, api_client, personas, elder, offerings, caregiver):
    operator = api_client(personas["operator"])
    dispatcher = api_client(personas["dispatcher"])
    phone = api_client(personas["caregiver"])
    family = api_client(personas["family"])
    start, end = window()
    r = post(
        client,
        "/api/v1/orders",
        operator,
        {
            "elder_id": elder.pk,
            "item_code": "bath-home",
            "window_start": start.isoformat(),
            "window_end": end.isoformat(),
            "note": "怕冷，水温高一些",
        },
        HTTP_IDEMPOTENCY_KEY="call-1",
    )
    assert r.status_code == 201, r.content
    order = r.json()
    assert order["status"] == "requested" and order["price_fen"] == 10000 and order["channel"] == "hotline"
    oid = order["id"]

    # The dispatcher sees a ranked suggestion and assigns the first.
    r = post(client, f"/api/v1/orders/{oid}/accept", dispatcher)
    assert r.json()["status"] == "accepted"
    r = client.get(f"/api/v1/orders/{oid}/suggestions", **dispatcher)
    assert r.status_code == 200
    assert r.json()["ranked"] and r.json()["ranked"][0]["caregiver_id"] == caregiver.pk, r.json()
    r = post(client, f"/api/v1/orders/{oid}/assign", dispatcher, {"caregiver_id": caregiver.pk})
    assert r.json()["status"] == "assigned" and r.json()["caregiver_name"] == "周丽"

    # The caregiver's phone, offline for a while: device times from earlier, received now.
    t0 = timezone.now() - timedelta(minutes=70)
    assert (
        post(client, f"/api/v1/orders/{oid}/start-travel", phone, {"device_time": (t0 - timedelta(minutes=15)).isoformat()}).json()[
            "status"
        ]
        == "en_route"
    )
    r = post(client, f"/api/v1/orders/{oid}/check-in", phone, {"lat": HOME[0], "lng": HOME[1] + 0.001, "device_time": t0.isoformat()})
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "in_service" and 0 < r.json()["checkin_distance_m"] < 200
    for task in ("precheck", "bath", "dress", "bathroom"):
        r = post(
            client,
            f"/api/v1/orders/{oid}/tasks",
            phone,
            {"task_code": task, "outcome": "done", "device_time": (t0 + timedelta(minutes=5)).isoformat()},
        )
        assert r.status_code == 200, r.content
    r = post(
        client,
        f"/api/v1/orders/{oid}/check-out",
        phone,
        {"lat": HOME[0], "lng": HOME[1], "device_time": (t0 + timedelta(minutes=62)).isoformat(), "elder_confirmed": True},
    )
    assert r.status_code == 200, r.content
    done = r.json()
    assert done["status"] == "paid", done["audit_flags"]
    assert done["duration_minutes"] == 62
    assert done["subsidy_fen"] + done["copay_fen"] == 10000
    assert done["checkin_received_at"] > done["checkin_at"]

    # Family rates it; the timeline holds every change with who and when.
    r = post(client, f"/api/v1/orders/{oid}/rate", family, {"score": 5, "comment": "很细心"})
    assert r.status_code == 200, r.content
    detail = client.get(f"/api/v1/orders/{oid}", **family).json()
    assert detail["rating"]["score"] == 5
    assert [t["to_status"] for t in detail["timeline"]] == [
        "requested",
        "accepted",
        "assigned",
        "en_route",
        "in_service",
        "completed",
        "paid",
    ]
    assert detail["timeline"][3]["device_time"] is not None
    assert [t["outcome"] for t in detail["tasks"]] == ["done"] * 4
    assert OrderTransition.objects.filter(order_id=oid).count() == 7


def test_idempotency_key_returns_the_first_order(client, api_client, personas, elder, offerings):
    operator = api_client(personas["operator"])
    start, end = window()
    body = {"elder_id": elder.pk, "item_code": "clean-home", "window_start": start.isoformat(), "window_end": end.isoformat()}
    first = post(client, "/api/v1/orders", operator, body, HTTP_IDEMPOTENCY_KEY="k-42")
    again = post(client, "/api/v1/orders", operator, body, HTTP_IDEMPOTENCY_KEY="k-42")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    other = post(client, "/api/v1/orders", operator, {**body, "item_code": "meal-delivery"}, HTTP_IDEMPOTENCY_KEY="k-42")
    assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"
    assert Order.objects.count() == 1
    assert post(client, "/api/v1/orders", operator, body).status_code == 201  # no key: a new order
    assert Order.objects.count() == 2


def test_a_retry_gets_its_first_answer_even_once_the_checks_refuse_it(personas, elder, offerings, monkeypatch):
    import pytest

    from yiyang.core.errors import DomainError
    from yiyang.homecare import operations as ops

    operator, item = personas["operator"], offerings["clean-home"].item
    start, end = window(days=1)
    first, created = ops.order_create(elder=elder, item=item, window_start=start, window_end=end, actor=operator, idempotency_key="k-7")
    # The phone retries the next evening, after the window: the checks alone would refuse the order now.
    later = timezone.now() + timedelta(days=2)
    monkeypatch.setattr(timezone, "now", lambda: later)
    again, created_again = ops.order_create(
        elder=elder, item=item, window_start=start, window_end=end, actor=operator, idempotency_key="k-7"
    )
    assert (created, again.pk, created_again) == (True, first.pk, False)
    with pytest.raises(DomainError) as refused:
        ops.order_create(elder=elder, item=item, window_start=start, window_end=end, actor=operator, idempotency_key="k-8")
    assert refused.value.code == "window_past"
    assert Order.objects.count() == 1


def test_a_retry_without_a_signed_in_requester_gets_the_first_order(elder, offerings):
    from django.contrib.auth.models import AnonymousUser

    from yiyang.homecare import operations as ops

    start, end = window()
    item = offerings["clean-home"].item
    placed = [
        ops.order_create(elder=elder, item=item, window_start=start, window_end=end, actor=AnonymousUser(), idempotency_key="k-anon")
        for _ in range(2)
    ]
    assert [created for _order, created in placed] == [True, False] and placed[0][0].pk == placed[1][0].pk


def test_idempotency_key_is_a_database_constraint(personas, elder, offerings, menu, provider):
    import pytest
    from django.db import IntegrityError, transaction

    start, end = window()
    fields = dict(
        provider=provider,
        elder=elder,
        item=menu["clean-home"],
        window_start=start,
        window_end=end,
        service_date=start.date(),
        price_fen=1,
        requested_by=personas["operator"],
        idempotency_key="dup",
    )
    Order.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(**fields)


def test_every_operation_is_in_the_openapi(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for suffix in (
        "accept",
        "assign",
        "start-travel",
        "check-in",
        "tasks",
        "check-out",
        "not-home",
        "audit",
        "rate",
        "cancel",
        "suggestions",
    ):
        assert f"/api/v1/orders/{{order_id}}/{suffix}" in paths, suffix
    assert "post" in paths["/api/v1/orders"] and "get" in paths["/api/v1/orders"]
    assert "/api/v1/homecare/catalogue" in paths and "/api/v1/homecare/recurrences" in paths
