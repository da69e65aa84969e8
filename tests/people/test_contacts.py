"""Correcting and removing guardians and contacts: operations, API and the elder's page."""

import json
from datetime import date

import pytest

from tests.people.helpers import register
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import ElderConsent, ElderContact
from yiyang.people.operations import consent_record, contact_add, contact_remove, contact_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup(personas):
    worker = personas["worker"]
    elder = register(worker, name="联系人长辈")
    far = register(personas["other_county_officer"], name="青田联系人长辈", township="331121001")
    contact = contact_add(elder=elder, actor=worker, name="儿子", relation="child", phone="13800001111")
    far_contact = contact_add(elder=far, actor=personas["other_county_officer"], name="女儿", relation="child", phone="13900002222")
    return {"elder": elder, "far": far, "contact": contact, "far_contact": far_contact}


def _fresh(contact):
    return ElderContact.objects.get(pk=contact.pk)


def test_update_changes_only_given_fields_and_audits_a_masked_phone(personas, setup):
    contact = setup["contact"]
    contact_update(contact=contact, actor=personas["worker"], phone="139-0578-4321", is_guardian=True)
    row = _fresh(contact)
    assert row.reveal_phone() == "13905784321" and row.is_guardian and row.name == "儿子" and row.relation == "child"
    event = AuditEvent.objects.get(action="elder.contact_update")
    assert event.detail["changes"]["phone"] == "139****4321"
    dumped = json.dumps(event.detail)
    assert "13905784321" not in dumped and "13800001111" not in dumped
    assert event.object_id == str(setup["elder"].pk)


def test_update_without_a_change_writes_no_audit_row(personas, setup):
    contact_update(contact=setup["contact"], actor=personas["worker"], name="儿子", phone="13800001111")
    assert not AuditEvent.objects.filter(action="elder.contact_update").exists()


def test_bad_phone_names_the_field_and_changes_nothing(personas, setup):
    contact = setup["contact"]
    with pytest.raises(DomainError) as exc:
        contact_update(contact=contact, actor=personas["worker"], name="改名", phone="abc-phone")
    assert exc.value.field == "phone" and exc.value.status == 400
    row = _fresh(contact)
    assert row.name == "儿子" and row.reveal_phone() == "13800001111"
    with pytest.raises(DomainError) as exc:
        contact_update(contact=contact, actor=personas["worker"], relation="boss")
    assert exc.value.field == "relation"
    with pytest.raises(DomainError) as exc:
        contact_update(contact=contact, actor=personas["worker"], name="  ")
    assert exc.value.field == "name"
    assert not AuditEvent.objects.filter(action="elder.contact_update").exists()


def test_wrong_region_is_404_and_wrong_role_403(personas, setup):
    with pytest.raises(DomainError) as exc:
        contact_update(contact=setup["far_contact"], actor=personas["worker"], name="改名")
    assert exc.value.status == 404
    with pytest.raises(DomainError) as exc:
        contact_remove(contact=setup["far_contact"], actor=personas["worker"], reason="录错了")
    assert exc.value.status == 404
    with pytest.raises(DomainError) as exc:
        contact_update(contact=setup["contact"], actor=personas["family"], name="改名")
    assert exc.value.status == 403
    assert _fresh(setup["far_contact"]).name == "女儿" and _fresh(setup["contact"]).name == "儿子"


def test_remove_deletes_an_unreferenced_contact_and_audits_it(personas, setup):
    contact = setup["contact"]
    with pytest.raises(DomainError) as exc:
        contact_remove(contact=contact, actor=personas["worker"], reason="")
    assert exc.value.field == "reason"
    assert contact_remove(contact=contact, actor=personas["worker"], reason="录错了") == "deleted"
    assert not ElderContact.objects.filter(pk=contact.pk).exists()
    event = AuditEvent.objects.get(action="elder.contact_remove")
    assert event.purpose == "录错了" and event.detail["phone"] == "138****1111" and event.detail["outcome"] == "deleted"
    assert "13800001111" not in json.dumps(event.detail)


def test_guardian_named_in_a_consent_is_ended_not_deleted(personas, setup):
    worker, elder = personas["worker"], setup["elder"]
    guardian = contact_add(elder=elder, actor=worker, name="监护人", relation="spouse", phone="13700003333", is_guardian=True)
    consent = consent_record(elder=elder, actor=worker, kind="location", granted=True, given_on=date(2026, 11, 1), guardian=guardian)
    assert contact_remove(contact=guardian, actor=worker, reason="监护人已变更") == "ended"
    row = _fresh(guardian)
    assert row.ended_on is not None and not row.is_emergency and row.phone_enc == "" and row.phone_bidx == ""
    assert ElderConsent.objects.get(pk=consent.pk).guardian_id == guardian.pk
    # An ended contact is no longer a guardian to choose, nor can it be changed or removed again.
    with pytest.raises(DomainError) as exc:
        consent_record(elder=elder, actor=worker, kind="location", granted=False, given_on=date(2026, 11, 2), guardian=row)
    assert exc.value.field == "guardian"
    with pytest.raises(StateConflict):
        contact_update(contact=row, actor=worker, name="x")
    with pytest.raises(StateConflict):
        contact_remove(contact=row, actor=worker, reason="again")


