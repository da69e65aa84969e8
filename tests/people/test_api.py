from datetime import date

import pytest

from tests.people.helpers import new_id, register
from yiyang.audit.models import AuditEvent
from yiyang.people.models import Elder, ElderTransfer

pytestmark = pytest.mark.django_db


def _create(client, headers, **overrides):
    body = {
        "name": "接口长辈",
        "id_number": new_id(date(1942, 4, 4)),
        "residence_region": "331102001",
        "phone": "139-0578-7777",
        "categories": ["dibao"],
    }
    body.update(overrides)
    return client.post("/api/v1/elders", body, content_type="application/json", **headers)


def test_create_read_list_and_patch(client, personas, api_client):
    headers = api_client(personas["worker"])
    created = _create(client, headers)
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["gender"] == "female" and data["birth_date"] == "1942-04-04"
    assert data["phone_masked"] == "139****7777" and "**********" in data["id_number_masked"]
    assert data["categories"] == ["dibao", "oldest_old"]
    elder_id = data["id"]
    assert client.get(f"/api/v1/elders/{elder_id}", **headers).json()["name"] == "接口长辈"
    listed = client.get("/api/v1/elders", {"q": "13905787777"}, **headers).json()
    assert [e["id"] for e in listed["items"]] == [elder_id]
    assert client.get("/api/v1/elders", {"category": "tekun"}, **headers).json()["count"] == 0
    patched = client.patch(
        f"/api/v1/elders/{elder_id}",
        {"address": "紫金街道 1号", "lng": 119.9, "lat": 28.4, "categories": ["tekun"], "reason": "更正"},
        content_type="application/json",
        **headers,
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["address"] == "紫金街道 1号"
    assert set(patched.json()["categories"]) == {"oldest_old", "tekun"}


def test_bad_input_is_4xx_naming_the_field(client, personas, api_client):
    headers = api_client(personas["worker"])
    bad = _create(client, headers, id_number="33110219420404000")
    assert bad.status_code == 400 and bad.json()["field"] == "id_number"
    bad = _create(client, headers, residence_region="999999999")
    assert bad.status_code == 400 and bad.json()["field"] == "residence_region"
    bad = _create(client, headers, name="坏\x00名")
    assert bad.status_code == 400 and bad.json()["field"] == "name"
    bad = _create(client, headers, residence_region="331102\x00")  # PostgreSQL refuses NUL in a query: was a 500 there
    assert bad.status_code == 400 and bad.json()["field"] == "residence_region"
    bad = _create(client, headers, lat=123)
    assert bad.status_code == 422 and bad.json()["field"] == "lat"
    assert Elder.objects.count() == 0


def test_filters_with_control_characters_are_not_a_server_error(client, personas, api_client, elders):
    """Found by schemathesis on PostgreSQL, which refuses NUL in a query: these were 500s there. Control
    characters are dropped from a filter, as from a search: what is left filters as usual."""
    officer = api_client(personas["county_officer"])
    for query, found in (("living_arrangement=x%00", 0), ("status=active%00", 1), ("category=%00dibao", 0), ("region=331102%00", 1)):
        response = client.get(f"/api/v1/elders?{query}", **officer)
        assert response.status_code == 200 and response.json()["count"] == found, (query, response.content)
    response = client.get("/api/v1/elders/transfers?status=pending%00", **officer)
    assert response.status_code == 200


def test_duplicate_answers_differ_by_what_the_caller_may_see(client, personas, api_client):
    number = new_id()
    existing = register(personas["worker"], id_number=number)
    allowed = _create(client, api_client(personas["county_officer"]), id_number=number)
    assert allowed.status_code == 409 and allowed.json()["existing_id"] == existing.pk
    other = _create(client, api_client(personas["other_county_officer"]), id_number=number, residence_region="331121001")
    assert other.status_code == 409
    assert "existing_id" not in other.json() and "莲都区" in other.json()["ask"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("admin", 200), ("city_officer", 200), ("county_officer", 200), ("worker", 200), ("operator", 200), ("assessor", 200),
        ("family", 200), ("elder", 200), ("other_county_officer", 404), ("dispatcher", 404), ("caregiver", 404),
        ("volunteer", 404), ("inspector", 403), ("reporter", 403),
    ],
)  # fmt: skip
def test_read_scope_for_every_role(client, personas, elders, api_client, role, status):
    headers = api_client(personas[role])
    response = client.get(f"/api/v1/elders/{elders['liandu'].pk}", **headers)
    assert response.status_code == status
    listing = client.get("/api/v1/elders", **headers)
    if listing.status_code == 200:
        ids = [e["id"] for e in listing.json()["items"]]
        assert (elders["liandu"].pk in ids) == (status == 200)


def test_unmask_via_api_is_logged_and_needs_capability(client, personas, api_client):
    elder = register(personas["worker"], phone="13905781111")
    response = client.post(
        f"/api/v1/elders/{elder.pk}/unmask",
        {"field": "phone", "purpose": "回访核对电话"},
        content_type="application/json",
        **api_client(personas["operator"]),
    )
    assert response.status_code == 200 and response.json()["value"] == "13905781111"
    assert AuditEvent.objects.filter(action="elder.unmask", actor=personas["operator"]).count() == 1
    denied = client.post(
        f"/api/v1/elders/{elder.pk}/unmask",
        {"field": "phone", "purpose": "回访核对电话"},
        content_type="application/json",
        **api_client(personas["assessor"]),
    )
    assert denied.status_code == 403
    far = client.post(
        f"/api/v1/elders/{elder.pk}/unmask",
        {"field": "phone", "purpose": "回访核对电话"},
        content_type="application/json",
        **api_client(personas["other_county_officer"]),
    )
    assert far.status_code == 404
    assert AuditEvent.objects.filter(action="elder.unmask").count() == 1


