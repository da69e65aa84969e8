"""Caregiver phones are personal data like the registry's: encrypted, blind-indexed, shown masked,
revealed in clear only to those who manage the caregiver's provider, with a purpose, into the access log."""

from datetime import time

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.factories import persona
from tests.homecare.conftest import HOME, make_caregiver
from yiyang.accounts.roles import Role
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.models import CAREGIVER_PHONE_FIELD, Caregiver, ServiceCategory
from yiyang.people import crypto

PHONE = "13957812345"
MASKED = "139****2345"
REVEAL_ACTION = "caregiver.phone_reveal"


def _args(**overrides) -> dict:
    args = {
        "name": "赵敏",
        "phone": PHONE,
        "home_lat": HOME[0],
        "home_lng": HOME[1],
        "work_start": time(8),
        "work_end": time(18),
        "work_days": [0, 1, 2, 3, 4],
        "skills": list(ServiceCategory.objects.filter(code__in=["bath"])),
    }
    args.update(overrides)
    return args


def _form(**overrides) -> dict:
    data = {
        "name": "赵敏",
        "phone": "",
        "home_lat": "28.4465",
        "home_lng": "119.9305",
        "work_start": "08:00",
        "work_end": "18:00",
        "work_days": ["0", "1", "2", "3", "4"],
        "skills": ["bath"],
        "is_active": "on",
    }
    data.update(overrides)
    return data


@pytest.fixture
def with_phone(personas, provider, menu) -> Caregiver:
    return pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args())


# Storage ----------------------------------------------------------------------------------------------


def test_the_stored_value_is_not_the_plaintext(with_phone):
    enc, bidx = Caregiver.objects.filter(pk=with_phone.pk).values_list("phone_enc", "phone_bidx").get()
    assert PHONE not in enc and PHONE not in bidx and enc.startswith("v")
    assert bidx == crypto.blind_index(PHONE, field=CAREGIVER_PHONE_FIELD)
    # Bound to its field: the same number in the registry's phone column hashes differently.
    assert bidx != crypto.blind_index(PHONE, field="people.elder.phone")
    assert Caregiver.objects.get(pk=with_phone.pk).reveal_phone() == PHONE
    # The audit trail carries the masked form only.
    event = AuditEvent.objects.get(action="caregiver.create", object_id=str(with_phone.pk))
    assert PHONE not in str(event.detail) and event.detail["phone"] == MASKED


def test_phones_are_stored_in_the_registrys_canonical_form(personas, provider, menu):
    cg = pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args(phone="+86 139-5781-2345"))
    assert cg.reveal_phone() == PHONE
    landline = pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args(phone="2123456"))
    assert landline.reveal_phone() == "05782123456"


@pytest.mark.parametrize("bad", ["none", "12345", "+1 415 555 0100", "139578123456789", "139\x005781"])
def test_a_phone_that_is_not_a_number_is_refused_naming_the_field(personas, provider, menu, with_phone, bad):
    with pytest.raises(DomainError) as exc:
        pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args(name="新人", phone=bad))
    assert exc.value.field == "phone"
    with pytest.raises(DomainError) as exc:
        pops.caregiver_update(caregiver=with_phone, actor=personas["dispatcher"], **_args(phone=bad))
    assert exc.value.field == "phone"
    assert Caregiver.objects.count() == 1 and Caregiver.objects.get().reveal_phone() == PHONE


def test_update_keeps_replaces_or_removes_the_phone(personas, with_phone):
    dispatcher = personas["dispatcher"]
    pops.caregiver_update(caregiver=with_phone, actor=dispatcher, **_args(phone=None, name="赵敏敏"))
    with_phone.refresh_from_db()
    assert with_phone.reveal_phone() == PHONE and with_phone.name == "赵敏敏"
    pops.caregiver_update(caregiver=with_phone, actor=dispatcher, **_args(phone="13800001111"))
    with_phone.refresh_from_db()
    assert with_phone.reveal_phone() == "13800001111"
    assert with_phone.phone_bidx == crypto.blind_index("13800001111", field=CAREGIVER_PHONE_FIELD)
    change = AuditEvent.objects.filter(action="caregiver.update").latest("pk").detail["changes"]["phone"]
    assert change == {"from": MASKED, "to": "138****1111"}
    pops.caregiver_update(caregiver=with_phone, actor=dispatcher, **_args(phone=""))
    with_phone.refresh_from_db()
    assert (with_phone.phone_enc, with_phone.phone_bidx, with_phone.phone_masked) == ("", "", "")
    assert not any(PHONE in str(e.detail) or "13800001111" in str(e.detail) for e in AuditEvent.objects.all())


