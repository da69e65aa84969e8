"""Recording visits, extra visits from events, and the pages and API around them."""

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.factories import ElderFactory, region
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import LivingArrangement
from yiyang.visits.models import ItemKind, Visit, VisitPlan, VisitPlanItem
from yiyang.visits.operations import month_start, visit_plan_add_extra, visit_plan_generate, visit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def due_elder(personas):
    elder = ElderFactory(name="独居长辈", living_arrangement=LivingArrangement.ALONE, birth_date=date(1940, 1, 1))
    visit_plan_generate(month=timezone.localdate())
    return elder


def good(**kw):
    return {"mode": "in_person", "health": "good", "mood": "good", "home": "ok", **kw}


def test_record_counts_once_and_settles_an_extra_visit(personas, due_elder):
    today = timezone.localdate()
    extra = visit_plan_add_extra(elder=due_elder, reason="Silver Guardian: no movement for 24 h", source="guardian:17", actor=None)
    again = visit_plan_add_extra(elder=due_elder, reason="the same alert again", source="guardian:18", actor=None)
    assert again.pk == extra.pk  # an alert that fires again does not pile up visits
    assert extra.kind == ItemKind.EXTRA and extra.due_by <= today + timedelta(days=3)
    visit = visit_record(elder=due_elder, actor=personas["worker"], visited_on=today, needs=["meal", "meal", "repair"], **good())
    rule = VisitPlanItem.objects.get(elder=due_elder, kind=ItemKind.RULE)
    extra.refresh_from_db()
    assert (rule.visit_count, extra.visit_count) == (1, 1)
    assert visit.item == rule and visit.needs == ["meal", "repair"]
    # a later alert asks for a new extra visit
    newer = visit_plan_add_extra(elder=due_elder, reason="low rating of a meal service", actor=personas["operator"])
    assert newer.pk != extra.pk


def test_extra_visit_for_an_elder_not_in_the_plan_creates_the_townships_plan(personas):
    elder = ElderFactory(name="平常长辈", residence_region=region("331102002"))
    item = visit_plan_add_extra(elder=elder, reason="low rating", actor=personas["operator"])
    assert item.plan.region.code == "331102002" and item.plan.month == month_start(timezone.localdate())
    assert not VisitPlanItem.objects.filter(elder=elder, kind=ItemKind.RULE).exists()


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": "video"}, "mode"),
        ({"health": "great"}, "health"),
        ({"needs": ["meal", "spaceship"]}, "needs"),
        ({"visited_on": timezone.localdate() + timedelta(days=2)}, "visited_on"),
    ],
)
def test_bad_visit_input_names_the_field_and_records_nothing(personas, due_elder, changes, field):
    kwargs = {"visited_on": timezone.localdate(), **good(), **changes}
    with pytest.raises(DomainError) as err:
        visit_record(elder=due_elder, actor=personas["worker"], **kwargs)
    assert err.value.field == field
    assert not Visit.objects.exists()
    assert VisitPlanItem.objects.get(elder=due_elder).visit_count == 0


def test_extra_visit_needs_a_reason_and_an_active_elder(personas, due_elder):
    with pytest.raises(DomainError) as err:
        visit_plan_add_extra(elder=due_elder, reason="  ", actor=None)
    assert err.value.field == "reason"
    gone = ElderFactory(status="deceased")
    with pytest.raises(DomainError):
        visit_plan_add_extra(elder=gone, reason="x", actor=None)
    with pytest.raises(StateConflict):
        visit_record(elder=gone, actor=personas["worker"], visited_on=timezone.localdate(), **good())


