"""The computed indicators of the 14th plan, each written once.

A definition is registered only when the data it counts is stored on the platform (its app is
installed and its tables exist); until then the indicator stays "reported" and its unit enters it.
"""

from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yiyang.people.models import Category, Elder, ElderCategory, ElderStatus, LivingArrangement
from yiyang.plan.indicators import Definition, Measure, register
from yiyang.plan.periods import Period

PLAN = "2021-2025"
ELDER_AGE = 60


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def elders_as_of(period: Period) -> QuerySet[Elder]:
    """Elders (60+ at the end of the period) registered by then and not deceased or moved away now."""
    end = period.end
    return Elder.objects.filter(status=ElderStatus.ACTIVE, birth_date__lte=_years_before(end, ELDER_AGE), created_at__date__lte=end)


def holding(category: str, period: Period) -> Exists:
    """The elder held the category at the end of the period (categories keep their dates)."""
    end = period.end
    return Exists(
        ElderCategory.objects.filter(elder=OuterRef("pk"), category=category)
        .filter(Q(since__isnull=True) | Q(since__lte=end))
        .filter(Q(ended__isnull=True) | Q(ended__gt=end))
    )


def tekun_unable_to_care(period: Period) -> QuerySet[Elder]:
    return elders_as_of(period).filter(holding(Category.TEKUN, period), holding(Category.DISABLED, period))


ELDERS = Measure(rows=elders_as_of, region_field="residence_region")

register(
    Definition(
        key="tekun_institutional_care",
        plan_code=PLAN,
        indicator_no=5,
        numerator=Measure(
            rows=lambda p: tekun_unable_to_care(p).filter(living_arrangement=LivingArrangement.INSTITUTION),
            region_field="residence_region",
        ),
        denominator=Measure(rows=tekun_unable_to_care, region_field="residence_region"),
        factor=100,
        formula=_(
            "Extreme-poverty (特困) elders unable to care for themselves (失能) who live in an institution, "
            "divided by all extreme-poverty elders unable to care for themselves, × 100. "
            "Counted at the end of the period, by the elder's residence region."
        ),
        rows_kind="elders",
    )
)
