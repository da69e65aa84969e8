"""Reads of the cockpit, always scoped by the user: a county officer sees their county and its townships only.

No page shows a value of a region above the user's regions (nor a share of one), so the city total
cannot be read, or derived by differences, from a county officer's pages.
"""

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from django.db.models import Q, QuerySet

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.plan.models import Indicator, IndicatorValue, Plan, ProvincialAverage, Source, ValueStatus
from yiyang.plan.periods import Period
from yiyang.plan.targets import Target
from yiyang.plan.trend import Assessment, assess
from yiyang.regions.models import Level, Region
from yiyang.regions.queries import under_paths_q

COCKPIT_LEVELS = [Level.CITY, Level.COUNTY, Level.TOWNSHIP]
# Units of counts: a city-wide number, not a target for each county or township.
COUNT_UNITS = {"个", "家", "万人"}


def current_plan() -> Plan | None:
    return Plan.objects.filter(is_current=True).first()


def regions_visible_to(user) -> QuerySet[Region]:
    """Regions whose indicators the user may see: the subtrees of their regions, down to townships."""
    if not can(user, "plan.view"):
        return Region.objects.none()
    scope = scope_of(user)
    qs = Region.objects.filter(level__in=COCKPIT_LEVELS)
    if scope.everything:
        return qs
    if not scope.region_paths:
        return Region.objects.none()
    q = Q(pk__in=[])
    for path in scope.region_paths:
        q |= Q(path__startswith=path)
    return qs.filter(q)


def region_for(user, code: str | None) -> Region | None:
    """The region asked for, if visible; without a code, the user's top region."""
    visible = regions_visible_to(user)
    if code:
        return visible.filter(code=code).first()
    return visible.order_by("path").first() if not scope_of(user).everything else visible.filter(level=Level.CITY).first()


def indicators_to_enter(user, plan: Plan | None) -> list[Indicator]:
    """The plan's reported indicators the user may enter values of (a reporting unit: only its own)."""
    from yiyang.plan.operations import may_enter

    if plan is None:
        return []
    indicators = Indicator.objects.filter(plan=plan).select_related("plan")
    return [i for i in indicators if i.source == Source.REPORTED and may_enter(user, i)]


def indicator_for(user, plan_code: str, no: int) -> Indicator | None:
    if not can(user, "plan.view"):
        return None
    return Indicator.objects.select_related("plan").filter(plan__code=plan_code, no=no).first()


def target_applies(indicator: Indicator, region: Region) -> bool:
    return region.level == Level.CITY or indicator.unit not in COUNT_UNITS


@dataclass
class IndicatorRow:
    indicator: Indicator
    source: str
    target: Target
    applies: bool
    series: list[tuple[Period, Decimal | None]]
    assessment: Assessment
    pending: int = 0
    latest_row: IndicatorValue | None = None
    monthly: bool = False
    extra: dict = field(default_factory=dict)


def _series_from_rows(indicator: Indicator, rows: list[IndicatorValue], *, by: str) -> tuple[list[tuple[Period, Decimal | None]], int]:
    """(period, value) points of the chosen granularity; reported values count once approved."""
    pending = 0
    points: dict[Period, Decimal | None] = {}
    for row in rows:
        if row.source == Source.REPORTED and row.status != ValueStatus.APPROVED:
            pending += row.status == ValueStatus.SUBMITTED
            continue
        points[Period.parse(row.period)] = row.value
    if by == "year":
        # A monthly series read by year: each year's latest month stands for the year.
        yearly: dict[Period, tuple[Period, Decimal | None]] = {}
        for p, v in sorted(points.items()):
            yearly[Period(p.year)] = (p, v)
        points = {y: pv[1] for y, pv in yearly.items()}
    elif by == "month":
        points = {p: v for p, v in points.items() if p.is_month}
    return sorted(points.items()), pending


def _reference(indicator: Indicator, averages: dict[int, list[ProvincialAverage]]) -> Decimal | None:
    """The provincial average the target is read against: the target year's, else the latest entered."""
    rows = averages.get(indicator.pk) or []
    for row in rows:
        if row.period == str(indicator.plan.target_year):
            return row.value
    return rows[-1].value if rows else None


