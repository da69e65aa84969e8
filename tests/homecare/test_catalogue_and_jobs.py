"""The menu and its editing, providers and caregivers through the API, and the periodic jobs."""

from datetime import time, timedelta

from django.utils import timezone

from tests.homecare.helpers import place
from yiyang.homecare import operations as ops
from yiyang.homecare.catalogue import catalogue_seed
from yiyang.homecare.models import Order, ServiceCategory, ServiceItem
from yiyang.homecare.tasks import orders_overdue, recurrences_extend


def test_menu_has_eight_categories_with_real_items(menu):
    assert list(ServiceCategory.objects.values_list("name", flat=True)) == [
        "助餐",
        "助浴",
        "助洁",
        "助医",
        "助急",
        "助行",
        "康复护理",
        "精神慰藉",
    ]
    for category in ServiceCategory.objects.all():
        assert category.items.exists(), category.name
    for item in menu.values():
        assert item.guide_price_fen > 0 and item.standard_minutes > 0 and item.unit and item.tasks
        assert any(t["required"] for t in item.tasks)
    assert catalogue_seed() == 0  # idempotent


def test_officer_edits_an_item_others_may_not(client, api_client, personas, menu):
    r = client.patch(
        "/api/v1/homecare/catalogue/clean-home",
        {"guide_price_fen": 8500},
        content_type="application/json",
        **api_client(personas["county_officer"]),
    )
    assert r.status_code == 200 and r.json()["guide_price_fen"] == 8500
    r = client.patch(
        "/api/v1/homecare/catalogue/clean-home",
        {"guide_price_fen": -1},
        content_type="application/json",
        **api_client(personas["county_officer"]),
    )
    assert r.status_code == 422 and r.json()["field"] == "guide_price_fen"
    r = client.patch(
        "/api/v1/homecare/catalogue/clean-home",
        {"guide_price_fen": 1},
        content_type="application/json",
        **api_client(personas["dispatcher"]),
    )
    assert r.status_code == 403
    assert ServiceItem.objects.get(code="clean-home").guide_price_fen == 8500
    assert len(client.get("/api/v1/homecare/catalogue", **api_client(personas["elder"])).json()) == len(menu)


def test_providers_offerings_caregivers_receivables(client, api_client, personas, provider, offerings, caregiver):
    headers = api_client(personas["county_officer"])
    providers = client.get("/api/v1/homecare/providers", **headers).json()
    assert [p["id"] for p in providers] == [provider.pk] and providers[0]["rating_count"] == 0
    offered = client.get(f"/api/v1/homecare/providers/{provider.pk}/offerings", **headers).json()
    assert {o["item_code"] for o in offered} == set(offerings) and all(o["area"] for o in offered)
    assert client.get(f"/api/v1/homecare/providers/{provider.pk}/receivables", **headers).json() == []
    cgs = client.get("/api/v1/homecare/caregivers", **api_client(personas["dispatcher"])).json()["items"]
    assert cgs[0]["name"] == "周丽" and cgs[0]["certificates"]
    # The other county's officer sees neither the provider nor its caregivers.
    other = api_client(personas["other_county_officer"])
    assert client.get(f"/api/v1/homecare/providers/{provider.pk}/offerings", **other).status_code == 404
    assert client.get("/api/v1/homecare/caregivers", **other).json()["count"] == 0


def test_overdue_job_flags_orders_nobody_took(personas, elder, offerings, caregiver):
    late = place(elder, offerings["clean-home"].item, personas["operator"])
    fine = place(elder, offerings["clean-home"].item, personas["operator"], days=3)
    Order.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(hours=5))
    result = orders_overdue.call()
    assert result == {"flagged": 1}
    late.refresh_from_db()
    fine.refresh_from_db()
    assert late.overdue_at is not None and fine.overdue_at is None
    # Assigning clears it.
    ops.order_assign(order=late, caregiver=caregiver, actor=personas["dispatcher"])
    late.refresh_from_db()
    assert late.overdue_at is None


def test_recurrence_job_keeps_two_weeks_ahead(personas, elder, offerings):
    start = timezone.localdate() + timedelta(days=1)
    ops.recurrence_create(
        elder=elder,
        item=offerings["meal-delivery"].item,
        weekdays=[0, 1, 2, 3, 4],
        start_time=time(11),
        end_time=time(11, 30),
        starts_on=start,
        actor=personas["operator"],
    )
    first = recurrences_extend.call()
    assert first["created"] >= 8 and first["refused"] == 0
    assert recurrences_extend.call()["created"] == 0
