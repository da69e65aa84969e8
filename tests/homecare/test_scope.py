"""Scope: out of region or relationship is 404; a role without the capability is 403."""

from tests.factories import persona
from tests.homecare.helpers import place
from yiyang.homecare import operations as ops
from yiyang.homecare.queries import elder_ids_served_by, orders_visible_to
from yiyang.people.queries import elders_visible_to


def test_who_sees_an_order(client, api_client, personas, elder, offerings, caregiver, other_provider):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    url = f"/api/v1/orders/{order.pk}"
    for name in ("admin", "city_officer", "county_officer", "worker", "operator", "assessor", "dispatcher", "family", "elder"):
        assert client.get(url, **api_client(personas[name])).status_code == 200, name
    for name in ("other_county_officer", "caregiver", "volunteer"):
        assert client.get(url, **api_client(personas[name])).status_code == 404, name
    assert client.get(url, **api_client(persona("dispatcher", provider=other_provider))).status_code == 404
    for name in ("inspector", "reporter"):
        status = client.get(url, **api_client(personas[name])).status_code
        assert status in (403, 404), name
    # Once assigned, the caregiver sees it; the list agrees with the detail.
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    assert client.get(url, **api_client(personas["caregiver"])).status_code == 200
    assert [o["id"] for o in client.get("/api/v1/orders", **api_client(personas["caregiver"])).json()["items"]] == [order.pk]
    assert client.get("/api/v1/orders", **api_client(personas["other_county_officer"])).json()["count"] == 0


def test_wrong_roles_are_refused(client, api_client, personas, elder, offerings):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    body = {
        "elder_id": elder.pk,
        "item_code": "clean-home",
        "window_start": order.window_start.isoformat(),
        "window_end": order.window_end.isoformat(),
    }
    assert client.post("/api/v1/orders", body, content_type="application/json", **api_client(personas["caregiver"])).status_code == 403
    assert (
        client.post(
            f"/api/v1/orders/{order.pk}/accept", {}, content_type="application/json", **api_client(personas["operator"])
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/v1/orders/{order.pk}/check-in",
        {"lat": 28.4, "lng": 119.9},
        content_type="application/json",
        **api_client(personas["family"]),
    )
    assert r.status_code == 403
    # An elder out of the operator's area is 404 for ordering, like anything else out of scope.
    r = client.post(
        "/api/v1/orders", {**body, "elder_id": elder.pk}, content_type="application/json", **api_client(personas["other_county_officer"])
    )
    assert r.status_code == 404


def test_provider_staff_see_the_elders_they_serve(personas, elder, offerings, caregiver):
    dispatcher, cg = personas["dispatcher"], personas["caregiver"]
    assert not elders_visible_to(dispatcher).filter(pk=elder.pk).exists()
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    assert list(elder_ids_served_by(dispatcher).values_list("elder_id", flat=True)) == [elder.pk]
    assert elders_visible_to(dispatcher).filter(pk=elder.pk).exists()
    assert not elders_visible_to(cg).filter(pk=elder.pk).exists()
    ops.order_assign(order=order, caregiver=caregiver, actor=dispatcher)
    assert elders_visible_to(cg).filter(pk=elder.pk).exists()
    assert orders_visible_to(cg).count() == 1