def indicator_rows(
    *, plan: Plan, region: Region, by: str | None = None, indicators: list[Indicator] | None = None, as_of: date | None = None
) -> list[IndicatorRow]:
    """Every indicator of the plan at one region: its series, latest value and status, in three queries.

    `as_of` keeps only periods that had ended by that date (a report "as of" a day).
    """
    indicators = indicators if indicators is not None else list(Indicator.objects.filter(plan=plan).select_related("plan"))
    values: dict[int, list[IndicatorValue]] = {}
    for row in IndicatorValue.objects.filter(indicator__plan=plan, region=region).order_by("period"):
        if as_of is not None and Period.parse(row.period).end > as_of:
            continue
        values.setdefault(row.indicator_id, []).append(row)
    averages: dict[int, list[ProvincialAverage]] = {}
    for avg in ProvincialAverage.objects.filter(indicator__plan=plan).order_by("period"):
        averages.setdefault(avg.indicator_id, []).append(avg)
    out = []
    for ind in indicators:
        source = ind.source
        granularity = by or ("month" if source == Source.COMPUTED else "year")
        series, pending = _series_from_rows(ind, values.get(ind.pk, []), by=granularity)
        target = ind.target
        if region.level == Level.CITY:
            # The plan's printed base value is the city's value in the base year.
            if ind.baseline is not None and granularity == "year" and not any(p == Period(plan.base_year) for p, _v in series):
                series = sorted([*series, (Period(plan.base_year), ind.baseline)])
        else:
            # "Raise by 5" below the city reads from the region's own base-year value, when entered.
            own_base = dict(series).get(Period(plan.base_year))
            target = replace(target, baseline=own_base)
        applies = target_applies(ind, region)
        assessment = assess(
            target=target,
            series=series,
            target_year=plan.target_year,
            reference=_reference(ind, averages),
            applies=applies,
            flagged=ind.flagged,
        )
        known = [
            r for r in values.get(ind.pk, []) if r.value is not None and (r.source == Source.COMPUTED or r.status == ValueStatus.APPROVED)
        ]
        out.append(
            IndicatorRow(
                indicator=ind,
                source=source,
                target=target,
                applies=applies,
                series=series,
                assessment=assessment,
                pending=pending,
                latest_row=known[-1] if known else None,
                monthly=granularity == "month",
            )
        )
    return out


def children_values(*, indicator: Indicator, region: Region, period: str | None) -> list[tuple[Region, IndicatorValue | None]]:
    """The region's children (counties of the city, townships of a county) with their value for a period."""
    children = list(Region.objects.filter(parent=region, level__in=COCKPIT_LEVELS).order_by("code"))
    if not period:
        return [(c, None) for c in children]
    rows = {
        v.region_id: v
        for v in IndicatorValue.objects.filter(indicator=indicator, region__in=children, period=period)
        if v.source == Source.COMPUTED or v.status == ValueStatus.APPROVED
    }
    return [(c, rows.get(c.pk)) for c in children]


def values_to_approve(user) -> QuerySet[IndicatorValue]:
    """Submitted values in the user's regions (the operation decides who may approve which)."""
    if not can(user, "plan.approve"):
        return IndicatorValue.objects.none()
    qs = IndicatorValue.objects.filter(status=ValueStatus.SUBMITTED).select_related("indicator", "region", "entered_by", "indicator__plan")
    scope = scope_of(user)
    if not scope.everything:
        qs = qs.filter(under_paths_q("region", list(scope.region_paths)))
    return qs.order_by("region__path", "indicator__no", "period")


def values_entered_visible(user, *, indicator: Indicator | None = None) -> QuerySet[IndicatorValue]:
    qs = IndicatorValue.objects.filter(source=Source.REPORTED).select_related("indicator", "region", "entered_by", "approved_by")
    if indicator is not None:
        qs = qs.filter(indicator=indicator)
    scope = scope_of(user)
    if not can(user, "plan.view"):
        return qs.none()
    if not scope.everything:
        qs = qs.filter(under_paths_q("region", list(scope.region_paths)))
    return qs.order_by("-period", "region__path")


DRILL_PARTS = ("numerator", "gap")


def drilldown(user, *, indicator: Indicator, region: Region, period: Period, part: str = "numerator"):
    """The elders or institutions behind a computed number, within the user's scope; None when not computed.

    `part="gap"` lists the denominator's elders who are not in the numerator (e.g. the elders due a
    visit who were not visited): the people an officer acts on.
    """
    definition = indicator.definition
    if definition is None:
        return None
    rows = definition.numerator.in_region(region, period)
    scope = scope_of(user)
    if definition.rows_kind == "elders":
        from yiyang.people.models import Elder
        from yiyang.people.queries import elders_visible_to

        ids = rows.values(definition.row_field)
        if part == "gap" and definition.denominator is not None:
            in_denominator = definition.denominator.in_region(region, period).values(definition.row_field)
            chosen = Elder.objects.filter(pk__in=in_denominator).exclude(pk__in=ids)
        else:
            chosen = Elder.objects.filter(pk__in=ids)
        visible = elders_visible_to(user).values("pk")
        return chosen.filter(pk__in=visible).select_related("residence_region").order_by("residence_region__code", "pk")
    if definition.rows_kind == "institutions":
        from yiyang.institutions.models import Institution

        chosen = Institution.objects.filter(pk__in=rows.values(definition.row_field)).select_related("region")
        if not scope.everything:
            chosen = chosen.filter(under_paths_q("region", list(scope.region_paths)))
        return chosen.order_by("region__code", "name", "pk")
    if not scope.everything:
        rows = rows.filter(under_paths_q(definition.numerator.region_field, list(scope.region_paths)))
    return rows.order_by("pk")
