from datetime import date

import pytest

from tests.people.helpers import new_id, register
from yiyang.audit.models import AuditEvent
from yiyang.people.models import Elder, ElderStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered(personas):
    number = new_id(date(1940, 2, 2))
    elder = register(personas["worker"], name="页面长辈", id_number=number, phone="13905785555", categories=["tekun"])
    far = register(personas["other_county_officer"], name="青田页面长辈", township="331121001")
    return {"elder": elder, "number": number, "far": far}


def test_list_filters_and_masks(client, personas, registered):
    client.force_login(personas["worker"])
    page = client.get("/elders/", {"q": "页面"}).content.decode()
    assert "页面长辈" in page and "青田页面长辈" not in page
    assert registered["number"] not in page and registered["number"][:4] + "**********" in page
    assert "页面长辈" in client.get("/elders/", {"q": registered["number"].lower()}).content.decode()
    assert "页面长辈" in client.get("/elders/", {"q": "139 0578 5555"}).content.decode()
    assert "页面长辈" in client.get("/elders/", {"category": "tekun"}).content.decode()
    assert "页面长辈" not in client.get("/elders/", {"category": "dibao"}).content.decode()
    assert "页面长辈" in client.get("/elders/", {"category": "oldest_old"}).content.decode()
    assert "页面长辈" not in client.get("/elders/", {"region": "331102002"}).content.decode()


def test_out_of_scope_file_is_404_on_every_page(client, personas, registered):
    far = registered["far"]
    client.force_login(personas["worker"])
    for url in [f"/elders/{far.pk}/", f"/elders/{far.pk}/edit/"]:
        assert client.get(url).status_code == 404
    assert (
        client.post(f"/elders/{far.pk}/status/", {"to_status": "deceased", "effective_date": "2026-01-01", "reason": "x"}).status_code
        == 404
    )
    assert Elder.objects.get(pk=far.pk).status == ElderStatus.ACTIVE


def test_roles_without_the_capability_get_404(client, personas, registered):
    client.force_login(personas["caregiver"])
    assert client.get("/elders/new/").status_code == 404
    assert client.get("/elders/access-log/").status_code == 404
    client.force_login(personas["worker"])
    assert client.get("/elders/export/").status_code == 404
    assert client.get("/elders/transfers/").status_code == 404


def test_unmask_needs_a_purpose_and_is_logged(client, personas, registered):
    elder, number = registered["elder"], registered["number"]
    client.force_login(personas["worker"])
    page = client.get(f"/elders/{elder.pk}/").content.decode()
    assert number not in page
    refused = client.post(f"/elders/{elder.pk}/", {"action": "unmask", "field": "id_number", "purpose": ""})
    assert number not in refused.content.decode() and 'aria-invalid="true"' in refused.content.decode()
    assert not AuditEvent.objects.filter(action="elder.unmask").exists()
    shown = client.post(f"/elders/{elder.pk}/", {"action": "unmask", "field": "id_number", "purpose": "办理助餐补贴核对身份"})
    assert number in shown.content.decode()
    assert shown["Cache-Control"].startswith("max-age=0")
    event = AuditEvent.objects.get(action="elder.unmask")
    assert (event.actor, event.object_id, event.purpose, event.detail["field"]) == (
        personas["worker"],
        str(elder.pk),
        "办理助餐补贴核对身份",
        "id_number",
    )
    # A role that may view but not unmask learns nothing.
    client.force_login(personas["assessor"])
    assert (
        number
        not in client.post(f"/elders/{elder.pk}/", {"action": "unmask", "field": "id_number", "purpose": "好奇一下看看"}).content.decode()
    )


def test_access_log_page_is_scoped_to_the_officers_regions(client, personas, registered):
    client.force_login(personas["worker"])
    client.post(f"/elders/{registered['elder'].pk}/", {"action": "unmask", "field": "phone", "purpose": "电话回访核对"})
    client.force_login(personas["county_officer"])
    assert "电话回访核对" in client.get("/elders/access-log/").content.decode()
    client.force_login(personas["other_county_officer"])
    assert "电话回访核对" not in client.get("/elders/access-log/").content.decode()


def test_export_is_masked_scoped_and_logged(client, personas, registered):
    client.force_login(personas["county_officer"])
    assert client.post("/elders/export/", {"purpose": ""}).status_code == 400
    response = client.post("/elders/export/", {"purpose": "季度核对", "status": "all"})
    body = response.content.decode()
    assert response.status_code == 200 and "页面长辈" in body and "青田页面长辈" not in body
    assert registered["number"] not in body and "13905785555" not in body
    event = AuditEvent.objects.get(action="elder.export")
    assert event.detail["count"] == 1 and event.purpose == "季度核对"


