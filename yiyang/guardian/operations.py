"""Silver Guardian writes. MQTT listener, HTTP endpoint, pages and tasks all call these functions.

Ingestion (`events_ingest`) is the one path from a device message to stored events and alerts:
validate -> authenticate -> de-duplicate on (device, message id) -> store in one transaction per
batch -> apply the rules -> open or attach alerts -> start escalation (task rows in the same
transaction, so an alert never exists without its escalation, nor the reverse).
"""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from yiyang.audit.operations import audit_record
from yiyang.core.errors import DomainError, StateConflict
from yiyang.guardian import bulk, crypto, zones
from yiyang.guardian.models import (
    ALERT_TRANSITIONS,
    SEVERITY_RANK,
    UNRESOLVED,
    Alert,
    AlertEvent,
    AlertKind,
    AlertState,
    AlertTransition,
    Channel,
    Device,
    DeviceEvent,
    DeviceType,
    ElderWatch,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Notification,
    Outcome,
    Position,
    RejectedMessage,
    SafeZone,
    Severity,
    TimelineKind,
)

log = logging.getLogger("yiyang.guardian")

# Message schema ------------------------------------------------------------------------------

EVENT_KINDS = {"heartbeat", "position", "smoke", "gas", "sos", "fall", "door", "motion", "tamper"}
ALARM_KINDS = {"smoke": AlertKind.SMOKE, "gas": AlertKind.GAS, "sos": AlertKind.SOS, "fall": AlertKind.FALL}
ACTIVITY_KINDS = {"door", "motion"}
LOW_BATTERY_PERCENT = 15
MAX_CLOCK_SKEW = timedelta(hours=1)
RECENT_POSITIONS = 5
OUTSIDE_FIXES_TO_ALARM = 2

KIND_SEVERITY = {
    AlertKind.SMOKE: Severity.CRITICAL,
    AlertKind.GAS: Severity.CRITICAL,
    AlertKind.SOS: Severity.CRITICAL,
    AlertKind.FALL: Severity.CRITICAL,
    AlertKind.WANDERING: Severity.HIGH,
    AlertKind.INACTIVITY: Severity.HIGH,
    AlertKind.OFFLINE: Severity.MEDIUM,
    AlertKind.TAMPER: Severity.MEDIUM,
    AlertKind.LOW_BATTERY: Severity.LOW,
    AlertKind.INGESTION_SILENCE: Severity.HIGH,
    AlertKind.WORKER_STALL: Severity.HIGH,
    AlertKind.OFFLINE_FLOOD: Severity.HIGH,
}


class Rejected(DomainError):
    """A message that is not processed. `reason` is the counter it is filed under."""

    def __init__(self, reason: str, message: str, *, field: str | None = None, status: int = 400):
        super().__init__(message, field=field, code=reason, status=status)
        self.reason = reason


@dataclass
class Incoming:
    """One raw message as a transport received it."""

    body: bytes | str | dict
    channel: str = Channel.MQTT
    topic: str = ""
    # The serial named by the topic (MQTT); the broker's ACL guarantees who may publish there.
    topic_serial: str | None = None


@dataclass(slots=True)
class Parsed:
    index: int
    payload: dict
    serial: str
    message_id: str
    kind: str
    occurred_at: datetime
    battery: int | None
    # The message as JSON text (what was received, or the dict serialised): stored as the event's payload.
    text: str = ""
    lat: float | None = None
    lon: float | None = None
    accuracy: int | None = None
    device: "DeviceState | None" = None


@dataclass(slots=True)
class DeviceState:
    """A device's configuration and running state as one batch sees it (read under lock; written back in bulk)."""

    pk: int
    serial: str
    elder_id: int
    device_type: str
    is_active: bool
    report_interval_seconds: int
    secret_encrypted: bytes
    last_seen_at: datetime | None
    last_activity_at: datetime | None
    battery: int | None
    is_offline: bool
    consecutive_outside: int
    recent_positions: list | str  # JSON text until the position rule needs it (PostgreSQL)
    positions_changed: bool = False
    _model: Device | None = None

    def model(self) -> Device:
        """The Device row with its elder and region, loaded only when an alert needs them."""
        if self._model is None:
            self._model = Device.objects.select_related("elder__residence_region").get(pk=self.pk)
        return self._model


# Decrypted device secrets, keyed by their ciphertext: a changed secret is a new key, so nothing goes stale.
_SECRETS: dict[bytes, str] = {}


def _device_secret(encrypted: bytes | memoryview) -> str:
    blob = bytes(encrypted)
    secret = _SECRETS.get(blob)
    if secret is None:
        if len(_SECRETS) > 100_000:
            _SECRETS.clear()
        secret = _SECRETS[blob] = crypto.decrypt_secret(blob)
    return secret


@dataclass
class IngestResult:
    status: list[str] = field(default_factory=list)  # per input: accepted | duplicate | rejected
    reasons: dict[int, Rejected] = field(default_factory=dict)
    alerts_opened: list[int] = field(default_factory=list)

    def count(self, status: str) -> int:
        return self.status.count(status)


def _no_constant(name: str):
    # JSON has no NaN or Infinity (Python's json module accepts them; the databases' JSON types do not).
    raise ValueError(name)


