import pytest
from django.utils import timezone

from tests.factories import ElderFactory, link
from yiyang.timebank.models import Claim, HourEntry, Volunteer
from yiyang.timebank.operations import account_for_user, hours_credit_for_service

pytestmark = pytest.mark.django_db


def test_volunteer_registers_claims_and_worker_confirms(client, personas, elders):
    client.force_login(personas["volunteer"])
    page = client.get("/timebank/")
    assert page.status_code == 200 and b'class="big-balance"' in page.content
    bad = client.post("/timebank/", {"action": "register", "name": "甲", "birth_date": "not a date", "region": "331102001"})
    assert bad.status_code == 400 and b'aria-describedby="register-birth_date-err"' in bad.content
    assert not Volunteer.objects.exists()
    assert (
        client.post("/timebank/", {"action": "register", "name": "甲", "birth_date": "1960-01-01", "region": "331102001"}).status_code
        == 302
    )
    today = timezone.localdate().isoformat()
    r = client.post(
        "/timebank/", {"action": "claim", "elder": elders["liandu"].pk, "served_on": today, "minutes": "40", "description": "送菜"}
    )
    assert r.status_code == 302
    client.force_login(personas["worker"])
    claim = Claim.objects.get()
    assert list(client.get("/timebank/confirm/").context["claims"]) == [claim]
    assert client.post("/timebank/confirm/", {"claim": claim.pk, "decision": "confirm"}).status_code == 302
    assert account_for_user(personas["volunteer"]).balance == 40


def test_family_gives_and_redeems_hours(client, personas):
    user = personas["family"]
    parent = ElderFactory()
    link(user, parent)
    hours_credit_for_service(volunteer=user, elder=parent, order_ref="order:5", minutes=60, actor=None)
    client.force_login(user)
    r = client.post("/timebank/", {"action": "transfer", "elder": parent.pk, "minutes": "90"})
    assert r.status_code == 400 and b'aria-describedby="transfer-amount-err"' in r.content and b'id="transfer-amount-err"' in r.content
    assert client.post("/timebank/", {"action": "transfer", "elder": parent.pk, "minutes": "45"}).status_code == 302
    assert client.post("/timebank/", {"action": "redeem", "account": str(parent.pk), "minutes": "45", "service": "助浴"}).status_code == 302
    assert account_for_user(user).balance == 15


def test_officer_totals_and_correction_page(client, personas, elders):
    entry = hours_credit_for_service(volunteer=personas["volunteer"], elder=elders["liandu"], order_ref="order:9", minutes=30, actor=None)
    client.force_login(personas["county_officer"])
    page = client.get("/timebank/officer/")
    assert page.status_code == 200 and page.context["totals"][0]["credited"] == 30
    bad = client.post("/timebank/officer/", {"entry": entry.pk, "reason": ""})
    assert bad.status_code == 400 and b'aria-describedby="corr-reason-err"' in bad.content
    assert client.post("/timebank/officer/", {"entry": entry.pk, "reason": "重复"}).status_code == 302
    assert HourEntry.objects.filter(reverses=entry).exists()
    client.force_login(personas["volunteer"])
    assert client.get("/timebank/officer/").status_code == 404
