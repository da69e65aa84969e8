"""Recurring orders follow China's official calendar (holidays, 调休 working days)."""

from datetime import date, time, timedelta

import pytest
from django.utils import timezone

from yiyang.core.errors import DomainError
from yiyang.homecare import calendar_cn
from yiyang.homecare import operations as ops
from yiyang.homecare.models import Order, Recurrence


def test_the_official_calendar():
    assert calendar_cn.is_public_holiday(date(2026, 10, 1)) and calendar_cn.holiday_name(date(2026, 10, 1)) == "国庆节"
    assert calendar_cn.is_working_day(date(2026, 10, 10))  # a Saturday, 调休
    assert calendar_cn.is_working_day(date(2026, 9, 20))  # a Sunday, 调休
    assert not calendar_cn.is_working_day(date(2026, 10, 7))  # last day of the National Day holiday
    assert calendar_cn.is_working_day(date(2026, 10, 9))
    assert not calendar_cn.is_working_day(date(2026, 2, 17))  # 春节
    assert calendar_cn.is_working_day(date(2025, 2, 8))  # Saturday 调休 of 2025
    assert calendar_cn.covered_years() == {2025, 2026, 2027}


def rec(**kw) -> Recurrence:
    base = dict(
        weekdays=[0, 1, 2, 3, 4],
        skip_holidays=True,
        working_days_only=False,
        starts_on=date(2026, 9, 14),
        ends_on=None,
        start_time=time(11),
        end_time=time(12),
    )
    base.update(kw)
    return Recurrence(**base)


def test_weekday_meals_skip_the_national_day_week():
    days = ops.recurrence_days(rec(), date(2026, 9, 28), date(2026, 10, 11))
    assert date(2026, 10, 1) not in days and date(2026, 10, 5) not in days
    assert date(2026, 9, 28) in days and date(2026, 10, 9) in days
    # Kept when the elder wants service on holidays too.
    assert date(2026, 10, 1) in ops.recurrence_days(rec(skip_holidays=False), date(2026, 9, 28), date(2026, 10, 11))


def test_official_working_days_include_the_make_up_saturday():
    days = ops.recurrence_days(rec(working_days_only=True, weekdays=[]), date(2026, 9, 28), date(2026, 10, 11))
    assert date(2026, 10, 10) in days  # 调休 Saturday
    assert date(2026, 10, 11) not in days and not any(date(2026, 10, d) in days for d in range(1, 8))


def test_friday_bath_every_week():
    days = ops.recurrence_days(rec(weekdays=[4]), date(2026, 9, 14), date(2026, 10, 31))
    assert all(d.weekday() == 4 for d in days)
    assert date(2026, 10, 2) not in days  # a Friday inside the holiday


def test_generate_creates_each_day_once(personas, elder, offerings):
    start = timezone.localdate() + timedelta(days=1)
    recurrence = ops.recurrence_create(
        elder=elder,
        item=offerings["meal-delivery"].item,
        weekdays=[0, 1, 2, 3, 4, 5, 6],
        start_time=time(11),
        end_time=time(12),
        starts_on=start,
        actor=personas["operator"],
    )
    until = start + timedelta(days=9)
    made = ops.recurrence_generate(recurrence=recurrence, until=until, actor=personas["operator"])
    expected = [d for d in (start + timedelta(days=i) for i in range(10)) if not calendar_cn.is_public_holiday(d)]
    assert [o.service_date for o in made] == expected
    assert all(o.channel == "recurring" and o.price_fen == 1500 for o in made)
    assert ops.recurrence_generate(recurrence=recurrence, until=until, actor=personas["operator"]) == []
    assert Order.objects.filter(recurrence=recurrence).count() == len(expected)


def test_recurrence_bad_input(personas, elder, offerings):
    item = offerings["meal-delivery"].item
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(DomainError) as e:
        ops.recurrence_create(elder=elder, item=item, weekdays=[], start_time=time(11), end_time=time(12), starts_on=tomorrow, actor=None)
    assert e.value.field == "weekdays"
    with pytest.raises(DomainError) as e:
        ops.recurrence_create(elder=elder, item=item, weekdays=[7], start_time=time(11), end_time=time(12), starts_on=tomorrow, actor=None)
    assert e.value.field == "weekdays"
    with pytest.raises(DomainError) as e:
        ops.recurrence_create(elder=elder, item=item, weekdays=[1], start_time=time(12), end_time=time(11), starts_on=tomorrow, actor=None)
    assert e.value.field == "end_time"
    recurrence = ops.recurrence_create(
        elder=elder, item=item, weekdays=[1], start_time=time(11), end_time=time(12), starts_on=tomorrow, actor=None
    )
    with pytest.raises(DomainError) as e:
        ops.recurrence_generate(recurrence=recurrence, until=date(2028, 1, 10))
    assert e.value.field == "until" and "2027" in e.value.message
    assert Recurrence.objects.count() == 1 and not Order.objects.exists()


def test_recurrence_through_the_api(client, api_client, personas, elder, offerings):
    headers = api_client(personas["operator"])
    start = timezone.localdate() + timedelta(days=1)
    r = client.post(
        "/api/v1/homecare/recurrences",
        {
            "elder_id": elder.pk,
            "item_code": "bath-home",
            "weekdays": [4],
            "start_time": "14:00",
            "end_time": "15:30",
            "starts_on": start.isoformat(),
        },
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201, r.content
    r = client.post(
        f"/api/v1/homecare/recurrences/{r.json()['id']}/generate",
        {"until": (start + timedelta(days=20)).isoformat()},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 200 and r.json()["created"] >= 2
