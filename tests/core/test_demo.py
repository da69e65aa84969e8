"""The README's promise: `uv run yiyang demo` from nothing, and again on a fresh clone."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.services import IN_CI

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the demo is the embedded-SQLite set-up; it is tested in the SQLite run",
    ),
]
REPO = Path(__file__).resolve().parents[2]
DEMO_PASSWORD = "demo-test-password-42"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def demo_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "YIYANG_", "DJANGO_", "VIRTUAL_ENV"))}
    env["YIYANG_DEMO_PASSWORD"] = DEMO_PASSWORD
    return env


def wait_for_health(base: str, process: subprocess.Popen, seconds: float = 400) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"demo exited early with {process.returncode}: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                return json.loads(response.read())
        except OSError:
            time.sleep(0.5)
    raise AssertionError("demo did not answer /healthz in time")


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=30)
    return output


def run_demo(command: list[str], cwd: Path) -> tuple[dict, str, float]:
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [*command, "demo", "--port", str(port)], cwd=cwd, env=demo_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", process)
        elapsed = time.monotonic() - started
        token = post_json(f"http://127.0.0.1:{port}/api/v1/auth/token", {"username": "county-331102", "password": DEMO_PASSWORD})["token"]
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.loads(response.read())["regions"] == ["331102"]
    finally:
        output = stop(process)
        forget_broker_sessions(cwd / "var")
    assert process.returncode == 0, output
    return health, output, elapsed


def forget_broker_sessions(var: Path) -> None:
    """The demo's listener keeps a persistent session on the machine's shared broker, named after its
    var directory. A test's var directory is thrown away, so its sessions are ended here; otherwise every
    run would leave two sessions on the broker queueing later demos' traffic."""
    import hashlib

    import paho.mqtt.client as mqtt

    tag = hashlib.sha256(str(var.resolve()).encode()).hexdigest()[:10]
    for client_id in (f"yiyang-demo-{tag}", f"yiyang-demo-{tag}-alarms"):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
        try:
            client.connect("127.0.0.1", 1883, keepalive=5)
            client.loop_start()
            time.sleep(0.2)
            client.disconnect()
            client.loop_stop()
        except OSError:
            return  # no broker: the demo used HTTP ingestion and left no session


def test_demo_starts_from_nothing_keeps_its_data_and_stops_cleanly(tmp_path):
    command = [sys.executable, "-m", "yiyang.cli"]
    health, output, first = run_demo(command, tmp_path)
    assert health["status"] == "ok"
    assert "county-331102" in output and "http://127.0.0.1:" in output and "Stopped." in output
    database = tmp_path / "var" / "yiyang.sqlite3"
    assert database.exists()
    counts_after_first = _row_counts(database)
    _health, output, second = run_demo(command, tmp_path)
    # Start-up time is reported, not asserted (speed is for bench/); what must hold is that a restart
    # keeps the data as it was and adds no second copy of the demo.
    print(f"first start {first:.1f}s, second start {second:.1f}s")
    assert "Stopped." in output
    assert _row_counts(database) == counts_after_first


def _row_counts(database) -> dict:
    import sqlite3

    tables = ("people_elder", "homecare_caregiver", "homecare_serviceitem", "guardian_device", "accounts_user")
    with sqlite3.connect(database) as db:
        return {table: db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables}


def test_readme_commands_work_on_a_fresh_clone(tmp_path):
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        if IN_CI:
            pytest.fail("uv is not on PATH")
        pytest.skip("uv is not on PATH")
    readme = (REPO / "README.md").read_text()
    assert readme.index("uv run yiyang demo") < readme.index("uv run pytest")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    health, output, _ = run_demo([uv, "run", "--quiet", "yiyang"], clone)
    assert health["status"] == "ok"
    result = subprocess.run(
        [uv, "run", "--quiet", "pytest", "-q", "-p", "no:cacheprovider", "tests/core/test_healthz.py"],
        cwd=clone,
        env=demo_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
