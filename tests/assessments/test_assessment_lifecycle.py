"""Draft -> submitted (immutable) -> superseded; validity; current care level; due list; API and pages."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from tests.assessments.test_scoring import MAXIMA, answers
from tests.factories import ElderFactory, region
from yiyang.assessments.models import Assessment, AssessmentStatus, AssessmentTransition
from yiyang.assessments.operations import add_months, assessment_discard, assessment_start, assessment_submit, assessment_update
from yiyang.assessments.queries import current_care_level, current_grade_subquery, elder_ids_with_grade_q, reassessments_due
from yiyang.assessments.scale import get_scale
from yiyang.audit.models import AuditEvent
from yiyang.core.errors import DomainError, StateConflict
from yiyang.people.models import Elder

pytestmark = pytest.mark.django_db


def submitted(elder, actor, *, on: date, **changes) -> Assessment:
    a = assessment_start(elder=elder, actor=actor, assessed_on=on)
    assessment_update(assessment=a, actor=actor, answers=answers(**changes))
    return assessment_submit(assessment=a, actor=actor)


def test_add_months_clamps_to_month_end():
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2025, 11, 15), 12) == date(2026, 11, 15)


def test_draft_submit_scores_stores_version_and_validity(personas, elders):
    assessor = personas["assessor"]
    on = timezone.localdate() - timedelta(days=3)
    a = assessment_start(elder=elders["liandu"], actor=assessor, assessed_on=on)
    assert a.status == AssessmentStatus.DRAFT and a.scale_version == get_scale().version
    assessment_update(assessment=a, actor=assessor, answers={"B.1.1": 2})
    assessment_update(assessment=a, actor=assessor, answers={k: v for k, v in MAXIMA.items() if k != "B.1.1"}, dementia=True)
    a.refresh_from_db()
    assert a.answers["B.1.1"] == 2 and len(a.answers) == 26
    a = assessment_submit(assessment=a, actor=assessor)
    assert (a.status, a.total, a.preliminary_grade, a.grade, a.level_name) == ("submitted", 88, 1, 2, "中度失能")
    assert a.valid_until == add_months(on, 12)
    assert list(AssessmentTransition.objects.filter(assessment=a).values_list("from_status", "to_status")) == [
        ("", "draft"),
        ("draft", "submitted"),
    ]
    assert AuditEvent.objects.filter(action="assessment.submit", object_id=str(a.pk)).exists()
    level = current_care_level(elders["liandu"])
    assert (level.grade, level.name, level.assessment_id) == (2, "中度失能", a.pk)


def test_submitted_is_immutable(personas, elders):
    a = submitted(elders["liandu"], personas["assessor"], on=timezone.localdate())
    with pytest.raises(StateConflict):
        assessment_update(assessment=a, actor=personas["assessor"], answers={"B.1.1": 0})
    with pytest.raises(StateConflict):
        assessment_submit(assessment=a, actor=personas["assessor"])
    with pytest.raises(StateConflict):
        assessment_discard(assessment=a, actor=personas["assessor"])
    a.refresh_from_db()
    assert a.answers["B.1.1"] == 4 and a.total == 90


def test_incomplete_draft_cannot_be_submitted_and_nothing_changes(personas, elders):
    a = assessment_start(elder=elders["liandu"], actor=personas["assessor"])
    assessment_update(assessment=a, actor=personas["assessor"], answers={"B.1.1": 4})
    with pytest.raises(DomainError) as err:
        assessment_submit(assessment=a, actor=personas["assessor"])
    assert err.value.field == "answers.B.1.2"
    a.refresh_from_db()
    assert a.status == "draft" and a.total is None


def test_bad_answer_in_update_changes_nothing(personas, elders):
    a = assessment_start(elder=elders["liandu"], actor=personas["assessor"])
    assessment_update(assessment=a, actor=personas["assessor"], answers={"B.1.1": 3})
    with pytest.raises(DomainError) as err:
        assessment_update(assessment=a, actor=personas["assessor"], answers={"B.1.2": 2, "B.2.4": 4})
    assert err.value.field == "answers.B.2.4"
    a.refresh_from_db()
    assert a.answers == {"B.1.1": 3}


def test_future_date_refused(personas, elders):
    with pytest.raises(DomainError) as err:
        assessment_start(elder=elders["liandu"], actor=personas["assessor"], assessed_on=timezone.localdate() + timedelta(days=1))
    assert err.value.field == "assessed_on"


def test_reassessment_supersedes_and_the_latest_is_current(personas, elders):
    elder = elders["liandu"]
    today = timezone.localdate()
    first = submitted(elder, personas["assessor"], on=today - timedelta(days=200))
    second = submitted(elder, personas["assessor"], on=today - timedelta(days=1), b1_1=0, b1_2=0, b1_3=0)
    first.refresh_from_db()
    assert first.status == AssessmentStatus.SUPERSEDED and first.superseded_by_id == second.pk
    assert current_care_level(elder).assessment_id == second.pk
    assert Assessment.objects.filter(elder=elder, status="submitted").count() == 1


def test_an_older_assessment_cannot_replace_a_newer_one(personas, elders):
    elder = elders["liandu"]
    today = timezone.localdate()
    newer = submitted(elder, personas["assessor"], on=today)
    late = assessment_start(elder=elder, actor=personas["assessor"], assessed_on=today - timedelta(days=30))
    assessment_update(assessment=late, actor=personas["assessor"], answers=answers())
    with pytest.raises(StateConflict):
        assessment_submit(assessment=late, actor=personas["assessor"])
    assert current_care_level(elder).assessment_id == newer.pk


def test_expiry_and_configurable_validity(personas, elders, settings):
    elder = elders["liandu"]
    today = timezone.localdate()
    settings.YIYANG_ASSESSMENT = {"validity_months": 6}
    a = submitted(elder, personas["assessor"], on=today - timedelta(days=190))
    assert a.valid_until == add_months(today - timedelta(days=190), 6)
    assert a.valid_until < today
    assert current_care_level(elder) is None  # expired: no current level
    assert current_care_level(elder, on=today - timedelta(days=100)).assessment_id == a.pk


def test_due_list_is_scoped_and_ordered(personas, elders):
    today = timezone.localdate()
    soon = submitted(elders["liandu"], personas["assessor"], on=add_months(today, -12) + timedelta(days=10))
    later_elder = ElderFactory(name="不急长辈")
    submitted(later_elder, personas["assessor"], on=today - timedelta(days=30))
    qt_assessor = personas["admin"]
    qt = submitted(elders["qingtian"], qt_assessor, on=add_months(today, -12) - timedelta(days=5))  # already expired
    worker_due = list(reassessments_due(personas["worker"]))
    assert worker_due == [soon]
    city_due = list(reassessments_due(personas["city_officer"]))
    assert city_due == [qt, soon]
    assert list(reassessments_due(personas["other_county_officer"])) == [qt]


def test_grade_subquery_and_filter_for_rules(personas, elders):
    submitted(elders["liandu"], personas["assessor"], on=timezone.localdate(), b1_1=0, b1_2=0, b1_3=0, b1_4=0, b1_5=0, b1_6=0)
    rows = dict(Elder.objects.annotate(grade=current_grade_subquery()).values_list("name", "grade"))
    assert rows["莲都长辈"] == 1 and rows["青田长辈"] is None
    assert list(Elder.objects.filter(elder_ids_with_grade_q(min_grade=1)).values_list("name", flat=True)) == ["莲都长辈"]
    assert not Elder.objects.filter(elder_ids_with_grade_q(min_grade=2)).exists()


def test_inactive_elder_cannot_be_assessed(personas):
    elder = ElderFactory(status="deceased", residence_region=region("331102001"))
    with pytest.raises(DomainError) as err:
        assessment_start(elder=elder, actor=personas["assessor"])
    assert err.value.field == "elder_id"


# --- API -------------------------------------------------------------------------------------------


def test_api_full_flow(api_client, client, personas, elders):
    h = api_client(personas["assessor"])
    scale = client.get("/api/v1/assessments/scale", **h).json()
    assert scale["version"] == get_scale().version and len(scale["dimensions"]) == 4
    r = client.post("/api/v1/assessments", {"elder_id": elders["liandu"].pk}, content_type="application/json", **h)
    assert r.status_code == 201, r.content
    aid = r.json()["id"]
    r = client.patch(f"/api/v1/assessments/{aid}", {"answers": {"B.2.4": 5}}, content_type="application/json", **h)
    assert r.status_code == 400 and r.json()["field"] == "answers.B.2.4"
    r = client.patch(
        f"/api/v1/assessments/{aid}", {"answers": answers(b2_4=0), "care_risk_events_30d": 2}, content_type="application/json", **h
    )
    assert r.status_code == 200 and r.json()["answers"]["B.2.4"] == 0
    r = client.post(f"/api/v1/assessments/{aid}/submit", **h)
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["total"], body["preliminary_grade"], body["grade"]) == (87, 1, 2)
    assert client.post(f"/api/v1/assessments/{aid}/submit", **h).status_code == 409
    assert client.patch(f"/api/v1/assessments/{aid}", {"notes": "x"}, content_type="application/json", **h).status_code == 409
    level = client.get(f"/api/v1/assessments/care-level/{elders['liandu'].pk}", **h).json()
    assert level["grade"] == 2 and level["assessment_id"] == aid


def test_api_scope_and_roles(api_client, client, personas, elders):
    h = api_client(personas["assessor"])  # 莲都区 only
    r = client.post("/api/v1/assessments", {"elder_id": elders["qingtian"].pk}, content_type="application/json", **h)
    assert r.status_code == 404
    assert client.get(f"/api/v1/assessments/care-level/{elders['qingtian'].pk}", **h).status_code == 404
    worker = api_client(personas["worker"])
    r = client.post("/api/v1/assessments", {"elder_id": elders["liandu"].pk}, content_type="application/json", **worker)
    assert r.status_code == 403
    assert client.get("/api/v1/assessments", **api_client(personas["family"])).status_code == 403
    qt = submitted(elders["qingtian"], personas["admin"], on=timezone.localdate())
    assert client.get(f"/api/v1/assessments/{qt.pk}", **h).status_code == 404
    assert client.get(f"/api/v1/assessments/{qt.pk}", **api_client(personas["other_county_officer"])).status_code == 200


def test_api_another_assessors_draft_is_not_editable(api_client, client, personas, elders):
    a = assessment_start(elder=elders["liandu"], actor=personas["admin"])
    h = api_client(personas["assessor"])
    r = client.patch(f"/api/v1/assessments/{a.pk}", {"notes": "mine now"}, content_type="application/json", **h)
    assert r.status_code == 404
    a.refresh_from_db()
    assert a.notes == ""


# --- Pages -----------------------------------------------------------------------------------------


def test_tablet_form_saves_submits_and_then_shows_read_only(client, personas, elders):
    client.force_login(personas["assessor"])
    r = client.post(f"/assessments/elder/{elders['liandu'].pk}/", {"reason": "initial"})
    assert r.status_code == 302
    a = Assessment.objects.get(elder=elders["liandu"])
    page = client.get(f"/assessments/{a.pk}/")
    html = page.content.decode()
    assert page.status_code == 200 and a.scale_version in html and 'name="b1_1"' in html
    form = {get_scale().item(code).field_name: str(v) for code, v in MAXIMA.items()}
    form.pop("b4_5")
    r = client.post(f"/assessments/{a.pk}/", {**form, "action": "submit", "care_risk_events_30d": "0"})
    assert r.status_code == 400
    assert 'id="b4_5-err"' in r.content.decode()
    a.refresh_from_db()
    assert a.status == "draft" and len(a.answers) == 25  # the answers given were saved as a draft
    r = client.post(f"/assessments/{a.pk}/", {**form, "b4_5": "1", "action": "submit", "care_risk_events_30d": "0"})
    assert r.status_code == 302
    a.refresh_from_db()
    assert (a.status, a.total, a.level_name) == ("submitted", 87, "轻度失能")
    detail = client.get(f"/assessments/{a.pk}/").content.decode()
    assert 'name="b1_1"' not in detail and "轻度失能" in detail
    assert client.post(f"/assessments/{a.pk}/", {**form, "action": "save"}).status_code == 404
    assert "轻度失能" in client.get(f"/assessments/elder/{elders['liandu'].pk}/").content.decode()


def test_pages_scope(client, personas, elders):
    client.force_login(personas["other_county_officer"])
    assert client.get(f"/assessments/elder/{elders['liandu'].pk}/").status_code == 404
    client.force_login(personas["family"])
    assert client.get("/assessments/").status_code == 404
    client.force_login(personas["worker"])
    assert client.get("/assessments/").status_code == 200
    assert client.post(f"/assessments/elder/{elders['liandu'].pk}/", {"reason": "initial"}).status_code == 404


# --- Care level -> registry categories -------------------------------------------------------------


def _open(elder) -> dict[str, str]:
    from yiyang.people.models import ElderCategory

    return dict(ElderCategory.objects.filter(elder=elder, ended__isnull=True).values_list("category", "source"))


def test_care_level_feeds_the_disability_categories(personas, elders):
    from yiyang.people.models import ElderCategory

    elder = elders["liandu"]
    today = timezone.localdate()
    severe = dict.fromkeys(["b1_1", "b1_2", "b1_3", "b1_4", "b1_5", "b1_6", "b1_7", "b1_8", "b2_1", "b2_2", "b2_3", "b2_4"], 0)
    first = submitted(elder, personas["assessor"], on=today - timedelta(days=10), **severe)  # 90 - 47 = 43: severe
    assert first.grade == 3
    assert _open(elder) == {"disabled": f"assessment:{first.pk}"}
    second = submitted(elder, personas["assessor"], on=today, b1_1=2)  # 88: mild
    assert _open(elder) == {"partially_disabled": f"assessment:{second.pk}"}
    assert ElderCategory.objects.get(elder=elder, category="disabled").ended == today
    submitted(elder, personas["assessor"], on=today)  # 90: intact
    assert _open(elder) == {}


def test_a_category_set_by_hand_is_left_alone_and_the_link_can_be_switched_off(personas, elders, settings):
    from yiyang.people.models import ElderCategory

    elder = elders["liandu"]
    ElderCategory.objects.create(elder=elder, category="disabled", source="form")
    submitted(elder, personas["assessor"], on=timezone.localdate() - timedelta(days=1), b1_1=2)  # mild
    assert _open(elder) == {"disabled": "form", "partially_disabled": _open(elder)["partially_disabled"]}
    settings.YIYANG_ASSESSMENT = {"disability_category_by_grade": {}}
    other = elders["qingtian"]
    submitted(other, personas["admin"], on=timezone.localdate(), b1_1=0, b1_2=0, b1_3=0)
    assert _open(other) == {}
