"""Recurring orders from a page and the API: create (orders generated ahead), list, pause, resume, end; scope and roles."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from yiyang.core.errors import DomainError, StateConflict
from yiyang.homecare import operations as ops
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.models import Order, Recurrence


def tomorrow() -> date:
    return timezone.localdate() + timedelta(days=1)


def _form(**overrides) -> dict:
    data = {
        "item": "meal-delivery",
        "weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        "skip_holidays": "on",
        "start_time": "11:00",
        "end_time": "12:00",
        "starts_on": tomorrow().isoformat(),
        "ends_on": "",
        "note": "少盐",
    }
    data.update(overrides)
    return data


@pytest.fixture
def recurrence(personas, elder, offerings):
    return ops.recurrence_create(
        elder=elder,
        item=offerings["meal-delivery"].item,
        weekdays=[0, 1, 2, 3, 4, 5, 6],
        start_time=time(11),
        end_time=time(12),
        starts_on=tomorrow(),
        skip_holidays=False,
        actor=personas["operator"],
    )


def _planned(recurrence) -> int:
    return Order.objects.filter(recurrence=recurrence).exclude(status="cancelled").count()


def test_the_hotline_links_to_the_elders_recurring_orders(client, personas, elder, offerings):
    client.force_login(personas["operator"])
    page = client.get("/homecare/hotline/", {"elder": elder.pk}).content.decode()
    assert f"/homecare/elders/{elder.pk}/recurrences/" in page


def test_create_from_the_page_generates_two_weeks_of_orders(client, personas, elder, offerings):
    client.force_login(personas["operator"])
    assert client.get(f"/homecare/elders/{elder.pk}/recurrences/").status_code == 200
    r = client.post(f"/homecare/elders/{elder.pk}/recurrences/", _form(), follow=True)
    assert r.status_code == 200
    recurrence = Recurrence.objects.get()
    assert recurrence.weekdays == list(range(7)) and recurrence.skip_holidays and recurrence.note == "少盐"
    days = ops.recurrence_days(recurrence, tomorrow(), timezone.localdate() + timedelta(days=14))
    assert len(days) >= 10 and _planned(recurrence) == len(days)
    assert Order.objects.filter(recurrence=recurrence, channel="recurring").count() == len(days)
    html = r.content.decode()
    assert "status status-paid" in html  # shown as active
    listing = client.get("/homecare/recurrences/").content.decode()
    assert elder.name in listing


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"weekdays": []}, "weekdays"),
        ({"weekdays": ["9"]}, "weekdays"),
        ({"start_time": "12:00", "end_time": "11:00"}, "end_time"),
        ({"start_time": "noon"}, "start_time"),
        ({"starts_on": "2020-01-01"}, "starts_on"),
        ({"starts_on": "tomorrow"}, "starts_on"),
        ({"ends_on": "2020-01-01"}, "ends_on"),
        ({"item": ""}, "item"),
    ],
)
def test_bad_input_names_the_field_and_creates_nothing(client, personas, elder, offerings, overrides, field):
    client.force_login(personas["operator"])
    r = client.post(f"/homecare/elders/{elder.pk}/recurrences/", _form(**overrides))
    assert r.status_code == 400 and f'aria-describedby="{field}-err"' in r.content.decode()
    assert not Recurrence.objects.exists() and not Order.objects.exists()


def test_pause_cancels_planned_orders_and_resume_plans_them_again(client, personas, recurrence):
    ops.recurrence_generate(recurrence=recurrence, until=tomorrow() + timedelta(days=6), actor=personas["operator"])
    assert _planned(recurrence) == 7
    client.force_login(personas["worker"])
    r = client.post(f"/homecare/recurrences/{recurrence.pk}/pause/")
    assert r.status_code == 302
    recurrence.refresh_from_db()
    assert not recurrence.is_active and pops.recurrence_state(recurrence) == "paused" and _planned(recurrence) == 0
    cancelled = Order.objects.filter(status="cancelled")
    assert cancelled.count() == 7 and f"#{recurrence.pk}" in cancelled.first().cancel_reason
    # Paused: the nightly job makes nothing.
    assert ops.recurrence_generate(recurrence=recurrence, until=tomorrow() + timedelta(days=6)) == []
    r = client.post(f"/homecare/recurrences/{recurrence.pk}/resume/")
    recurrence.refresh_from_db()
    assert recurrence.is_active and _planned(recurrence) >= 7  # two weeks ahead again
    # Resuming one that runs is a conflict.
    with pytest.raises(StateConflict):
        pops.recurrence_resume(recurrence=recurrence, actor=personas["worker"])


def test_end_cancels_orders_after_the_last_day(client, personas, recurrence):
    ops.recurrence_generate(recurrence=recurrence, until=tomorrow() + timedelta(days=6), actor=personas["operator"])
    last = tomorrow() + timedelta(days=2)
    client.force_login(personas["operator"])
    r = client.post(f"/homecare/recurrences/{recurrence.pk}/end/", {"last_day": last.isoformat()})
    assert r.status_code == 302
    recurrence.refresh_from_db()
    assert recurrence.ends_on == last
    kept = set(Order.objects.filter(recurrence=recurrence).exclude(status="cancelled").values_list("service_date", flat=True))
    assert kept == {tomorrow(), tomorrow() + timedelta(days=1), last}
    assert ops.recurrence_generate(recurrence=recurrence, until=tomorrow() + timedelta(days=10)) == []
    # A last day in the past is refused by name, and changes nothing.
    with pytest.raises(DomainError) as exc:
        pops.recurrence_end(recurrence=recurrence, actor=personas["operator"], last_day=timezone.localdate() - timedelta(days=1))
    assert exc.value.field == "last_day"
    recurrence.refresh_from_db()
    assert recurrence.ends_on == last


def test_ended_before_its_first_day_is_ended(personas, recurrence):
    pops.recurrence_end(recurrence=recurrence, actor=personas["operator"])  # today, before tomorrow's first day
    recurrence.refresh_from_db()
    assert pops.recurrence_state(recurrence) == "ended" and not recurrence.is_active
    with pytest.raises(StateConflict):
        pops.recurrence_resume(recurrence=recurrence, actor=personas["operator"])
    with pytest.raises(StateConflict):
        pops.recurrence_pause(recurrence=recurrence, actor=personas["operator"])


def test_scope_and_roles(client, personas, elders, recurrence):
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/homecare/elders/{elders['liandu'].pk}/recurrences/").status_code == 404
    assert client.post(f"/homecare/recurrences/{recurrence.pk}/pause/").status_code == 404
    assert elders["liandu"].name not in client.get("/homecare/recurrences/").content.decode()
    for role in ("caregiver", "dispatcher", "assessor"):
        client.force_login(personas[role])
        assert client.get("/homecare/recurrences/").status_code == 403, role
        assert client.post(f"/homecare/recurrences/{recurrence.pk}/pause/").status_code == 403, role
    client.force_login(personas["operator"])
    assert client.post(f"/homecare/recurrences/{recurrence.pk}/explode/").status_code == 404
    recurrence.refresh_from_db()
    assert recurrence.is_active
    # The family sees and manages their own elder's recurring orders.
    client.force_login(personas["family"])
    assert client.get(f"/homecare/elders/{elders['liandu'].pk}/recurrences/").status_code == 200
    assert client.get(f"/homecare/elders/{elders['qingtian'].pk}/recurrences/").status_code == 404


def test_api_lists_pauses_resumes_and_ends(client, api_client, personas, recurrence):
    headers = api_client(personas["operator"])
    r = client.get("/api/v1/homecare/recurrences", {"state": "active"}, **headers)
    assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [recurrence.pk]
    assert r.json()["items"][0]["state"] == "active"
    r = client.post(
        f"/api/v1/homecare/recurrences/{recurrence.pk}/pause", {"cancel_planned": True}, content_type="application/json", **headers
    )
    assert r.status_code == 200 and r.json()["recurrence"]["state"] == "paused"
    r = client.post(f"/api/v1/homecare/recurrences/{recurrence.pk}/pause", {}, content_type="application/json", **headers)
    assert r.status_code == 409
    r = client.post(f"/api/v1/homecare/recurrences/{recurrence.pk}/resume", **headers)
    assert r.status_code == 200 and r.json()["recurrence"]["state"] == "active"
    r = client.post(
        f"/api/v1/homecare/recurrences/{recurrence.pk}/end", {"last_day": "2020-01-01"}, content_type="application/json", **headers
    )
    assert r.status_code == 400 and r.json()["field"] == "last_day"
    r = client.post(f"/api/v1/homecare/recurrences/{recurrence.pk}/end", {}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["recurrence"]["ends_on"] == timezone.localdate().isoformat()
    assert client.get("/api/v1/homecare/recurrences", {"state": "bogus"}, **headers).status_code == 400
    other = api_client(personas["other_county_officer"])
    assert client.get(f"/api/v1/homecare/recurrences/{recurrence.pk}", **other).status_code == 404
    assert client.get("/api/v1/homecare/recurrences", **other).json()["items"] == []
    assert client.get("/api/v1/homecare/recurrences", **api_client(personas["caregiver"])).status_code == 403


def test_elder_mode_links_to_the_recurring_orders(client, personas, elder, offerings):
    client.force_login(personas["family"])
    page = client.get("/homecare/my/", {"elder": elder.pk})
    assert page.status_code == 200 and f"/homecare/elders/{elder.pk}/recurrences/" in page.content.decode()
