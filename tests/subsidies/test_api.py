from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook

from tests.factories import ElderFactory
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.subsidies.models import Programme, Settlement
from yiyang.subsidies.operations import current_period, grants_run_month, vouchers_spend

pytestmark = pytest.mark.django_db

BODY = {
    "name": "高龄补贴",
    "funding_source": "福彩公益金",
    "region": "331102",
    "starts_on": "2026-01",
    "rule": [{"fact": "age", "op": "gte", "value": 80}],
    "tiers": [
        {"key": "alone", "label": "独居", "all": [{"fact": "living_arrangement", "op": "in", "value": ["alone"]}], "amount_fen": 20000},
        {"key": "rest", "label": "其他", "all": [], "amount_fen": 10000},
    ],
    "categories": ["meal", "clean"],
    "carry_over": False,
}


def test_officer_defines_previews_activates_and_grants(client, api_client, personas):
    ElderFactory(birth_date=date(1935, 1, 1), living_arrangement="alone")
    ElderFactory(birth_date=date(1938, 1, 1))
    ElderFactory(birth_date=date(1970, 1, 1))
    auth = api_client(personas["county_officer"])
    r = client.post("/api/v1/subsidies/preview", {**BODY, "period": "2026-11"}, content_type="application/json", **auth)
    assert r.status_code == 200, r.content
    assert r.json()["count"] == 2 and [t["count"] for t in r.json()["tiers"]] == [1, 1]
    r = client.post("/api/v1/subsidies/programmes", BODY, content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    pid = r.json()["id"]
    assert r.json()["status"] == "draft"
    preview = client.get(f"/api/v1/subsidies/programmes/{pid}/preview?period=2026-11", **auth).json()
    assert preview["count"] == 2 and preview["total_fen"] == 30000
    assert (
        client.post(f"/api/v1/subsidies/programmes/{pid}/status", {"status": "active"}, content_type="application/json", **auth).status_code
        == 200
    )
    r = client.post(f"/api/v1/subsidies/programmes/{pid}/grants", {"period": "2026-11"}, content_type="application/json", **auth)
    assert r.status_code == 201 and r.json()["granted"] == preview["count"] and r.json()["total_fen"] == preview["total_fen"]
    again = client.post(f"/api/v1/subsidies/programmes/{pid}/grants", {"period": "2026-11"}, content_type="application/json", **auth)
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": "  "}, "name"),
        ({"region": "999999"}, "region"),
        ({"rule": [{"fact": "shoe_size", "op": "gte", "value": 1}]}, "rule.0.fact"),
        ({"rule": [{"fact": "age", "op": "gte", "value": 300}]}, "rule.0.value"),
        ({"rule": [{"fact": "living_arrangement", "op": "in", "value": ["on_the_moon"]}]}, "rule.0.value"),
        ({"tiers": [{"key": "a", "label": "a", "all": [], "amount_fen": 0}]}, "tiers.0.amount_fen"),
        ({"tiers": []}, "tiers"),
        ({"categories": ["karaoke"]}, "categories"),
        ({"starts_on": "2026-13"}, "starts_on"),
        ({"ends_on": "2025-01"}, "ends_on"),
    ],
)
def test_bad_programme_names_the_field_and_saves_nothing(client, api_client, personas, patch, field):
    auth = api_client(personas["county_officer"])
    r = client.post("/api/v1/subsidies/programmes", {**BODY, **patch}, content_type="application/json", **auth)
    assert r.status_code in (400, 422), r.content
    assert r.json()["field"] == field
    assert not Programme.objects.exists()


def test_roles_and_regions(client, api_client, personas):
    r = client.post("/api/v1/subsidies/programmes", BODY, content_type="application/json", **api_client(personas["worker"]))
    assert r.status_code == 403
    # An officer of 青田县 may not define a programme for 莲都区, nor see or run one.
    qt = api_client(personas["other_county_officer"])
    r = client.post("/api/v1/subsidies/programmes", BODY, content_type="application/json", **qt)
    assert r.status_code == 400 and r.json()["field"] == "region"
    programme = make_programme(personas["county_officer"])
    assert client.get(f"/api/v1/subsidies/programmes/{programme.pk}", **qt).status_code == 404
    assert (
        client.post(
            f"/api/v1/subsidies/programmes/{programme.pk}/grants", {"period": "2026-11"}, content_type="application/json", **qt
        ).status_code
        == 404
    )
    # A city programme is visible to a county officer but not theirs to run.
    city = make_programme(personas["city_officer"], region_code="331100")
    lishui = api_client(personas["county_officer"])
    assert client.get(f"/api/v1/subsidies/programmes/{city.pk}", **lishui).status_code == 200
    assert (
        client.post(
            f"/api/v1/subsidies/programmes/{city.pk}/grants", {"period": "2026-11"}, content_type="application/json", **lishui
        ).status_code
        == 404
    )


