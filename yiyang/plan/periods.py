"""Periods as people name them: "2024" (a year) or "2024-03" (a month)."""

import calendar
import re
from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from yiyang.core.errors import DomainError

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int | None = None  # None: the whole year

    @classmethod
    def parse(cls, text: str, *, field: str = "period") -> "Period":
        match = _PERIOD.match((text or "").strip())
        if not match:
            raise DomainError(_("Write the period as a year (2024) or a month (2024-03)."), field=field, code="period_invalid")
        year, month = int(match.group(1)), match.group(2)
        if not 2000 <= year <= 2100:
            raise DomainError(_("The year must be between 2000 and 2100."), field=field, code="period_invalid")
        if month is not None and not 1 <= int(month) <= 12:
            raise DomainError(_("The month must be between 01 and 12."), field=field, code="period_invalid")
        return cls(year, int(month) if month else None)

    @classmethod
    def month_of(cls, day: date) -> "Period":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year}" if self.month is None else f"{self.year}-{self.month:02d}"

    @property
    def is_month(self) -> bool:
        return self.month is not None

    @property
    def start(self) -> date:
        return date(self.year, self.month or 1, 1)

    @property
    def end(self) -> date:
        """The last day of the period (inclusive)."""
        month = self.month or 12
        return date(self.year, month, calendar.monthrange(self.year, month)[1])

    @property
    def x(self) -> float:
        """Position on a time axis in years, for trend fitting: a year at its number, a month at its share of the year."""
        return float(self.year) if self.month is None else self.year + (self.month - 1) / 12

    def previous(self) -> "Period":
        if self.month is None:
            return Period(self.year - 1)
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def months(self) -> list["Period"]:
        if self.month is not None:
            return [self]
        return [Period(self.year, m) for m in range(1, 13)]


def target_x(target_year: int, *, monthly: bool) -> float:
    """Where the target sits on the axis: the target year, or its December for a monthly series."""
    return target_year + (11 / 12 if monthly else 0)
