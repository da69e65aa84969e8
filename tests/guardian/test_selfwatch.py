"""Periodic checks: offline devices (and the folding of an outage's flood), inactivity, self-watch, retention."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.factories import ElderFactory
from yiyang.guardian.models import Alert, AlertKind, AlertState, Device, DeviceEvent, ElderWatch, Position, Severity, TimelineKind
from yiyang.guardian.operations import (
    devices_check_offline,
    elders_check_inactivity,
    events_ingest,
    guardian_selfwatch,
    positions_purge,
)
from yiyang.people.models import LivingArrangement


@pytest.fixture
def elder(elders):
    return elders["liandu"]


def test_device_goes_offline_after_three_silent_intervals_and_back_online_is_noted(make_device, elder):
    dev = make_device(elder, "smoke", interval=60)
    events_ingest(messages=[dev.incoming("heartbeat")])
    now = timezone.now()
    assert devices_check_offline(now=now + timedelta(seconds=170)) == {"offline": 0, "folded": 0}
    assert devices_check_offline(now=now + timedelta(seconds=190)) == {"offline": 1, "folded": 0}
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity) == (AlertKind.OFFLINE, Severity.MEDIUM)
    assert devices_check_offline(now=now + timedelta(seconds=400))["offline"] == 0, "already offline: no second alert"
    events_ingest(messages=[dev.incoming("heartbeat")])
    dev.device.refresh_from_db()
    assert not dev.device.is_offline
    assert alert.timeline.filter(kind=TimelineKind.BACK_ONLINE).exists()


def test_an_outage_folds_many_offline_devices_into_one_incident(make_device, elder, settings):
    settings.GUARDIAN_OFFLINE_FLOOD_THRESHOLD = 5
    devs = [make_device(elder, "smoke", interval=60) for _ in range(8)]
    later = timezone.now() + timedelta(minutes=10)
    assert devices_check_offline(now=later) == {"offline": 8, "folded": 8}
    incident = Alert.objects.get()
    assert incident.kind == AlertKind.OFFLINE_FLOOD and incident.elder is None and incident.repeat_count == 7
    assert len(incident.detail["trigger"]["serials"]) == 8
    assert Device.objects.filter(is_offline=True).count() == 8
    # While the incident is open, stragglers fold into it too.
    straggler = make_device(elder, "sos", interval=60)
    devices_check_offline(now=later + timedelta(minutes=10))
    incident.refresh_from_db()
    assert Alert.objects.count() == 1 and incident.repeat_count == 8
    assert devs and straggler


def test_inactivity_at_an_elder_living_alone(make_device, personas):
    alone = ElderFactory(name="独居长辈", living_arrangement=LivingArrangement.ALONE)
    with_family = ElderFactory(name="同住长辈")
    ElderWatch.objects.create(elder=alone, inactivity_minutes=120)
    door = make_device(alone, "door")
    make_device(with_family, "motion")
    # Daytime (only daytime counts toward the threshold: tests/guardian/test_inactivity_daytime.py).
    noon = timezone.make_aware(datetime(2026, 6, 10, 12, 0))
    events_ingest(messages=[door.incoming("door", at=noon - timedelta(minutes=100))], now=noon)
    assert elders_check_inactivity(now=noon) == 0
    assert elders_check_inactivity(now=noon + timedelta(minutes=30)) == 1
    alert = Alert.objects.get()
    assert (alert.kind, alert.severity, alert.elder) == (AlertKind.INACTIVITY, Severity.HIGH, alone)
    assert elders_check_inactivity(now=noon + timedelta(minutes=40)) == 0, "one alert while it lasts"
    events_ingest(messages=[door.incoming("motion")])
    assert alert.timeline.filter(kind=TimelineKind.MOVEMENT).exists()


def test_ingestion_silence_raises_one_operational_alert(make_device, elder, personas, client):
    dev = make_device(elder, "sos")
    Device.objects.filter(pk=dev.device.pk).update(created_at=timezone.now() - timedelta(hours=1))
    events_ingest(messages=[dev.incoming("heartbeat")])
    assert guardian_selfwatch(check_worker=False) == []
    later = timezone.now() + timedelta(minutes=11)
    assert guardian_selfwatch(now=later, check_worker=False) == [AlertKind.INGESTION_SILENCE]
    assert guardian_selfwatch(now=later, check_worker=False) == []
    alert = Alert.objects.get()
    assert alert.elder is None and alert.escalation_plan[0]["target"] == "console"
    # Operational alerts reach the console staff, not region-bound workers.
    client.force_login(personas["operator"])
    assert f'data-alert-id="{alert.pk}"' in client.get("/guardian/console/alerts/").content.decode()
    client.force_login(personas["worker"])
    assert client.get(f"/guardian/alerts/{alert.pk}/").status_code == 404


def test_a_stalled_worker_raises_an_operational_alert(db):
    from yiyang.guardian.tasks import guardian_inactivity

    result = guardian_inactivity.enqueue()
    DBTaskResult.objects.filter(pk=result.id).update(enqueued_at=timezone.now() - timedelta(minutes=10))
    assert guardian_selfwatch() == [AlertKind.WORKER_STALL]
    alert = Alert.objects.get()
    assert alert.state == AlertState.OPEN and alert.detail["trigger"]["waiting"] == 1


def test_positions_are_purged_after_the_retention_and_alerts_keep_their_copies(make_device, elder, personas, settings):
    from yiyang.guardian.operations import safezone_create

    settings.GUARDIAN_POSITION_RETENTION_DAYS = 90
    safezone_create(elder=elder, name="家", shape="circle", center_lat=28.45, center_lon=119.92, radius_m=100, actor=personas["worker"])
    dev = make_device(elder, "bracelet")
    old = timezone.now() - timedelta(days=91)
    events_ingest(messages=[dev.incoming("position", at=old + timedelta(minutes=i), lat=28.47, lon=119.94) for i in range(2)])
    DeviceEvent.objects.update(received_at=old)
    events_ingest(messages=[dev.incoming("sos")])
    counts = positions_purge()
    assert counts["positions"] == 2 and counts["events"] == 2
    assert not Position.objects.exists()
    assert DeviceEvent.objects.get().kind == "sos", "alarms are kept; only routine positions and heartbeats expire"
    assert len(Alert.objects.get(kind=AlertKind.WANDERING).detail["positions"]) == 2
