"""Notification channels. SMS and voice gateways plug in by adding a class with `send` to CHANNELS."""

import json
import logging
import urllib.error
import urllib.request
from typing import Protocol

from yiyang.guardian.models import Notification

log = logging.getLogger("yiyang.guardian.notify")


class DeliveryError(Exception):
    pass


class NotificationChannel(Protocol):
    name: str

    def send(self, notification: Notification) -> None:
        """Deliver or raise DeliveryError. Must not touch the database (the caller records the outcome)."""


class LogChannel:
    """Writes the notification to the log: development, drills, and the 96345 console's own record."""

    name = "log"

    def send(self, notification: Notification) -> None:
        p = notification.payload
        log.warning(
            "NOTIFY %s -> %s: alert #%s %s (%s) elder=%s",
            notification.target,
            notification.recipient_label,
            p.get("alert_id"),
            p.get("kind"),
            p.get("severity"),
            p.get("elder"),
        )


class WebhookChannel:
    """POSTs the payload as JSON to the step's URL (an SMS/voice gateway, a county duty system). 2xx is success."""

    name = "webhook"
    timeout = 5

    def send(self, notification: Notification) -> None:
        if not notification.address.startswith(("http://", "https://")):
            raise DeliveryError("no webhook address")
        body = dict(notification.payload)
        body["recipient"] = notification.recipient_label
        if body.get("contact_id"):
            # The gateway needs the real number; it is decrypted only here, at the edge, never stored in the outbox.
            from yiyang.people.models import ElderContact

            contact = ElderContact.objects.filter(pk=body["contact_id"]).first()
            body["phone"] = contact.reveal_phone() if contact and contact.phone_enc else None
        request = urllib.request.Request(  # noqa: S310 (http(s) checked above)
            notification.address,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": f"guardian-notification-{notification.pk}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (http(s) checked above)
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"HTTP {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise DeliveryError(str(getattr(exc, "reason", exc))) from exc


CHANNELS: dict[str, NotificationChannel] = {"log": LogChannel(), "webhook": WebhookChannel()}


def channel_for(name: str) -> NotificationChannel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise DeliveryError(f"unknown channel {name!r}") from None
