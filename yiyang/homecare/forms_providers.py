"""Parsing of the management forms' text into typed values; each bad value names its field (DomainError)."""

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from yiyang.core.errors import DomainError
from yiyang.core.text import has_control_characters

YUAN_RE = re.compile(r"^\d{1,7}(\.\d{1,2})?$")


def yuan_to_fen(text: str, *, field: str) -> int:
    """'25', '25.5', '25.50' (yuan) -> 2550 fen. Negative, more than two decimals or not a number: refused."""
    text = (text or "").strip().replace("¥", "").replace(",", "")
    if not text:
        raise DomainError(_("Enter a price in yuan, e.g. 25.50."), field=field, code="required")
    if text.startswith("-"):
        raise DomainError(_("The price cannot be negative."), field=field, code="price_negative")
    if not YUAN_RE.match(text):
        raise DomainError(_("Enter a price in yuan with at most two decimals, e.g. 25.50."), field=field, code="price")
    try:
        return int(Decimal(text) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern already excludes it
        raise DomainError(_("Enter a price in yuan, e.g. 25.50."), field=field, code="price")


def fen_to_yuan_text(fen: int | None) -> str:
    if fen is None:
        return ""
    return f"{fen // 100}.{fen % 100:02d}"


def parse_time(text: str, *, field: str) -> time:
    try:
        return datetime.strptime((text or "").strip(), "%H:%M").time()
    except ValueError:
        raise DomainError(_("Enter a time as HH:MM."), field=field, code="time")


def parse_date(text: str, *, field: str, required: bool = True) -> date | None:
    text = (text or "").strip()
    if not text and not required:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise DomainError(_("Enter a date as YYYY-MM-DD."), field=field, code="date")


def parse_month(text: str, *, field: str = "month") -> date:
    try:
        return datetime.strptime((text or "").strip(), "%Y-%m").date()
    except ValueError:
        raise DomainError(_("Enter a month as YYYY-MM."), field=field, code="month")


def parse_float(text: str, *, field: str) -> float:
    try:
        value = float((text or "").strip())
    except ValueError:
        raise DomainError(_("Enter the coordinate as a decimal number."), field=field, code="coordinate")
    if value != value or value in (float("inf"), float("-inf")):
        raise DomainError(_("Enter the coordinate as a decimal number."), field=field, code="coordinate")
    return value


def parse_int(text: str, *, field: str, message: str | None = None) -> int:
    text = (text or "").strip()
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise DomainError(message or _("Enter a whole number."), field=field, code="integer")
    return int(text)


def parse_weekdays(values: list[str], *, field: str) -> list[int]:
    days = []
    for v in values:
        if not re.fullmatch(r"[0-6]", v or ""):
            raise DomainError(_("Working days are weekdays 0 (Monday) to 6 (Sunday)."), field=field, code="weekdays")
        days.append(int(v))
    return sorted(set(days))


def weekday_choices() -> list[tuple[int, str]]:
    names = [
        pgettext("weekday", "Mon"), pgettext("weekday", "Tue"), pgettext("weekday", "Wed"), pgettext("weekday", "Thu"),
        pgettext("weekday", "Fri"), pgettext("weekday", "Sat"), pgettext("weekday", "Sun"),
    ]  # fmt: skip
    return list(enumerate(names))


def checked(value: str | None) -> bool:
    return value in ("on", "1", "true", "yes")


def plain_code(value: str | None, *, max_length: int = 48) -> str:
    """A code as posted, or '' when it cannot be one (control characters, NUL: PostgreSQL refuses them in a query)."""
    value = (value or "").strip()
    return value if re.fullmatch(rf"[\w-]{{1,{max_length}}}", value) else ""


def no_control_characters(value: str, *, field: str) -> str:
    if has_control_characters(value):
        raise DomainError(_("Remove the control characters from this text."), field=field, code="control_characters")
    return value