def parse_message(body: bytes | str | dict, *, now: datetime, index: int = 0) -> Parsed:
    """Validate one message against the documented schema (docs/guardian.md)."""
    if isinstance(body, dict):
        payload = body
        try:
            text = json.dumps(body, allow_nan=False)  # ASCII: NUL and lone surrogates show as escapes, caught below
        except (TypeError, ValueError):
            raise Rejected("malformed", _("The message is not valid JSON."))
    else:
        try:
            text = body.decode() if isinstance(body, bytes | bytearray) else body
            payload = json.loads(text, parse_constant=_no_constant)
        except (ValueError, UnicodeDecodeError):
            raise Rejected("malformed", _("The message is not valid JSON."))
    if not isinstance(payload, dict):
        raise Rejected("malformed", _("The message must be a JSON object."))
    if "\\u0000" in text or "\x00" in text or ("\\ud" in text.lower() and not _encodable(payload)):
        # NUL characters and lone surrogates cannot be stored (PostgreSQL's text and jsonb refuse them).
        raise Rejected("malformed", _("The message contains characters that are not allowed."))

    def text_field(name: str, max_length: int) -> str:
        value = payload.get(name)
        if not isinstance(value, str) or not value.strip():
            raise Rejected("malformed", _("%(field)s: this field is required and must be text.") % {"field": name}, field=name)
        if len(value) > max_length:
            raise Rejected("malformed", _("%(field)s: at most %(n)s characters.") % {"field": name, "n": max_length}, field=name)
        return value

    def number(name: str, low: float, high: float, *, required: bool = False) -> float | None:
        value = payload.get(name)
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not (low <= value <= high):
            raise Rejected(
                "malformed", _("%(field)s: a number from %(low)s to %(high)s.") % {"field": name, "low": low, "high": high}, field=name
            )
        return value

    serial = text_field("device", 64)
    message_id = text_field("id", 64)
    kind = text_field("type", 16)
    if kind not in EVENT_KINDS:
        raise Rejected("malformed", _("type: one of %(kinds)s.") % {"kinds": ", ".join(sorted(EVENT_KINDS))}, field="type")
    raw_ts = payload.get("ts")
    occurred = None
    if isinstance(raw_ts, str):
        try:
            occurred = parse_datetime(raw_ts)
        except ValueError:
            occurred = None
    elif isinstance(raw_ts, int | float) and not isinstance(raw_ts, bool) and raw_ts > 0:
        occurred = datetime.fromtimestamp(raw_ts / 1000, tz=timezone.UTC) if raw_ts < 1e14 else None
    if occurred is None or timezone.is_naive(occurred):
        raise Rejected("malformed", _("ts: a date and time with its offset (ISO 8601) or epoch milliseconds."), field="ts")
    if occurred > now + MAX_CLOCK_SKEW:
        raise Rejected("malformed", _("ts: the time is in the future; check the device clock."), field="ts")
    battery = number("battery", 0, 100)
    parsed = Parsed(index, payload, serial, message_id, kind, occurred, int(battery) if battery is not None else None, text)
    if kind == "position":
        parsed.lat = float(number("lat", -90, 90, required=True))
        parsed.lon = float(number("lon", -180, 180, required=True))
        acc = number("acc", 0, 100_000)
        parsed.accuracy = int(acc) if acc is not None else None
    if "data" in payload and not isinstance(payload["data"], dict):
        raise Rejected("malformed", _("data: must be a JSON object."), field="data")
    if "sig" in payload and not isinstance(payload["sig"], str):
        raise Rejected("malformed", _("sig: must be a hex string."), field="sig")
    return parsed


