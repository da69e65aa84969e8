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

if not apps.is_installed("yiyang.institutions"):
    # Without the institutions app, "lives in an institution" is the registry's living arrangement.
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
            row_field="elder",
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


if apps.is_installed("yiyang.institutions"):
    # Indicators 5, 6, 7, 9 and 10 count as the institutions app does (yiyang/institutions/queries.py:
    # tekun_disabled_in_institutions, bed_counts, certified_care_workers, alliance_counts, smart_care_homes),
    # as of the end of the period and grouped by region, so the cockpit and the institutions pages agree.
    from yiyang.assessments.queries import elder_ids_with_grade_q
    from yiyang.institutions.models import (
        Alliance,
        Bed,
        BedStatus,
        BedType,
        Certificate,
        CertificateKind,
        Institution,
        Residency,
        Staff,
        StaffRole,
    )

    def tekun_unable_to_care_5(period: Period) -> QuerySet[Elder]:
        """特困 elders unable to care for themselves: 失能 or 半失能 held, or a valid assessment of moderate or worse."""
        end = period.end
        return (
            elders_as_of(period)
            .filter(holding(Category.TEKUN, period))
            .filter(
                Q(holding(Category.DISABLED, period))
                | Q(holding(Category.PARTIALLY_DISABLED, period))
                | elder_ids_with_grade_q(min_grade=2, on=end)
            )
        )

    def _in_residence(period: Period) -> Q:
        end = period.end
        stays = Residency.objects.filter(admitted_on__lte=end).filter(Q(discharged_on__isnull=True) | Q(discharged_on__gt=end))
        return Q(pk__in=stays.values("elder_id"))

    register(
        Definition(
            key="tekun_institutional_care",
            plan_code=PLAN,
            indicator_no=5,
            numerator=Measure(rows=lambda p: tekun_unable_to_care_5(p).filter(_in_residence(p)), region_field="residence_region"),
            denominator=Measure(rows=tekun_unable_to_care_5, region_field="residence_region"),
            factor=100,
            formula=_(
                "Extreme-poverty (特困) elders unable to care for themselves (失能 or 半失能, or assessed moderately disabled "
                "or worse) who stay in an institution (an open residency) at the end of the period, divided by all such "
                "elders, × 100, by the elder's residence region."
            ),
            rows_kind="elders",
        )
    )

    def _beds(period: Period) -> QuerySet:
        # Bed type and status are kept as they are now (no history): a past month's final snapshot keeps its value.
        return Bed.objects.filter(institution__is_active=True, created_at__date__lte=period.end).exclude(status=BedStatus.CLOSED)

    register(
        Definition(
            key="nursing_bed_share",
            plan_code=PLAN,
            indicator_no=6,
            numerator=Measure(rows=lambda p: _beds(p).filter(bed_type=BedType.NURSING), region_field="institution__region"),
            denominator=Measure(rows=_beds, region_field="institution__region"),
            factor=100,
            formula=_(
                "Nursing-type beds (护理型床位) in active institutions, divided by all their beds that are not closed, × 100, "
                "by the institution's region. Home-care beds are not institution beds."
            ),
            rows_kind="institutions",
            row_field="institution",
        )
    )

    def _certified_care_workers(period: Period) -> QuerySet:
        end = period.end
        valid = Certificate.objects.filter(staff=OuterRef("pk"), kind=CertificateKind.CARE_WORKER, issued_on__lte=end).filter(
            Q(expires_on__isnull=True) | Q(expires_on__gt=end)
        )
        return Staff.objects.filter(
            Q(left_on__isnull=True) | Q(left_on__gt=end),
            Q(hired_on__isnull=True) | Q(hired_on__lte=end),
            Exists(valid),
            role=StaffRole.CARE_WORKER,
            institution__is_active=True,
        )

    register(
        Definition(
            key="certified_care_workers_per_10k",
            plan_code=PLAN,
            indicator_no=7,
            numerator=Measure(rows=_certified_care_workers, region_field="institution__region"),
            denominator=ELDERS,
            factor=10_000,
            formula=_(
                "Care workers employed in active institutions holding a care-worker certificate valid at the end of the "
                "period (持证养老护理员), by the institution's region, per 10,000 elders (60+) in the registry living there."
            ),
            rows_kind="institutions",
            row_field="institution",
        )
    )

    register(
        Definition(
            key="care_alliances",
            plan_code=PLAN,
            indicator_no=9,
            numerator=Measure(
                rows=lambda p: Alliance.objects.filter(
                    Q(established_on__isnull=True, created_at__date__lte=p.end) | Q(established_on__lte=p.end)
                ),
                region_field="region",
            ),
            denominator=None,
            factor=1,
            formula=_("Care-and-wellness alliances (康养联合体) registered in the region and established by the end of the period."),
            rows_kind="alliances",
        )
    )

    register(
        Definition(
            key="smart_care_homes",
            plan_code=PLAN,
            indicator_no=10,
            numerator=Measure(
                rows=lambda p: Institution.objects.filter(is_active=True, smart_care_home=True, created_at__date__lte=p.end),
                region_field="region",
            ),
            denominator=None,
            factor=1,
            formula=_("Active institutions flagged as smart care homes (智慧养老院), registered in the region, at the end of the period."),
            rows_kind="institutions",
        )
    )
