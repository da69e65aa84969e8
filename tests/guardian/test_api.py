"""The guardian JSON API: device ingest over HTTP (device-signed) and the staff endpoints."""

import json

import pytest

from yiyang.guardian.models import Alert, AlertState, Device, DeviceEvent, SafeZone
from yiyang.guardian.operations import events_ingest

URL = "/api/v1/guardian/events"


@pytest.fixture
def elder(elders):
    return elders["liandu"]


def post(client, body, **headers):
    return client.post(URL, json.dumps(body) if not isinstance(body, bytes) else body, content_type="application/json", **headers)


def test_http_ingest_accepts_a_signed_message_once(client, make_device, elder):
    dev = make_device(elder, "sos")
    msg = dev.message("sos")
    first = post(client, msg)
    assert first.status_code == 200, first.content
    assert first.json()["status"] == "accepted" and len(first.json()["alerts_opened"]) == 1
    again = post(client, msg)
    assert again.json() == {"status": "duplicate", "alerts_opened": []}
    assert DeviceEvent.objects.count() == 1 and Alert.objects.count() == 1


@pytest.mark.parametrize(
    ("mutate", "status", "field"),
    [
        (lambda m: m.update(sig="ab" * 32), 401, "sig"),
        (lambda m: m.pop("sig"), 401, "sig"),
        (lambda m: m.update(type="party"), 400, "type"),
        (lambda m: m.update(device="UNKNOWN-1"), 401, "device"),
    ],
)
def test_http_ingest_refuses_unsigned_or_invalid_messages(client, make_device, elder, mutate, status, field):
    dev = make_device(elder, "sos")
    msg = dev.message("sos")
    mutate(msg)
    response = post(client, msg)
    assert response.status_code == status
    assert response.json()["field"] == field
    assert not DeviceEvent.objects.exists() and not Alert.objects.exists()


def test_http_ingest_batch_reports_each_message(client, make_device, elder):
    dev = make_device(elder, "bracelet")
    good = dev.message("heartbeat")
    response = post(client, [good, {**dev.message("heartbeat"), "sig": "00"}, good])
    assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected", "duplicate"]
    assert response.json()["results"][1]["field"] == "sig"


def test_http_ingest_needs_no_user_but_rejects_garbage(client):
    assert post(client, b"{nope").status_code == 400


def test_register_device_and_zone(client, api_client, personas, elder):
    headers = api_client(personas["worker"])
    response = client.post(
        "/api/v1/guardian/devices",
        {"elder_id": elder.pk, "device_type": "bracelet", "serial": "BR-0001", "report_interval_seconds": 60},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert len(secret) >= 24 and Device.objects.get(serial="BR-0001").secret_encrypted != secret.encode()
    dup = client.post(
        "/api/v1/guardian/devices",
        {"elder_id": elder.pk, "device_type": "sos", "serial": "BR-0001"},
        content_type="application/json",
        **headers,
    )
    assert dup.status_code == 409 and dup.json()["field"] == "serial"
    zone = client.post(
        "/api/v1/guardian/zones",
        {"elder_id": elder.pk, "name": "家", "shape": "circle", "center_lat": 28.45, "center_lon": 119.92, "radius_m": 300},
        content_type="application/json",
        **headers,
    )
    assert zone.status_code == 201, zone.content
    bad = client.post(
        "/api/v1/guardian/zones",
        {"elder_id": elder.pk, "name": "村", "shape": "polygon", "polygon": [[119.9, 28.4], [119.91, 28.4]]},
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400 and bad.json()["field"] == "polygon"
    assert SafeZone.objects.count() == 1


def test_device_registration_scope_and_role(client, api_client, personas, elders):
    body = {"elder_id": elders["qingtian"].pk, "device_type": "sos", "serial": "X-1"}
    out_of_area = client.post("/api/v1/guardian/devices", body, content_type="application/json", **api_client(personas["worker"]))
    assert out_of_area.status_code == 404
    wrong_role = client.post("/api/v1/guardian/devices", body, content_type="application/json", **api_client(personas["caregiver"]))
    assert wrong_role.status_code == 403
    assert not Device.objects.exists()


def test_alert_handling_over_the_api(client, api_client, personas, make_device, elders):
    liandu_dev, qingtian_dev = make_device(elders["liandu"], "sos"), make_device(elders["qingtian"], "smoke")
    events_ingest(messages=[liandu_dev.incoming("sos"), qingtian_dev.incoming("smoke")])
    ours = Alert.objects.get(elder=elders["liandu"])
    theirs = Alert.objects.get(elder=elders["qingtian"])
    worker = api_client(personas["worker"])
    listed = client.get("/api/v1/guardian/alerts", **worker).json()
    assert [a["id"] for a in listed] == [ours.pk]
    assert client.get(f"/api/v1/guardian/alerts/{theirs.pk}", **worker).status_code == 404
    assert client.post(f"/api/v1/guardian/alerts/{theirs.pk}/acknowledge", {}, content_type="application/json", **worker).status_code == 404
    ack = client.post(f"/api/v1/guardian/alerts/{ours.pk}/acknowledge", {"note": "在路上"}, content_type="application/json", **worker)
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    again = client.post(f"/api/v1/guardian/alerts/{ours.pk}/acknowledge", {}, content_type="application/json", **worker)
    assert again.status_code == 409
    action = client.post(
        f"/api/v1/guardian/alerts/{ours.pk}/actions", {"action": "neighbour_went"}, content_type="application/json", **worker
    )
    assert action.status_code == 201
    bad = client.post(f"/api/v1/guardian/alerts/{ours.pk}/resolve", {"outcome": "meh"}, content_type="application/json", **worker)
    assert bad.status_code == 422 and bad.json()["field"] == "outcome"
    done = client.post(f"/api/v1/guardian/alerts/{ours.pk}/resolve", {"outcome": "false_alarm"}, content_type="application/json", **worker)
    assert done.json()["state"] == AlertState.RESOLVED
    detail = client.get(f"/api/v1/guardian/alerts/{ours.pk}", **worker).json()
    assert [t["kind"] for t in detail["timeline"]] == ["opened", "acknowledged", "action", "resolved"]
    family = api_client(personas["family"])
    assert client.get("/api/v1/guardian/alerts", **family).status_code == 403


def test_policy_endpoint_scopes_regions(client, api_client, personas):
    body = {"region": "331121", "severity": "high", "steps": [{"target": "family"}, {"target": "console", "after_seconds": 60}]}
    own = api_client(personas["county_officer"])
    assert client.put("/api/v1/guardian/policies", body, content_type="application/json", **own).status_code == 404
    ok = client.put("/api/v1/guardian/policies", {**body, "region": "331102"}, content_type="application/json", **own)
    assert ok.status_code == 200 and [s["target"] for s in ok.json()["steps"]] == ["family", "console"]
    default = client.put("/api/v1/guardian/policies", {**body, "region": None}, content_type="application/json", **own)
    assert default.status_code == 400 and default.json()["field"] == "region"