def _encodable(payload: dict) -> bool:
    try:
        json.dumps(payload, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _authenticate(parsed: Parsed, incoming: Incoming, device: DeviceState | None) -> None:
    if device is None or not device.is_active:
        raise Rejected("unknown_device", _("device: no active device with this serial."), field="device", status=401)
    if incoming.topic_serial is not None and incoming.topic_serial != parsed.serial:
        # A device may only speak for itself: its topic (guarded by the broker ACL) must name it.
        raise Rejected("topic_mismatch", _("device: the topic belongs to another device."), field="device", status=403)
    if "sig" in parsed.payload:
        if not crypto.signature_valid(parsed.payload, _device_secret(device.secret_encrypted)):
            raise Rejected("bad_signature", _("sig: the signature does not match this device's secret."), field="sig", status=401)
        return
    trusted = incoming.channel == Channel.MQTT and incoming.topic_serial is not None and settings.GUARDIAN_MQTT_TRUST_BROKER_AUTH
    if not trusted:
        raise Rejected("missing_signature", _("sig: this field is required."), field="sig", status=401)


def _excerpt(body) -> str:
    if isinstance(body, dict):
        body = json.dumps(body, ensure_ascii=False, default=str)
    if isinstance(body, bytes):
        body = body[:300].decode("utf-8", "replace")
    # NUL cannot be stored in a text column; the excerpt is for people to read.
    return str(body)[:200].replace("\x00", "\ufffd").encode("utf-8", "replace").decode()


def events_ingest(*, messages: list[Incoming], now: datetime | None = None) -> IngestResult:
    """Store a batch of device messages once each and apply the rules. Never raises for bad messages."""
    for attempt in range(3):
        try:
            return _ingest_once(messages, now or timezone.now())
        except IntegrityError:
            # Another ingester opened the same alert between our check and our insert; the rerun
            # sees its rows (events themselves are de-duplicated by the insert).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def events_reject_unstorable(*, message: Incoming, now: datetime | None = None) -> IngestResult:
    """Record a message that passed validation but that the database refuses to store (the listener's last resort)."""
    exc = Rejected("unstorable", _("The message could not be stored."))
    RejectedMessage.objects.create(
        channel=message.channel,
        topic=message.topic[:255],
        reason=exc.reason,
        detail=exc.message[:255],
        excerpt=_excerpt(message.body),
        at=now or timezone.now(),
    )
    return IngestResult(status=["rejected"], reasons={0: exc})


def _ingest_once(messages: list[Incoming], now: datetime) -> IngestResult:
    result = IngestResult(status=["rejected"] * len(messages))
    parsed: list[Parsed] = []
    for i, incoming in enumerate(messages):
        try:
            parsed.append(parse_message(incoming.body, now=now, index=i))
        except Rejected as exc:
            result.reasons[i] = exc
    with transaction.atomic():
        # Locking the devices serialises concurrent ingesters (HTTP, the listener's two sessions) on a
        # device's running state. Plain tuples, not model instances: the elder is loaded only when an
        # alert opens (rare).
        devices = {row[1]: DeviceState(*row) for row in bulk.lock_devices({p.serial for p in parsed})}
        authentic: list[Parsed] = []
        seen: set[tuple[int, str]] = set()
        for p in parsed:
            try:
                _authenticate(p, messages[p.index], devices.get(p.serial))
            except Rejected as exc:
                result.reasons[p.index] = exc
                continue
            p.device = devices[p.serial]
            key = (p.device.pk, p.message_id)
            if key in seen:
                result.status[p.index] = "duplicate"
                continue
            seen.add(key)
            authentic.append(p)
        # De-duplication on (device, message id) happens in the insert itself.
        inserted = bulk.insert_events(
            [(p.device.pk, p.message_id, p.kind, p.occurred_at, messages[p.index].channel, p.battery, p.text) for p in authentic],
            received_at=now,
        )
        fresh: list[Parsed] = []
        for p in authentic:
            if (p.device.pk, p.message_id) in inserted:
                result.status[p.index] = "accepted"
                fresh.append(p)
            else:
                result.status[p.index] = "duplicate"
        if result.reasons:
            RejectedMessage.objects.bulk_create(
                [
                    RejectedMessage(
                        channel=messages[i].channel,
                        topic=messages[i].topic[:255],
                        reason=exc.reason,
                        detail=exc.message[:255],
                        excerpt=_excerpt(messages[i].body),
                        at=now,
                    )
                    for i, exc in result.reasons.items()
                ]
            )
            for i, exc in result.reasons.items():
                log.warning("guardian: rejected %s message on %r: %s", exc.reason, messages[i].topic, exc.message)
        _apply_rules(fresh, now, result)
    return result


# Rules ----------------------------------------------------------------------------------------


def _apply_rules(events: list[Parsed], now: datetime, result: IngestResult) -> None:
    if not events:
        return
    by_device: dict[int, list[Parsed]] = defaultdict(list)
    for p in events:
        by_device[p.device.pk].append(p)
    elder_ids = {p.device.elder_id for p in events if p.kind == "position"}
    zones_by_elder: dict[int, list[SafeZone]] = defaultdict(list)
    if elder_ids:
        for z in SafeZone.objects.filter(elder_id__in=elder_ids, is_active=True):
            zones_by_elder[z.elder_id].append(z)
    positions: list[tuple] = []
    changed: list[tuple] = []
    moved_elders: set[int] = set()
    for device_events in by_device.values():
        device = device_events[0].device
        device_events.sort(key=lambda p: p.occurred_at)
        if device.is_offline:
            device.is_offline = False
            _note_open(device, AlertKind.OFFLINE, TimelineKind.BACK_ONLINE, _("The device reports again."), now)
        for p in device_events:
            if device.last_seen_at is None or p.occurred_at > device.last_seen_at:
                device.last_seen_at = p.occurred_at
                if p.battery is not None:
                    device.battery = p.battery
            kind = p.kind
            if kind == "heartbeat":
                pass
            elif kind == "position":
                positions.append(_position_rule(result, device, p, zones_by_elder[device.elder_id], now))
            elif kind in ALARM_KINDS:
                _raise(result, kind=ALARM_KINDS[kind], device=device, at=p.occurred_at, now=now, ref=_ref(p))
            elif kind == "tamper":
                _raise(result, kind=AlertKind.TAMPER, device=device, at=p.occurred_at, now=now, ref=_ref(p))
            elif kind in ACTIVITY_KINDS:
                if device.last_activity_at is None or p.occurred_at > device.last_activity_at:
                    device.last_activity_at = p.occurred_at
                moved_elders.add(device.elder_id)
            if p.battery is not None and p.battery <= LOW_BATTERY_PERCENT:
                _raise(result, kind=AlertKind.LOW_BATTERY, device=device, at=p.occurred_at, now=now, ref={**_ref(p), "battery": p.battery})
        # The offline deadline runs from when we last heard the device, not its clock.
        changed.append(
            (
                device.last_seen_at,
                device.last_activity_at,
                device.battery,
                device.is_offline,
                now + timedelta(seconds=3 * device.report_interval_seconds),
                device.consecutive_outside,
                device.recent_positions if device.positions_changed else None,
                device.pk,
            )
        )
    if moved_elders:
        # One query for the batch (not one per door or motion event): movement ends a "no movement" alarm's worry.
        open_inactivity = Alert.objects.filter(
            dedup_key__in=[f"elder:{e}:inactivity" for e in moved_elders], state__in=UNRESOLVED
        ).select_for_update()
        AlertEvent.objects.bulk_create(
            [AlertEvent(alert=a, kind=TimelineKind.MOVEMENT, at=now, text=_("Movement detected.")) for a in open_inactivity]
        )
    bulk.insert_positions(positions)
    bulk.update_devices(changed)


def _ref(p: Parsed) -> dict:
    return {"message_id": p.message_id, "at": p.occurred_at.isoformat()}


def _position_rule(result: IngestResult, device: DeviceState, p: Parsed, elder_zones: list[SafeZone], now: datetime) -> tuple:
    inside = zones.inside_any(elder_zones, p.lat, p.lon, p.occurred_at)
    fix = {"lat": p.lat, "lon": p.lon, "at": p.occurred_at.isoformat(), "inside": inside, "message_id": p.message_id}
    recent = device.recent_positions
    if isinstance(recent, str | bytes):
        recent = json.loads(recent)
    device.recent_positions = [*recent, fix][-RECENT_POSITIONS:]
    device.positions_changed = True
    if inside is False:
        device.consecutive_outside += 1
        if device.consecutive_outside >= OUTSIDE_FIXES_TO_ALARM:
            # GPS jitter makes single fixes outside; two in a row is a person walking out.
            outside = device.recent_positions[-device.consecutive_outside :]
            _raise(result, kind=AlertKind.WANDERING, device=device, at=p.occurred_at, now=now, ref=fix, positions=outside)
    elif inside is True:
        if device.consecutive_outside:
            _note_open(device, AlertKind.WANDERING, TimelineKind.BACK_INSIDE, _("Back inside the safe zone."), now, data=fix)
        device.consecutive_outside = 0
    return (device.pk, device.elder_id, p.lat, p.lon, p.accuracy, p.occurred_at, inside)


def _note_open(device: DeviceState, kind: str, timeline: str, text: str, now: datetime, *, data: dict | None = None) -> None:
    alert = Alert.objects.select_for_update().filter(dedup_key=f"{device.pk}:{kind}", state__in=UNRESOLVED).first()
    if alert is not None:
        AlertEvent.objects.create(alert=alert, kind=timeline, at=now, text=text, data=data or {})


def _raise(result: IngestResult | None, *, kind: str, device: DeviceState, at: datetime, now: datetime, ref: dict, **extra) -> Alert:
    model = device.model()
    alert, opened = alert_raise(kind=kind, key=f"{device.pk}:{kind}", elder=model.elder, device=model, at=at, now=now, ref=ref, **extra)
    if opened and result is not None:
        result.alerts_opened.append(alert.pk)
    return alert


def alert_raise(
    *,
    kind: str,
    key: str,
    elder=None,
    device: Device | None = None,
    at: datetime,
    now: datetime,
    ref: dict,
    positions: list | None = None,
    count: int = 1,
) -> tuple[Alert, bool]:
    """Open an alert, or attach this occurrence to the unresolved one with the same key. Call inside a transaction."""
    alert = Alert.objects.select_for_update().filter(dedup_key=key, state__in=UNRESOLVED).first()
    if alert is not None:
        alert.repeat_count += count
        alert.last_event_at = max(alert.last_event_at, at)
        fields = ["repeat_count", "last_event_at", "updated_at"]
        if positions:
            alert.detail = {**alert.detail, "positions": (alert.detail.get("positions", []) + positions[-1:])[-20:]}
            fields.append("detail")
        alert.save(update_fields=fields)
        AlertEvent.objects.create(alert=alert, kind=TimelineKind.POSITION if positions else TimelineKind.REPEAT, at=now, data=ref)
        return alert, False
    severity = KIND_SEVERITY[kind]
    region = elder.residence_region if elder is not None else None
    alert = Alert.objects.create(
        kind=kind,
        severity=severity,
        severity_rank=SEVERITY_RANK[severity],
        elder=elder,
        device=device,
        region=region,
        dedup_key=key,
        opened_at=now,
        last_event_at=at,
        repeat_count=count - 1,
        escalation_plan=escalation_plan_for(region, severity, has_elder=elder is not None),
        detail={"trigger": ref, **({"positions": positions} if positions else {})},
    )
    AlertTransition.objects.create(alert=alert, from_state="", to_state=AlertState.OPEN, at=now, reason=kind)
    AlertEvent.objects.create(alert=alert, kind=TimelineKind.OPENED, at=now, data=ref)
    _schedule_step(alert, 0, now)
    return alert, True


# Escalation -----------------------------------------------------------------------------------

DEFAULT_STEPS: dict[str, list[dict]] = {
    Severity.CRITICAL: [
        {"target": EscalationTarget.FAMILY, "after_seconds": 0},
        {"target": EscalationTarget.WORKER, "after_seconds": 180},
        {"target": EscalationTarget.CONSOLE, "after_seconds": 180},
    ],
    Severity.HIGH: [
        {"target": EscalationTarget.FAMILY, "after_seconds": 0},
        {"target": EscalationTarget.WORKER, "after_seconds": 600},
        {"target": EscalationTarget.CONSOLE, "after_seconds": 600},
    ],
    Severity.MEDIUM: [
        {"target": EscalationTarget.FAMILY, "after_seconds": 0},
        {"target": EscalationTarget.WORKER, "after_seconds": 3600},
    ],
    Severity.LOW: [{"target": EscalationTarget.FAMILY, "after_seconds": 0}],
}


def escalation_plan_for(region, severity: str, *, has_elder: bool = True) -> list[dict]:
    """The most specific policy for the region (walking up its ancestors), else the default row, else built-in."""
    if not has_elder:
        # Operational alerts concern the platform, not a family: straight to the console.
        return [{"target": EscalationTarget.CONSOLE, "after_seconds": 0, "channel": "log", "webhook_url": ""}]
    policies = EscalationPolicy.objects.filter(severity=severity)
    codes = region.path.strip("/").split("/") if region is not None else []
    candidates = {
        p.region.code if p.region_id else None: p
        for p in policies.filter(Q(region__code__in=codes) | Q(region__isnull=True)).select_related("region")
    }
    policy = next((candidates[c] for c in reversed(codes) if c in candidates), candidates.get(None))
    if policy is not None:
        steps = [
            {"target": s.target, "after_seconds": s.after_seconds, "channel": s.channel, "webhook_url": s.webhook_url}
            for s in policy.steps.order_by("position")
        ]
        if steps:
            return steps
    return [{"channel": "log", "webhook_url": "", **s} for s in DEFAULT_STEPS[severity]]


def _schedule_step(alert: Alert, step: int, now: datetime) -> None:
    from yiyang.guardian.tasks import alert_escalate

    if step >= len(alert.escalation_plan):
        return
    delay = alert.escalation_plan[step]["after_seconds"]
    # The task row is written in the caller's transaction: it exists exactly when the alert does.
    if delay:
        alert_escalate.using(run_after=now + timedelta(seconds=delay)).enqueue(alert.pk, step)
    else:
        alert_escalate.enqueue(alert.pk, step)


def _recipients(alert: Alert, target: str) -> list[dict]:
    from yiyang.accounts.models import User
    from yiyang.accounts.roles import Role
    from yiyang.people.models import ElderContact, ElderLink

    if target == EscalationTarget.CONSOLE:
        return [{"label": "96345", "user": None, "contact_id": None}]
    if alert.elder_id is None:
        return []
    if target == EscalationTarget.FAMILY:
        people = [
            {"label": f"{c.name} ({c.get_relation_display()}) {c.phone_masked}".strip(), "user": None, "contact_id": c.pk}
            for c in ElderContact.objects.filter(elder_id=alert.elder_id, is_emergency=True)
        ]
        links = (
            ElderLink.objects.filter(elder_id=alert.elder_id, user__is_active=True)
            .exclude(relation=ElderLink.Relation.SELF)
            .select_related("user")
        )
        return people + [{"label": str(link.user), "user": link.user, "contact_id": None} for link in links]
    # Community workers whose area contains the elder's residence.
    codes = alert.region.path.strip("/").split("/") if alert.region_id else []
    workers = User.objects.filter(role=Role.WORKER, is_active=True, regions__code__in=codes).distinct()
    return [{"label": str(w), "user": w, "contact_id": None} for w in workers]


def alert_escalate_step(*, alert_id: int, step: int, now: datetime | None = None) -> str:
    """Run one escalation step if the alert still needs it; schedule the next. Called by the task."""
    from yiyang.guardian.tasks import notification_deliver

    now = now or timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
        if alert is None or alert.state != AlertState.OPEN:
            return "stopped"
        if alert.escalation_step != step:
            return "stale"
        plan = alert.escalation_plan[step]
        recipients = _recipients(alert, plan["target"])
        label = EscalationTarget(plan["target"]).label
        notifications = []
        for r in recipients:
            notifications.append(
                Notification.objects.create(
                    alert=alert,
                    step=step,
                    target=plan["target"],
                    recipient=r["user"],
                    recipient_label=r["label"][:128],
                    channel=plan.get("channel") or "log",
                    address=plan.get("webhook_url", ""),
                    payload=_notification_payload(alert, plan["target"], r),
                    created_at=now,
                )
            )
        for n in notifications:
            notification_deliver.enqueue(n.pk)
        if plan["target"] == EscalationTarget.CONSOLE and alert.on_console_at is None:
            alert.on_console_at = now
        AlertEvent.objects.create(
            alert=alert,
            kind=TimelineKind.ESCALATED,
            at=now,
            text=_("Step %(n)s: %(target)s, %(count)s recipient(s).") % {"n": step + 1, "target": label, "count": len(recipients)},
            data={"step": step, "target": plan["target"], "recipients": [r["label"] for r in recipients]},
        )
        alert.escalation_step = step + 1
        alert.save(update_fields=["escalation_step", "on_console_at", "updated_at"])
        if step + 1 < len(alert.escalation_plan):
            if recipients:
                _schedule_step(alert, step + 1, now)
            else:
                # Nobody to tell at this level: an alarm that reaches nobody is worse than none, so go on now.
                alert.escalation_plan[step + 1] = {**alert.escalation_plan[step + 1], "after_seconds": 0}
                alert.save(update_fields=["escalation_plan"])
                _schedule_step(alert, step + 1, now)
    return "done"


def _notification_payload(alert: Alert, target: str, recipient: dict) -> dict:
    return {
        "alert_id": alert.pk,
        "kind": alert.kind,
        "kind_label": str(alert.get_kind_display()),
        "severity": alert.severity,
        "elder": alert.elder.name if alert.elder_id else None,
        "address": alert.elder.address if alert.elder_id else None,
        "device": alert.device.serial if alert.device_id else None,
        "opened_at": alert.opened_at.isoformat(),
        "target": target,
        "contact_id": recipient["contact_id"],
    }


def notification_deliver_once(*, notification_id: int, now: datetime | None = None) -> str:
    """Claim one outbox row (compare-and-swap), send it through its channel, record the outcome."""
    from django.db.models import F

    from yiyang.guardian.channels import DeliveryError, channel_for
    from yiyang.guardian.tasks import notification_deliver

    now = now or timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, state=Notification.State.PENDING).update(
        state=Notification.State.SENDING, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not-pending"
    n = Notification.objects.select_related("alert").get(pk=notification_id)
    error = ""
    try:
        channel_for(n.channel).send(n)
    except DeliveryError as exc:
        error = str(exc)[:500] or exc.__class__.__name__
    max_attempts = getattr(settings, "GUARDIAN_NOTIFY_MAX_ATTEMPTS", 5)
    backoff = getattr(settings, "GUARDIAN_NOTIFY_BACKOFF_SECONDS", 10)
    with transaction.atomic():
        if not error:
            Notification.objects.filter(pk=n.pk).update(state=Notification.State.SENT, sent_at=timezone.now(), last_error="")
            AlertEvent.objects.create(
                alert=n.alert,
                kind=TimelineKind.NOTIFICATION_SENT,
                at=timezone.now(),
                text=n.recipient_label,
                data={"notification": n.pk, "channel": n.channel},
            )
            return "sent"
        if n.attempts < max_attempts:
            Notification.objects.filter(pk=n.pk).update(state=Notification.State.PENDING, last_error=error)
            notification_deliver.using(run_after=now + timedelta(seconds=backoff * 2 ** (n.attempts - 1))).enqueue(n.pk)
            return "retry"
        Notification.objects.filter(pk=n.pk).update(state=Notification.State.FAILED, last_error=error)
        AlertEvent.objects.create(
            alert=n.alert,
            kind=TimelineKind.NOTIFICATION_FAILED,
            at=timezone.now(),
            text=_("%(who)s: %(error)s") % {"who": n.recipient_label, "error": error},
            data={"notification": n.pk, "channel": n.channel, "attempts": n.attempts},
        )
    return "failed"


# People acting on alerts ----------------------------------------------------------------------

ACTIONS = {
    "called_elder": _("Called the elder"),
    "called_family": _("Called the family"),
    "called_119": _("Called 119 (fire)"),
    "called_120": _("Called 120 (ambulance)"),
    "called_110": _("Called 110 (police)"),
    "neighbour_went": _("A neighbour went over"),
    "worker_went": _("The community worker went over"),
    "note": _("Note"),
}


def _transition(alert: Alert, to: str, *, actor, reason: str, now: datetime) -> None:
    if to not in ALERT_TRANSITIONS[alert.state]:
        raise StateConflict(
            _("This alert is %(state)s; it cannot become %(to)s.") % {"state": alert.get_state_display(), "to": AlertState(to).label},
            field="state",
        )
    AlertTransition.objects.create(alert=alert, from_state=alert.state, to_state=to, actor=actor, reason=reason[:255], at=now)
    alert.state = to


def alert_acknowledge(*, alert: Alert, actor, note: str = "") -> Alert:
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        _transition(alert, AlertState.ACKNOWLEDGED, actor=actor, reason=note, now=now)
        alert.acknowledged_at, alert.acknowledged_by = now, actor
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "updated_at"])
        AlertEvent.objects.create(alert=alert, kind=TimelineKind.ACKNOWLEDGED, at=now, actor=actor, text=note[:500])
        audit_record(actor=actor, action="guardian.alert.acknowledge", obj=alert, region=alert.region)
    return alert


