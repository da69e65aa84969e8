"""Dispatch suggestions: qualified, on duty, free, nearest from where they will be, least loaded."""

from datetime import date, timedelta

import pytest

from tests.homecare.conftest import HOME, make_caregiver, offset
from tests.homecare.helpers import place
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Certificate, Qualification
from yiyang.homecare.queries import dispatch_suggestions, order_locked


def test_ranking_and_exclusions(personas, elder, offerings, provider):
    make_caregiver(provider, name="近", at=offset(HOME, 800))
    make_caregiver(provider, name="远", at=offset(HOME, 6000))
    expired = make_caregiver(provider, name="证过期", at=HOME, qualified=False)
    Certificate.objects.create(caregiver=expired, kind=Qualification.CARE_WORKER, expires_on=date.today() - timedelta(days=1))
    make_caregiver(provider, name="下班", at=HOME, work_start="13:00", work_end="18:00")
    busy = make_caregiver(provider, name="忙", at=HOME)
    booked = ops.order_assign(
        order=place(elder, offerings["comfort-chat"].item, personas["operator"], hour=9, minute=30),
        caregiver=busy,
        actor=personas["dispatcher"],
    )

    order = place(elder, offerings["bath-home"].item, personas["operator"], hour=9)
    found = dispatch_suggestions(order)
    assert [s.name for s in found.ranked] == ["近", "远"]
    assert found.ranked[0].rank == 1 and 700 < found.ranked[0].distance_m < 900
    reasons = {e["name"]: e["reason"] for e in found.excluded}
    assert set(reasons) == {"证过期", "下班", "忙"}
    assert str(date.today() - timedelta(days=1)) in reasons["证过期"]

    # An expired certificate also stops a manual assignment for an item that needs it.
    with pytest.raises(DomainError) as refused:
        ops.order_assign(order=order, caregiver=expired, actor=personas["dispatcher"])
    assert refused.value.field == "caregiver" and refused.value.code == "caregiver_unqualified"
    # A busy caregiver cannot be double-booked.
    with pytest.raises(DomainError) as clash:
        ops.order_assign(order=order, caregiver=busy, actor=personas["dispatcher"])
    assert clash.value.status == 409 and clash.value.code == "caregiver_busy"
    # ... and is told which order is in the way, and when.
    assert clash.value.extra["clashing_order"] == booked.pk
    assert f"#{booked.pk}" in str(clash.value) and "09:30" in str(clash.value)
    # The overlap check read with the order under its lock finds the same order.
    assert order_locked(order.pk, clash_caregiver_id=busy.pk).caregiver_clash == booked.pk


def test_distance_counts_from_the_previous_visit_and_load_breaks_ties(personas, elder, offerings, provider):
    from tests.factories import ElderFactory, region

    # Two caregivers live 10 km away; one has an earlier visit next door to today's elder.
    a = make_caregiver(provider, name="甲", at=offset(HOME, 10_000))
    b = make_caregiver(provider, name="乙", at=offset(HOME, 10_000))
    neighbour = ElderFactory(name="邻居", residence_region=region("331102001"), lat=offset(HOME, 200)[0], lng=HOME[1])
    ops.order_assign(
        order=place(neighbour, offerings["comfort-chat"].item, personas["operator"], hour=7), caregiver=b, actor=personas["dispatcher"]
    )
    order = place(elder, offerings["clean-home"].item, personas["operator"], hour=10)
    ranked = dispatch_suggestions(order).ranked
    assert [s.name for s in ranked] == ["乙", "甲"]
    assert ranked[0].distance_m < 300 and "#" in ranked[0].starts_from

    # Equal distance: the less loaded first.
    c = make_caregiver(provider, name="丙", at=offset(HOME, 100))
    d = make_caregiver(provider, name="丁", at=offset(HOME, 100))
    ops.order_assign(
        order=place(neighbour, offerings["comfort-chat"].item, personas["operator"], hour=16), caregiver=c, actor=personas["dispatcher"]
    )
    names = [s.name for s in dispatch_suggestions(order).ranked]
    assert names.index("丁") < names.index("丙")
    assert {a.pk, d.pk}  # all caregivers exist


def test_dispatcher_sees_suggestions_only_for_own_provider(client, api_client, personas, elder, offerings, caregiver, other_provider):
    from tests.factories import persona

    order = place(elder, offerings["clean-home"].item, personas["operator"])
    stranger = persona("dispatcher", provider=other_provider)
    assert client.get(f"/api/v1/orders/{order.pk}/suggestions", **api_client(stranger)).status_code == 404
    assert client.get(f"/api/v1/orders/{order.pk}/suggestions", **api_client(personas["operator"])).status_code == 403
    r = client.get(f"/api/v1/orders/{order.pk}/suggestions", **api_client(personas["dispatcher"]))
    assert r.status_code == 200 and r.json()["ranked"][0]["caregiver_id"] == caregiver.pk


def test_auto_dispatch_assigns_the_best_suggestion(personas, elder, offerings, caregiver, provider, django_capture_on_commit_callbacks):
    provider.auto_dispatch = True
    provider.save(update_fields=["auto_dispatch"])
    with django_capture_on_commit_callbacks(execute=True):
        order = place(elder, offerings["clean-home"].item, personas["operator"])
    order.refresh_from_db()
    assert order.status == "assigned" and order.caregiver_id == caregiver.pk
    assert order.transitions.last().actor is None