def test_register_page_and_duplicates(client, personas, registered):
    client.force_login(personas["worker"])
    form = {
        "name": "新长辈",
        "id_number": new_id(date(1950, 1, 1)),
        "residence_region": "331102001",
        "living_arrangement": "alone",
        "categories": ["dibao"],
    }
    response = client.post("/elders/new/", form)
    assert response.status_code == 302
    elder = Elder.objects.get(name="新长辈")
    assert elder.categories.get().category == "dibao"
    bad = client.post("/elders/new/", {**form, "id_number": "33110219500101123"})
    assert bad.status_code == 400 and 'id="id_number-err"' in bad.content.decode()
    dup = client.post("/elders/new/", {**form, "id_number": registered["number"]})
    assert dup.status_code == 409 and f"/elders/{registered['elder'].pk}/" in dup.content.decode()
    client.force_login(personas["other_county_officer"])
    far_dup = client.post("/elders/new/", {**form, "residence_region": "331121001", "id_number": registered["number"]})
    text = far_dup.content.decode()
    assert far_dup.status_code == 409 and "莲都区" in text and f"/elders/{registered['elder'].pk}/" not in text and "页面长辈" not in text


def test_edit_corrects_the_address_and_status_archives(client, personas, registered):
    elder = registered["elder"]
    client.force_login(personas["worker"])
    response = client.post(
        f"/elders/{elder.pk}/edit/",
        {
            "name": elder.name,
            "residence_region": "331102001",
            "hukou_region": "331102001",
            "address": "紫金街道 新华路 1号",
            "living_arrangement": "alone",
            "lng": "119.92",
            "lat": "28.45",
            "reason": "地址更正",
        },
    )
    assert response.status_code == 302
    elder.refresh_from_db()
    assert (elder.address, elder.lat) == ("紫金街道 新华路 1号", 28.45)
    assert AuditEvent.objects.get(action="elder.update").detail["changes"]["address"]["to"] == "紫金街道 新华路 1号"
    response = client.post(f"/elders/{elder.pk}/status/", {"to_status": "deceased", "effective_date": "2026-11-01", "reason": "病故"})
    assert response.status_code == 302
    elder.refresh_from_db()
    assert (elder.status, elder.status_date.isoformat()) == ("deceased", "2026-11-01")
    again = client.post(f"/elders/{elder.pk}/status/", {"to_status": "moved_away", "effective_date": "2026-11-01", "reason": "迁往外地"})
    assert again.status_code == 409
    # Archived, never deleted: still found with the status filter.
    assert elder.name in client.get("/elders/", {"status": "deceased"}).content.decode()


def test_admin_shows_masked_numbers_only(client, personas, registered):
    client.force_login(personas["admin"])
    elder = registered["elder"]
    listing = client.get("/admin/people/elder/").content.decode()
    detail = client.get(f"/admin/people/elder/{elder.pk}/change/").content.decode()
    for page in (listing, detail):
        assert registered["number"] not in page and "13905785555" not in page
        assert elder.id_number_enc not in page
    assert registered["number"][:4] + "**********" in listing


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("admin", True), ("city_officer", True), ("county_officer", True), ("worker", True), ("operator", True), ("assessor", True),
        ("family", True), ("other_county_officer", False), ("dispatcher", False), ("caregiver", False), ("volunteer", False),
    ],
)  # fmt: skip
def test_list_detail_and_count_scope_for_every_role(client, personas, elders, role, sees):
    client.force_login(personas[role])
    listing = client.get("/elders/")
    assert listing.status_code == 200
    assert ("莲都长辈" in listing.content.decode()) == sees
    assert (client.get(f"/elders/{elders['liandu'].pk}/").status_code == 200) == sees
    visible = listing.context["page"].paginator.count
    expected = {"admin": 2, "city_officer": 2, "operator": 2, "other_county_officer": 1, "dispatcher": 0, "caregiver": 0, "volunteer": 0}
    assert visible == expected.get(role, 1)


@pytest.mark.parametrize("role", ["inspector", "reporter", "elder"])
def test_roles_without_list_capability_get_404(client, personas, role):
    client.force_login(personas[role])
    assert client.get("/elders/").status_code == 404


def test_transfer_pages_send_accept_and_history(client, personas, registered):
    elder = registered["elder"]
    client.force_login(personas["county_officer"])
    assert client.post(f"/elders/{elder.pk}/transfer/", {"to_region": "331121001", "reason": "投靠子女"}).status_code == 302
    client.force_login(personas["other_county_officer"])
    page = client.get("/elders/transfers/").content.decode()
    assert "页面长辈" in page and registered["number"] not in page
    assert client.get(f"/elders/{elder.pk}/").status_code == 404
    from yiyang.people.models import ElderTransfer

    transfer = ElderTransfer.objects.get()
    assert client.post(f"/elders/transfers/{transfer.pk}/decide/", {"to_status": "accepted"}).status_code == 302
    detail = client.get(f"/elders/{elder.pk}/").content.decode()
    assert "紫金街道" in detail  # the history keeps the sending township
    client.force_login(personas["county_officer"])
    assert client.get(f"/elders/{elder.pk}/").status_code == 404


def test_list_page_query_count_does_not_grow_with_rows(client, personas, django_assert_max_num_queries):
    from tests.people.helpers import register as reg

    for i in range(30):
        reg(personas["worker"], name=f"计数{i}", phone=f"1390578{i:04d}")
    client.force_login(personas["worker"])
    with django_assert_max_num_queries(12):
        response = client.get("/elders/")
    assert response.status_code == 200 and "计数29" in response.content.decode()
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/elders").json()["count"] == 30