def alert_record_action(*, alert: Alert, actor, action: str, note: str = "") -> AlertEvent:
    if action not in ACTIONS:
        raise DomainError(_("action: choose one of %(choices)s.") % {"choices": ", ".join(ACTIONS)}, field="action")
    if action == "note" and not note.strip():
        raise DomainError(_("note: write what happened."), field="note")
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state == AlertState.RESOLVED:
            raise StateConflict(_("This alert is resolved; actions can no longer be added."), field="state")
        event = AlertEvent.objects.create(
            alert=alert,
            kind=TimelineKind.ACTION,
            at=now,
            actor=actor,
            text=note[:500],
            data={"action": action, "label": str(ACTIONS[action])},
        )
        audit_record(actor=actor, action="guardian.alert.action", obj=alert, region=alert.region, detail={"action": action})
    return event


def alert_resolve(*, alert: Alert, actor, outcome: str, note: str = "") -> Alert:
    if outcome not in Outcome.values:
        raise DomainError(_("outcome: choose one of %(choices)s.") % {"choices": ", ".join(Outcome.values)}, field="outcome")
    now = timezone.now()
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        _transition(alert, AlertState.RESOLVED, actor=actor, reason=note or outcome, now=now)
        if alert.acknowledged_at is None:
            alert.acknowledged_at, alert.acknowledged_by = now, actor
        alert.resolved_at, alert.resolved_by, alert.outcome = now, actor, outcome
        alert.save(update_fields=["state", "acknowledged_at", "acknowledged_by", "resolved_at", "resolved_by", "outcome", "updated_at"])
        AlertEvent.objects.create(alert=alert, kind=TimelineKind.RESOLVED, at=now, actor=actor, text=note[:500], data={"outcome": outcome})
        audit_record(actor=actor, action="guardian.alert.resolve", obj=alert, region=alert.region, detail={"outcome": outcome})
    return alert


