"""Inactivity counts daytime only: a quiet night is sleep, not an alarm (GUARDIAN_INACTIVITY_DAYTIME)."""

from datetime import datetime, time

import pytest
from django.utils import timezone

from tests.factories import ElderFactory
from yiyang.guardian.models import Alert, AlertKind, ElderWatch
from yiyang.guardian.operations import elders_check_inactivity, events_ingest
from yiyang.guardian.zones import parse_window, window_minutes_between
from yiyang.people.models import LivingArrangement

DAY = (time(7), time(21))


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in Asia/Shanghai in June 2026."""
    return timezone.make_aware(datetime(2026, 6, day, hour, minute))


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (local(10, 8), local(10, 9), 60),  # inside the day
        (local(10, 20), local(11, 8), 60 + 60),  # 20-21 and 07-08: the night does not count
        (local(10, 21), local(11, 7), 0),  # a whole night
        (local(10, 6, 30), local(10, 7, 30), 30),  # the morning edge
        (local(10, 20, 30), local(10, 21, 30), 30),  # the evening edge
        (local(10, 7), local(12, 7), 2 * 14 * 60),  # two whole days
        (local(10, 9), local(10, 9), 0),
    ],
)
def test_daytime_minutes_between(start, end, minutes):
    assert window_minutes_between(start, end, DAY) == pytest.approx(minutes)


def test_a_window_may_wrap_midnight_or_cover_the_whole_day():
    night = (time(22), time(6))
    assert window_minutes_between(local(10, 21), local(11, 7), night) == pytest.approx(8 * 60)
    assert window_minutes_between(local(10, 3), local(10, 5), night) == pytest.approx(120)
    assert window_minutes_between(local(10, 3), local(10, 5), (time(0), time(0))) == pytest.approx(120)
    assert parse_window("07:00-21:00") == DAY
    with pytest.raises(ValueError):
        parse_window("seven to nine")


@pytest.fixture
def alone_with_door(make_device):
    elder = ElderFactory(name="独居长辈", living_arrangement=LivingArrangement.ALONE)
    ElderWatch.objects.create(elder=elder, inactivity_minutes=120)
    return elder, make_device(elder, "door")


def moved(door, at: datetime) -> None:
    events_ingest(messages=[door.incoming("door", at=at)], now=at)


def test_the_evening_hour_and_the_morning_add_up_to_the_threshold(alone_with_door):
    elder, door = alone_with_door
    moved(door, local(10, 20))  # 60 daytime minutes left today (20:00-21:00)
    assert elders_check_inactivity(now=local(10, 23)) == 0
    assert elders_check_inactivity(now=local(11, 6, 59)) == 0, "the night does not count"
    assert elders_check_inactivity(now=local(11, 7, 59)) == 0, "119 daytime minutes"
    assert elders_check_inactivity(now=local(11, 8, 0)) == 1, "120 daytime minutes"
    alert = Alert.objects.get(kind=AlertKind.INACTIVITY)
    assert alert.elder == elder and alert.detail["trigger"]["quiet_daytime_minutes"] == 120


def test_a_quiet_night_never_alarms(alone_with_door):
    _elder, door = alone_with_door
    moved(door, local(10, 21))
    for hour in (22, 23):
        assert elders_check_inactivity(now=local(10, hour)) == 0
    for hour in range(0, 7):
        assert elders_check_inactivity(now=local(11, hour, 59)) == 0
    assert not Alert.objects.exists()


def test_the_default_is_twelve_daytime_hours(make_device):
    elder = ElderFactory(name="独居长辈二", living_arrangement=LivingArrangement.ALONE)
    door = make_device(elder, "motion")
    moved(door, local(10, 7))
    assert elders_check_inactivity(now=local(10, 18, 59)) == 0
    assert elders_check_inactivity(now=local(10, 19, 0)) == 1


def test_the_window_is_configurable(alone_with_door, settings):
    _elder, door = alone_with_door
    settings.GUARDIAN_INACTIVITY_DAYTIME = "00:00-00:00"  # all day: the wall clock counts
    moved(door, local(10, 23))
    assert elders_check_inactivity(now=local(11, 0, 59)) == 0
    assert elders_check_inactivity(now=local(11, 1, 0)) == 1
