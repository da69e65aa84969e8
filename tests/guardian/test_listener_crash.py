"""Kill the real listener process in the middle of a stream and restart it: every event once, no alert lost or doubled.

The listener runs as `yiyang guardian listen` subprocesses against a file SQLite database (an in-memory test
database cannot be shared between processes), fed by a real Mosquitto with the project's configuration.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from django.utils import timezone

from tests.guardian.broker import LISTENER, SIMULATOR
from yiyang.guardian import crypto
from yiyang.guardian.brokerfiles import device_topic

pytestmark = pytest.mark.slow

SETUP = """
import json
from datetime import date
from yiyang.regions.operations import regions_load_lishui
from yiyang.regions.models import Region
from yiyang.people.models import Elder
from yiyang.accounts.models import User
from yiyang.guardian.operations import device_register
regions_load_lishui()
elder = Elder.objects.create(name="测试长辈", gender="female", birth_date=date(1940, 1, 1), residence_region=Region.objects.get(code="331102001"))
actor = User.objects.create(username="setup", role="admin", is_superuser=True)
out = []
for i in range(6):
    d, secret = device_register(elder=elder, device_type="sos" if i < 3 else "bracelet", serial=f"CRASH{i}", report_interval_seconds=60, actor=actor)
    out.append([d.serial, secret, d.device_type])
print("DEVICES=" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def file_db(tmp_path_factory):
    directory = tmp_path_factory.mktemp("guardian-crash")
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{directory / 'db.sqlite3'}",
        "YIYANG_VAR_DIR": str(directory),
        "DJANGO_SETTINGS_MODULE": "yiyang.settings",
        "YIYANG_LOG_LEVEL": "INFO",
    }
    env.pop("YIYANG_TASKS_IMMEDIATE", None)
    subprocess.run([sys.executable, "-m", "yiyang.cli", "migrate", "-v0"], env=env, check=True, timeout=300)
    out = subprocess.run(
        [sys.executable, "-m", "yiyang.cli", "shell", "-c", SETUP], env=env, check=True, timeout=120, capture_output=True, text=True
    ).stdout
    devices = json.loads(out.split("DEVICES=", 1)[1])
    return directory, env, devices


def start_listener(broker, env, log: Path) -> subprocess.Popen:
    handle = open(log, "ab")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "yiyang.cli", "guardian", "listen", "--host", broker.host, "--port", str(broker.port),
         "--username", LISTENER[0], "--password", LISTENER[1], "--client-id", "crash-test-listener", "--batch-size", "100"],
        env=env, stdout=handle, stderr=subprocess.STDOUT,
    )  # fmt: skip
    process.log_handle = handle
    deadline = time.monotonic() + 60
    while b"connected to" not in log.read_bytes():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "listener did not connect"
        time.sleep(0.1)
    return process


def child_pids(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")  # a zombie has ended; only its exit status waits to be collected


def db_count(path: Path, sql: str) -> int:
    with sqlite3.connect(path, timeout=30) as conn:
        return conn.execute(sql).fetchone()[0]


def test_kill_mid_stream_and_restart_stores_each_event_once(file_db, start_broker, tmp_path):
    directory, env, devices = file_db
    db = directory / "db.sqlite3"
    broker = start_broker([(serial, secret) for serial, secret, _ in devices])
    log = tmp_path / "listener.log"
    first = start_listener(broker, env, log)

    total, sos_every = 3000, 97
    published: list[tuple[str, str]] = []
    sos_count: dict[str, int] = {}
    sim = broker.client(*SIMULATOR, "crash-simulator")
    half_way = threading.Event()

    def stream():
        infos = []
        for i in range(total):
            serial, secret, kind = devices[i % len(devices)]
            msg_type = "sos" if kind == "sos" and i % sos_every == 0 else ("position" if kind == "bracelet" else "heartbeat")
            payload = {"v": 1, "device": serial, "id": uuid.uuid4().hex, "ts": timezone.now().isoformat(), "type": msg_type}
            if msg_type == "position":
                payload.update(lat=28.45, lon=119.92)
            payload["sig"] = crypto.sign(payload, secret)
            body = json.dumps(payload)
            infos.append(sim.publish(device_topic(serial, msg_type), body, qos=1))
            published.append((serial, payload["id"]))
            if msg_type == "sos":
                sos_count[serial] = sos_count.get(serial, 0) + 1
            if i % 50 == 0:
                # A device that did not get its PUBACK sends the same message again: at-least-once from the device side too.
                infos.append(sim.publish(device_topic(serial, msg_type), body, qos=1))
            if i == total // 3:
                half_way.set()
            if i % 200 == 0:
                time.sleep(0.05)
        for info in infos:
            info.wait_for_publish(30)

    publisher = threading.Thread(target=stream)
    publisher.start()
    half_way.wait(30)
    # Wait until the first listener has committed something, then kill it without warning.
    deadline = time.monotonic() + 30
    while db_count(db, "select count(*) from guardian_deviceevent") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    alarm_process = child_pids(first.pid)  # the listener's forked alarm process
    if Path(f"/proc/{first.pid}/task/{first.pid}/children").exists():
        assert alarm_process, "the listener serves alarms from a process of its own"
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    deadline = time.monotonic() + 15
    while any(running(pid) for pid in alarm_process) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(running(pid) for pid in alarm_process), "the alarm process must end with its killed parent"
    stored_by_first = db_count(db, "select count(*) from guardian_deviceevent")
    publisher.join(60)
    sim.disconnect()
    assert 0 < stored_by_first < total, "the kill must land mid-stream"

    second = start_listener(broker, env, log)
    deadline = time.monotonic() + 90
    while db_count(db, "select count(*) from guardian_deviceevent") < total and time.monotonic() < deadline:
        time.sleep(0.2)
    second.send_signal(signal.SIGTERM)
    assert second.wait(30) == 0, log.read_text()
    assert b"guardian listener stopped" in log.read_bytes()

    with sqlite3.connect(db) as conn:
        stored = set(conn.execute("select d.serial, e.message_id from guardian_deviceevent e join guardian_device d on d.id = e.device_id"))
        alerts = conn.execute(
            "select d.serial, a.kind, a.repeat_count, a.state from guardian_alert a join guardian_device d on d.id = a.device_id"
        ).fetchall()
    assert len(stored) == total and stored == set(published)
    assert db_count(db, "select count(*) from guardian_deviceevent") == total, "each event exactly once"
    # One open SOS alert per device, carrying every SOS press: none duplicated, none lost.
    assert sorted((serial, kind, repeats + 1, state) for serial, kind, repeats, state in alerts) == sorted(
        (serial, "sos", n, "open") for serial, n in sos_count.items()
    )
    for p in (first, second):
        p.log_handle.close()
