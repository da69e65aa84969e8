"""Indicators 5 (with stays), 6, 7, 9 and 10 from the institutions app, on constructed data worked out by hand."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, region
from tests.plan.conftest import admit, elder

pytestmark = pytest.mark.django_db


def month():
    from yiyang.plan.periods import Period

    return Period.month_of(timezone.localdate())


def _home(township: str, name: str, *, beds: dict, active=True, smart=False):
    from yiyang.institutions.models import Bed, BedStatus, Institution, InstitutionKind, Operation

    home = Institution.objects.create(
        name=name,
        kind=InstitutionKind.CARE_HOME,
        operation=Operation.PUBLIC,
        region=region(township),
        is_active=active,
        smart_care_home=smart,
    )
    n = 0
    for bed_type, count in beds.items():
        kind, _, status = bed_type.partition(":")
        for _ in range(count):
            n += 1
            Bed.objects.create(institution=home, code=str(n), bed_type=kind, status=status or BedStatus.AVAILABLE)
    return home


def _worker(home, *, role="care_worker", certificates=(("care_worker", None),), left_on=None):
    from yiyang.institutions.models import Certificate, Staff

    staff = Staff.objects.create(institution=home, name="护理员", role=role, left_on=left_on)
    for i, (kind, expires) in enumerate(certificates):
        Certificate.objects.create(staff=staff, kind=kind, number=f"{staff.pk}-{i}", issued_on=date(2022, 1, 1), expires_on=expires)
    return staff


@pytest.fixture
def institutions(db):
    """Beds (nursing / all not closed, active institutions only):
    紫金 A: 4 nursing + 1 cognitive + 5 general, 1 closed nursing -> 4/10; 岩泉 B: 5 nursing -> 5/5, and an inactive
    C with 5 general (not counted); 鹤城 (青田) D: 1 nursing + 3 general -> 1/4.
    => 紫金 40%, 岩泉 100%, 莲都 9/15 = 60%, 青田 25%, city 10/19 = 52.6316%; 331102003 no data.

    Certified care workers (per 10,000 elders): A 3 (+ one expired, one who left, one nurse: not counted), B 1,
    D 2 (one with two certificates, counted once). Elders: 紫金 20, 岩泉 5, 鹤城 8.
    => 紫金 1500, 岩泉 2000, 莲都 4/25 = 1600, 青田 2500, city 6/33 × 10,000 = 1818.1818; 331102003 no data.

    Smart care homes: A and D (C is inactive): 紫金 1, 莲都 1, 青田 1, city 2, 331102003 0.
    Alliances: one in 紫金, one registered at 莲都 county level, one in 青田 not yet established:
    紫金 1, 莲都 2, 青田 0, city 2.
    """
    from yiyang.institutions.models import Alliance

    a = _home("331102001", "A", beds={"nursing": 4, "cognitive": 1, "general": 5, "nursing:closed": 1}, smart=True)
    b = _home("331102002", "B", beds={"nursing": 5})
    c = _home("331102002", "C", beds={"general": 5}, active=False, smart=True)
    d = _home("331121001", "D", beds={"nursing": 1, "general": 3}, smart=True)
    yesterday = timezone.localdate() - timedelta(days=1)
    for _ in range(3):
        _worker(a)
    _worker(a, certificates=(("care_worker", yesterday),))
    _worker(a, left_on=yesterday)
    _worker(a, role="nurse")
    _worker(b)
    _worker(c)
    _worker(d)
    _worker(d, certificates=(("care_worker", None), ("care_worker", date(2099, 1, 1))))
    for code, n in (("331102001", 20), ("331102002", 5), ("331121001", 8)):
        for _ in range(n):
            ElderFactory(residence_region=region(code))
    Alliance.objects.create(name="紫金康养联合体", region=region("331102001"), established_on=date(2022, 3, 1))
    Alliance.objects.create(name="莲都康养联合体", region=region("331102"))
    Alliance.objects.create(name="青田康养联合体", region=region("331121"), established_on=date(2099, 1, 1))


CASES = {
    6: {"331100": "52.6316", "331102": "60.0000", "331121": "25.0000", "331102001": "40.0000", "331102002": "100.0000", "331102003": None},
    7: {
        "331100": "1818.1818",
        "331102": "1600.0000",
        "331121": "2500.0000",
        "331102001": "1500.0000",
        "331102002": "2000.0000",
        "331102003": None,
    },
    9: {"331100": "2", "331102": "2", "331121": "0", "331102001": "1", "331102002": "0", "331102003": "0"},
    10: {"331100": "2", "331102": "1", "331121": "1", "331102001": "1", "331102002": "0", "331102003": "0"},
}


@pytest.mark.parametrize(("no", "code", "expected"), [(no, code, v) for no, values in CASES.items() for code, v in values.items()])
def test_institution_indicators_by_hand(institutions, plan_indicator, no, code, expected):
    ind = plan_indicator(no)
    assert ind.source == "computed"
    result = ind.definition.compute(region(code), month())
    assert result.value == (None if expected is None else Decimal(expected))


def test_grouped_and_one_by_one_agree(institutions, plan_indicator):
    regions = [region(c) for c in ("331100", "331102", "331121", "331102001", "331102002", "331102003")]
    for no in CASES:
        definition = plan_indicator(no).definition
        many = definition.compute_many(regions, month())
        assert all(many[r.pk] == definition.compute(r, month()) for r in regions), no


def test_the_institutions_behind_a_number_within_scope(institutions, plan_indicator, personas):
    from yiyang.plan.queries import drilldown

    ind = plan_indicator(6)
    names = [i.name for i in drilldown(personas["city_officer"], indicator=ind, region=region("331100"), period=month())]
    assert names == ["A", "B", "D"]
    names = [i.name for i in drilldown(personas["county_officer"], indicator=ind, region=region("331100"), period=month())]
    assert names == ["A", "B"]


def test_agrees_with_the_institutions_app(institutions, plan_indicator):
    from yiyang.institutions.queries import bed_counts, certified_care_workers, smart_care_homes

    for code in ("331100", "331102", "331102001"):
        r = region(code)
        beds = bed_counts(region_path=r.path)
        six = plan_indicator(6).definition.compute(r, month())
        assert (six.numerator, six.denominator) == (beds.nursing, beds.total)
        assert plan_indicator(7).definition.compute(r, month()).numerator == certified_care_workers(region_path=r.path)
        assert plan_indicator(10).definition.compute(r, month()).numerator == smart_care_homes(region_path=r.path)


def test_indicator_5_counts_open_stays_only(db, plan_indicator):
    """紫金: 3 特困 elders unable to care for themselves; one stays, one was discharged, one at home -> 1/3 = 33.3333%."""
    stays = elder("331102001")
    admit(stays, "331102001")
    left = elder("331102001")
    admit(left, "331102001", discharged=date(2023, 5, 1))
    elder("331102001")
    result = plan_indicator(5).definition.compute(region("331102001"), month())
    assert (result.numerator, result.denominator, result.value) == (1, 3, Decimal("33.3333"))
    # In May 2022 the discharged elder still stayed: 2/3.
    from yiyang.people.models import Elder
    from yiyang.plan.periods import Period

    Elder.objects.update(created_at=timezone.make_aware(timezone.datetime(2021, 1, 1)))
    assert plan_indicator(5).definition.compute(region("331102001"), Period(2022, 5)).value == Decimal("66.6667")