def test_family_sees_balance_statement_and_why(client, api_client, personas, elders):
    elder = elders["liandu"]
    elder.birth_date = date(1936, 2, 2)
    elder.save()
    programme = make_programme(personas["county_officer"])
    grants_run_month(programme=programme, period=PERIOD, actor=personas["county_officer"])
    family = api_client(personas["family"])
    balance = client.get(f"/api/v1/subsidies/elders/{elder.pk}/balance", **family).json()
    assert balance["total_fen"] == 10000 and balance["programmes"][0]["expires_at_month_end"] is True
    grants = client.get(f"/api/v1/subsidies/elders/{elder.pk}/grants", **family).json()
    assert grants[0]["explanation_holds"] is True and grants[0]["facts"]["age"] == 90
    statement = client.get(f"/api/v1/subsidies/elders/{elder.pk}/statement", **family).json()
    assert statement["items"][0]["amount_fen"] == 10000 and statement["items"][0]["source"] == "grant"
    # Someone else's elder is not found; a caregiver's role may not look at all.
    assert client.get(f"/api/v1/subsidies/elders/{elders['qingtian'].pk}/balance", **family).status_code == 404
    assert client.get(f"/api/v1/subsidies/elders/{elder.pk}/balance", **api_client(personas["caregiver"])).status_code == 403


def test_settlement_close_export_and_closed_month(client, api_client, personas, provider):
    officer = personas["county_officer"]
    elder = ElderFactory(birth_date=date(1930, 1, 1))
    programme = make_programme(officer)
    grants_run_month(programme=programme, period=current_period(), actor=officer)
    vouchers_spend(elder=elder, order_ref="v-1", category="meal", amount_fen=3000, actor=officer, provider=provider)
    vouchers_spend(elder=elder, order_ref="v-2", category="clean", amount_fen=2000, actor=officer, provider=provider)
    auth = api_client(officer)
    month = current_period().strftime("%Y-%m")
    preview = client.get(f"/api/v1/subsidies/settlements/preview?provider_id={provider.pk}&period={month}", **auth).json()
    assert preview["net_fen"] == 5000 and len(preview["lines"]) == 2 and preview["closed"] is False
    r = client.post("/api/v1/subsidies/settlements", {"provider_id": provider.pk, "period": month}, content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    assert r.json()["total_fen"] == 5000
    again = client.post(
        "/api/v1/subsidies/settlements", {"provider_id": provider.pk, "period": month}, content_type="application/json", **auth
    )
    assert again.status_code == 409
    # A spend after closing lands in the next month, never in the closed one.
    vouchers_spend(elder=elder, order_ref="v-3", category="meal", amount_fen=1000, actor=officer, provider=provider)
    after = client.get(f"/api/v1/subsidies/settlements/preview?provider_id={provider.pk}&period={month}", **auth).json()
    assert after["net_fen"] == 5000 and after["closed"] is True
    xlsx = client.get(f"/api/v1/subsidies/settlements/{r.json()['id']}.xlsx", **auth)
    assert xlsx.status_code == 200
    book = load_workbook(BytesIO(xlsx.content))
    visits = [row for row in book.worksheets[0].iter_rows(values_only=True) if row and row[0] in ("v-1", "v-2")]
    assert sorted(v[0] for v in visits) == ["v-1", "v-2"] and sum(v[9] for v in visits) == 50.0
    assert book.worksheets[1].cell(row=book.worksheets[1].max_row, column=6).value == 50.0
    # Another county's officer does not see this provider's settlement.
    qt = api_client(personas["other_county_officer"])
    assert client.get(f"/api/v1/subsidies/settlements/{r.json()['id']}.xlsx", **qt).status_code == 404
    assert Settlement.objects.count() == 1
