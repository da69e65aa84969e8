"""Managing caregivers and their certificates: operations, pages (expiry shown) and the API; scope and roles."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from tests.factories import persona
from tests.homecare.conftest import HOME, make_caregiver
from tests.homecare.helpers import place
from yiyang.accounts.roles import Role
from yiyang.core.errors import DomainError
from yiyang.homecare import operations as ops
from yiyang.homecare import provider_operations as pops
from yiyang.homecare.models import Caregiver, Certificate, ServiceCategory
from yiyang.homecare.queries import dispatch_suggestions


def _args(**overrides) -> dict:
    args = {
        "name": "赵敏",
        "phone": "13900000000",
        "home_lat": HOME[0],
        "home_lng": HOME[1],
        "work_start": time(8),
        "work_end": time(18),
        "work_days": [0, 1, 2, 3, 4],
        "skills": list(ServiceCategory.objects.filter(code__in=["bath", "clean"])),
    }
    args.update(overrides)
    return args


def _form(**overrides) -> dict:
    data = {
        "name": "赵敏",
        "phone": "139-0000-0000",
        "home_lat": "28.4465",
        "home_lng": "119.9305",
        "work_start": "08:00",
        "work_end": "18:00",
        "work_days": ["0", "1", "2", "3", "4"],
        "skills": ["bath", "clean"],
        "is_active": "on",
    }
    data.update(overrides)
    return data


def today():
    return timezone.localdate()


# Operations -----------------------------------------------------------------------------------------


def test_caregiver_create_and_update(personas, provider, menu):
    cg = pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args())
    assert cg.provider == provider and cg.work_days == [0, 1, 2, 3, 4] and {s.code for s in cg.skills.all()} == {"bath", "clean"}
    pops.caregiver_update(caregiver=cg, actor=personas["dispatcher"], **_args(name="赵敏敏", work_days=[5, 6, 6], is_active=False))
    cg.refresh_from_db()
    assert cg.name == "赵敏敏" and cg.work_days == [5, 6] and not cg.is_active


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"phone": "none"}, "phone"),
        ({"home_lat": 119.9, "home_lng": 28.4}, "home_lat"),  # swapped
        ({"home_lng": 200.0}, "home_lng"),
        ({"work_start": time(18), "work_end": time(8)}, "work_end"),
        ({"work_days": []}, "work_days"),
        ({"work_days": [7]}, "work_days"),
    ],
)
def test_caregiver_bad_input_names_the_field(personas, provider, menu, overrides, field):
    with pytest.raises(DomainError) as exc:
        pops.caregiver_create(provider=provider, actor=personas["dispatcher"], **_args(**overrides))
    assert exc.value.field == field
    assert not Caregiver.objects.exists()


def test_a_phone_login_must_be_a_free_caregiver_account_of_the_provider(personas, provider, other_provider, menu):
    with pytest.raises(DomainError) as exc:
        pops.caregiver_create(provider=provider, actor=personas["dispatcher"], user=personas["operator"], **_args())
    assert (exc.value.field, exc.value.code) == ("username", "role")
    elsewhere = persona(Role.CAREGIVER, provider=other_provider)
    with pytest.raises(DomainError) as exc:
        pops.caregiver_create(provider=provider, actor=personas["dispatcher"], user=elsewhere, **_args())
    assert exc.value.code == "other_provider"
    first = pops.caregiver_create(provider=provider, actor=personas["dispatcher"], user=personas["caregiver"], **_args())
    with pytest.raises(DomainError) as exc:
        pops.caregiver_create(provider=provider, actor=personas["dispatcher"], user=personas["caregiver"], **_args(name="另一个"))
    assert exc.value.code == "taken"
    assert list(Caregiver.objects.values_list("pk", flat=True)) == [first.pk]


def test_certificate_status():
    assert pops.certificate_status(today() - timedelta(days=1)) == "expired"
    assert pops.certificate_status(today()) == "expiring"
    assert pops.certificate_status(today() + timedelta(days=30)) == "expiring"
    assert pops.certificate_status(today() + timedelta(days=31)) == "valid"


def test_an_expired_certificate_is_recorded_but_does_not_qualify(personas, provider, menu, elder, offerings):
    cg = make_caregiver(provider, name="钱芳", qualified=False)
    cert = pops.certificate_add(
        caregiver=cg, actor=personas["dispatcher"], kind="care_worker", level="中级", expires_on=today() - timedelta(days=3)
    )
    assert Certificate.objects.filter(pk=cert.pk).exists()
    order = place(elder, menu["bath-home"], personas["operator"])
    found = dispatch_suggestions(order)
    assert [e["caregiver_id"] for e in found.excluded] == [cg.pk] and (today() - timedelta(days=3)).isoformat() in found.excluded[0][
        "reason"
    ]
    # Renewed: now qualified.
    pops.certificate_update(
        certificate=cert, actor=personas["dispatcher"], kind="care_worker", level="高级", expires_on=today() + timedelta(days=700)
    )
    assert [s.caregiver_id for s in dispatch_suggestions(order).ranked] == [cg.pk]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"kind": "none"}, "kind"), ({"kind": "pilot"}, "kind"), ({"expires_on": "2030-01-01"}, "expires_on"), ({"level": "x" * 17}, "level")],
)
def test_certificate_bad_input(personas, provider, menu, kwargs, field):
    cg = make_caregiver(provider, qualified=False)
    args = {"kind": "care_worker", "expires_on": today() + timedelta(days=10), **kwargs}
    with pytest.raises(DomainError) as exc:
        pops.certificate_add(caregiver=cg, actor=personas["dispatcher"], **args)
    assert exc.value.field == field
    assert not Certificate.objects.exists()


# Pages ----------------------------------------------------------------------------------------------------


def test_list_shows_expired_and_soon_expiring_certificates(client, personas, provider, menu):
    expired = make_caregiver(provider, name="过期者", qualified=False)
    Certificate.objects.create(caregiver=expired, kind="care_worker", expires_on=today() - timedelta(days=1))
    soon = make_caregiver(provider, name="将到期者", qualified=False)
    Certificate.objects.create(caregiver=soon, kind="health_cert", expires_on=today() + timedelta(days=20))
    fine = make_caregiver(provider, name="有效者", qualified=False)
    Certificate.objects.create(caregiver=fine, kind="nurse", expires_on=today() + timedelta(days=200))
    client.force_login(personas["dispatcher"])
    html = client.get("/homecare/caregivers/").content.decode()
    assert html.count("status status-flagged") == 1 and html.count("badge badge-warn") == 1 and html.count("status status-paid") == 1
    only_expired = client.get("/homecare/caregivers/", {"provider": provider.pk, "state": "expired"}).content.decode()
    assert "过期者" in only_expired and "将到期者" not in only_expired and "有效者" not in only_expired
    soon_page = client.get("/homecare/caregivers/", {"provider": provider.pk, "state": "expiring"}).content.decode()
    assert "将到期者" in soon_page and "过期者" not in soon_page


def test_pages_create_and_edit_a_caregiver_and_certificates(client, personas, provider, menu):
    client.force_login(personas["dispatcher"])
    assert client.get(f"/homecare/providers/{provider.pk}/caregivers/new/").status_code == 200
    r = client.post(f"/homecare/providers/{provider.pk}/caregivers/new/", _form(username=personas["caregiver"].username))
    cg = Caregiver.objects.get()
    assert r.status_code == 302 and r.url == f"/homecare/caregivers/{cg.pk}/"
    assert cg.user == personas["caregiver"] and cg.reveal_phone() == "13900000000"
    r = client.post(f"/homecare/caregivers/{cg.pk}/", _form(name="赵敏", work_days=["5"], skills=["meal"], username=""))
    cg.refresh_from_db()
    assert (
        r.status_code == 302
        and cg.work_days == [5]
        and [s.code for s in cg.skills.all()] == ["meal"]
        and cg.user is None
        and not cg.is_volunteer
    )
    # A certificate already expired is accepted, with a warning; the page shows it as expired.
    past = (today() - timedelta(days=10)).isoformat()
    r = client.post(
        f"/homecare/caregivers/{cg.pk}/certificates/",
        {"kind": "care_worker", "level": "初级", "number": "A-1", "expires_on": past},
        follow=True,
    )
    html = r.content.decode()
    assert r.status_code == 200 and "message-warning" in html and "status status-flagged" in html
    cert = Certificate.objects.get()
    r = client.post(
        f"/homecare/certificates/{cert.pk}/",
        {"kind": "care_worker", "level": "中级", "number": "A-1", "expires_on": (today() + timedelta(days=400)).isoformat()},
    )
    cert.refresh_from_db()
    assert r.status_code == 302 and cert.level == "中级" and pops.certificate_status(cert.expires_on) == "valid"
    assert client.post(f"/homecare/certificates/{cert.pk}/delete/").status_code == 302
    assert not Certificate.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"home_lat": "north"}, "home_lat"),
        ({"work_start": "8am"}, "work_start"),
        ({"work_start": "18:00", "work_end": "08:00"}, "work_end"),
        ({"work_days": []}, "work_days"),
        ({"name": ""}, "name"),
        ({"username": "nobody-here"}, "username"),
    ],
)
def test_caregiver_form_bad_input(client, personas, provider, menu, overrides, field):
    client.force_login(personas["dispatcher"])
    r = client.post(f"/homecare/providers/{provider.pk}/caregivers/new/", _form(**overrides))
    assert r.status_code == 400 and f'aria-describedby="{field}-err"' in r.content.decode()
    assert not Caregiver.objects.exists()


def test_certificate_form_bad_date_changes_nothing(client, personas, provider, menu):
    cg = make_caregiver(provider, qualified=False)
    client.force_login(personas["dispatcher"])
    r = client.post(f"/homecare/caregivers/{cg.pk}/certificates/", {"kind": "care_worker", "expires_on": "31/12/2027"})
    assert r.status_code == 400 and 'aria-describedby="expires_on-err"' in r.content.decode()
    assert not Certificate.objects.exists()


def test_caregiver_pages_scope_and_roles(client, personas, provider, other_provider, menu):
    mine = make_caregiver(provider, name="本单位")
    theirs = make_caregiver(other_provider, name="外单位")
    cert = theirs.certificates.first()
    client.force_login(personas["dispatcher"])
    assert client.get(f"/homecare/caregivers/{theirs.pk}/").status_code == 404
    assert client.get(f"/homecare/certificates/{cert.pk}/").status_code == 404
    assert client.post(f"/homecare/certificates/{cert.pk}/delete/").status_code == 404
    assert client.get("/homecare/caregivers/", {"provider": other_provider.pk}).status_code == 404
    assert client.post(f"/homecare/providers/{other_provider.pk}/caregivers/new/", _form()).status_code == 404
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/homecare/caregivers/{mine.pk}/").status_code == 404
    assert client.get(f"/homecare/caregivers/{theirs.pk}/").status_code == 200
    for role in ("operator", "worker", "caregiver"):
        client.force_login(personas[role])
        assert client.get("/homecare/caregivers/").status_code == 403, role
        assert client.post(f"/homecare/caregivers/{mine.pk}/", _form(name="改")).status_code == 403, role
    mine.refresh_from_db()
    assert mine.name == "本单位" and Certificate.objects.filter(pk=cert.pk).exists()


# API ----------------------------------------------------------------------------------------------------


def test_api_caregivers_and_certificates(client, api_client, personas, provider, other_provider, menu):
    headers = api_client(personas["dispatcher"])
    body = {
        "provider_id": provider.pk,
        "name": "孙强",
        "skills": ["meal"],
        "home_lat": HOME[0],
        "home_lng": HOME[1],
        "work_days": [0, 2, 4],
    }
    r = client.post("/api/v1/homecare/caregivers", body, content_type="application/json", **headers)
    assert r.status_code == 201, r.content
    cg_id = r.json()["id"]
    r = client.patch(
        f"/api/v1/homecare/caregivers/{cg_id}", {"work_end": "20:00", "is_active": False}, content_type="application/json", **headers
    )
    assert r.status_code == 200 and r.json()["work_end"] == "20:00:00" and r.json()["is_active"] is False and r.json()["skills"] == ["meal"]
    past = (today() - timedelta(days=1)).isoformat()
    r = client.post(
        f"/api/v1/homecare/caregivers/{cg_id}/certificates",
        {"kind": "health_cert", "expires_on": past},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 201 and r.json()["state"] == "expired"
    cert_id = r.json()["id"]
    soon = (today() + timedelta(days=5)).isoformat()
    r = client.put(
        f"/api/v1/homecare/certificates/{cert_id}", {"kind": "health_cert", "expires_on": soon}, content_type="application/json", **headers
    )
    assert r.status_code == 200 and r.json()["state"] == "expiring"
    assert client.get(f"/api/v1/homecare/caregivers/{cg_id}", **headers).json()["certificates"][0]["state"] == "expiring"
    # Bad input names the field.
    for bad, field in (
        ({**body, "home_lat": 200}, "home_lat"),
        ({**body, "skills": ["flying"]}, "skills"),
        ({**body, "work_days": []}, "work_days"),
    ):
        r = client.post("/api/v1/homecare/caregivers", bad, content_type="application/json", **headers)
        assert r.status_code == 400 and r.json()["field"] == field, r.content
    r = client.post(
        f"/api/v1/homecare/caregivers/{cg_id}/certificates",
        {"kind": "nope", "expires_on": soon},
        content_type="application/json",
        **headers,
    )
    assert r.status_code == 400 and r.json()["field"] == "kind"
    # Wrong provider: 404; wrong role: 403.
    r = client.post("/api/v1/homecare/caregivers", {**body, "provider_id": other_provider.pk}, content_type="application/json", **headers)
    assert r.status_code == 404
    theirs = make_caregiver(other_provider, name="外单位")
    assert client.get(f"/api/v1/homecare/caregivers/{theirs.pk}", **headers).status_code == 404
    assert client.delete(f"/api/v1/homecare/certificates/{theirs.certificates.first().pk}", **headers).status_code == 404
    r = client.post("/api/v1/homecare/caregivers", body, content_type="application/json", **api_client(personas["operator"]))
    assert r.status_code == 403
    assert Caregiver.objects.filter(provider=provider).count() == 1
    assert client.delete(f"/api/v1/homecare/certificates/{cert_id}", **headers).status_code == 204


def test_list_pages_do_not_query_per_row(client, personas, provider, offerings, django_assert_max_num_queries):
    for i in range(12):
        make_caregiver(provider, name=f"护理员{i}")
    client.force_login(personas["county_officer"])
    with django_assert_max_num_queries(10):
        assert client.get("/homecare/caregivers/", {"provider": provider.pk}).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get("/homecare/providers/").status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(f"/homecare/providers/{provider.pk}/offerings/").status_code == 200


def test_deactivating_a_caregiver_warns_about_visits_still_assigned(client, personas, provider, offerings, caregiver, elder):
    order = place(elder, offerings["clean-home"].item, personas["operator"])
    ops.order_assign(order=order, caregiver=caregiver, actor=personas["dispatcher"])
    client.force_login(personas["dispatcher"])
    data = _form(name=caregiver.name, username=personas["caregiver"].username)
    del data["is_active"]
    r = client.post(f"/homecare/caregivers/{caregiver.pk}/", data, follow=True)
    caregiver.refresh_from_db()
    assert not caregiver.is_active and "message-warning" in r.content.decode()