# Registration ---------------------------------------------------------------------------------


def device_register(
    *, elder, device_type: str, serial: str, install_location: str = "", report_interval_seconds: int = 300, actor
) -> tuple[Device, str]:
    """Register a device; returns it with its secret in clear, shown once (signing key and broker password)."""
    serial = (serial or "").strip()
    if device_type not in DeviceType.values:
        raise DomainError(_("device_type: choose one of %(choices)s.") % {"choices": ", ".join(DeviceType.values)}, field="device_type")
    if not serial or len(serial) > 64 or not all(c.isalnum() or c in "-_." for c in serial):
        raise DomainError(_("serial: 1 to 64 letters, digits, '-', '_' or '.'."), field="serial")
    if not 10 <= int(report_interval_seconds) <= 7 * 86400:
        raise DomainError(_("report_interval_seconds: from 10 seconds to 7 days."), field="report_interval_seconds")
    secret = crypto.new_device_secret()
    now = timezone.now()
    with transaction.atomic():
        if Device.objects.filter(serial=serial).exists():
            raise StateConflict(_("serial: a device with this serial is already registered."), field="serial")
        device = Device.objects.create(
            serial=serial,
            device_type=device_type,
            elder=elder,
            install_location=install_location[:128],
            report_interval_seconds=int(report_interval_seconds),
            secret_encrypted=crypto.encrypt_secret(secret),
            offline_after=now + timedelta(seconds=3 * int(report_interval_seconds)),
        )
        audit_record(actor=actor, action="guardian.device.register", obj=device, region=elder.residence_region)
    return device, secret


