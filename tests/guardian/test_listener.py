"""The listener against a real Mosquitto (started here, with the project's configuration)."""

import json
import threading
import time

import pytest

from tests.guardian.broker import LISTENER, SIMULATOR
from yiyang.guardian.brokerfiles import device_topic
from yiyang.guardian.listener import Listener
from yiyang.guardian.models import Alert, AlertKind, DeviceEvent, RejectedMessage


def run_listener(broker, *, until, timeout: float = 15.0, client_id: str = "test-listener") -> Listener:
    listener = Listener(
        host=broker.host, port=broker.port, username=LISTENER[0], password=LISTENER[1], client_id=client_id, selfwatch_every=0
    )
    deadline = time.monotonic() + timeout
    listener.run(until=lambda: until(listener) or time.monotonic() > deadline)
    return listener


def publish_all(client, items, qos: int = 1) -> None:
    infos = [client.publish(topic, body if isinstance(body, bytes | str) else json.dumps(body), qos=qos) for topic, body in items]
    for info in infos:
        info.wait_for_publish(10)


@pytest.fixture
def elder(elders):
    return elders["liandu"]


def test_listener_stores_rejects_and_acks(make_device, elder, start_broker):
    sos, bracelet = make_device(elder, "sos"), make_device(elder, "bracelet")
    broker = start_broker([(sos.serial, sos.secret), (bracelet.serial, bracelet.secret)])
    # The listener's first connection creates its persistent session (and subscription).
    run_listener(broker, until=lambda lis: lis.connected.is_set() and time.sleep(0.2) is None)
    device_client = broker.client(sos.serial, sos.secret, "dev-sos")
    items = [(device_topic(sos.serial), sos.message("heartbeat")) for _ in range(30)]
    items += [(device_topic(sos.serial, "sos"), sos.message("sos")), (device_topic(sos.serial), b"{not json")]
    items += [(device_topic(sos.serial, "sos"), {**sos.message("sos"), "sig": "00" * 32})]
    publish_all(device_client, items)
    device_client.disconnect()
    listener = run_listener(broker, until=lambda lis: lis.stats.received >= 33)
    assert (listener.stats.accepted, listener.stats.rejected) == (31, 2)
    assert listener.stats.rejected_by_reason == {"malformed": 1, "bad_signature": 1}
    assert DeviceEvent.objects.filter(device=sos.device).count() == 31
    assert Alert.objects.get().kind == AlertKind.SOS
    assert RejectedMessage.objects.count() == 2
    # Everything was acknowledged: the session owes the listener nothing more.
    again = run_listener(broker, until=lambda lis: False, timeout=1.5)
    assert again.stats.received == 0


def test_a_device_cannot_publish_on_another_devices_topic(make_device, elder, start_broker):
    mine, other = make_device(elder, "sos"), make_device(elder, "sos")
    broker = start_broker([(mine.serial, mine.secret), (other.serial, other.secret)])
    run_listener(broker, until=lambda lis: lis.connected.is_set() and time.sleep(0.2) is None)
    intruder = broker.client(mine.serial, mine.secret, "dev-intruder")
    # Signed with the other device's secret, but the broker's ACL only lets `mine` write its own topic.
    publish_all(
        intruder,
        [
            (device_topic(other.serial, "sos"), other.message("sos")),
            (device_topic(other.serial), other.message("heartbeat")),
            (device_topic(mine.serial), mine.message("heartbeat")),
        ],
    )
    intruder.disconnect()
    listener = run_listener(broker, until=lambda lis: lis.stats.received >= 1, timeout=5)
    time.sleep(0.3)
    assert listener.stats.received == 1
    assert not Alert.objects.exists()
    assert DeviceEvent.objects.get().device == mine.device


def test_a_burst_while_the_listener_is_down_is_kept_beyond_debians_1000_message_queue(make_device, elder, start_broker):
    dev = make_device(elder, "bracelet")
    broker = start_broker([(dev.serial, dev.secret)])
    run_listener(broker, until=lambda lis: lis.connected.is_set() and time.sleep(0.2) is None)
    sim = broker.client(*SIMULATOR, "simulator")
    publish_all(sim, [(device_topic(dev.serial), dev.message("heartbeat")) for _ in range(2500)])
    sim.disconnect()
    listener = run_listener(broker, until=lambda lis: lis.stats.received >= 2500, timeout=60)
    assert listener.stats.accepted == 2500
    assert DeviceEvent.objects.count() == 2500


