"""Providers' monthly receivables: the page (month picker, totals, one provider's visits), the .xlsx and the API."""

import io
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from tests.homecare.helpers import place, serve
from yiyang.homecare.models import Order
from yiyang.homecare.provider_queries import receivables_for_month


@pytest.fixture
def paid(personas, elder, offerings, caregiver):
    """Two visits paid this month (one partly by subsidy), one paid last month, one flagged (not paid)."""
    dispatcher = personas["dispatcher"]
    a = serve(place(elder, offerings["clean-home"].item, personas["operator"]), caregiver, dispatcher=dispatcher, ago=timedelta(hours=6))
    b = serve(
        place(elder, offerings["meal-delivery"].item, personas["operator"], hour=12),
        caregiver,
        dispatcher=dispatcher,
        ago=timedelta(hours=3),
    )
    c = serve(place(elder, offerings["comfort-chat"].item, personas["operator"], hour=15), caregiver, dispatcher=dispatcher)
    flagged = serve(
        place(elder, offerings["clean-laundry"].item, personas["operator"], hour=18),
        caregiver,
        dispatcher=dispatcher,
        confirmed=False,
        ago=timedelta(hours=9),
    )
    assert [o.status for o in (a, b, c)] == ["paid"] * 3 and flagged.status == "flagged"
    # As the subsidy split would have it: part by voucher, the rest co-paid.
    Order.objects.filter(pk=a.pk).update(subsidy_fen=a.price_fen - 1000, copay_fen=1000)
    last_month = timezone.localdate().replace(day=1) - timedelta(days=3)
    Order.objects.filter(pk=c.pk).update(paid_at=timezone.make_aware(datetime.combine(last_month, time(12))))
    return {"a": Order.objects.get(pk=a.pk), "b": Order.objects.get(pk=b.pk), "c": Order.objects.get(pk=c.pk), "last_month": last_month}


def test_query_sums_the_month_for_the_users_scope(personas, provider, paid):
    month = timezone.localdate()
    result = receivables_for_month(personas["dispatcher"], month)
    [row] = result.rows
    a, b = paid["a"], paid["b"]
    assert (row.provider_id, row.orders, row.total_fen) == (provider.pk, 2, a.price_fen + b.price_fen)
    assert (row.subsidy_fen, row.copay_fen) == (a.price_fen - 1000, 1000 + b.copay_fen)
    assert row.subsidy_fen + row.copay_fen == row.total_fen
    previous = receivables_for_month(personas["county_officer"], paid["last_month"])
    assert previous.orders == 1 and previous.total_fen == paid["c"].price_fen
    # Another county's officer sees neither the provider nor its visits to Liandu's elders.
    assert receivables_for_month(personas["other_county_officer"], month).orders == 0
    assert provider.pk not in [r.provider_id for r in receivables_for_month(personas["other_county_officer"], month).rows]


def test_page_with_month_picker_totals_and_visits(client, personas, provider, paid):
    client.force_login(personas["county_officer"])
    r = client.get("/homecare/receivables/")
    html = r.content.decode()
    total = paid["a"].price_fen + paid["b"].price_fen
    assert r.status_code == 200 and 'type="month"' in html
    assert f"¥{total // 100}.{total % 100:02d}" in html and f"#{paid['a'].pk}" in html and f"#{paid['c'].pk}<" not in html
    r = client.get("/homecare/receivables/", {"month": paid["last_month"].strftime("%Y-%m"), "provider": provider.pk})
    assert r.status_code == 200 and f"#{paid['c'].pk}<" in r.content.decode()
    r = client.get("/homecare/receivables/", {"month": "2026-13"})
    assert r.status_code == 400 and 'aria-describedby="month-err"' in r.content.decode()


def test_xlsx_export_has_the_same_totals(client, personas, provider, paid):
    client.force_login(personas["dispatcher"])
    month = timezone.localdate().strftime("%Y-%m")
    r = client.get("/homecare/receivables.xlsx", {"month": month})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert f"receivables-{month}.xlsx" in r["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == provider.name and rows[1][3] == 2
    total = paid["a"].price_fen + paid["b"].price_fen
    assert rows[-1][3] == 2 and rows[-1][4] == pytest.approx(total / 100)
    assert client.get("/homecare/receivables.xlsx", {"month": "May"}).status_code == 400


def test_scope_and_roles(client, api_client, personas, provider, other_provider, paid):
    client.force_login(personas["dispatcher"])
    assert client.get("/homecare/receivables/", {"provider": other_provider.pk}).status_code == 404
    assert client.get("/homecare/receivables.xlsx", {"provider": other_provider.pk}).status_code == 404
    for role in ("operator", "worker", "caregiver", "family"):
        client.force_login(personas[role])
        assert client.get("/homecare/receivables/").status_code == 403, role
        assert client.get("/homecare/receivables.xlsx").status_code == 403, role
    assert client.get("/api/v1/homecare/receivables", {"month": "2026-01"}, **api_client(personas["worker"])).status_code == 403
    # Money owed is not for the hotline or the worker, through the older per-provider endpoint either.
    operator = api_client(personas["operator"])
    assert client.get(f"/api/v1/homecare/providers/{provider.pk}/receivables", **operator).status_code == 403


def test_api_receivables(client, api_client, personas, provider, other_provider, paid):
    headers = api_client(personas["city_officer"])
    month = timezone.localdate().strftime("%Y-%m")
    r = client.get("/api/v1/homecare/receivables", {"month": month}, **headers)
    assert r.status_code == 200
    body = r.json()
    assert body["month"] == month and body["orders"] == 2 and body["total_fen"] == paid["a"].price_fen + paid["b"].price_fen
    assert body["subsidy_fen"] + body["copay_fen"] == body["total_fen"]
    assert client.get("/api/v1/homecare/receivables", {"month": "26-1"}, **headers).json()["field"] == "month"
    dispatcher = api_client(personas["dispatcher"])
    assert client.get("/api/v1/homecare/receivables", {"month": month, "provider_id": other_provider.pk}, **dispatcher).status_code == 404
