"""The 96345 console and alert pages."""

import re

import pytest

from yiyang.guardian.models import Alert, AlertState, TimelineKind
from yiyang.guardian.operations import events_ingest


@pytest.fixture
def alerts(make_device, elders):
    smoke, sos, bat = (
        make_device(elders["liandu"], "smoke"),
        make_device(elders["qingtian"], "sos"),
        make_device(elders["liandu"], "bracelet"),
    )
    events_ingest(messages=[bat.incoming("heartbeat", battery=9), sos.incoming("sos"), smoke.incoming("smoke")])
    return {a.kind: a for a in Alert.objects.all()}


def test_console_lists_open_alerts_by_severity_then_age_and_marks_critical(client, personas, alerts):
    client.force_login(personas["operator"])
    page = client.get("/guardian/console/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'hx-trigger="every 3s"' in html
    # No inline script: the CSP forbids it; the sound toggle lives in a static file.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert "guardian/console.js" in html
    order = re.findall(r'data-alert-id="(\d+)"', html)
    assert [int(i) for i in order] == [alerts["sos"].pk, alerts["smoke"].pk, alerts["low_battery"].pk]
    assert html.count("data-critical-open") == 2


def test_console_partial_is_cheap_and_reflects_acknowledgement(client, personas, alerts, django_assert_max_num_queries):
    client.force_login(personas["operator"])
    client.get("/guardian/console/alerts/")  # the first poll also runs the self-watch
    with django_assert_max_num_queries(12):
        partial = client.get("/guardian/console/alerts/")
    assert partial.content.decode().count("data-critical-open") == 2
    client.post(f"/guardian/alerts/{alerts['sos'].pk}/acknowledge/", {"note": "已联系"})
    assert client.get("/guardian/console/alerts/").content.decode().count("data-critical-open") == 1


def test_console_is_for_console_staff_only(client, personas, alerts):
    for role in ("worker", "family", "caregiver"):
        client.force_login(personas[role])
        assert client.get("/guardian/console/").status_code == 404


def test_alert_page_shows_the_elder_and_handles_the_alert(client, personas, alerts, elders):
    alert = alerts["smoke"]
    client.force_login(personas["worker"])
    page = client.get(f"/guardian/alerts/{alert.pk}/")
    assert page.status_code == 200 and elders["liandu"].name in page.content.decode()
    assert client.post(f"/guardian/alerts/{alert.pk}/acknowledge/").status_code == 302
    bad = client.post(f"/guardian/alerts/{alert.pk}/action/", {"action": "note", "note": " "})
    assert bad.status_code == 400
    assert 'aria-invalid="true" aria-describedby="id_action_note_error"' in bad.content.decode()
    assert client.post(f"/guardian/alerts/{alert.pk}/action/", {"action": "neighbour_went", "note": "邻居王阿姨去看了"}).status_code == 302
    missing = client.post(f"/guardian/alerts/{alert.pk}/resolve/", {"outcome": ""})
    assert missing.status_code == 400 and 'id="id_outcome_error"' in missing.content.decode()
    client.post(f"/guardian/alerts/{alert.pk}/resolve/", {"outcome": "false_alarm", "note": "做饭油烟"})
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    kinds = list(alert.timeline.values_list("kind", flat=True))
    assert kinds[-3:] == [TimelineKind.ACKNOWLEDGED, TimelineKind.ACTION, TimelineKind.RESOLVED]
    conflict = client.post(f"/guardian/alerts/{alert.pk}/acknowledge/")
    assert conflict.status_code == 409


def test_alert_page_scope(client, personas, alerts):
    client.force_login(personas["worker"])
    assert client.get(f"/guardian/alerts/{alerts['sos'].pk}/").status_code == 404  # 青田县, not the worker's township
    assert client.post(f"/guardian/alerts/{alerts['sos'].pk}/acknowledge/").status_code == 404
    client.force_login(personas["caregiver"])
    assert client.get(f"/guardian/alerts/{alerts['smoke'].pk}/").status_code == 404
    assert Alert.objects.get(pk=alerts["sos"].pk).state == AlertState.OPEN