def test_api_patch_and_remove(client, personas, api_client, setup):
    headers = api_client(personas["worker"])
    elder, contact = setup["elder"], setup["contact"]
    url = f"/api/v1/elders/{elder.pk}/contacts/{contact.pk}"
    ok = client.patch(url, {"name": "大儿子", "is_emergency": False}, content_type="application/json", **headers)
    assert ok.status_code == 200 and ok.json()["name"] == "大儿子" and ok.json()["is_emergency"] is False
    assert ok.json()["phone_masked"] == "138****1111"
    bad = client.patch(url, {"phone": "12"}, content_type="application/json", **headers)
    assert bad.status_code == 400 and bad.json()["field"] == "phone"
    assert _fresh(contact).reveal_phone() == "13800001111"
    far = f"/api/v1/elders/{setup['far'].pk}/contacts/{setup['far_contact'].pk}"
    assert client.patch(far, {"name": "x"}, content_type="application/json", **headers).status_code == 404
    # A contact of another elder, reached through an elder in scope, is not found either.
    cross = f"/api/v1/elders/{elder.pk}/contacts/{setup['far_contact'].pk}"
    assert client.patch(cross, {"name": "x"}, content_type="application/json", **headers).status_code == 404
    family = api_client(personas["family"])
    assert client.patch(url, {"name": "x"}, content_type="application/json", **family).status_code == 403
    assert client.post(url + "/remove", {"reason": "录错了"}, content_type="application/json", **family).status_code == 403
    removed = client.post(url + "/remove", {"reason": "录错了"}, content_type="application/json", **headers)
    assert removed.status_code == 200 and removed.json() == {"outcome": "deleted"}
    assert client.get(f"/api/v1/elders/{elder.pk}/contacts", **headers).json() == []
    assert client.post(url + "/remove", {"reason": "录错了"}, content_type="application/json", **headers).status_code == 404
    schema = client.get("/api/v1/openapi.json").json()["paths"]
    assert "patch" in schema["/api/v1/elders/{elder_id}/contacts/{contact_id}"]
    assert "post" in schema["/api/v1/elders/{elder_id}/contacts/{contact_id}/remove"]


def test_api_ended_guardian_leaves_the_list(client, personas, api_client, setup):
    worker, elder = personas["worker"], setup["elder"]
    guardian = contact_add(elder=elder, actor=worker, name="监护人", relation="spouse", is_guardian=True)
    consent_record(elder=elder, actor=worker, kind="location", granted=True, given_on=date(2026, 11, 1), guardian=guardian)
    headers = api_client(worker)
    answer = client.post(
        f"/api/v1/elders/{elder.pk}/contacts/{guardian.pk}/remove", {"reason": "监护人变更"}, content_type="application/json", **headers
    )
    assert answer.status_code == 200 and answer.json() == {"outcome": "ended"}
    listed = [c["id"] for c in client.get(f"/api/v1/elders/{elder.pk}/contacts", **headers).json()]
    assert listed == [setup["contact"].pk]


def test_page_edit_error_next_to_field_and_remove(client, personas, setup):
    elder, contact = setup["elder"], setup["contact"]
    client.force_login(personas["worker"])
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert f'for="id_ce{contact.pk}_name"' in page and "13800001111" not in page
    url = f"/elders/{elder.pk}/contacts/{contact.pk}/"
    refused = client.post(url, {"name": "儿子", "relation": "child", "phone": "abc", "is_emergency": "1"})
    body = refused.content.decode()
    assert refused.status_code == 400
    assert f'id="ce{contact.pk}-phone-err"' in body and 'aria-invalid="true"' in body
    assert _fresh(contact).reveal_phone() == "13800001111"
    # Empty phone keeps it; the other fields change.
    assert client.post(url, {"name": "小儿子", "relation": "relative", "is_guardian": "1"}).status_code == 302
    row = _fresh(contact)
    assert (row.name, row.relation, row.is_guardian, row.is_emergency) == ("小儿子", "relative", True, False)
    assert row.reveal_phone() == "13800001111"
    assert client.post(url, {"name": "小儿子", "relation": "relative", "clear_phone": "1"}).status_code == 302
    assert _fresh(contact).phone_enc == ""
    missing = client.post(url + "remove/", {"reason": ""})
    assert missing.status_code == 400 and f'id="ce{contact.pk}-reason-err"' in missing.content.decode()
    assert client.post(url + "remove/", {"reason": "录错了"}).status_code == 302
    assert not ElderContact.objects.filter(pk=contact.pk).exists()


def test_page_is_scoped(client, personas, setup):
    far, far_contact = setup["far"], setup["far_contact"]
    client.force_login(personas["worker"])
    assert client.post(f"/elders/{far.pk}/contacts/{far_contact.pk}/", {"name": "x", "relation": "child"}).status_code == 404
    assert client.post(f"/elders/{far.pk}/contacts/{far_contact.pk}/remove/", {"reason": "录错了"}).status_code == 404
    cross = f"/elders/{setup['elder'].pk}/contacts/{far_contact.pk}/remove/"
    assert client.post(cross, {"reason": "录错了"}).status_code == 404
    client.force_login(personas["family"])
    contact = setup["contact"]
    assert client.post(f"/elders/{setup['elder'].pk}/contacts/{contact.pk}/remove/", {"reason": "录错了"}).status_code == 404
    assert f"id_ce{contact.pk}_name" not in client.get(f"/elders/{setup['elder'].pk}/").content.decode()
    assert ElderContact.objects.filter(pk__in=[contact.pk, far_contact.pk]).count() == 2
