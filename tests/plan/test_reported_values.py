from decimal import Decimal

import pytest

from tests.factories import persona, region
from yiyang.accounts.roles import Role
from yiyang.core.errors import DomainError, StateConflict
from yiyang.plan.models import IndicatorValue, PeriodClose, ValueEvent, ValueStatus
from yiyang.plan.operations import may_approve, period_close, value_approve, value_reject, value_submit

pytestmark = pytest.mark.django_db


def test_a_unit_enters_and_the_city_office_approves_keeping_who_did_what(personas, plan_indicator):
    ind = plan_indicator(1)  # life expectancy, 市卫生健康委
    row = value_submit(indicator=ind, region=region("331100"), period="2021", value="81.10", actor=personas["reporter"])
    assert row.status == ValueStatus.SUBMITTED and row.entered_by == personas["reporter"]
    assert not may_approve(personas["reporter"], row)  # no capability
    assert not may_approve(personas["county_officer"], row)  # not above the city
    value_approve(value=row, actor=personas["city_officer"])
    row.refresh_from_db()
    assert (row.status, row.value, row.approved_by, row.entered_by) == (
        ValueStatus.APPROVED,
        Decimal("81.1"),
        personas["city_officer"],
        personas["reporter"],
    )
    assert list(ValueEvent.objects.filter(value=row).values_list("from_status", "to_status")) == [
        ("", "submitted"),
        ("submitted", "approved"),
    ]


def test_approval_is_by_the_level_above(personas, plan_indicator):
    ind = plan_indicator(4)
    township = value_submit(indicator=ind, region=region("331102001"), period="2022", value="30", actor=personas["county_officer"])
    # The county officer entered it: not theirs to approve. Another officer of the same county may (county is above township).
    colleague = persona(Role.COUNTY_OFFICER, regions=("331102",))
    assert not may_approve(personas["county_officer"], township)
    assert may_approve(colleague, township)
    assert not may_approve(personas["other_county_officer"], township)
    with pytest.raises(DomainError) as out:
        value_approve(value=township, actor=personas["other_county_officer"])
    assert out.value.status == 404
    county = value_submit(indicator=ind, region=region("331102"), period="2022", value="31", actor=colleague)
    assert not may_approve(personas["county_officer"], county)  # same level
    with pytest.raises(DomainError) as out:
        value_approve(value=county, actor=personas["county_officer"])
    assert out.value.status == 403
    value_approve(value=county, actor=personas["city_officer"])
    county.refresh_from_db()
    assert county.status == ValueStatus.APPROVED


def test_returning_needs_a_reason_and_a_correction_resubmits(personas, plan_indicator):
    ind = plan_indicator(4)
    row = value_submit(indicator=ind, region=region("331102"), period="2022", value="31", actor=personas["county_officer"])
    with pytest.raises(DomainError) as out:
        value_reject(value=row, reason=" ", actor=personas["city_officer"])
    assert out.value.field == "reason"
    value_reject(value=row, reason="口径不一致", actor=personas["city_officer"])
    row.refresh_from_db()
    assert row.status == ValueStatus.REJECTED
    with pytest.raises(StateConflict):
        value_approve(value=row, actor=personas["city_officer"])
    again = value_submit(indicator=ind, region=region("331102"), period="2022", value="32", actor=personas["county_officer"])
    assert again.pk == row.pk and again.status == ValueStatus.SUBMITTED and again.value == 32


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"value": "abc"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "120"}, "value"),  # a percentage
        ({"value": "1.23456"}, "value"),
        ({"period": "2030"}, "period"),
        ({"period": "2022-03"}, "period"),
        ({"period": "twenty"}, "period"),
    ],
)
def test_bad_input_names_the_field_and_changes_nothing(personas, plan_indicator, changes, field):
    args = {"indicator": plan_indicator(4), "region": region("331102"), "period": "2022", "value": "30"} | changes
    with pytest.raises(DomainError) as out:
        value_submit(**args, actor=personas["county_officer"])
    assert out.value.field == field
    assert not IndicatorValue.objects.exists()


def test_computed_indicators_and_other_regions_cannot_be_entered(personas, plan_indicator):
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(5), region=region("331102"), period="2022", value="90", actor=personas["county_officer"])
    assert out.value.field == "indicator"
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(4), region=region("331121"), period="2022", value="30", actor=personas["county_officer"])
    assert out.value.status == 404
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(4), region=region("331102"), period="2022", value="30", actor=personas["worker"])
    assert out.value.status == 403
    assert not IndicatorValue.objects.exists()


def test_a_closed_period_no_longer_changes(personas, plan_indicator):
    ind = plan_indicator(4)
    row = value_submit(indicator=ind, region=region("331102"), period="2021", value="30", actor=personas["county_officer"])
    period_close(period="2021", actor=personas["city_officer"])
    assert PeriodClose.objects.filter(period="2021").exists()
    with pytest.raises(StateConflict):
        value_submit(indicator=ind, region=region("331102"), period="2021", value="31", actor=personas["county_officer"])
    with pytest.raises(StateConflict):
        value_approve(value=row, actor=personas["city_officer"])
    with pytest.raises(DomainError):
        period_close(period="2021", actor=personas["county_officer"])  # only the city office closes
    with pytest.raises(DomainError) as out:
        period_close(period="2099", actor=personas["city_officer"])
    assert out.value.field == "period"


def test_provincial_average_is_an_entered_series_the_target_reads_against(personas, plan_indicator):
    from yiyang.plan.operations import provincial_average_set
    from yiyang.plan.queries import indicator_rows
    from yiyang.plan.trend import Status

    ind = plan_indicator(11)  # 达到全省平均水平以上
    for year, v in (("2021", "60"), ("2022", "64"), ("2023", "68")):
        row = value_submit(indicator=ind, region=region("331100"), period=year, value=v, actor=personas["reporter"])
        value_approve(value=row, actor=personas["city_officer"])
    status = indicator_rows(plan=ind.plan, region=region("331100"), indicators=[ind])[0].assessment
    assert status.status == Status.NOT_EVALUATED  # no reference yet
    with pytest.raises(DomainError) as out:
        provincial_average_set(indicator=plan_indicator(1), period="2025", value="70", source_note="", actor=personas["city_officer"])
    assert out.value.field == "indicator"
    provincial_average_set(indicator=ind, period="2025", value="75", source_note="省卫健委", actor=personas["city_officer"])
    # Projection: 60, 64, 68 -> +4 a year -> 76 in 2025 >= 75.
    status = indicator_rows(plan=ind.plan, region=region("331100"), indicators=[ind])[0].assessment
    assert (status.status, status.reference) == (Status.ON_TRACK, Decimal("75"))
    provincial_average_set(indicator=ind, period="2025", value="77", source_note="修订", actor=personas["city_officer"])
    status = indicator_rows(plan=ind.plan, region=region("331100"), indicators=[ind])[0].assessment
    assert status.status == Status.OFF_TRACK and status.projected == pytest.approx(76)


def test_a_closed_month_is_not_snapshotted_again(tekun_population, personas, plan_indicator):
    from yiyang.plan.operations import snapshot_take

    assert snapshot_take(period="2024-10")["written"] > 0
    period_close(period="2024-10", actor=personas["city_officer"])
    assert snapshot_take(period="2024-10") == {"written": 0, "skipped": 0, "closed": True}
    assert snapshot_take(period="2024-12")["written"] > 0
    period_close(period="2024", actor=personas["city_officer"])
    assert snapshot_take(period="2024-12")["closed"] is True