# Pages and API show it masked ------------------------------------------------------------------------------


def test_pages_show_the_phone_masked(client, personas, provider, with_phone):
    client.force_login(personas["dispatcher"])
    listing = client.get("/homecare/caregivers/", {"provider": provider.pk}).content.decode()
    assert MASKED in listing and PHONE not in listing
    detail = client.get(f"/homecare/caregivers/{with_phone.pk}/").content.decode()
    assert MASKED in detail and PHONE not in detail
    assert not AuditEvent.objects.filter(action=REVEAL_ACTION).exists()


def test_the_edit_page_keeps_replaces_and_removes_the_phone(client, personas, with_phone):
    client.force_login(personas["dispatcher"])
    url = f"/homecare/caregivers/{with_phone.pk}/"
    assert client.post(url, _form()).status_code == 302
    with_phone.refresh_from_db()
    assert with_phone.reveal_phone() == PHONE
    r = client.post(url, _form(phone="call me"))
    assert r.status_code == 400 and 'id="phone-err"' in r.content.decode()
    with_phone.refresh_from_db()
    assert with_phone.reveal_phone() == PHONE
    assert client.post(url, _form(phone="138 0000 1111")).status_code == 302
    with_phone.refresh_from_db()
    assert with_phone.reveal_phone() == "13800001111"
    assert client.post(url, _form(clear_phone="1")).status_code == 302
    with_phone.refresh_from_db()
    assert with_phone.phone_enc == ""


def test_the_new_caregiver_page_refuses_a_bad_phone_by_name(client, personas, provider, menu):
    client.force_login(personas["dispatcher"])
    r = client.post(f"/homecare/providers/{provider.pk}/caregivers/new/", _form(phone="12345"))
    assert r.status_code == 400 and 'id="phone-err"' in r.content.decode()
    assert not Caregiver.objects.exists()


