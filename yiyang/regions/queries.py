from django.db.models import Q, QuerySet

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


def under_paths_q(field: str, paths: list[str]) -> Q:
    """A filter for rows whose region (reached through `field`) lies under any of `paths`."""
    q = Q(pk__in=[])
    for path in paths:
        q |= Q(**{f"{field}__path__startswith": path})
    return q
