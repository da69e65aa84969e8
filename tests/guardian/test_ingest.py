"""Ingestion: validation, authentication, de-duplication and the rules, through events_ingest (the one path)."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from tests.guardian.conftest import minutes_ago
from yiyang.guardian.models import Alert, AlertEvent, AlertKind, AlertState, DeviceEvent, Position, RejectedMessage, Severity, TimelineKind
from yiyang.guardian.operations import Incoming, events_ingest, safezone_create

# 紫金街道 area; the zone is a 200 m circle around home.
HOME = (28.4517, 119.9219)
FAR = (28.4700, 119.9400)  # about 2.6 km away


@pytest.fixture
def elder(elders):
    return elders["liandu"]


@pytest.mark.parametrize("kind", ["smoke", "gas", "sos", "fall"])
def test_alarm_opens_one_critical_alert_and_repeats_attach(make_device, elder, kind):
    dev = make_device(elder, {"smoke": "smoke", "gas": "gas", "sos": "sos", "fall": "fall"}[kind])
    result = events_ingest(messages=[dev.incoming(kind)])
    assert result.status == ["accepted"]
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.state, alert.elder, alert.region) == (
        kind,
        Severity.CRITICAL,
        AlertState.OPEN,
        elder,
        elder.residence_region,
    )
    assert alert.transitions.get().to_state == AlertState.OPEN
    events_ingest(messages=[dev.incoming(kind), dev.incoming(kind)])
    alert.refresh_from_db()
    assert Alert.objects.count() == 1
    assert alert.repeat_count == 2
    assert alert.timeline.filter(kind=TimelineKind.REPEAT).count() == 2


def test_same_message_id_is_stored_once_across_batches_and_within_one(make_device, elder):
    dev = make_device(elder, "sos")
    msg = dev.message("sos", msg_id="m-1")
    first = events_ingest(messages=[Incoming(msg), Incoming(msg)])
    again = events_ingest(messages=[Incoming(msg, channel="mqtt", topic_serial=dev.serial)])
    assert first.status == ["accepted", "duplicate"]
    assert again.status == ["duplicate"]
    assert DeviceEvent.objects.filter(device=dev.device, message_id="m-1").count() == 1
    assert Alert.objects.get().repeat_count == 0


@pytest.mark.parametrize(
    ("mutate", "reason", "field"),
    [
        (lambda m: m.pop("id"), "malformed", "id"),
        (lambda m: m.update(type="explode"), "malformed", "type"),
        (lambda m: m.update(ts="yesterday"), "malformed", "ts"),
        (lambda m: m.update(ts="2026-01-01T10:00:00"), "malformed", "ts"),
        (lambda m: m.update(battery=140), "malformed", "battery"),
        (lambda m: m.update(sig="0" * 64), "bad_signature", "sig"),
        (lambda m: m.pop("sig"), "missing_signature", "sig"),
        (lambda m: m.update(device="NO-SUCH"), "unknown_device", "device"),
    ],
)
def test_bad_messages_are_rejected_counted_and_change_nothing(make_device, elder, mutate, reason, field):
    dev = make_device(elder, "sos")
    msg = dev.message("sos")
    mutate(msg)
    good = dev.incoming("heartbeat")
    result = events_ingest(messages=[Incoming(msg), good])
    assert result.status == ["rejected", "accepted"]
    assert result.reasons[0].reason == reason
    assert result.reasons[0].field == field
    assert not Alert.objects.exists()
    assert DeviceEvent.objects.count() == 1
    assert RejectedMessage.objects.get().reason == reason


@pytest.mark.parametrize(
    "body",
    [
        b'{"v": 1, "device": "%s", "id": "n1", "type": "heartbeat", "ts": "%s", "battery": NaN}',
        b'{"v": 1, "device": "%s", "id": "n2", "type": "heartbeat", "ts": "%s", "data": {"x": Infinity}}',
        b'{"v": 1, "device": "%s", "id": "n3\\u0000", "type": "heartbeat", "ts": "%s"}',
        b'{"v": 1, "device": "%s", "id": "n4", "type": "heartbeat", "ts": "%s", "data": {"note": "\\ud800"}}',
    ],
    ids=["nan", "infinity", "nul", "lone-surrogate"],
)
def test_json_the_database_cannot_store_is_rejected_as_malformed(make_device, elder, body):
    # Python's json module accepts these; PostgreSQL's jsonb and text refuse them, which would fail a whole batch.
    dev = make_device(elder, "sos")
    raw = body % (dev.serial.encode(), timezone.now().isoformat().encode())
    result = events_ingest(messages=[Incoming(raw, channel="mqtt", topic_serial=dev.serial), dev.incoming("heartbeat")])
    assert result.status == ["rejected", "accepted"]
    assert result.reasons[0].reason == "malformed"
    assert RejectedMessage.objects.get().reason == "malformed"


@pytest.mark.parametrize("bad", [float("nan"), "nul\x00", "lone \ud800"], ids=["nan", "nul", "lone-surrogate"])
def test_the_same_is_rejected_from_an_already_parsed_http_body(make_device, elder, bad):
    dev = make_device(elder, "sos")
    unsigned = dev.message("heartbeat", sign=False, data={"x": bad})  # rejected before its signature is looked at
    result = events_ingest(messages=[Incoming(unsigned, channel="http"), dev.incoming("heartbeat")])
    assert result.status == ["rejected", "accepted"]
    assert result.reasons[0].reason == "malformed"


def test_not_json_is_rejected_without_stopping_the_batch(make_device, elder):
    dev = make_device(elder, "sos")
    result = events_ingest(messages=[Incoming(b"\xff{not json"), Incoming(b"[1,2]"), dev.incoming("sos")])
    assert result.status == ["rejected", "rejected", "accepted"]
    assert RejectedMessage.objects.count() == 2


def test_a_device_cannot_speak_for_another_on_mqtt(make_device, elder):
    mine, other = make_device(elder, "sos"), make_device(elder, "sos")
    # Signed correctly by `other`, but published on `mine`'s topic.
    result = events_ingest(messages=[Incoming(other.message("sos"), channel="mqtt", topic_serial=mine.serial)])
    assert result.reasons[0].reason == "topic_mismatch"
    assert not Alert.objects.exists()


def test_unsigned_mqtt_message_needs_broker_auth_trust(make_device, elder, settings):
    dev = make_device(elder, "sos")
    unsigned = dev.message("sos", sign=False)
    assert events_ingest(messages=[Incoming(unsigned, channel="mqtt", topic_serial=dev.serial)]).status == ["rejected"]
    settings.GUARDIAN_MQTT_TRUST_BROKER_AUTH = True
    assert events_ingest(messages=[Incoming(unsigned, channel="mqtt", topic_serial=dev.serial)]).status == ["accepted"]
    # Trust in the broker never extends to HTTP.
    assert events_ingest(messages=[Incoming(dev.message("sos", sign=False), channel="http")]).status == ["rejected"]


def _zone(elder, worker, **kw):
    return safezone_create(elder=elder, name="家", shape="circle", center_lat=HOME[0], center_lon=HOME[1], radius_m=200, actor=worker, **kw)


def test_wandering_needs_two_consecutive_fixes_outside_and_back_inside_is_noted(make_device, elder, personas):
    _zone(elder, personas["worker"])
    dev = make_device(elder, "bracelet")
    pos = lambda at_min, p: dev.incoming("position", at=minutes_ago(at_min), lat=p[0], lon=p[1])  # noqa: E731
    events_ingest(messages=[pos(10, HOME), pos(9, FAR)])
    assert not Alert.objects.exists(), "one fix outside is GPS jitter"
    events_ingest(messages=[pos(8, HOME), pos(7, FAR)])
    assert not Alert.objects.exists(), "outside, inside, outside is not consecutive"
    events_ingest(messages=[pos(6, FAR)])
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity) == (AlertKind.WANDERING, Severity.HIGH)
    assert [p["lat"] for p in alert.detail["positions"]] == [FAR[0], FAR[0]]
    events_ingest(messages=[pos(5, FAR)])
    assert alert.timeline.filter(kind=TimelineKind.POSITION).count() == 1
    events_ingest(messages=[pos(4, HOME)])
    alert.refresh_from_db()
    assert alert.state == AlertState.OPEN, "back inside is noted, not resolved"
    assert alert.timeline.filter(kind=TimelineKind.BACK_INSIDE).count() == 1
    assert Position.objects.filter(device=dev.device).count() == 7


def test_polygon_zone_with_night_hours_only_applies_at_night(make_device, elder, personas):
    square = [[119.92, 28.45], [119.925, 28.45], [119.925, 28.455], [119.92, 28.455]]
    safezone_create(
        elder=elder, name="村", shape="polygon", polygon=square, active_from=time(20), active_until=time(7), actor=personas["worker"]
    )
    dev = make_device(elder, "bracelet")
    local_noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)
    night = local_noon.replace(hour=22)
    events_ingest(
        messages=[
            dev.incoming("position", at=local_noon, lat=FAR[0], lon=FAR[1]),
            dev.incoming("position", at=local_noon + timedelta(minutes=1), lat=FAR[0], lon=FAR[1]),
        ]
    )
    assert not Alert.objects.exists()
    inside = Position.objects.filter(device=dev.device).values_list("inside", flat=True)
    assert list(inside) == [None, None]
    events_ingest(
        messages=[
            dev.incoming("position", at=night, lat=FAR[0], lon=FAR[1]),
            dev.incoming("position", at=night + timedelta(minutes=1), lat=FAR[0], lon=FAR[1]),
        ]
    )
    assert Alert.objects.get().kind == AlertKind.WANDERING


def test_low_battery_and_tamper(make_device, elder):
    dev = make_device(elder, "bracelet")
    events_ingest(messages=[dev.incoming("heartbeat", battery=12), dev.incoming("tamper", battery=11)])
    kinds = dict(Alert.objects.values_list("kind", "severity"))
    assert kinds == {AlertKind.LOW_BATTERY: Severity.LOW, AlertKind.TAMPER: Severity.MEDIUM}
    assert Alert.objects.get(kind=AlertKind.LOW_BATTERY).repeat_count == 1
    dev.device.refresh_from_db()
    assert dev.device.battery == 11


def test_escalation_rows_are_written_with_the_alert(make_device, elder):
    from django_tasks_db.models import DBTaskResult

    dev = make_device(elder, "smoke")
    events_ingest(messages=[dev.incoming("smoke")])
    task = DBTaskResult.objects.get(task_path__endswith="alert_escalate")
    assert task.args_kwargs["args"] == [Alert.objects.get().pk, 0]


def test_alert_timeline_starts_with_opened(make_device, elder):
    dev = make_device(elder, "fall")
    events_ingest(messages=[dev.incoming("fall")])
    assert AlertEvent.objects.get().kind == TimelineKind.OPENED