def test_api_returns_the_phone_masked_and_refuses_a_bad_one(client, api_client, personas, provider, with_phone):
    headers = api_client(personas["dispatcher"])
    r = client.get(f"/api/v1/homecare/caregivers/{with_phone.pk}", **headers)
    assert r.status_code == 200 and r.json()["phone_masked"] == MASKED and PHONE not in r.content.decode()
    # PATCH without a phone keeps it; a bad one names the field; "" removes it.
    r = client.patch(f"/api/v1/homecare/caregivers/{with_phone.pk}", {"name": "赵敏敏"}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["phone_masked"] == MASKED
    r = client.patch(f"/api/v1/homecare/caregivers/{with_phone.pk}", {"phone": "abc"}, content_type="application/json", **headers)
    assert r.status_code == 400 and r.json()["field"] == "phone"
    body = {"provider_id": provider.pk, "name": "孙强", "phone": "1234", "home_lat": HOME[0], "home_lng": HOME[1]}
    r = client.post("/api/v1/homecare/caregivers", body, content_type="application/json", **headers)
    assert r.status_code == 400 and r.json()["field"] == "phone"
    r = client.post("/api/v1/homecare/caregivers", {**body, "phone": "0578-2123456"}, content_type="application/json", **headers)
    assert r.status_code == 201 and r.json()["phone_masked"] == "057****3456"
    r = client.patch(f"/api/v1/homecare/caregivers/{with_phone.pk}", {"phone": ""}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json()["phone_masked"] == ""


# Search goes through the blind index --------------------------------------------------------------------


def test_the_list_finds_a_caregiver_by_exact_phone_or_name(client, personas, provider, with_phone):
    make_caregiver(provider, name="另一位")
    client.force_login(personas["dispatcher"])

    def names(q: str) -> set[str]:
        page = client.get("/homecare/caregivers/", {"provider": provider.pk, "q": q})
        assert page.status_code == 200
        return {row["caregiver"].name for row in page.context["rows"]}

    assert names("139 5781 2345") == {"赵敏"}
    assert names("+8613957812345") == {"赵敏"}
    assert names("13957812346") == set()
    assert names("5781") == set()  # too short for a number: read as a name part, and no name has digits
    assert names("另一") == {"另一位"}
    assert names("") == {"赵敏", "另一位"}


# Reveal: permission, scope, purpose, access log -------------------------------------------------------


def test_reveal_on_the_page_is_logged_and_visible_in_the_access_log(client, personas, with_phone):
    client.force_login(personas["dispatcher"])
    url = f"/homecare/caregivers/{with_phone.pk}/phone/"
    r = client.post(url, {"purpose": "ab"})
    assert r.status_code == 400 and PHONE not in r.content.decode()
    assert not AuditEvent.objects.filter(action=REVEAL_ACTION).exists()
    r = client.post(url, {"purpose": "改约时间，电话联系"})
    page = r.content.decode()
    assert r.status_code == 200 and f'href="tel:{PHONE}"' in page and r["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action=REVEAL_ACTION)
    assert event.actor == personas["dispatcher"] and event.object_id == str(with_phone.pk)
    assert event.purpose == "改约时间，电话联系" and event.detail == {"field": "phone", "provider": with_phone.provider_id}
    assert event.region == with_phone.provider.region
    # The county officer responsible sees it in the personal-data access log, and can filter by it.
    client.force_login(personas["county_officer"])
    log = client.get("/elders/access-log/", {"action": REVEAL_ACTION}).content.decode()
    assert "改约时间，电话联系" in log and f"/homecare/caregivers/{with_phone.pk}/" in log
    assert PHONE not in log
    client.force_login(personas["other_county_officer"])
    assert "改约时间，电话联系" not in client.get("/elders/access-log/").content.decode()


def test_reveal_through_the_api_is_logged(client, api_client, personas, with_phone):
    headers = api_client(personas["dispatcher"])
    url = f"/api/v1/homecare/caregivers/{with_phone.pk}/phone/reveal"
    r = client.post(url, {"purpose": "x"}, content_type="application/json", **headers)
    assert r.status_code == 400 and r.json()["field"] == "purpose"
    r = client.post(url, {"purpose": "通知明早加班"}, content_type="application/json", **headers)
    assert r.status_code == 200 and r.json() == {"phone": PHONE}
    assert AuditEvent.objects.filter(action=REVEAL_ACTION, purpose="通知明早加班").count() == 1


def test_an_officer_in_scope_may_reveal(client, personas, with_phone):
    client.force_login(personas["county_officer"])
    r = client.post(f"/homecare/caregivers/{with_phone.pk}/phone/", {"purpose": "核实护理员身份"})
    assert r.status_code == 200 and PHONE in r.content.decode()
    assert AuditEvent.objects.get(action=REVEAL_ACTION).actor == personas["county_officer"]


def test_reveal_is_refused_to_other_providers_404_and_other_roles_403(client, api_client, personas, other_provider, with_phone):
    page_url = f"/homecare/caregivers/{with_phone.pk}/phone/"
    api_url = f"/api/v1/homecare/caregivers/{with_phone.pk}/phone/reveal"
    body = {"purpose": "想打个电话问问"}
    others = [persona(Role.DISPATCHER, provider=other_provider, username="p-other-dispatcher"), personas["other_county_officer"]]
    for user in others:
        client.force_login(user)
        assert client.post(page_url, body).status_code == 404
        assert client.post(api_url, body, content_type="application/json", **api_client(user)).status_code == 404
    for role in ("worker", "operator", "caregiver", "family"):
        client.force_login(personas[role])
        assert client.post(page_url, body).status_code == 403
        assert client.post(api_url, body, content_type="application/json", **api_client(personas[role])).status_code == 403
    assert not AuditEvent.objects.filter(action=REVEAL_ACTION).exists()
    # The operation itself refuses too, whichever caller forgets to check.
    with pytest.raises(DomainError) as exc:
        pops.caregiver_phone_reveal(caregiver=with_phone, actor=others[0], purpose="想打个电话问问")
    assert exc.value.status == 404
    with pytest.raises(DomainError) as exc:
        pops.caregiver_phone_reveal(caregiver=with_phone, actor=personas["operator"], purpose="想打个电话问问")
    assert exc.value.status == 403
    client.force_login(personas["dispatcher"])
    assert client.get(page_url).status_code == 405  # a reveal is a POST: never from a link or a prefetch


def test_no_reveal_without_a_phone(client, personas, provider, menu):
    cg = pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args(phone=""))
    client.force_login(personas["dispatcher"])
    assert f"/homecare/caregivers/{cg.pk}/phone/" not in client.get(f"/homecare/caregivers/{cg.pk}/").content.decode()
    r = client.post(f"/homecare/caregivers/{cg.pk}/phone/", {"purpose": "联系护理员"})
    assert r.status_code == 400 and not AuditEvent.objects.filter(action=REVEAL_ACTION).exists()


# Key rotation ----------------------------------------------------------------------------------------------


def test_rotate_keys_reencrypts_caregiver_phones(settings, with_phone):
    import base64

    from django.core.management import call_command

    key1, key2 = base64.b64encode(b"1" * 32).decode(), base64.b64encode(b"2" * 32).decode()
    settings.FIELD_KEYS, settings.FIELD_KEY_VERSION = f"1:{key1}", 1
    with_phone.set_phone(PHONE)
    with_phone.save(update_fields=["phone_enc", "phone_bidx"])
    settings.FIELD_KEYS, settings.FIELD_KEY_VERSION = f"1:{key1},2:{key2}", 2
    call_command("rotate_keys")
    settings.FIELD_KEYS = f"2:{key2}"
    rotated = Caregiver.objects.get(pk=with_phone.pk)
    assert rotated.phone_enc.startswith("v2:") and rotated.reveal_phone() == PHONE and rotated.phone_bidx == with_phone.phone_bidx


# The migration keeps the numbers both ways ------------------------------------------------------------------

BEFORE = [("homecare", "0002_catalogue_caregivers_orders")]
AFTER = [("homecare", "0003_caregiver_phone_encrypted")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_existing_phones_and_reverses_to_plaintext(provider):
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes("homecare")
    try:
        old_apps = _migrate(BEFORE)
        OldCaregiver = old_apps.get_model("homecare", "Caregiver")
        common = {"provider_id": provider.pk, "home_lat": HOME[0], "home_lng": HOME[1], "work_days": [0, 1, 2]}
        typed = OldCaregiver.objects.create(name="旧号码", phone="139-5781-2345", **common).pk
        legacy = OldCaregiver.objects.create(name="怪号码", phone="12345", **common).pk  # passed the old check, not the registry's
        empty = OldCaregiver.objects.create(name="无号码", phone="", **common).pk

        _migrate(AFTER)
        migrated = {c.pk: c for c in Caregiver.objects.all()}
        assert migrated[typed].reveal_phone() == PHONE and migrated[typed].phone_masked == MASKED
        assert migrated[typed].phone_bidx == crypto.blind_index(PHONE, field=CAREGIVER_PHONE_FIELD)
        assert PHONE not in migrated[typed].phone_enc
        assert migrated[legacy].reveal_phone() == "12345"  # kept as typed rather than lost
        assert (migrated[empty].phone_enc, migrated[empty].phone_bidx) == ("", "")
        columns = {c.name for c in connection.introspection.get_table_description(connection.cursor(), "homecare_caregiver")}
        assert "phone" not in columns and {"phone_enc", "phone_bidx"} <= columns

        old_apps = _migrate(BEFORE)
        restored = dict(old_apps.get_model("homecare", "Caregiver").objects.values_list("pk", "phone"))
        assert restored == {typed: PHONE, legacy: "12345", empty: ""}
    finally:
        _migrate(latest)
