"""A need found on a visit opens a home-care service order in one step."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from yiyang.core.errors import DomainError, StateConflict
from yiyang.homecare.catalogue import catalogue_seed
from yiyang.homecare.models import Order, ProviderOffering, ServiceItem
from yiyang.visits.models import Visit
from yiyang.visits.operations import visit_open_order, visit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(db, provider):
    catalogue_seed()
    item = ServiceItem.objects.filter(is_active=True).first()
    ProviderOffering.objects.create(provider=provider, item=item, price_fen=item.guide_price_fen)
    return item


def window():
    start = timezone.make_aware(datetime.combine(timezone.localdate() + timedelta(days=1), time(9, 0)))
    return start, start + timedelta(minutes=90)


def test_need_becomes_an_order_once(personas, elders, item):
    visit = visit_record(
        elder=elders["liandu"], actor=personas["worker"], visited_on=timezone.localdate(),
        mode="in_person", health="fair", mood="good", home="ok", needs=["meal"],
    )  # fmt: skip
    start, end = window()
    order = visit_open_order(visit=visit, item_code=item.code, window_start=start, window_end=end, actor=personas["worker"])
    assert order.elder == elders["liandu"] and order.channel == "worker" and f"#{visit.pk}" in order.note
    visit.refresh_from_db()
    assert visit.follow_up == f"order:{order.pk}"
    with pytest.raises(StateConflict):
        visit_open_order(visit=visit, item_code=item.code, window_start=start, window_end=end, actor=personas["worker"])
    assert Order.objects.count() == 1


def test_bad_service_or_window_places_nothing(personas, elders, item):
    visit = visit_record(
        elder=elders["liandu"], actor=personas["worker"], visited_on=timezone.localdate(),
        mode="phone", health="good", mood="good", home="ok", needs=["cleaning"],
    )  # fmt: skip
    start, end = window()
    with pytest.raises(DomainError) as err:
        visit_open_order(visit=visit, item_code="no-such-item", window_start=start, window_end=end, actor=personas["worker"])
    assert err.value.field == "item_code"
    with pytest.raises(DomainError) as err:
        visit_open_order(visit=visit, item_code=item.code, window_start=end, window_end=start, actor=personas["worker"])
    assert err.value.field == "window_end"
    visit.refresh_from_db()
    assert visit.follow_up == "" and not Order.objects.exists()


def test_api_and_page(api_client, client, personas, elders, item):
    visit = visit_record(
        elder=elders["liandu"], actor=personas["worker"], visited_on=timezone.localdate(),
        mode="phone", health="good", mood="good", home="ok", needs=["meal"],
    )  # fmt: skip
    start, end = window()
    h = api_client(personas["worker"])
    body = {"item_code": item.code, "window_start": start.isoformat(), "window_end": end.isoformat()}
    r = client.post(f"/api/v1/visits/{visit.pk}/order", body, content_type="application/json", **h)
    assert r.status_code == 201, r.content
    assert client.post(f"/api/v1/visits/{visit.pk}/order", body, content_type="application/json", **h).status_code == 409
    other = visit_record(
        elder=elders["qingtian"], actor=personas["admin"], visited_on=timezone.localdate(),
        mode="phone", health="good", mood="good", home="ok", needs=["meal"],
    )  # fmt: skip
    assert client.post(f"/api/v1/visits/{other.pk}/order", body, content_type="application/json", **h).status_code == 404
    second = Visit.objects.create(
        elder=elders["liandu"],
        visitor=personas["worker"],
        visited_on=timezone.localdate(),
        mode="phone",
        health="good",
        mood="good",
        home="ok",
        needs=["meal"],
    )
    client.force_login(personas["worker"])
    page = client.get(f"/visits/elder/{elders['liandu'].pk}/").content.decode()
    assert f"/visits/visit/{second.pk}/order/" in page
    r = client.post(
        f"/visits/visit/{second.pk}/order/", {"item_code": item.code, "day": start.date().isoformat(), "start": "09:00", "end": "10:00"}
    )
    assert r.status_code == 302
    second.refresh_from_db()
    assert second.follow_up.startswith("order:")
