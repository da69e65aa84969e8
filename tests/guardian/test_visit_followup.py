"""A need found on a monthly visit opens a Silver Guardian follow-up alert in one step; it escalates like any alert."""

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from yiyang.core.errors import DomainError, StateConflict
from yiyang.guardian.models import Alert, AlertKind, AlertState, Severity, TimelineKind
from yiyang.guardian.operations import alert_escalate_step, alert_open_from_visit
from yiyang.visits.operations import visit_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def visit(personas, elders):
    return visit_record(
        elder=elders["liandu"], actor=personas["worker"], visited_on=timezone.localdate(),
        mode="in_person", health="poor", mood="low", home="attention", needs=["medical", "repair"],
    )  # fmt: skip


def test_a_need_becomes_an_alert_once_and_escalates(visit, personas, elders):
    alert = alert_open_from_visit(visit=visit, need="medical", severity=Severity.HIGH, note="膝盖肿了", actor=personas["worker"])
    assert (alert.kind, alert.severity, alert.state, alert.elder) == (AlertKind.VISIT_FOLLOWUP, "high", AlertState.OPEN, elders["liandu"])
    assert alert.detail["visit_id"] == visit.pk and alert.detail["trigger"]["need"] == "medical"
    opened = alert.timeline.get(kind=TimelineKind.OPENED)
    assert opened.actor == personas["worker"] and "膝盖肿了" in opened.text
    # The normal escalation: the first step is queued with the alert, then each step runs.
    assert DBTaskResult.objects.filter(task_path__endswith="alert_escalate").count() == 1
    assert [s["target"] for s in alert.escalation_plan] == ["family", "worker", "console"]
    for step in range(3):
        assert alert_escalate_step(alert_id=alert.pk, step=step) == "done"
    alert.refresh_from_db()
    assert alert.on_console_at is not None and alert.timeline.filter(kind=TimelineKind.ESCALATED).count() == 3
    with pytest.raises(StateConflict) as err:
        alert_open_from_visit(visit=visit, need="repair", actor=personas["worker"])
    assert err.value.field == "visit_id" and Alert.objects.count() == 1


def test_the_default_is_medium(visit, personas):
    alert = alert_open_from_visit(visit=visit, need="repair", actor=personas["worker"])
    assert alert.severity == Severity.MEDIUM and alert.severity_rank == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"need": "spaceship"}, "need"),
        ({"need": "meal"}, "need"),
        ({"need": "medical", "severity": "urgent"}, "severity"),
        ({"need": "medical", "note": "x" * 501}, "note"),
    ],
)
def test_bad_input_names_the_field_and_opens_nothing(visit, personas, kwargs, field):
    with pytest.raises(DomainError) as err:
        alert_open_from_visit(visit=visit, actor=personas["worker"], **kwargs)
    assert err.value.field == field
    assert not Alert.objects.exists()


def test_api(client, api_client, visit, personas, elders):
    url = f"/api/v1/guardian/visits/{visit.pk}/follow-up-alert"
    headers = api_client(personas["worker"])
    created = client.post(url, {"need": "medical"}, content_type="application/json", **headers)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "visit_followup" and body["severity"] == "medium" and body["elder_id"] == elders["liandu"].pk
    again = client.post(url, {"need": "repair"}, content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["field"] == "visit_id"
    # Wrong role (officers and operators do not record visits), wrong region.
    other = visit_record(
        elder=elders["qingtian"], actor=personas["admin"], visited_on=timezone.localdate(),
        mode="phone", health="good", mood="good", home="ok", needs=["meal"],
    )  # fmt: skip
    assert (
        client.post(
            f"/api/v1/guardian/visits/{other.pk}/follow-up-alert", {"need": "meal"}, content_type="application/json", **headers
        ).status_code
        == 404
    )
    assert client.post(url, {"need": "repair"}, content_type="application/json", **api_client(personas["operator"])).status_code == 403
    assert (
        client.post(url, {"need": "repair"}, content_type="application/json", **api_client(personas["other_county_officer"])).status_code
        == 403
    )
    bad = client.post(url, {"need": "meal"}, content_type="application/json", **headers)
    assert bad.status_code == 400 and bad.json()["field"] == "need"


def test_it_appears_on_the_console(client, visit, personas):
    alert = alert_open_from_visit(visit=visit, need="medical", actor=personas["worker"])
    client.force_login(personas["operator"])
    assert f'data-alert-id="{alert.pk}"' in client.get("/guardian/console/alerts/").content.decode()
    page = client.get(f"/guardian/alerts/{alert.pk}/").content.decode()
    assert visit.visited_on.isoformat() in page and f"/visits/elder/{visit.elder_id}/" not in page, "operators do not see visits"
    client.force_login(personas["worker"])
    assert f"/visits/elder/{visit.elder_id}/" in client.get(f"/guardian/alerts/{alert.pk}/").content.decode()
