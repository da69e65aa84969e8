"""Computed indicators: each one a definition written once, as code.

As DHIS2 defines an indicator, a value is numerator / denominator × factor. Numerator and
denominator are `Measure`s: a queryset of rows that count for a period, the path from a row to
its region, and a database aggregation. The same definition answers for any region subtree
(city, county, township, village) and any period, counts in the database (never a Python loop
over rows), computes all children of a region in one grouped query, and lists the rows behind
a number for drill-down.

An empty denominator gives no value ("no data"), never a division by zero nor a 0%.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet
from django.db.models.functions import Substr
from django.utils.functional import Promise

from yiyang.plan.periods import Period
from yiyang.regions.models import Region


@dataclass(frozen=True)
class Measure:
    # Rows that count for the period (an as-of filter for stocks, a within-period filter for flows).
    rows: Callable[[Period], QuerySet]
    # Lookup from a row to its Region, e.g. "residence_region" or "institution__region".
    region_field: str
    # The aggregation; Count("pk") unless given (e.g. Sum("capacity")).
    aggregate: Callable[[], object] = field(default=lambda: Count("pk"))

    def _path(self) -> str:
        return f"{self.region_field}__path"

    def in_region(self, region: Region, period: Period) -> QuerySet:
        return self.rows(period).filter(**{f"{self._path()}__startswith": region.path})

    def value(self, region: Region, period: Period) -> Decimal:
        result = self.in_region(region, period).aggregate(v=self.aggregate())["v"]
        return Decimal(result or 0)

    def values_by_region(self, regions: Iterable[Region], period: Period) -> dict[int, Decimal]:
        """One grouped query per path length: every region's subtree total, keyed by region id."""
        by_length: dict[int, list[Region]] = {}
        for region in regions:
            by_length.setdefault(len(region.path), []).append(region)
        out: dict[int, Decimal] = {}
        for length, group in by_length.items():
            by_path = {r.path: r for r in group}
            # The common ancestor narrows the scan to the subtree the regions share.
            common = _common_prefix([r.path for r in group])
            qs = self.rows(period).filter(**{f"{self._path()}__startswith": common})
            grouped = qs.annotate(_prefix=Substr(self._path(), 1, length)).values("_prefix").annotate(v=self.aggregate()).order_by()
            for row in grouped:
                region = by_path.get(row["_prefix"])
                if region is not None:
                    out[region.pk] = Decimal(row["v"] or 0)
            for region in group:
                out.setdefault(region.pk, Decimal(0))
        return out


def _common_prefix(paths: list[str]) -> str:
    parts = [p.strip("/").split("/") for p in paths]
    common: list[str] = []
    for segment in zip(*parts, strict=False):
        if len(set(segment)) != 1:
            break
        common.append(segment[0])
    return "/".join(common) + "/" if common else ""


@dataclass(frozen=True)
class Result:
    value: Decimal | None
    numerator: Decimal
    denominator: Decimal | None

    @property
    def has_data(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class Definition:
    key: str
    # Which indicator of which plan this computes.
    plan_code: str
    indicator_no: int
    numerator: Measure
    denominator: Measure | None
    factor: int
    formula: Promise  # in words, shown on the indicator's page
    # What the drill-down lists: "elders" or "institutions" (the rows lead to them through `row_field`),
    # or the rows themselves by name ("volunteers", "alliances").
    rows_kind: str = "elders"
    row_field: str = "pk"

    def result(self, numerator: Decimal, denominator: Decimal | None) -> Result:
        if self.denominator is None:
            return Result(numerator * self.factor, numerator, None)
        if not denominator:
            return Result(None, numerator, denominator)
        value = (numerator * self.factor / denominator).quantize(Decimal("0.0001"))
        return Result(value, numerator, denominator)

    def compute(self, region: Region, period: Period) -> Result:
        numerator = self.numerator.value(region, period)
        denominator = self.denominator.value(region, period) if self.denominator else None
        return self.result(numerator, denominator)

    def compute_many(self, regions: list[Region], period: Period) -> dict[int, Result]:
        numerators = self.numerator.values_by_region(regions, period)
        denominators = self.denominator.values_by_region(regions, period) if self.denominator else {}
        return {r.pk: self.result(numerators[r.pk], denominators.get(r.pk) if self.denominator else None) for r in regions}


REGISTRY: dict[tuple[str, int], Definition] = {}


def register(definition: Definition) -> Definition:
    REGISTRY[(definition.plan_code, definition.indicator_no)] = definition
    return definition


def definition_for(indicator) -> Definition | None:
    from yiyang.plan import definitions  # noqa: F401  (registers what the installed apps allow)

    return REGISTRY.get((indicator.plan.code, indicator.no))


def all_definitions() -> list[Definition]:
    from yiyang.plan import definitions  # noqa: F401

    return sorted(REGISTRY.values(), key=lambda d: (d.plan_code, d.indicator_no))
