from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Length, Substr
from django.db.models.lookups import Exact

from yiyang.core.text import has_control_characters
from yiyang.regions.models import Level, Region


def region_subtree(region: Region) -> QuerySet[Region]:
    return Region.objects.filter(path__startswith=region.path)


def region_by_code(code: str) -> Region | None:
    if has_control_characters(code):
        return None  # no code has them, and PostgreSQL refuses NUL in a query
    return Region.objects.filter(code=code).first()


def counties() -> QuerySet[Region]:
    return Region.objects.filter(level=Level.COUNTY).order_by("code")


def under_paths_q(field: str, paths: list[str], *, by_prefix: bool = False) -> Q:
    """A filter for rows whose region (reached through `field`) lies under any of `paths`.

    `by_prefix`: compare the path's first characters instead of LIKE, for reads of single rows by
    primary key. A LIKE whose pattern is a bound parameter makes SQLite plan the statement again on
    every run (the pattern might allow an index), which costs more than such a read itself; lists
    keep LIKE, which can use the index on the path.
    """
    q = Q(pk__in=[])
    for path in paths:
        if by_prefix:
            q |= Q(Exact(Substr(F(f"{field}__path"), 1, Length(Value(path))), Value(path)))
        else:
            q |= Q(**{f"{field}__path__startswith": path})
    return q
