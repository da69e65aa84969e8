"""Reads on monthly visits, for pages, the API and the plan cockpit (indicator 8).

Coverage counts the rule items of a month (elders the rule says must be visited that month,
cancelled ones excluded); extra visits are not part of the indicator. `visited` = at least
one visit in the month; `complete` = as many visits as the elder's frequency requires.
All counts are database aggregations.

    visit_coverage(*, region_path: str, month: date) -> Coverage
        One region subtree ("330000/331100/331102/"), one month (any day in it).
    visit_coverage_by_region(*, region: Region, month: date) -> list[CoverageRow]
        Split by the region's children: counties under a city, townships under a county,
        villages (the elders' residence regions) under a township. Rows without items are left out.
    visit_coverage_by_month(*, region_path: str, months: list[date]) -> dict[date, Coverage]
        Several months at once (one query), e.g. for a year's trend.
    visits_missed(*, region_path: str, month: date) -> QuerySet[VisitPlanItem]
        Rule items of the month with no visit yet (after the month: the missed list).
    items_visible_to(user) / visits_visible_to(user)
        Scoped by people.queries.elders_visible_to.
    due_for(user, *, month: date) -> QuerySet[VisitPlanItem]
        Open items of the month the user may see, not yet complete; the user's own plans first.
    coverage_visible_to(user, *, month: date) -> list[CoverageRow]
        Coverage of each top region in the user's scope (the whole city for an administrator).
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Value, When

from yiyang.regions.models import LEVEL_DEPTH, Level, Region
from yiyang.visits.models import ItemKind, ItemStatus, Visit, VisitPlanItem


@dataclass(frozen=True)
class Coverage:
    due: int
    visited: int
    complete: int

    @property
    def missed(self) -> int:
        return self.due - self.visited

    @property
    def share(self) -> float | None:
        """Visited / due, 0..1; None when nobody was due."""
        return self.visited / self.due if self.due else None


@dataclass(frozen=True)
class CoverageRow:
    region_code: str
    region_name: str
    due: int
    visited: int
    complete: int

    @property
    def share(self) -> float | None:
        return self.visited / self.due if self.due else None

    @property
    def missed(self) -> int:
        return self.due - self.visited


def _first(day: date) -> date:
    return day.replace(day=1)


def _rule_items(month: date) -> QuerySet[VisitPlanItem]:
    return VisitPlanItem.objects.filter(month=_first(month), kind=ItemKind.RULE, status=ItemStatus.OPEN)


def _under(region_path: str) -> Q:
    depth = region_path.strip("/").count("/")
    if depth <= LEVEL_DEPTH[Level.TOWNSHIP]:
        # Items are planned per township; a township and everything above it is a prefix of the plan's region.
        return Q(township__path__startswith=region_path)
    return Q(elder__residence_region__path__startswith=region_path)


def _counts() -> dict:
    return {
        "due": Count("pk"),
        "visited": Count("pk", filter=Q(visit_count__gt=0)),
        "complete": Count("pk", filter=Q(visit_count__gte=F("required_visits"))),
    }


def visit_coverage(*, region_path: str, month: date) -> Coverage:
    row = _rule_items(month).filter(_under(region_path)).aggregate(**_counts())
    return Coverage(due=row["due"], visited=row["visited"], complete=row["complete"])


def visit_coverage_by_month(*, region_path: str, months: list[date]) -> dict[date, Coverage]:
    firsts = sorted({_first(m) for m in months})
    rows = (
        VisitPlanItem.objects.filter(month__in=firsts, kind=ItemKind.RULE, status=ItemStatus.OPEN)
        .filter(_under(region_path))
        .values("month")
        .annotate(**_counts())
    )
    found = {r["month"]: Coverage(r["due"], r["visited"], r["complete"]) for r in rows}
    return {m: found.get(m, Coverage(0, 0, 0)) for m in firsts}


def visit_coverage_by_region(*, region: Region, month: date) -> list[CoverageRow]:
    depth = region.path.strip("/").count("/")
    if depth < LEVEL_DEPTH[Level.COUNTY]:
        key = "county"
    elif depth < LEVEL_DEPTH[Level.TOWNSHIP]:
        key = "township"
    else:
        key = "elder__residence_region"
    rows = (
        _rule_items(month).filter(_under(region.path)).values(f"{key}__code", f"{key}__name").annotate(**_counts()).order_by(f"{key}__code")
    )
    return [CoverageRow(r[f"{key}__code"] or "", r[f"{key}__name"] or "", r["due"], r["visited"], r["complete"]) for r in rows]


def visits_missed(*, region_path: str, month: date) -> QuerySet[VisitPlanItem]:
    return (
        _rule_items(month)
        .filter(_under(region_path), visit_count=0)
        .select_related("elder", "elder__residence_region", "township", "plan__assignee")
        .order_by("township__code", "elder__name", "pk")
    )


def items_visible_to(user) -> QuerySet[VisitPlanItem]:
    from yiyang.people.queries import elders_visible_to

    return VisitPlanItem.objects.filter(elder__in=elders_visible_to(user).values("pk"))


def visits_visible_to(user) -> QuerySet[Visit]:
    from yiyang.people.queries import elders_visible_to

    return Visit.objects.filter(elder__in=elders_visible_to(user).values("pk"))


def due_for(user, *, month: date) -> QuerySet[VisitPlanItem]:
    return (
        items_visible_to(user)
        .filter(month=_first(month), status=ItemStatus.OPEN, visit_count__lt=F("required_visits"))
        .annotate(mine=Case(When(plan__assignee_id=user.pk, then=Value(0)), default=Value(1), output_field=IntegerField()))
        .select_related("elder", "elder__residence_region", "township", "plan__assignee")
        .order_by("mine", "kind", "due_by", "township__code", "elder__name", "pk")
    )


def coverage_visible_to(user, *, month: date) -> list[CoverageRow]:
    from yiyang.accounts.scope import scope_of

    scope = scope_of(user)
    if scope.everything:
        tops = list(Region.objects.filter(level=Level.CITY).order_by("code"))
    else:
        tops = list(Region.objects.filter(path__in=scope.region_paths).order_by("code"))
    rows = []
    for region in tops:
        c = visit_coverage(region_path=region.path, month=month)
        rows.append(CoverageRow(region.code, region.name, c.due, c.visited, c.complete))
    return rows


def region_in_scope(user, code: str | None) -> Region | None:
    """A region the user may look at (itself or under one of the user's regions); None if not."""
    from yiyang.accounts.scope import scope_of

    if not code:
        return None
    found = Region.objects.filter(code=code).first()
    if found is None:
        return None
    scope = scope_of(user)
    if scope.everything or any(found.path.startswith(p) for p in scope.region_paths):
        return found
    return None


def plans_visible_to(user) -> QuerySet:
    from yiyang.accounts.scope import scope_of
    from yiyang.regions.queries import under_paths_q
    from yiyang.visits.models import VisitPlan

    scope = scope_of(user)
    if scope.everything:
        return VisitPlan.objects.all()
    if not scope.region_paths:
        return VisitPlan.objects.filter(assignee_id=user.pk)
    return VisitPlan.objects.filter(under_paths_q("region", list(scope.region_paths)) | Q(assignee_id=user.pk))


def parse_month(value: str | None, *, default: date) -> date:
    """'YYYY-MM' (or a full date) -> the first day of that month; raises DomainError naming `month`."""
    from django.utils.translation import gettext as _

    from yiyang.core.errors import DomainError

    if not value:
        return _first(default)
    try:
        if len(value) == 7:
            return date.fromisoformat(value + "-01")
        return _first(date.fromisoformat(value))
    except ValueError:
        raise DomainError(_("Enter a month as YYYY-MM."), field="month")
