"""Institutions through the API and the pages: roles, region scope, bad input, the public endpoints."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.institutions.conftest import make_institution
from yiyang.institutions.models import Bed, Inspection, InspectionDraw, Institution, Residency

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_api_create_beds_admit_discharge(api_client, client, personas, elders):
    h = api_client(personas["county_officer"])
    r = post(client, "/api/v1/institutions", {"name": "紫金颐养院", "kind": "care_home", "operation": "private", "region": "331102001"}, h)
    assert r.status_code == 201, r.content
    iid = r.json()["id"]
    r = post(client, "/api/v1/institutions", {"name": "越界院", "kind": "care_home", "operation": "private", "region": "331121001"}, h)
    assert r.status_code == 400 and r.json()["field"] == "region"
    r = post(client, "/api/v1/institutions", {"name": "x", "kind": "hotel", "operation": "private", "region": "331102001"}, h)
    assert r.status_code == 422 and r.json()["field"] == "kind"
    bed = post(client, f"/api/v1/institutions/{iid}/beds", {"code": "101", "bed_type": "cognitive"}, h).json()
    assert post(client, f"/api/v1/institutions/{iid}/beds", {"code": "101", "bed_type": "general"}, h).json()["field"] == "code"
    r = post(
        client,
        f"/api/v1/institutions/{iid}/residents",
        {"elder_id": elders["liandu"].pk, "bed_id": bed["id"], "admitted_on": str(TODAY())},
        h,
    )
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    r = post(
        client,
        f"/api/v1/institutions/{iid}/residents",
        {"elder_id": elders["liandu"].pk, "bed_id": bed["id"], "admitted_on": str(TODAY())},
        h,
    )
    assert r.status_code == 409
    r = post(
        client,
        f"/api/v1/institutions/{iid}/residents",
        {"elder_id": elders["qingtian"].pk, "bed_id": bed["id"], "admitted_on": str(TODAY())},
        h,
    )
    assert r.status_code == 404  # the 青田 elder is out of this officer's area
    r = post(client, f"/api/v1/institutions/residencies/{rid}/discharge", {"discharged_on": str(TODAY()), "reason": "转院"}, h)
    assert r.status_code == 200 and r.json()["discharged_on"] == str(TODAY())
    indicators = client.get("/api/v1/institutions/indicators?region=331102", **h).json()
    assert indicators["beds"] == 1 and indicators["cognitive_beds"] == 1
    assert client.get("/api/v1/institutions/indicators?region=331121", **h).status_code == 404


def test_api_scope_and_roles(api_client, client, personas, home):
    qt = make_institution(name="青田院", code="331121001")
    liandu = api_client(personas["county_officer"])
    ids = {row["id"] for row in client.get("/api/v1/institutions", **liandu).json()["items"]}
    assert ids == {home.pk}
    assert client.get(f"/api/v1/institutions/{qt.pk}", **liandu).status_code == 404
    assert post(client, f"/api/v1/institutions/{qt.pk}/beds", {"code": "1", "bed_type": "general"}, liandu).status_code == 404
    worker = api_client(personas["worker"])
    assert client.get("/api/v1/institutions", **worker).status_code == 403
    inspector = api_client(personas["inspector"])
    assert client.get(f"/api/v1/institutions/{qt.pk}", **inspector).status_code == 200
    assert post(client, f"/api/v1/institutions/{qt.pk}/beds", {"code": "1", "bed_type": "general"}, inspector).status_code == 403
    assert not Bed.objects.exists()


def test_api_inspection_flow_and_public_endpoint(api_client, client, personas, inspectors):
    for i in range(3):
        make_institution(name=f"院{i}")
    officer = api_client(personas["county_officer"])
    r = post(
        client, "/api/v1/institutions/inspection-draws", {"region": "331102", "period": "2026-Q1", "sample_size": 2, "seed": "abc"}, officer
    )
    assert r.status_code == 201, r.content
    draw = r.json()
    assert draw["seed"] == "abc" and len(draw["result"]) == 2
    assert client.get(f"/api/v1/institutions/inspection-draws/{draw['id']}/verify", **officer).json()["reproduced"] is True
    r = post(client, "/api/v1/institutions/inspection-draws", {"region": "331102", "period": "2026-Q1", "sample_size": 2}, officer)
    assert r.status_code == 409 and r.json()["code"] == "draw_exists"
    inspection = Inspection.objects.filter(draw_id=draw["id"]).first()
    drawn = api_client(inspection.inspector_a)
    not_drawn_user = next(u for u in inspectors if u.pk not in (inspection.inspector_a_id, inspection.inspector_b_id))
    r = post(
        client,
        f"/api/v1/institutions/inspections/{inspection.pk}/record",
        {"inspected_on": str(TODAY()), "result": "rectify"},
        api_client(not_drawn_user),
    )
    assert r.status_code == 404  # an inspector sees only the inspections drawn for them
    r = post(
        client,
        f"/api/v1/institutions/inspections/{inspection.pk}/record",
        {"inspected_on": str(TODAY()), "result": "rectify", "summary": "良好"},
        drawn,
    )
    assert r.status_code == 200, r.content
    deadline = str(TODAY() + timedelta(days=30))
    r = post(
        client, f"/api/v1/institutions/inspections/{inspection.pk}/findings", {"description": "护理记录不全", "deadline": deadline}, drawn
    )
    assert r.status_code == 201
    assert client.get("/api/v1/public/inspections").json()["count"] == 0
    assert post(client, f"/api/v1/institutions/inspections/{inspection.pk}/publish", {}, drawn).status_code == 403
    assert post(client, f"/api/v1/institutions/inspections/{inspection.pk}/publish", {}, officer).status_code == 200
    public = client.get("/api/v1/public/inspections").json()["items"]  # no credentials
    assert public[0]["findings"][0]["description"] == "护理记录不全" and "inspector" not in str(public)
    r = post(client, f"/api/v1/institutions/inspection-draws/{draw['id']}/void", {"reason": "x"}, officer)
    assert r.status_code == 409  # work was done on it
    assert InspectionDraw.objects.count() == 1


def test_pages_list_detail_admit_and_errors(client, personas, home, elders):
    client.force_login(personas["county_officer"])
    assert home.name in client.get("/institutions/").content.decode()
    r = client.post(f"/institutions/{home.pk}/", {"action": "add_bed", "code": "", "bed_type": "general"})
    assert r.status_code == 400 and 'id="add_bed-err"' in r.content.decode() and 'aria-invalid="true"' in r.content.decode()
    assert client.post(f"/institutions/{home.pk}/", {"action": "add_bed", "code": "1", "bed_type": "nursing"}).status_code == 302
    bed = Bed.objects.get()
    r = client.post(
        f"/institutions/{home.pk}/", {"action": "admit", "elder_id": elders["qingtian"].pk, "bed_id": bed.pk, "admitted_on": str(TODAY())}
    )
    assert r.status_code == 400 and not Residency.objects.exists()
    r = client.post(
        f"/institutions/{home.pk}/", {"action": "admit", "elder_id": elders["liandu"].pk, "bed_id": bed.pk, "admitted_on": str(TODAY())}
    )
    assert r.status_code == 302 and Residency.objects.get().elder == elders["liandu"]
    assert elders["liandu"].name in client.get(f"/institutions/{home.pk}/").content.decode()
    r = client.post("/institutions/", {"name": "新院", "kind": "day_care", "operation": "public", "region": "331102002"})
    assert r.status_code == 302 and Institution.objects.filter(name="新院").exists()
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/institutions/{home.pk}/").status_code == 404
    client.force_login(personas["inspector"])
    assert client.get(f"/institutions/{home.pk}/").status_code == 200
    assert client.post(f"/institutions/{home.pk}/", {"action": "add_bed", "code": "2", "bed_type": "general"}).status_code == 404
    client.force_login(personas["worker"])
    assert client.get("/institutions/").status_code == 404


def test_inspection_pages(client, personas, inspectors):
    for i in range(2):
        make_institution(name=f"院{i}")
    client.force_login(personas["county_officer"])
    r = client.post("/institutions/inspections/", {"action": "draw", "region": "331102", "period": "2026-Q2", "sample_size": "9"})
    assert r.status_code == 400 and 'aria-describedby="draw-err"' in r.content.decode()
    r = client.post(
        "/institutions/inspections/", {"action": "draw", "region": "331102", "period": "2026-Q2", "sample_size": "1", "seed": "p-77"}
    )
    assert r.status_code == 302
    inspection = Inspection.objects.get()
    client.force_login(inspection.inspector_b)
    r = client.post(
        f"/institutions/inspections/{inspection.pk}/",
        {"action": "record", "inspected_on": str(TODAY()), "result": "passed", "summary": "符合要求"},
    )
    assert r.status_code == 302
    inspection.refresh_from_db()
    assert inspection.result == "passed"
    client.force_login(personas["county_officer"])
    assert client.post(f"/institutions/inspections/{inspection.pk}/", {"action": "publish"}).status_code == 302
    client.logout()
    page = client.get("/public/inspections/").content.decode()
    assert "符合要求" in page and "p-77" in page


def test_api_alliance_patch_and_bed_conversions(api_client, client, personas, home, elders):
    from tests.institutions.test_beds_and_residents import assess

    h = api_client(personas["county_officer"])
    r = post(client, "/api/v1/institutions/alliances", {"name": "紫金康养联合体", "region": "331102"}, h)
    assert r.status_code == 201
    alliance_id = r.json()["id"]
    assert post(client, "/api/v1/institutions/alliances", {"name": "紫金康养联合体", "region": "331102"}, h).json()["field"] == "name"
    r = client.patch(
        f"/api/v1/institutions/{home.pk}", {"alliance_id": alliance_id, "smart_care_home": True}, content_type="application/json", **h
    )
    assert r.status_code == 200 and r.json()["alliance"] == "紫金康养联合体" and r.json()["smart_care_home"] is True
    r = client.patch(f"/api/v1/institutions/{home.pk}", {"alliance_id": 999999}, content_type="application/json", **h)
    assert r.status_code == 400 and r.json()["field"] == "alliance_id"
    elder = elders["liandu"]
    r = post(client, "/api/v1/institutions/home-beds", {"elder_id": elder.pk, "bed_type": "nursing"}, h)
    assert r.status_code == 400 and r.json()["code"] == "assessment_required"
    assess(elder, personas["assessor"], b1_1=1)
    home_bed = post(client, "/api/v1/institutions/home-beds", {"elder_id": elder.pk, "bed_type": "nursing"}, h).json()
    bed = post(client, f"/api/v1/institutions/{home.pk}/beds", {"code": "N1", "bed_type": "nursing"}, h).json()
    r = post(
        client,
        "/api/v1/institutions/home-beds/convert-to-institution",
        {"home_bed_id": home_bed["id"], "bed_id": bed["id"], "admitted_on": str(TODAY())},
        h,
    )
    assert r.status_code == 201, r.content
    r = post(
        client, f"/api/v1/institutions/residencies/{r.json()['id']}/convert-to-home-bed", {"bed_type": "general", "on": str(TODAY())}, h
    )
    assert r.status_code == 201 and r.json()["home_elder_id"] == elder.pk
    other = api_client(personas["other_county_officer"])
    assert (
        client.patch(f"/api/v1/institutions/{home.pk}", {"smart_care_home": False}, content_type="application/json", **other).status_code
        == 404
    )
