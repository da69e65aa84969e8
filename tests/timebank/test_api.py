from datetime import date

import pytest
from django.utils import timezone

from tests.factories import ElderFactory, link, region
from yiyang.timebank.operations import hours_credit_for_service

pytestmark = pytest.mark.django_db


def post(client, url, body, auth):
    return client.post(url, body, content_type="application/json", **auth)


def test_volunteer_flow_through_the_api(client, api_client, personas, elders):
    me = api_client(personas["volunteer"])
    r = post(client, "/api/v1/timebank/volunteers", {"name": "志愿者", "birth_date": "1958-03-02", "region": "331102001"}, me)
    assert r.status_code == 201 and r.json()["is_elder_volunteer"] is True
    assert (
        post(client, "/api/v1/timebank/volunteers", {"name": "志愿者", "birth_date": "1958-03-02", "region": "331102001"}, me).status_code
        == 409
    )
    bad = post(
        client,
        "/api/v1/timebank/volunteers",
        {"name": "x", "birth_date": "1958-03-02", "region": "nowhere"},
        api_client(personas["family"]),
    )
    assert bad.status_code == 400 and bad.json()["field"] == "region"

    claim = post(
        client,
        "/api/v1/timebank/claims",
        {"elder_id": elders["liandu"].pk, "served_on": timezone.localdate().isoformat(), "minutes": 50, "description": "帮忙修灯"},
        me,
    )
    assert claim.status_code == 201, claim.content
    cid = claim.json()["id"]
    # 青田's worker does not see the claim; 紫金's worker does and confirms it.
    from tests.factories import persona
    from yiyang.accounts.roles import Role

    qt_worker = api_client(persona(Role.WORKER, regions=("331121001",)))
    assert post(client, f"/api/v1/timebank/claims/{cid}/confirm", {}, qt_worker).status_code == 404
    worker = api_client(personas["worker"])
    assert [c["id"] for c in client.get("/api/v1/timebank/claims/pending", **worker).json()] == [cid]
    assert post(client, f"/api/v1/timebank/claims/{cid}/confirm", {}, worker).json()["status"] == "confirmed"
    assert post(client, f"/api/v1/timebank/claims/{cid}/confirm", {}, worker).status_code == 404  # no longer pending
    assert client.get("/api/v1/timebank/me", **me).json()["balance_minutes"] == 50

    statement = client.get("/api/v1/timebank/me/statement", **me).json()
    assert statement["items"][0]["minutes"] == 50 and statement["items"][0]["source"] == "claim"
    assert post(client, "/api/v1/timebank/redemptions", {"minutes": 51, "service": "助洁"}, me).status_code == 409
    assert post(client, "/api/v1/timebank/redemptions", {"minutes": 0, "service": "助洁"}, me).status_code == 422
    assert post(client, "/api/v1/timebank/redemptions", {"minutes": 20, "service": "助洁"}, me).status_code == 201
    assert client.get("/api/v1/timebank/me", **me).json()["balance_minutes"] == 30


def test_transfer_needs_a_linked_family_member(client, api_client, personas):
    user = personas["family"]
    parent = ElderFactory(residence_region=region("331121001"), birth_date=date(1940, 1, 1))
    hours_credit_for_service(volunteer=user, elder=parent, order_ref="order:1", minutes=90, actor=None)
    auth = api_client(user)
    assert post(client, "/api/v1/timebank/transfers", {"elder_id": parent.pk, "minutes": 30}, auth).status_code == 404
    link(user, parent)
    assert post(client, "/api/v1/timebank/transfers", {"elder_id": parent.pk, "minutes": 30}, auth).status_code == 201
    assert client.get(f"/api/v1/timebank/elders/{parent.pk}", **auth).json()["balance_minutes"] == 30
    assert post(client, "/api/v1/timebank/redemptions", {"minutes": 30, "service": "助餐", "elder_id": parent.pk}, auth).status_code == 201


def test_officer_totals_and_correction(client, api_client, personas, elders):
    entry = hours_credit_for_service(volunteer=personas["volunteer"], elder=elders["liandu"], order_ref="order:2", minutes=60, actor=None)
    officer = api_client(personas["county_officer"])
    totals = client.get("/api/v1/timebank/totals", **officer).json()
    assert totals[0]["credited"] == 60 and totals[0]["region"] == "331102"
    assert client.get("/api/v1/timebank/totals", **api_client(personas["volunteer"])).status_code == 403
    qt = api_client(personas["other_county_officer"])
    assert post(client, f"/api/v1/timebank/entries/{entry.pk}/correct", {"reason": "x"}, qt).status_code == 404
    r = post(client, f"/api/v1/timebank/entries/{entry.pk}/correct", {"reason": "记错了"}, officer)
    assert r.status_code == 201 and r.json()["source"] == "correction"
    assert post(client, f"/api/v1/timebank/entries/{entry.pk}/correct", {"reason": "again"}, officer).status_code == 409
