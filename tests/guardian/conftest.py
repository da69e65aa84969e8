import itertools
import uuid
from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from tests.guardian.broker import start_broker  # noqa: F401 (a fixture for every guardian test)
from yiyang.guardian import crypto
from yiyang.guardian.operations import Incoming, device_register

_serials = itertools.count(1)


class Dev:
    """A registered device and what it needs to speak: its serial and secret."""

    def __init__(self, device, secret):
        self.device = device
        self.serial = device.serial
        self.secret = secret

    def message(
        self, kind: str = "heartbeat", *, at: datetime | None = None, msg_id: str | None = None, sign: bool = True, **fields
    ) -> dict:
        payload = {
            "v": 1,
            "device": self.serial,
            "id": msg_id or uuid.uuid4().hex,
            "ts": (at or timezone.now()).isoformat(),
            "type": kind,
            **fields,
        }
        if sign:
            payload["sig"] = crypto.sign(payload, self.secret)
        return payload

    def incoming(self, kind: str = "heartbeat", *, channel: str = "http", **kw) -> Incoming:
        return Incoming(body=self.message(kind, **kw), channel=channel)


@pytest.fixture
def make_device(db, personas):
    def make(elder, device_type="sos", *, interval: int = 60, serial: str | None = None) -> Dev:
        device, secret = device_register(
            elder=elder,
            device_type=device_type,
            serial=serial or f"T{device_type.upper()}{next(_serials):05d}",
            install_location="卧室",
            report_interval_seconds=interval,
            actor=personas["worker"],
        )
        return Dev(device, secret)

    return make


def minutes_ago(n: float) -> datetime:
    return timezone.now() - timedelta(minutes=n)
