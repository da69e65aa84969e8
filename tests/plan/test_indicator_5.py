from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import region
from tests.plan.conftest import INSTITUTION, elder
from yiyang.people.models import Elder
from yiyang.plan.models import IndicatorValue, Source
from yiyang.plan.operations import snapshot_take
from yiyang.plan.periods import Period

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def this_month() -> Period:
    return Period.month_of(timezone.localdate())


def test_indicator_5_is_computed_from_its_definition(plan_indicator):
    ind = plan_indicator(5)
    assert ind.source == Source.COMPUTED
    assert "特困" in str(ind.definition.formula)
    assert plan_indicator(1).source == Source.REPORTED


@pytest.mark.parametrize(
    ("code", "numerator", "denominator", "value"),
    [
        ("331100", 4, 7, Decimal("57.1429")),
        ("331102", 3, 5, Decimal("60.0000")),
        ("331121", 1, 2, Decimal("50.0000")),
        ("331102001", 3, 4, Decimal("75.0000")),
        ("331102002", 0, 1, Decimal("0.0000")),
    ],
)
def test_hand_worked_values_at_city_county_township(tekun_population, plan_indicator, code, numerator, denominator, value):
    result = plan_indicator(5).definition.compute(region(code), this_month())
    assert (result.numerator, result.denominator, result.value) == (numerator, denominator, value)


def test_an_empty_region_has_no_data_not_zero(tekun_population, plan_indicator):
    result = plan_indicator(5).definition.compute(region("331102003"), this_month())
    assert result.denominator == 0 and result.value is None and not result.has_data


def test_grouped_computation_agrees_with_one_by_one(tekun_population, plan_indicator):
    definition = plan_indicator(5).definition
    regions = [region(c) for c in ("331100", "331102", "331121", "331102001", "331102002", "331102003")]
    many = definition.compute_many(regions, this_month())
    for r in regions:
        assert many[r.pk] == definition.compute(r, this_month())


def test_elders_registered_after_the_period_do_not_count(tekun_population, plan_indicator):
    result = plan_indicator(5).definition.compute(region("331100"), Period(2021, 1))
    assert result.denominator == 0 and result.value is None


def test_snapshot_writes_every_level_and_a_closed_month_stays_history(tekun_population, plan_indicator):
    ind = plan_indicator(5)
    # Back-date the registrations so last year's October has data.
    Elder.objects.update(created_at=datetime(2024, 1, 1, tzinfo=SH))
    oct_ = "2024-10"
    out = snapshot_take(period=oct_, now=datetime(2024, 11, 3, 2, 0, tzinfo=SH))
    assert out["written"] > 180  # city, 9 counties, every township
    city = IndicatorValue.objects.get(indicator=ind, region__code="331100", period=oct_)
    assert (city.value, city.final, city.source) == (Decimal("57.1429"), True, Source.COMPUTED)
    empty = IndicatorValue.objects.get(indicator=ind, region__code="331102003", period=oct_)
    assert empty.value is None and empty.denominator == 0
    # A late registration back-dated into October does not change October's final snapshot.
    late = elder("331102001", living=INSTITUTION)
    Elder.objects.filter(pk=late.pk).update(created_at=datetime(2024, 9, 1, tzinfo=SH))
    again = snapshot_take(period=oct_, now=datetime(2024, 12, 1, tzinfo=SH))
    assert again["written"] == 0 and again["skipped"] > 180
    city.refresh_from_db()
    assert city.value == Decimal("57.1429")


def test_the_current_month_is_provisional_and_recomputed(tekun_population, plan_indicator):
    ind = plan_indicator(5)
    month = str(this_month())
    snapshot_take(period=month)
    row = IndicatorValue.objects.get(indicator=ind, region__code="331102001", period=month)
    assert row.final is False and row.value == Decimal("75.0000")
    elder("331102001", living=INSTITUTION)  # 4/5
    snapshot_take(period=month)
    row.refresh_from_db()
    assert row.value == Decimal("80.0000")
