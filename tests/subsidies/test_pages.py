from datetime import date

import pytest

from tests.factories import ElderFactory
from tests.subsidies.conftest import PERIOD, make_programme
from yiyang.people.models import ElderStatus
from yiyang.subsidies.models import Flag, GrantRun, Programme, Settlement
from yiyang.subsidies.operations import current_period, grants_run_month, vouchers_spend

pytestmark = pytest.mark.django_db

FORM = {
    "name": "助餐补贴",
    "funding_source": "福彩公益金",
    "region": "331102",
    "starts_on": "2026-01",
    "categories": ["meal"],
    "rule-0-fact": "age",
    "rule-0-op": "gte",
    "rule-0-value": "80",
    "tiers-0-label": "独居",
    "tiers-0-amount_fen": "200",
    "tiers-0-all-0-fact": "living_arrangement",
    "tiers-0-all-0-op": "in",
    "tiers-0-all-0-value": "alone,empty_nest",
    "tiers-1-label": "其他",
    "tiers-1-amount_fen": "100.50",
}


def test_officer_previews_then_saves_a_programme(client, personas):
    ElderFactory(birth_date=date(1935, 1, 1), living_arrangement="alone")
    ElderFactory(birth_date=date(1936, 1, 1))
    client.force_login(personas["county_officer"])
    page = client.get("/subsidies/new/")
    assert page.status_code == 200 and b'name="rule-0-fact"' in page.content
    preview = client.post("/subsidies/new/", {**FORM, "action": "preview"})
    assert preview.status_code == 200
    assert preview.context["preview"]["count"] == 2 and not Programme.objects.exists()
    saved = client.post("/subsidies/new/", {**FORM, "action": "save"})
    assert saved.status_code == 302
    programme = Programme.objects.get()
    assert programme.tiers[1]["amount_fen"] == 10050 and programme.tiers[0]["all"][0]["value"] == ["alone", "empty_nest"]
    detail = client.get(saved["Location"])
    assert detail.status_code == 200 and detail.context["preview"]["count"] == 2


def test_bad_rule_marks_the_field_and_saves_nothing(client, personas):
    client.force_login(personas["county_officer"])
    r = client.post("/subsidies/new/", {**FORM, "rule-0-value": "eighty", "action": "save"})
    assert r.status_code == 400
    assert b'id="id_rule-0-value" name="rule-0-value" value="eighty" aria-invalid="true" aria-describedby="rule-0-err"' in r.content
    assert b'id="rule-0-err"' in r.content
    r = client.post("/subsidies/new/", {**FORM, "tiers-1-amount_fen": "1.005", "action": "save"})
    assert r.status_code == 400 and b'aria-describedby="tiers-1-err"' in r.content
    assert not Programme.objects.exists()


def test_grant_button_and_family_page(client, personas, elders):
    elders["liandu"].birth_date = date(1930, 5, 5)
    elders["liandu"].save()
    programme = make_programme(personas["county_officer"])
    client.force_login(personas["county_officer"])
    r = client.post(f"/subsidies/{programme.pk}/grant/", {"period": PERIOD.strftime("%Y-%m")})
    assert r.status_code == 302 and GrantRun.objects.get().granted == 1
    client.post(f"/subsidies/{programme.pk}/grant/", {"period": PERIOD.strftime("%Y-%m")})
    assert GrantRun.objects.count() == 1
    # Another county's officer cannot run it.
    client.force_login(personas["other_county_officer"])
    assert client.post(f"/subsidies/{programme.pk}/grant/", {"period": "2026-10"}).status_code == 404
    client.force_login(personas["family"])
    mine = client.get("/subsidies/mine/")
    assert mine.status_code == 200 and b'class="big-balance"' in mine.content and b"100.00" in mine.content
    page = client.get(f"/subsidies/elders/{elders['liandu'].pk}/")
    assert page.status_code == 200 and page.context["grants"][0]["why"]["holds"] is True
    assert client.get(f"/subsidies/elders/{elders['qingtian'].pk}/").status_code == 404
    assert client.get("/subsidies/").status_code == 404


def test_settlement_page_close_and_download(client, personas, provider):
    officer = personas["county_officer"]
    elder = ElderFactory(birth_date=date(1930, 1, 1))
    grants_run_month(programme=make_programme(officer), period=current_period(), actor=officer)
    vouchers_spend(elder=elder, order_ref="p-1", category="meal", amount_fen=4000, actor=officer, provider=provider)
    client.force_login(officer)
    month = current_period().strftime("%Y-%m")
    page = client.get(f"/subsidies/settlements/?provider={provider.pk}&period={month}")
    assert page.status_code == 200 and page.context["preview"]["net_fen"] == 4000
    assert client.post("/subsidies/settlements/close/", {"provider": provider.pk, "period": month}).status_code == 302
    settlement = Settlement.objects.get()
    assert settlement.total_fen == 4000
    xlsx = client.get(f"/subsidies/settlements/{settlement.pk}.xlsx")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    bad = client.get(f"/subsidies/settlements/?provider={provider.pk}&period=someday")
    assert bad.status_code == 400 and b'aria-invalid="true"' in bad.content
    client.force_login(personas["worker"])
    assert client.get("/subsidies/settlements/").status_code == 404


def test_flag_review_page(client, personas, provider):
    officer = personas["county_officer"]
    elder = ElderFactory(birth_date=date(1930, 1, 1))
    grants_run_month(programme=make_programme(officer), period=PERIOD, actor=officer)
    elder.status, elder.status_date = ElderStatus.MOVED_AWAY, date(2026, 1, 1)
    elder.save()
    vouchers_spend(elder=elder, order_ref="p-2", category="meal", amount_fen=1000, actor=officer, provider=provider)
    flag = Flag.objects.get()
    client.force_login(officer)
    assert client.get("/subsidies/flags/").context["flags"][0] == flag
    r = client.post("/subsidies/flags/", {"flag": flag.pk, "note": ""})
    assert r.status_code == 400 and b'aria-invalid="true"' in r.content
    assert client.post("/subsidies/flags/", {"flag": flag.pk, "note": "搬家前已预约，属实"}).status_code == 302
    flag.refresh_from_db()
    assert flag.reviewed_by == officer
    client.force_login(personas["other_county_officer"])
    assert client.post("/subsidies/flags/", {"flag": flag.pk, "note": "x"}).status_code == 404
