"""A real Mosquitto, started by the test with the project's broker configuration on a free port."""

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.services import require_binary
from yiyang.guardian.brokerfiles import write_broker_files

LISTENER = ("yiyang-listener", "listener-pw-3f9a")
SIMULATOR = ("yiyang-simulator", "simulator-pw-77b2")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, directory: Path, devices: list[tuple[str, str]]):
        self.binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.dir = directory
        self.port = free_port()
        self.host = "127.0.0.1"
        self.conf = write_broker_files(
            directory,
            devices=devices,
            listener_username=LISTENER[0],
            listener_password=LISTENER[1],
            port=self.port,
            simulator=SIMULATOR,
            run_as=getpass.getuser(),  # root would otherwise drop to 'mosquitto', which cannot read the test's 0600 files
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> "Broker":
        self.log = open(self.dir / "mosquitto.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen([self.binary, "-c", str(self.conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {(self.dir / 'mosquitto.log').read_text()}")
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.log.close()

    def client(self, username: str, password: str, client_id: str, **kw) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, **kw)
        c.username_pw_set(username, password)
        c.max_inflight_messages_set(1000)
        c.connect(self.host, self.port, keepalive=30)
        c.loop_start()
        return c


@pytest.fixture
def start_broker(tmp_path):
    require_binary("mosquitto", shutil.which("mosquitto") or (Path("/usr/sbin/mosquitto").exists() and "/usr/sbin/mosquitto") or None)
    started: list[Broker] = []

    def start(devices: list[tuple[str, str]]) -> Broker:
        b = Broker(tmp_path / f"broker{len(started)}", devices).start()
        started.append(b)
        return b

    yield start
    for b in started:
        b.stop()
