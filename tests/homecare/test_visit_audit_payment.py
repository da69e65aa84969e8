"""Visit verification, the automatic audit, the officer's queue, payment, ratings, cancellation, not-at-home."""

from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from tests.homecare.conftest import HOME, make_caregiver, offset
from tests.homecare.helpers import heading_levels, place, serve
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare.models import OrderStatus
from yiyang.homecare.queries import provider_receivables, provider_scores


def codes(order):
    return [f["code"] for f in order.audit_flags]


def test_a_clean_visit_passes_and_is_paid(personas, elder, offerings, caregiver):
    order = serve(place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"])
    assert order.status == OrderStatus.PAID and order.audit_flags == []
    assert order.paid_at is not None
    assert order.subsidy_fen + order.copay_fen == order.price_fen == 8000
    if not apps.is_installed("yiyang.subsidies"):
        assert order.copay_fen == 8000


def test_short_far_and_unconfirmed_visits_are_flagged_with_reasons(personas, elder, offerings, caregiver):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    order = serve(order, caregiver, dispatcher=personas["dispatcher"], minutes=30, confirmed=False, at=offset(HOME, 900))
    assert order.status == OrderStatus.FLAGGED
    assert set(codes(order)) == {"check_in_far", "check_out_far", "too_short", "unconfirmed"}
    assert all(f["message"] for f in order.audit_flags)
    assert order.paid_at is None and order.copay_fen == 0


def test_overlapping_visits_of_one_caregiver_are_flagged(personas, elder, offerings, caregiver):
    first = place(elder, offerings["comfort-chat"].item, personas["operator"], hour=9)
    second = place(elder, offerings["comfort-counsel"].item, personas["operator"], hour=11)
    serve(first, caregiver, dispatcher=personas["dispatcher"])
    # The second visit's times overlap the first's: the same hour on the phone.
    second = serve(second, caregiver, dispatcher=personas["dispatcher"])
    assert "overlap" in codes(second)
    assert f"#{first.pk}" in next(f["message"] for f in second.audit_flags if f["code"] == "overlap")


def test_a_late_sync_is_a_note_not_a_flag(personas, elder, offerings, caregiver):
    order = place(elder, offerings["comfort-chat"].item, personas["operator"])
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    user = caregiver.user
    t0 = timezone.now() - timedelta(hours=5)
    ops.order_check_in(order=order, actor=user, lat=HOME[0], lng=HOME[1], device_time=t0)
    for task in order.item.tasks:
        ops.order_task_record(order=order, actor=user, task_code=task["code"], outcome="done", device_time=t0 + timedelta(minutes=10))
    order = ops.order_check_out(
        order=order, actor=user, lat=HOME[0], lng=HOME[1], device_time=t0 + timedelta(minutes=65), elder_confirmed=True
    )
    assert order.status == OrderStatus.PAID and order.audit_flags == []
    assert [n["code"] for n in order.audit_notes] == ["late_sync", "late_sync"]
    assert order.checkin_at == t0 and order.checkin_received_at > t0 + timedelta(hours=4)
    assert order.duration_minutes == 65


def test_officer_approves_or_rejects_from_the_queue(client, api_client, personas, elder, offerings, caregiver):
    a = serve(
        place(elder, offerings["clean-home"].item, personas["operator"], hour=8),
        caregiver,
        dispatcher=personas["dispatcher"],
        minutes=20,
        ago=timedelta(hours=3),
    )
    b = serve(
        place(elder, offerings["clean-laundry"].item, personas["operator"], hour=14),
        caregiver,
        dispatcher=personas["dispatcher"],
        minutes=10,
    )
    officer = api_client(personas["county_officer"])
    queue = client.get("/homecare/audit/", **{})  # anonymous: to the login page
    assert queue.status_code == 302
    client.force_login(personas["county_officer"])
    page = client.get("/homecare/audit/")
    assert page.status_code == 200 and f"#{a.pk}" in page.content.decode() and f"#{b.pk}" in page.content.decode()
    assert 3 in heading_levels(page.content.decode())  # h1, the sections' h2, the visits' h3
    r = client.post(
        f"/api/v1/orders/{a.pk}/audit", {"decision": "approve", "comment": "电话回访确认"}, content_type="application/json", **officer
    )
    assert r.status_code == 200 and r.json()["status"] == "paid" and r.json()["copay_fen"] + r.json()["subsidy_fen"] == 8000
    r = client.post(f"/api/v1/orders/{b.pk}/audit", {"decision": "reject"}, content_type="application/json", **officer)
    assert r.status_code == 400 and r.json()["field"] == "comment"
    r = client.post(
        f"/api/v1/orders/{b.pk}/audit", {"decision": "reject", "comment": "长辈称未上门"}, content_type="application/json", **officer
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected" and r.json()["copay_fen"] == 0
    # A caregiver may not audit.
    r = client.post(
        f"/api/v1/orders/{a.pk}/audit", {"decision": "approve"}, content_type="application/json", **api_client(personas["caregiver"])
    )
    assert r.status_code == 403


def test_a_rating_confirms_an_unconfirmed_visit(personas, elder, offerings, caregiver):
    order = serve(
        place(elder, offerings["comfort-chat"].item, personas["operator"]), caregiver, dispatcher=personas["dispatcher"], confirmed=False
    )
    assert codes(order) == ["unconfirmed"]
    ops.order_rate(order=order, actor=personas["family"], score=4)
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and order.paid_at is not None


def test_low_rating_opens_a_follow_up_and_scores_roll_up(personas, elder, offerings, caregiver, provider):
    one = serve(
        place(elder, offerings["comfort-chat"].item, personas["operator"], hour=8),
        caregiver,
        dispatcher=personas["dispatcher"],
        ago=timedelta(hours=3),
    )
    two = serve(place(elder, offerings["clean-laundry"].item, personas["operator"], hour=14), caregiver, dispatcher=personas["dispatcher"])
    low = ops.order_rate(order=one, actor=personas["family"], score=2, comment="来晚了")
    high = ops.order_rate(order=two, actor=personas["family"], score=5)
    assert low.follow_up_open and not high.follow_up_open
    with pytest.raises(DomainError) as again:
        ops.order_rate(order=one, actor=personas["family"], score=5)
    assert again.value.status == 409
    scored = provider_scores(type(provider).objects.filter(pk=provider.pk)).get()
    assert scored.rating_count == 2 and scored.rating_avg == pytest.approx(3.5) and scored.low_ratings == 1
    with pytest.raises(DomainError):
        ops.follow_up_close(rating=low, actor=personas["dispatcher"], note=" ")
    ops.follow_up_close(rating=low, actor=personas["dispatcher"], note="已致电道歉，调整排班")
    low.refresh_from_db()
    assert not low.follow_up_open and low.follow_up_closed_by == personas["dispatcher"]
    months = provider_receivables(provider)
    assert len(months) == 1 and months[0]["orders"] == 2 and months[0]["total_fen"] == 3000 + 3000


def test_cancel_before_the_visit_and_not_after(personas, elder, offerings, caregiver):
    order = place(elder, offerings["comfort-chat"].item, personas["operator"])
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    ops.order_cancel(order=order, actor=personas["family"], reason="女儿回家陪护")
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and order.cancel_reason == "女儿回家陪护"
    other = place(elder, offerings["comfort-chat"].item, personas["operator"], hour=15)
    ops.order_assign(order=other, caregiver=caregiver, actor=personas["dispatcher"])
    ops.order_check_in(order=other, actor=caregiver.user, lat=HOME[0], lng=HOME[1])
    with pytest.raises(DomainError) as refused:
        ops.order_cancel(order=other, actor=personas["family"], reason="太晚了")
    assert refused.value.status == 409


def test_elder_not_at_home_is_a_distinct_ending(client, api_client, personas, elder, offerings, caregiver):
    order = place(elder, offerings["comfort-chat"].item, personas["operator"])
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    r = client.post(
        f"/api/v1/orders/{order.pk}/not-home",
        {"lat": HOME[0], "lng": HOME[1], "note": "敲门无人应答，电话未接"},
        content_type="application/json",
        **api_client(personas["caregiver"]),
    )
    assert r.status_code == 200 and r.json()["status"] == "not_home" and r.json()["checkin_distance_m"] == 0
    assert r.json()["allowed_actions"] == []


def test_only_the_assigned_caregiver_checks_in(personas, elder, offerings, caregiver, provider):
    from tests.factories import persona

    other_user = persona("caregiver", provider=provider)
    make_caregiver(provider, user=other_user, name="别人")
    order = place(elder, offerings["comfort-chat"].item, personas["operator"])
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    with pytest.raises(DomainError) as refused:
        ops.order_check_in(order=order, actor=other_user, lat=HOME[0], lng=HOME[1])
    assert refused.value.status == 403


def test_volunteer_visit_credits_hours_when_the_timebank_exists(personas, elder, offerings, provider):
    volunteer = make_caregiver(provider, user=personas["volunteer"], name="志愿者", volunteer=True)
    order = serve(place(elder, offerings["comfort-chat"].item, personas["operator"]), volunteer, dispatcher=personas["dispatcher"])
    assert order.status == OrderStatus.PAID
    if apps.is_installed("yiyang.timebank"):
        from yiyang.timebank.models import HourEntry

        entry = HourEntry.objects.get(order_ref=f"order:{order.pk}")
        assert entry.amount == order.duration_minutes
