"""SQLite's datetime conversions, with Django's results and a fraction of its calls.

SQLite stores datetimes as text, so every datetime written is made naive in the connection's time zone
and every one read is made aware again. Django does it through `timezone.is_aware`/`make_aware` and a
look-up of `settings.USE_TZ` (a lazy object) per value: an order read and its writes pass some twenty
datetimes a request, 4 % of the order lifecycle's CPU. Here the setting is read once (and again when a
test changes it); the rest is the same arithmetic. tests/core/test_sqlite_operations.py holds the two
equal.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.signals import setting_changed
from django.db.backends.sqlite3 import base as _sqlite_base  # noqa: F401  (Django's operations module needs it loaded first)
from django.db.backends.sqlite3 import operations
from django.dispatch import receiver
from django.utils.dateparse import parse_datetime

_use_tz: bool | None = None


@receiver(setting_changed)
def _forget_use_tz(*, setting, **kwargs) -> None:
    global _use_tz
    if setting == "USE_TZ":
        _use_tz = None


def _time_zone_support() -> bool:
    global _use_tz
    if _use_tz is None:
        _use_tz = bool(settings.USE_TZ)
    return _use_tz


class DatabaseOperations(operations.DatabaseOperations):
    def adapt_datetimefield_value(self, value):
        if type(value) is datetime.datetime and _time_zone_support() and value.utcoffset() is not None:
            return str(value.astimezone(self.connection.timezone).replace(tzinfo=None))
        return super().adapt_datetimefield_value(value)

    def convert_datetimefield_value(self, value, expression, connection):
        if value is None:
            return None
        if not isinstance(value, datetime.datetime):
            value = parse_datetime(value)
        if _time_zone_support() and value.utcoffset() is None:
            return value.replace(tzinfo=self.connection.timezone)
        return value
