"""China's official calendar: public holidays and make-up working days (调休).

Data: data/cn_official_calendar.csv, one row per day that differs from the plain
Monday-to-Friday week. 2025 and 2026 follow the State Council notices named in the
`source` column; 2027 holds only the statutory holidays (the notice with its 调休
days is not yet published) and must be replaced when it is.
"""

import csv
from datetime import date
from functools import cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "cn_official_calendar.csv"


@cache
def _table() -> dict[date, tuple[str, str]]:
    with DATA.open(encoding="utf-8") as f:
        return {date.fromisoformat(row["date"]): (row["kind"], row["name"]) for row in csv.DictReader(f)}


def covered_years() -> set[int]:
    return {d.year for d in _table()}


def is_public_holiday(day: date) -> bool:
    entry = _table().get(day)
    return entry is not None and entry[0] == "holiday"


def is_makeup_workday(day: date) -> bool:
    entry = _table().get(day)
    return entry is not None and entry[0] == "workday"


def is_working_day(day: date) -> bool:
    """Official working day: Monday-Friday unless a holiday, plus the 调休 weekend days."""
    if is_makeup_workday(day):
        return True
    if is_public_holiday(day):
        return False
    return day.weekday() < 5


def holiday_name(day: date) -> str:
    entry = _table().get(day)
    return entry[1] if entry else ""
