"""A reporting unit (e.g. 市卫生健康委) enters only the indicators the plan makes it responsible for, in its regions."""

import pytest

from tests.factories import persona, region
from yiyang.accounts.roles import Role
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError
from yiyang.plan.models import IndicatorValue, Source, ValueEvent
from yiyang.plan.operations import responsible_units, value_submit

pytestmark = pytest.mark.django_db

HEALTH = "市卫生健康委"


def _nothing_written() -> bool:
    return (
        not IndicatorValue.objects.exists()
        and not ValueEvent.objects.exists()
        and not AuditEvent.objects.filter(action="plan.value_submit").exists()
    )


def test_joint_responsibility_names_each_unit(plan_indicator):
    assert responsible_units(plan_indicator(20)) == {"市民政局", HEALTH}
    assert responsible_units(plan_indicator(1)) == {HEALTH}


def test_the_form_offers_only_the_units_indicators_and_regions_in_its_scope(client, personas, plan_indicator):
    county_reporter = persona(Role.REPORTER, regions=("331102",), unit=HEALTH)
    client.force_login(county_reporter)
    page = client.get("/plan/enter/")
    assert page.status_code == 200
    offered = page.context["indicators"]
    assert offered and all(HEALTH in responsible_units(i) and i.source == Source.REPORTED for i in offered)
    assert {1, 11} <= {i.no for i in offered} and 4 not in {i.no for i in offered}  # 4 is 市民政局's
    html = page.content.decode()
    assert "人均预期寿命" in html and "老年人意外伤害保险参保率" not in html
    codes = {r.code for r in page.context["regions"]}
    assert "331102" in codes and "331102001" in codes and not codes & {"331100", "331121"}


def test_officers_are_still_offered_every_reported_indicator(client, personas):
    client.force_login(personas["city_officer"])
    offered = {i.no for i in client.get("/plan/enter/").context["indicators"]}
    assert {1, 4, 11} <= offered


def test_posting_another_units_indicator_is_refused_naming_the_field(client, personas, plan_indicator):
    client.force_login(personas["reporter"])
    response = client.post("/plan/enter/", {"indicator": plan_indicator(4).pk, "region": "331100", "period": "2022", "value": "30"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_indicator-error"' in html and 'aria-describedby="id_indicator-error"' in html
    assert _nothing_written()
    # Its own indicator goes through.
    ok = client.post("/plan/enter/", {"indicator": plan_indicator(1).pk, "region": "331100", "period": "2022", "value": "81.2"})
    assert ok.status_code == 302
    assert IndicatorValue.objects.get().reporting_unit == HEALTH


def test_the_operation_refuses_whatever_the_caller(personas, plan_indicator):
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(4), region=region("331100"), period="2022", value="30", actor=personas["reporter"])
    assert (out.value.field, out.value.code, out.value.status) == ("indicator", "not_responsible", 400)
    # A reporter whose unit is not set enters nothing.
    nobody = persona(Role.REPORTER, regions=("331100",))
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(1), region=region("331100"), period="2022", value="81.2", actor=nobody)
    assert out.value.field == "indicator"
    # The right unit, outside its regions: not found.
    county_reporter = persona(Role.REPORTER, regions=("331102",), unit=HEALTH)
    with pytest.raises(DomainError) as out:
        value_submit(indicator=plan_indicator(1), region=region("331121"), period="2022", value="81.2", actor=county_reporter)
    assert out.value.status == 404
    assert _nothing_written()


def test_the_api_refuses_another_units_indicator(client, api_client, personas):
    headers = api_client(personas["reporter"])
    response = client.post(
        "/api/v1/plan/values",
        {"indicator_no": 4, "region": "331100", "period": "2022", "value": "30"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 400 and response.json()["field"] == "indicator_no" and response.json()["code"] == "not_responsible"
    assert _nothing_written()
