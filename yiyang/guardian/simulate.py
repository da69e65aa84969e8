"""Realistic device traffic for the demo, drills and the benchmark: heartbeats, walks around a village, occasional alarms."""

import json
import math
import random
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from yiyang.guardian import crypto
from yiyang.guardian.brokerfiles import device_topic

# 莲都区 centre, used when an elder has no location of their own.
DEFAULT_HOME = (28.4517, 119.9219)


@dataclass
class SimDevice:
    serial: str
    secret: str
    device_type: str
    home: tuple[float, float] = DEFAULT_HOME
    lat: float = 0.0
    lon: float = 0.0
    wandering: int = 0
    seq: int = field(default=0)

    def __post_init__(self):
        self.lat, self.lon = self.home


def registry_sim_devices() -> list[SimDevice]:
    from yiyang.guardian.models import Device

    found = []
    for d in Device.objects.filter(is_active=True).select_related("elder"):
        zone = d.elder.safe_zones.filter(shape="circle").first()
        home = (zone.center_lat, zone.center_lon) if zone else (getattr(d.elder, "lat", None), getattr(d.elder, "lng", None))
        if home[0] is None or home[1] is None:
            home = DEFAULT_HOME
        found.append(SimDevice(d.serial, crypto.decrypt_secret(d.secret_encrypted), d.device_type, home))
    return found


class Traffic:
    """Generates signed messages; each call picks a device and what it has to say."""

    def __init__(
        self, devices: list[SimDevice], *, alarm_probability: float = 0.002, wander_probability: float = 0.01, seed: int | None = None
    ):
        self.devices = devices
        self.alarm_probability = alarm_probability
        self.wander_probability = wander_probability
        self.random = random.Random(seed)

    def message(self, device: SimDevice | None = None, kind: str | None = None) -> tuple[SimDevice, dict]:
        d = device or self.random.choice(self.devices)
        d.seq += 1
        payload: dict = {"v": 1, "device": d.serial, "id": f"{d.seq}-{uuid.uuid4().hex[:12]}", "ts": timezone.now().isoformat()}
        if kind is None:
            kind = self._kind(d)
        payload["type"] = kind
        payload["battery"] = max(5, 100 - d.seq // 500)
        if kind == "position":
            self._walk(d)
            payload.update(lat=round(d.lat, 6), lon=round(d.lon, 6), acc=self.random.choice([5, 8, 12, 20]))
        payload["sig"] = crypto.sign(payload, d.secret)
        return d, payload

    def _kind(self, d: SimDevice) -> str:
        r = self.random.random()
        if d.device_type == "bracelet":
            if d.wandering == 0 and r < self.wander_probability:
                d.wandering = self.random.randint(3, 8)
            return "position" if r > 0.1 else "heartbeat"
        if d.device_type in ("door", "motion"):
            return d.device_type if r < 0.3 else "heartbeat"
        if r < self.alarm_probability:
            return {"smoke": "smoke", "gas": "gas", "sos": "sos", "fall": "fall"}.get(d.device_type, "heartbeat")
        return "heartbeat"

    def _walk(self, d: SimDevice) -> None:
        if d.wandering:
            # Walks away from home ~150 m per fix.
            d.wandering -= 1
            bearing = math.atan2(d.lat - d.home[0], d.lon - d.home[1]) if (d.lat, d.lon) != d.home else self.random.uniform(0, 2 * math.pi)
            d.lat += 0.00135 * math.sin(bearing)
            d.lon += 0.00135 * math.cos(bearing)
            if d.wandering == 0:
                d.lat, d.lon = d.home  # found and brought home
        else:
            # Pottering about within ~80 m of home, with GPS jitter.
            d.lat = d.home[0] + self.random.gauss(0, 0.0004)
            d.lon = d.home[1] + self.random.gauss(0, 0.0004)

    def stream(self, rate: float, duration: float | None = None) -> Iterator[tuple[SimDevice, dict]]:
        start = time.monotonic()
        sent = 0
        while duration is None or time.monotonic() - start < duration:
            due = start + sent / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            yield self.message()
            sent += 1


def mqtt_publisher(host: str, port: int, *, client_id: str, username: str = "", password: str = ""):
    """A connected paho client (QoS 1 publishing); the caller loops and disconnects."""
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    if username:
        client.username_pw_set(username, password)
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    client.connect(host, port, keepalive=30)
    client.loop_start()
    return client


def publish(client, d: SimDevice, payload: dict):
    return client.publish(device_topic(d.serial, payload["type"]), json.dumps(payload, ensure_ascii=False), qos=1)


def post_http(url: str, payload: dict) -> int:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (operator-given URL)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