def test_transfer_between_counties(client, personas, api_client):
    elder = register(personas["worker"], name="迁居长辈", address="紫金街道 旧址")
    sender, receiver = api_client(personas["county_officer"]), api_client(personas["other_county_officer"])
    assert client.get(f"/api/v1/elders/{elder.pk}", **receiver).status_code == 404
    started = client.post(
        f"/api/v1/elders/{elder.pk}/transfer",
        {"to_region": "331121001", "reason": "随子女迁居青田", "new_address": "鹤城街道 新址"},
        content_type="application/json",
        **sender,
    )
    assert started.status_code == 201, started.content
    transfer_id = started.json()["id"]
    again = client.post(
        f"/api/v1/elders/{elder.pk}/transfer", {"to_region": "331121001", "reason": "重复"}, content_type="application/json", **sender
    )
    assert again.status_code == 409
    # The receiver sees the pending transfer but not yet the file; the sender cannot accept its own.
    assert [t["id"] for t in client.get("/api/v1/elders/transfers", **receiver).json()["items"]] == [transfer_id]
    assert (
        client.post(
            f"/api/v1/elders/transfers/{transfer_id}/decide", {"to_status": "accepted"}, content_type="application/json", **sender
        ).status_code
        == 403
    )
    accepted = client.post(
        f"/api/v1/elders/transfers/{transfer_id}/decide",
        {"to_status": "accepted", "note": "已接收"},
        content_type="application/json",
        **receiver,
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert client.get(f"/api/v1/elders/{elder.pk}", **receiver).json()["address"] == "鹤城街道 新址"
    assert client.get(f"/api/v1/elders/{elder.pk}", **sender).status_code == 404
    assert (
        client.post(
            f"/api/v1/elders/transfers/{transfer_id}/decide", {"to_status": "rejected"}, content_type="application/json", **receiver
        ).status_code
        == 409
    )
    # History stays with the person.
    assert ElderTransfer.objects.get(pk=transfer_id).elder_id == elder.pk
    assert AuditEvent.objects.filter(object_id=str(elder.pk), action__startswith="elder.transfer").count() == 2


def test_status_and_consent_rules(client, personas, api_client):
    headers = api_client(personas["worker"])
    elder = register(personas["worker"], categories=["dementia"])
    refused = client.post(
        f"/api/v1/elders/{elder.pk}/consents",
        {"kind": "location", "granted": True, "given_on": "2026-11-01"},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 400 and refused.json()["field"] == "guardian"
    guardian = client.post(
        f"/api/v1/elders/{elder.pk}/contacts",
        {"name": "女儿", "relation": "child", "phone": "13800002222", "is_guardian": True},
        content_type="application/json",
        **headers,
    ).json()
    assert guardian["phone_masked"] == "138****2222"
    given = client.post(
        f"/api/v1/elders/{elder.pk}/consents",
        {"kind": "location", "granted": True, "given_on": "2026-11-01", "guardian_id": guardian["id"]},
        content_type="application/json",
        **headers,
    )
    assert given.status_code == 201 and given.json()["given_by"] == "guardian"
    died = client.post(
        f"/api/v1/elders/{elder.pk}/status",
        {"to_status": "deceased", "effective_date": "2026-11-20", "reason": "病故"},
        content_type="application/json",
        **headers,
    )
    assert died.status_code == 200 and died.json()["status"] == "deceased"
    assert client.patch(f"/api/v1/elders/{elder.pk}", {"address": "x"}, content_type="application/json", **headers).status_code == 409
    # Restoring needs an officer.
    assert (
        client.post(
            f"/api/v1/elders/{elder.pk}/status",
            {"to_status": "active", "effective_date": "2026-11-21", "reason": "误报"},
            content_type="application/json",
            **headers,
        ).status_code
        == 403
    )


def test_import_and_reconciliation_via_api(client, personas, api_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    headers = api_client(personas["county_officer"])
    number = new_id(date(1944, 4, 4))
    content = f"姓名,身份证号,居住乡镇\n接口导入,{number},331102001\n坏行,123,331102001\n".encode()
    response = client.post("/api/v1/elders/import", {"kind": "elders", "file": SimpleUploadedFile("a.csv", content)}, **headers)
    assert response.status_code == 201, response.content
    job = response.json()
    assert (job["created_count"], job["error_count"], job["status"]) == (1, 1, "done")
    assert client.get(f"/api/v1/elders/imports/{job['id']}", **headers).json()["percent"] == 100
    errors = client.get(job["errors_url"], **headers).content.decode("utf-8-sig")
    assert errors.splitlines()[1].startswith("3,身份证号,")
    assert client.get(f"/api/v1/elders/imports/{job['id']}", **api_client(personas["other_county_officer"])).status_code == 404
    assert (
        client.post(
            "/api/v1/elders/import", {"kind": "elders", "file": SimpleUploadedFile("a.csv", content)}, **api_client(personas["worker"])
        ).status_code
        == 403
    )

    deaths = f"身份证号,死亡日期\n{number},2026-10-01\n".encode()
    client.post("/api/v1/elders/import", {"kind": "deaths", "file": SimpleUploadedFile("d.csv", deaths)}, **headers)
    queue = client.get("/api/v1/elders/reconciliation", **headers).json()["items"]
    assert [i["proposal"]["status"] for i in queue] == ["deceased"]
    decided = client.post(
        f"/api/v1/elders/reconciliation/{queue[0]['id']}/decide", {"confirm": True}, content_type="application/json", **headers
    )
    assert decided.status_code == 200 and decided.json()["status"] == "confirmed"
    assert client.get(f"/api/v1/elders/{queue[0]['elder_id']}", **headers).json()["status"] == "deceased"
