"""Indicators 8 (monthly visit rate) and 18 (elder volunteers' share), on constructed data worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, UserFactory, region
from yiyang.accounts.roles import Role
from yiyang.plan.models import Source
from yiyang.plan.periods import Period
from yiyang.plan.queries import drilldown

pytestmark = pytest.mark.django_db
OCT = Period(2024, 10)


def _items(township: str, *, due: int, visited: int, kind="rule", status="open"):
    from yiyang.visits.models import VisitPlan, VisitPlanItem

    t = region(township)
    plan, _ = VisitPlan.objects.get_or_create(month=date(2024, 10, 1), region=t)
    for i in range(due):
        VisitPlanItem.objects.create(
            plan=plan,
            elder=ElderFactory(residence_region=t),
            month=date(2024, 10, 1),
            county=t.parent,
            township=t,
            kind=kind,
            status=status,
            due_by=date(2024, 10, 31),
            visit_count=1 if i < visited else 0,
        )


@pytest.fixture
def visit_items(db):
    """紫金 4 due, 3 visited (+1 cancelled, +1 extra visit: not counted); 岩泉 2 due, none visited; 鹤城 (青田) 1 due, visited.

    Expected for 2024-10: 紫金 75%, 岩泉 0%, 莲都 3/6 = 50%, 青田 100%, city 4/7 = 57.1429%; 331102003 no data.
    """
    _items("331102001", due=4, visited=3)
    _items("331102001", due=1, visited=1, status="cancelled")
    _items("331102001", due=1, visited=1, kind="extra")
    _items("331102002", due=2, visited=0)
    _items("331121001", due=1, visited=1)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("331100", Decimal("57.1429")),
        ("331102", Decimal("50.0000")),
        ("331121", Decimal("100.0000")),
        ("331102001", Decimal("75.0000")),
        ("331102002", Decimal("0.0000")),
        ("331102003", None),
    ],
)
def test_visit_rate_by_hand(visit_items, plan_indicator, code, expected):
    ind = plan_indicator(8)
    assert ind.source == Source.COMPUTED
    assert ind.definition.compute(region(code), OCT).value == expected


def test_visit_rate_month_without_a_plan_is_no_data(visit_items, plan_indicator):
    assert plan_indicator(8).definition.compute(region("331100"), Period(2024, 11)).value is None


def test_visit_rate_agrees_with_the_visits_app(visit_items, plan_indicator):
    from yiyang.visits.queries import visit_coverage

    for code in ("331100", "331102", "331102001"):
        r = region(code)
        coverage = visit_coverage(region_path=r.path, month=date(2024, 10, 1))
        result = plan_indicator(8).definition.compute(r, OCT)
        assert (result.numerator, result.denominator) == (coverage.visited, coverage.due)


def test_the_missed_elders_are_listed_within_scope(visit_items, plan_indicator, personas):
    ind = plan_indicator(8)
    missed = drilldown(personas["county_officer"], indicator=ind, region=region("331102"), period=OCT, part="gap")
    assert missed.count() == 3  # 紫金 1 + 岩泉 2
    visited = drilldown(personas["county_officer"], indicator=ind, region=region("331102"), period=OCT)
    assert visited.count() == 3
    # Asked at the city, a county officer still sees only their county's elders.
    assert drilldown(personas["county_officer"], indicator=ind, region=region("331100"), period=OCT).count() == 3
    assert drilldown(personas["city_officer"], indicator=ind, region=region("331100"), period=OCT).count() == 4


def _volunteer(township: str, born: date, *, active=True):
    from yiyang.timebank.models import Volunteer

    user = UserFactory(role=Role.VOLUNTEER)
    return Volunteer.objects.create(
        user=user, name=user.username, birth_date=born, region=region(township), registered_by=user, is_active=active
    )


@pytest.fixture
def volunteers(db):
    """Elders: 紫金 5, 岩泉 2, 鹤城 (青田) 3. Elder volunteers (60+, active): 紫金 2, 鹤城 1.
    Not counted: a 40-year-old volunteer and an inactive 60+ one in 紫金.
    Expected: 紫金 2/5 = 40%, 岩泉 0/2 = 0%, 莲都 2/7 = 28.5714%, 青田 1/3 = 33.3333%, city 3/10 = 30%; 331102003 no data.
    """
    for code, n in (("331102001", 5), ("331102002", 2), ("331121001", 3)):
        for _ in range(n):
            ElderFactory(residence_region=region(code))
    _volunteer("331102001", date(1950, 3, 1))
    _volunteer("331102001", date(1955, 7, 9))
    _volunteer("331102001", date(1985, 1, 1))
    _volunteer("331102001", date(1950, 1, 1), active=False)
    _volunteer("331121001", date(1960, 2, 2))


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("331100", Decimal("30.0000")),
        ("331102", Decimal("28.5714")),
        ("331121", Decimal("33.3333")),
        ("331102001", Decimal("40.0000")),
        ("331102002", Decimal("0.0000")),
        ("331102003", None),
    ],
)
def test_elder_volunteer_share_by_hand(volunteers, plan_indicator, code, expected):
    ind = plan_indicator(18)
    assert ind.source == Source.COMPUTED
    assert ind.definition.compute(region(code), Period.month_of(timezone.localdate())).value == expected


def test_grouped_computation_agrees_for_8_and_18(visit_items, volunteers, plan_indicator):
    regions = [region(c) for c in ("331100", "331102", "331121", "331102001", "331102002", "331102003", "331121001")]
    for no, period in ((8, OCT), (18, Period.month_of(timezone.localdate()))):
        definition = plan_indicator(no).definition
        many = definition.compute_many(regions, period)
        assert all(many[r.pk] == definition.compute(r, period) for r in regions)