def test_an_alarm_does_not_wait_behind_a_backlog_of_routine_messages(make_device, elder, start_broker):
    bracelet, sos = make_device(elder, "bracelet"), make_device(elder, "sos")
    broker = start_broker([(bracelet.serial, bracelet.secret), (sos.serial, sos.secret)])
    run_listener(broker, until=lambda lis: lis.connected.is_set() and time.sleep(0.2) is None)
    sim = broker.client(*SIMULATOR, "simulator")
    publish_all(sim, [(device_topic(bracelet.serial), bracelet.message("heartbeat")) for _ in range(3000)])
    publish_all(sim, [(device_topic(sos.serial, "sos"), sos.message("sos"))])
    sim.disconnect()
    backlog_when_alarm_stored = []

    def until(listener):
        if not backlog_when_alarm_stored and Alert.objects.filter(kind=AlertKind.SOS).exists():
            backlog_when_alarm_stored.append(DeviceEvent.objects.filter(device=bracelet.device).count())
        return listener.stats.received >= 3001

    run_listener(broker, until=until, timeout=60)
    assert DeviceEvent.objects.count() == 3001
    # Published last, stored (nearly) first: the alarm session is served before the routine backlog.
    assert backlog_when_alarm_stored and backlog_when_alarm_stored[0] <= 1000


@pytest.mark.django_db(transaction=True)
def test_alarms_are_stored_on_their_own_while_a_routine_batch_is_still_being_stored(elders, make_device, start_broker):
    bracelet, sos = make_device(elders["liandu"], "bracelet"), make_device(elders["liandu"], "sos")
    broker = start_broker([(bracelet.serial, bracelet.secret), (sos.serial, sos.secret)])
    run_listener(broker, until=lambda lis: lis.connected.is_set() and time.sleep(0.2) is None)
    sim = broker.client(*SIMULATOR, "simulator")
    publish_all(sim, [(device_topic(bracelet.serial), bracelet.message("heartbeat")) for _ in range(50)])
    publish_all(sim, [(device_topic(sos.serial, "sos"), sos.message("sos"))])
    sim.disconnect()
    seen = {}

    class SlowRoutine(Listener):
        def _store(self, batch):
            if threading.current_thread() is threading.main_thread() and "alarm_first" not in seen:
                # The routine batch is held here until the alarm is in the database (or 20 s pass).
                deadline = time.monotonic() + 20
                while not Alert.objects.filter(kind=AlertKind.SOS).exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                seen["alarm_first"] = Alert.objects.filter(kind=AlertKind.SOS).exists()
                seen["routine_then"] = DeviceEvent.objects.filter(device=bracelet.device).count()
            super()._store(batch)

    listener = SlowRoutine(
        host=broker.host,
        port=broker.port,
        username=LISTENER[0],
        password=LISTENER[1],
        client_id="test-listener",
        selfwatch_every=0,
        alarms="thread",  # the `listen` command forks a process instead; this test's in-memory database cannot follow it there
    )
    deadline = time.monotonic() + 30
    listener.run(until=lambda: listener.stats.received >= 51 or time.monotonic() > deadline)
    assert seen == {"alarm_first": True, "routine_then": 0}
    assert listener.stats.accepted == 51
    assert DeviceEvent.objects.count() == 51


def test_a_message_the_database_refuses_is_rejected_alone_and_the_rest_of_its_batch_is_stored(make_device, elder, monkeypatch):
    from django.db import DataError

    from yiyang.guardian import listener as listener_module
    from yiyang.guardian.operations import Incoming

    dev = make_device(elder, "bracelet")
    messages = [Incoming(dev.message("heartbeat"), channel="mqtt", topic=device_topic(dev.serial)) for _ in range(7)]
    poison = messages[4]
    real_ingest = listener_module.events_ingest

    def refusing_ingest(*, messages):
        if poison in messages:
            raise DataError("invalid input syntax")  # as PostgreSQL says of a value it cannot store
        return real_ingest(messages=messages)

    monkeypatch.setattr(listener_module, "events_ingest", refusing_ingest)
    listener = Listener(host="127.0.0.1", port=1, client_id="unit", selfwatch_every=0)
    result = listener._ingest(messages)
    assert result.status == ["accepted"] * 4 + ["rejected"] + ["accepted"] * 2
    assert result.reasons[4].reason == "unstorable"
    assert DeviceEvent.objects.count() == 6
    assert RejectedMessage.objects.get().reason == "unstorable"