def test_photo_is_checked(personas, due_elder, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path}},
    }
    bad = SimpleUploadedFile("note.exe", b"MZ", content_type="application/octet-stream")
    with pytest.raises(DomainError) as err:
        visit_record(elder=due_elder, actor=personas["worker"], visited_on=timezone.localdate(), photo=bad, **good())
    assert err.value.field == "photo"
    ok = SimpleUploadedFile("door.jpg", b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
    visit = visit_record(elder=due_elder, actor=personas["worker"], visited_on=timezone.localdate(), photo=ok, **good())
    assert visit.photo.name.startswith("visits/") and visit.photo.name.endswith(".jpg")


# --- API -------------------------------------------------------------------------------------------


def test_api_due_record_and_coverage(api_client, client, personas, due_elder, elders):
    h = api_client(personas["worker"])
    due = client.get("/api/v1/visits/due", **h).json()["items"]
    assert [d["elder_name"] for d in due] == ["独居长辈"] and due[0]["assignee"] == "p-worker"
    body = {"elder_id": due_elder.pk, "visited_on": timezone.localdate().isoformat(), **good(), "needs": ["cleaning"]}
    r = client.post("/api/v1/visits", body, content_type="application/json", **h)
    assert r.status_code == 201, r.content
    assert client.get("/api/v1/visits/due", **h).json()["count"] == 0
    r = client.post("/api/v1/visits", {**body, "mode": "video"}, content_type="application/json", **h)
    assert r.status_code == 422 and r.json()["field"] == "mode"
    r = client.post("/api/v1/visits", {**body, "elder_id": elders["qingtian"].pk}, content_type="application/json", **h)
    assert r.status_code == 404
    assert client.get("/api/v1/visits/coverage", **h).status_code == 403
    officer = api_client(personas["county_officer"])
    cov = client.get("/api/v1/visits/coverage?region=331102", **officer).json()
    assert cov["rows"] == [
        {"region_code": "331102001", "region_name": "紫金街道", "due": 1, "visited": 1, "complete": 1, "missed": 0, "share": 1.0}
    ]
    assert client.get("/api/v1/visits/coverage?region=331121", **officer).status_code == 404
    assert client.get("/api/v1/visits/coverage?month=2026-13", **officer).json()["field"] == "month"


def test_api_extra_generate_and_assign(api_client, client, personas, elders):
    officer = api_client(personas["county_officer"])
    r = client.post(
        "/api/v1/visits/extra", {"elder_id": elders["liandu"].pk, "reason": "fall reported"}, content_type="application/json", **officer
    )
    assert r.status_code == 201 and r.json()["kind"] == "extra"
    r = client.post("/api/v1/visits/extra", {"elder_id": elders["qingtian"].pk, "reason": "x"}, content_type="application/json", **officer)
    assert r.status_code == 404
    r = client.post("/api/v1/visits/plans/generate", {"month": "2026-02"}, content_type="application/json", **officer)
    assert r.status_code == 200 and r.json()["month"] == "2026-02-01"
    assert (
        client.post(
            "/api/v1/visits/plans/generate", {"month": "2026-02"}, content_type="application/json", **api_client(personas["worker"])
        ).status_code
        == 403
    )
    plan = VisitPlan.objects.get(month=month_start(timezone.localdate()), region__code="331102001")
    r = client.put(
        f"/api/v1/visits/plans/{plan.pk}/assignee", {"assignee_id": personas["volunteer"].pk}, content_type="application/json", **officer
    )
    assert r.status_code == 200 and r.json()["assignee"] == "p-volunteer"
    other = api_client(personas["other_county_officer"])
    r = client.put(
        f"/api/v1/visits/plans/{plan.pk}/assignee", {"assignee_id": personas["worker"].pk}, content_type="application/json", **other
    )
    assert r.status_code == 404


# --- Pages -----------------------------------------------------------------------------------------


def test_worker_pages_record_a_visit(client, personas, due_elder, elders):
    client.force_login(personas["worker"])
    assert "独居长辈" in client.get("/visits/").content.decode()
    r = client.post(f"/visits/elder/{due_elder.pk}/", {"visited_on": timezone.localdate().isoformat(), "mode": "phone", "health": "fair"})
    assert r.status_code == 400 and 'id="mood-err"' in r.content.decode()
    assert not Visit.objects.exists()
    form = {
        "visited_on": timezone.localdate().isoformat(),
        "mode": "phone",
        "health": "fair",
        "mood": "low",
        "home": "ok",
        "needs": ["meal", "company"],
    }
    assert client.post(f"/visits/elder/{due_elder.pk}/", form).status_code == 302
    assert Visit.objects.get().needs == ["meal", "company"]
    assert client.get(f"/visits/elder/{elders['qingtian'].pk}/").status_code == 404
    assert client.get("/visits/coverage/").status_code == 404


def test_officer_coverage_page_and_drill_down(client, personas, due_elder):
    client.force_login(personas["city_officer"])
    page = client.get("/visits/coverage/").content.decode()
    assert "丽水市" in page
    page = client.get("/visits/coverage/?region=331102001").content.decode()
    assert "独居长辈" in page  # on the not-visited list
    client.force_login(personas["other_county_officer"])
    assert client.get("/visits/coverage/?region=331102").status_code == 404
    assert client.get("/visits/coverage/?month=garbage").status_code == 200