# A zone is drawn around the elder's life: a vertex or centre further than this from home is a typing slip.
ZONE_MAX_DISTANCE_FROM_HOME_M = 20_000


def _zone_checked(*, elder, name: str, shape: str, center_lat, center_lon, radius_m, polygon, active_from, active_until) -> dict:
    """Validate a safe zone's fields (naming the field at fault); returns them cleaned."""
    if not (name or "").strip():
        raise DomainError(_("name: this field is required."), field="name")
    if shape == SafeZone.Shape.CIRCLE:
        if center_lat is None or not -90 <= center_lat <= 90:
            raise DomainError(_("center_lat: a latitude from -90 to 90."), field="center_lat")
        if center_lon is None or not -180 <= center_lon <= 180:
            raise DomainError(_("center_lon: a longitude from -180 to 180."), field="center_lon")
        if radius_m is None or not 20 <= radius_m <= 50_000:
            raise DomainError(_("radius_m: from 20 to 50,000 metres."), field="radius_m")
        polygon = None
        points = [(center_lat, center_lon)]
        far_field = "center_lat"
    elif shape == SafeZone.Shape.POLYGON:
        if not zones.polygon_valid(polygon):
            raise DomainError(_("polygon: at least three [longitude, latitude] points forming a simple shape."), field="polygon")
        center_lat = center_lon = radius_m = None
        points = [(float(p[1]), float(p[0])) for p in polygon]
        far_field = "polygon"
    else:
        raise DomainError(_("shape: circle or polygon."), field="shape")
    if elder.lat is not None and elder.lng is not None:
        far = max(zones.distance_m(elder.lat, elder.lng, lat, lon) for lat, lon in points)
        if far > ZONE_MAX_DISTANCE_FROM_HOME_M:
            raise DomainError(
                _("%(field)s: the zone is %(km)s km from the elder's home; it must be within %(max)s km (WGS-84 latitude, longitude).")
                % {"field": far_field, "km": round(far / 1000, 1), "max": ZONE_MAX_DISTANCE_FROM_HOME_M // 1000},
                field=far_field,
            )
    if (active_from is None) != (active_until is None):
        raise DomainError(_("active_until: give both hours or neither."), field="active_until")
    if active_from is not None and active_from == active_until:
        raise DomainError(_("active_until: the end must differ from the start (leave both empty for all day)."), field="active_until")
    return {
        "name": name.strip()[:64],
        "shape": shape,
        "center_lat": center_lat,
        "center_lon": center_lon,
        "radius_m": radius_m,
        "polygon": polygon,
        "active_from": active_from,
        "active_until": active_until,
    }


def safezone_create(
    *,
    elder,
    name: str,
    shape: str,
    center_lat: float | None = None,
    center_lon: float | None = None,
    radius_m: int | None = None,
    polygon: list | None = None,
    active_from=None,
    active_until=None,
    actor,
) -> SafeZone:
    fields = _zone_checked(
        elder=elder,
        name=name,
        shape=shape,
        center_lat=center_lat,
        center_lon=center_lon,
        radius_m=radius_m,
        polygon=polygon,
        active_from=active_from,
        active_until=active_until,
    )
    with transaction.atomic():
        zone = SafeZone.objects.create(elder=elder, **fields)
        audit_record(actor=actor, action="guardian.zone.create", obj=zone, region=elder.residence_region)
    return zone


def safezone_update(
    *,
    zone: SafeZone,
    name: str,
    shape: str,
    center_lat: float | None = None,
    center_lon: float | None = None,
    radius_m: int | None = None,
    polygon: list | None = None,
    active_from=None,
    active_until=None,
    actor,
) -> SafeZone:
    """Redraw a zone. The next fix is judged against the new shape (ingestion reads zones per batch)."""
    fields = _zone_checked(
        elder=zone.elder,
        name=name,
        shape=shape,
        center_lat=center_lat,
        center_lon=center_lon,
        radius_m=radius_m,
        polygon=polygon,
        active_from=active_from,
        active_until=active_until,
    )
    with transaction.atomic():
        zone = SafeZone.objects.select_for_update().select_related("elder__residence_region").get(pk=zone.pk)
        if not zone.is_active:
            raise StateConflict(_("This safe zone was removed; draw a new one."), field="zone")
        before = {k: getattr(zone, k) for k in fields}
        for k, v in fields.items():
            setattr(zone, k, v)
        zone.save(update_fields=[*fields, "updated_at"])
        audit_record(
            actor=actor,
            action="guardian.zone.update",
            obj=zone,
            region=zone.elder.residence_region,
            detail={"before": jsonable(before), "after": jsonable(fields)},
        )
    return zone


def safezone_remove(*, zone: SafeZone, actor) -> SafeZone:
    """A zone is deactivated, not deleted: the audit trail and past judgements keep their meaning."""
    with transaction.atomic():
        zone = SafeZone.objects.select_for_update().select_related("elder__residence_region").get(pk=zone.pk)
        if not zone.is_active:
            raise StateConflict(_("This safe zone was already removed."), field="zone")
        zone.is_active = False
        zone.save(update_fields=["is_active", "updated_at"])
        audit_record(actor=actor, action="guardian.zone.remove", obj=zone, region=zone.elder.residence_region)
    return zone


def device_update(*, device: Device, install_location: str, report_interval_seconds: int, is_active: bool, actor) -> Device:
    """Change where a device is installed, how often it reports, or take it out of service."""
    try:
        interval = int(report_interval_seconds)
    except (TypeError, ValueError):
        interval = 0
    if not 10 <= interval <= 7 * 86400:
        raise DomainError(_("report_interval_seconds: from 10 seconds to 7 days."), field="report_interval_seconds")
    if len(install_location or "") > 128:
        raise DomainError(_("install_location: at most 128 characters."), field="install_location")
    now = timezone.now()
    with transaction.atomic():
        device = Device.objects.select_for_update().select_related("elder__residence_region").get(pk=device.pk)
        changes = {}
        for name, value in (("install_location", install_location or ""), ("report_interval_seconds", interval), ("is_active", is_active)):
            if getattr(device, name) != value:
                changes[name] = [getattr(device, name), value]
                setattr(device, name, value)
        if not changes:
            return device
        fields = [*changes, "updated_at"]
        if "report_interval_seconds" in changes or ("is_active" in changes and is_active):
            # The offline deadline follows the new interval from now (the device has not failed to report yet).
            device.offline_after = now + timedelta(seconds=3 * interval)
            device.is_offline = False
            fields += ["offline_after", "is_offline"]
        device.save(update_fields=fields)
        audit_record(
            actor=actor, action="guardian.device.update", obj=device, region=device.elder.residence_region, detail=jsonable(changes)
        )
    return device


def device_rotate_secret(*, device: Device, actor) -> tuple[Device, str]:
    """A new secret (signing key and MQTT password), shown once; the old one stops working at once."""
    secret = crypto.new_device_secret()
    with transaction.atomic():
        device = Device.objects.select_for_update().select_related("elder__residence_region").get(pk=device.pk)
        device.secret_encrypted = crypto.encrypt_secret(secret)
        device.save(update_fields=["secret_encrypted", "updated_at"])
        audit_record(actor=actor, action="guardian.device.rotate_secret", obj=device, region=device.elder.residence_region)
    return device, secret


def alert_open_from_visit(*, visit, need: str, severity: str = Severity.MEDIUM, note: str = "", actor) -> Alert:
    """A need found on a monthly visit opens a follow-up alert in one step; it escalates like any alert.

    One follow-up alert per visit (its key names the visit); it does not use the visit's single
    `follow_up` slot, so a service order can still be opened from the same visit.
    """
    from yiyang.visits.models import Need, Visit

    if need not in Need.values:
        raise DomainError(_("need: choose one of %(choices)s.") % {"choices": ", ".join(Need.values)}, field="need")
    if severity not in Severity.values:
        raise DomainError(_("severity: choose one of %(choices)s.") % {"choices": ", ".join(Severity.values)}, field="severity")
    note = (note or "").strip()
    if len(note) > 500:
        raise DomainError(_("note: at most 500 characters."), field="note")
    now = timezone.now()
    with transaction.atomic():
        # The visit's row lock serialises two clicks on the same visit.
        visit = Visit.objects.select_for_update().select_related("elder__residence_region").get(pk=visit.pk)
        if need not in visit.needs:
            raise DomainError(_("need: this need was not recorded on the visit; record it on the visit first."), field="need")
        key = f"visit:{visit.pk}:followup"
        existing = Alert.objects.filter(dedup_key=key).order_by("-pk").first()
        if existing is not None:
            raise StateConflict(_("This visit already has a follow-up alert (#%(id)s).") % {"id": existing.pk}, field="visit_id")
        elder = visit.elder
        region = elder.residence_region
        ref = {
            "visit_id": visit.pk,
            "visited_on": visit.visited_on.isoformat(),
            "need": need,
            "need_label": str(Need(need).label),
            "note": note,
        }
        alert = Alert.objects.create(
            kind=AlertKind.VISIT_FOLLOWUP,
            severity=severity,
            severity_rank=SEVERITY_RANK[severity],
            elder=elder,
            region=region,
            dedup_key=key,
            opened_at=now,
            last_event_at=now,
            escalation_plan=escalation_plan_for(region, severity),
            detail={"trigger": ref, "visit_id": visit.pk},
        )
        AlertTransition.objects.create(
            alert=alert, from_state="", to_state=AlertState.OPEN, actor=actor, at=now, reason=AlertKind.VISIT_FOLLOWUP
        )
        text = _("Need found on the visit of %(day)s: %(need)s.") % {"day": visit.visited_on, "need": ref["need_label"]}
        AlertEvent.objects.create(alert=alert, kind=TimelineKind.OPENED, at=now, actor=actor, text=f"{text} {note}".strip()[:500], data=ref)
        _schedule_step(alert, 0, now)
        audit_record(actor=actor, action="guardian.alert.from_visit", obj=alert, region=region, detail={"visit": visit.pk, "need": need})
    return alert


def escalation_policy_set(*, region, severity: str, steps: list[dict], actor) -> EscalationPolicy:
    if severity not in Severity.values:
        raise DomainError(_("severity: choose one of %(choices)s.") % {"choices": ", ".join(Severity.values)}, field="severity")
    if not steps:
        raise DomainError(_("steps: at least one step."), field="steps")
    for i, s in enumerate(steps):
        if s.get("target") not in EscalationTarget.values:
            raise DomainError(_("steps.%(i)s.target: family, worker or console.") % {"i": i}, field=f"steps.{i}.target")
        if not isinstance(s.get("after_seconds", 0), int) or s.get("after_seconds", 0) < 0:
            raise DomainError(_("steps.%(i)s.after_seconds: zero or more seconds.") % {"i": i}, field=f"steps.{i}.after_seconds")
        if s.get("channel", "log") not in ("log", "webhook"):
            raise DomainError(_("steps.%(i)s.channel: log or webhook.") % {"i": i}, field=f"steps.{i}.channel")
        if s.get("channel") == "webhook" and not str(s.get("webhook_url", "")).startswith(("http://", "https://")):
            raise DomainError(_("steps.%(i)s.webhook_url: an http(s) address.") % {"i": i}, field=f"steps.{i}.webhook_url")
    with transaction.atomic():
        policy, _created = EscalationPolicy.objects.select_for_update().get_or_create(region=region, severity=severity)
        policy.steps.all().delete()
        EscalationStep.objects.bulk_create(
            [
                EscalationStep(
                    policy=policy,
                    position=i,
                    target=s["target"],
                    after_seconds=s.get("after_seconds", 0),
                    channel=s.get("channel", "log"),
                    webhook_url=s.get("webhook_url", ""),
                )
                for i, s in enumerate(steps)
            ]
        )
        audit_record(actor=actor, action="guardian.policy.set", obj=policy, region=region, detail={"steps": steps})
    return policy


# Periodic checks (called by tasks; safe to run concurrently) ----------------------------------


def devices_check_offline(*, now: datetime | None = None) -> dict[str, int]:
    """Devices silent for three reporting intervals go offline; an outage's flood folds into one incident."""
    now = now or timezone.now()
    threshold = settings.GUARDIAN_OFFLINE_FLOOD_THRESHOLD
    with transaction.atomic():
        due = list(
            Device.objects.select_for_update()
            .filter(is_active=True, is_offline=False, offline_after__lt=now)
            .select_related("elder__residence_region")
            .order_by("pk")
        )
        if not due:
            return {"offline": 0, "folded": 0}
        Device.objects.filter(pk__in=[d.pk for d in due]).update(is_offline=True)
        incident = Alert.objects.select_for_update().filter(dedup_key=f"system:{AlertKind.OFFLINE_FLOOD}", state__in=UNRESOLVED).first()
        if len(due) >= threshold or incident is not None:
            serials = [d.serial for d in due]
            ref = {"devices": len(due), "serials": serials[:50]}
            alert_raise(kind=AlertKind.OFFLINE_FLOOD, key=f"system:{AlertKind.OFFLINE_FLOOD}", at=now, now=now, ref=ref, count=len(due))
            return {"offline": len(due), "folded": len(due)}
        for d in due:
            ref = {"last_seen_at": d.last_seen_at.isoformat() if d.last_seen_at else None}
            alert_raise(kind=AlertKind.OFFLINE, key=f"{d.pk}:{AlertKind.OFFLINE}", elder=d.elder, device=d, at=now, now=now, ref=ref)
    return {"offline": len(due), "folded": 0}


def elders_check_inactivity(*, now: datetime | None = None) -> int:
    """No door or motion event for N hours of daytime at an elder living alone raises a high alert.

    Only the local daytime window (GUARDIAN_INACTIVITY_DAYTIME, default 07:00-21:00) counts toward N:
    a quiet night is sleep, not an emergency.
    """
    from yiyang.people.models import Elder, ElderStatus, LivingArrangement

    now = now or timezone.now()
    default = ElderWatch._meta.get_field("inactivity_minutes").default
    daytime = zones.parse_window(settings.GUARDIAN_INACTIVITY_DAYTIME)
    rows = (
        Device.objects.filter(is_active=True, device_type__in=[DeviceType.DOOR, DeviceType.MOTION])
        .filter(elder__living_arrangement=LivingArrangement.ALONE, elder__status=ElderStatus.ACTIVE)
        .values("elder_id")
        .annotate(last=Max("last_activity_at"), since=Max("created_at"), device_id=Max("pk"))
    )
    limits = dict(ElderWatch.objects.values_list("elder_id", "inactivity_minutes"))
    raised = 0
    for row in rows:
        last = row["last"] or row["since"]
        minutes = limits.get(row["elder_id"], default)
        if last > now - timedelta(minutes=minutes):
            continue  # not even N minutes of wall-clock time: no need to count the daytime
        quiet_daytime = zones.window_minutes_between(last, now, daytime)
        if quiet_daytime < minutes:
            continue
        with transaction.atomic():
            device = Device.objects.get(pk=row["device_id"])
            elder = Elder.objects.select_related("residence_region").get(pk=row["elder_id"])
            ref = {"last_movement": last.isoformat(), "threshold_minutes": minutes, "quiet_daytime_minutes": round(quiet_daytime)}
            _alert, opened = alert_raise(  # an open alert is not re-appended on every run of the check
                kind=AlertKind.INACTIVITY, key=f"elder:{elder.pk}:inactivity", elder=elder, device=device, at=now, now=now, ref=ref
            )
            raised += int(opened)
    return raised


def positions_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Drop positions (and routine heartbeat/position events) older than the retention; alerts keep their copies."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.GUARDIAN_POSITION_RETENTION_DAYS)
    positions, _ = Position.objects.filter(at__lt=cutoff).delete()
    events, _ = DeviceEvent.objects.filter(received_at__lt=cutoff, kind__in=["position", "heartbeat"]).delete()
    rejected, _ = RejectedMessage.objects.filter(at__lt=cutoff).delete()
    return {"positions": positions, "events": events, "rejected": rejected}


def guardian_selfwatch(*, now: datetime | None = None, check_worker: bool = True) -> list[str]:
    """Raise operational alerts when ingestion goes silent or the task worker stalls."""
    from django_tasks_db.models import DBTaskResult, get_date_max

    now = now or timezone.now()
    raised: list[str] = []
    silence = timedelta(minutes=settings.GUARDIAN_SILENCE_MINUTES)
    if Device.objects.filter(is_active=True, created_at__lt=now - silence).exists():
        last = DeviceEvent.objects.aggregate(last=Max("received_at"))["last"]
        if last is None or last < now - silence:
            with transaction.atomic():
                ref = {"last_message_at": last.isoformat() if last else None, "silence_minutes": settings.GUARDIAN_SILENCE_MINUTES}
                _a, opened = _system_alert(AlertKind.INGESTION_SILENCE, now, ref)
                if opened:
                    raised.append(AlertKind.INGESTION_SILENCE)
    if check_worker:
        stall = now - timedelta(minutes=settings.GUARDIAN_WORKER_STALL_MINUTES)
        # "No run_after" is stored as the maximum date; a deferred task is only late once its time has passed.
        waiting = DBTaskResult.objects.ready().filter(enqueued_at__lt=stall).filter(Q(run_after=get_date_max()) | Q(run_after__lt=stall))
        oldest = waiting.order_by("enqueued_at").values_list("enqueued_at", flat=True).first()
        if oldest is not None:
            with transaction.atomic():
                ref = {"oldest_waiting_since": oldest.isoformat(), "waiting": waiting.count()}
                _a, opened = _system_alert(AlertKind.WORKER_STALL, now, ref)
                if opened:
                    raised.append(AlertKind.WORKER_STALL)
    return raised


def _system_alert(kind: str, now: datetime, ref: dict) -> tuple[Alert, bool]:
    existing = Alert.objects.select_for_update().filter(dedup_key=f"system:{kind}", state__in=UNRESOLVED).first()
    if existing is not None:
        # One standing alert while the condition lasts; no timeline row per check.
        return existing, False
    return alert_raise(kind=kind, key=f"system:{kind}", at=now, now=now, ref=ref)


def notifications_sweep(*, now: datetime | None = None) -> int:
    """Re-queue outbox rows left 'sending' by a worker that died mid-delivery."""
    from yiyang.guardian.tasks import notification_deliver

    now = now or timezone.now()
    stuck = list(
        Notification.objects.filter(state=Notification.State.SENDING, created_at__lt=now - timedelta(minutes=5)).values_list(
            "pk", flat=True
        )[:500]
    )
    for pk in stuck:
        with transaction.atomic():
            if Notification.objects.filter(pk=pk, state=Notification.State.SENDING).update(state=Notification.State.PENDING):
                notification_deliver.enqueue(pk)
    return len(stuck)


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))
