"""The computed indicators of the 14th plan, each written once.

A definition is registered only when the data it counts is stored on the platform (its app is
installed and its tables exist); until then the indicator stays "reported" and its unit enters it.
"""

from datetime import date

from django.apps import apps
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


def _month_start(period: Period) -> date:
    """Monthly flows read a year by its December (the cockpit snapshots months)."""
    return period.end.replace(day=1)


if apps.is_installed("yiyang.visits"):
    # Indicator 8 reads the visits app's own monthly plan (yiyang/visits/queries.py: rule items of the
    # month, cancelled ones excluded; visited = at least one visit), grouped by the plan's township.
    from yiyang.visits.models import ItemKind, ItemStatus, VisitPlanItem

    def _due_visits(period: Period) -> QuerySet:
        return VisitPlanItem.objects.filter(month=_month_start(period), kind=ItemKind.RULE, status=ItemStatus.OPEN)

    register(
        Definition(
            key="monthly_visit_rate",
            plan_code=PLAN,
            indicator_no=8,
            numerator=Measure(rows=lambda p: _due_visits(p).filter(visit_count__gt=0), region_field="township"),
            denominator=Measure(rows=_due_visits, region_field="township"),
            factor=100,
            formula=_(
                "Elders in special difficulty due a visit in the month (by the visit rule) who were visited at least once "
                "that month, divided by all elders due a visit that month, × 100. Extra visits are not counted."
            ),
            rows_kind="elders",
            elder_field="elder",
        )
    )


if apps.is_installed("yiyang.timebank"):
    # Indicator 18 counts as the time bank does (yiyang/timebank/queries.py elder_volunteer_count):
    # active volunteers aged 60+ by the region they serve in.
    from yiyang.timebank.models import ELDER_VOLUNTEER_AGE, Volunteer

    def _elder_volunteers(period: Period) -> QuerySet:
        end = period.end
        return Volunteer.objects.filter(is_active=True, birth_date__lte=_years_before(end, ELDER_VOLUNTEER_AGE), created_at__date__lte=end)

    register(
        Definition(
            key="elder_volunteer_share",
            plan_code=PLAN,
            indicator_no=18,
            numerator=Measure(rows=_elder_volunteers, region_field="region"),
            denominator=ELDERS,
            factor=100,
            formula=_(
                "Registered, active volunteers aged 60 or over (time bank), by the region they serve in, divided by the "
                "elders (60+) in the registry living in the region, × 100, at the end of the period."
            ),
            rows_kind="volunteers",
        )
    )
