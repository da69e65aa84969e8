"""The SQLite backend's datetime conversions give exactly what Django's own give."""

import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test import override_settings

from yiyang.core.sqlite.operations import DatabaseOperations

DjangoOperations = DatabaseOperations.__mro__[1]

pytestmark = pytest.mark.skipif(connection.vendor != "sqlite", reason="the SQLite backend's own operations")

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
UTC_TIME = datetime.datetime(2026, 11, 29, 1, 2, 3, 456789, tzinfo=datetime.UTC)
WRITTEN = [
    None,
    UTC_TIME,
    UTC_TIME.replace(microsecond=0),
    datetime.datetime(2026, 11, 29, 9, 2, 3, tzinfo=SHANGHAI),
    datetime.datetime(2026, 2, 1, 8, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-3, minutes=-30))),
    datetime.datetime(2026, 11, 29, 9, 2, 3),  # naive
]
READ = [None, "2026-11-29 01:02:03.456789", "2026-11-29 01:02:03", datetime.datetime(2026, 11, 29, 1, 2, 3), UTC_TIME]


def both():
    return DatabaseOperations(connection), DjangoOperations(connection)


def outcome(call, *args):
    try:
        return ("value", call(*args))
    except ValueError as exc:
        return ("error", str(exc))


def test_the_backend_uses_these_operations():
    assert isinstance(connection.ops, DatabaseOperations)


@pytest.mark.parametrize("use_tz", [True, False])
def test_writing_and_reading_datetimes_as_django_does(use_tz):
    with override_settings(USE_TZ=use_tz):
        ours, django = both()
        for value in WRITTEN:
            got, expected = outcome(ours.adapt_datetimefield_value, value), outcome(django.adapt_datetimefield_value, value)
            assert got == expected, value
        for value in READ:
            got = ours.convert_datetimefield_value(value, None, connection)
            expected = django.convert_datetimefield_value(value, None, connection)
            assert got == expected and getattr(got, "tzinfo", None) == getattr(expected, "tzinfo", None), value
