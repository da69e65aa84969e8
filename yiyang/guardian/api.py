"""/api/v1/guardian: device ingest (device-signed, no user auth), devices, zones, alerts, escalation policies."""

import json
from datetime import datetime, time

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status

from yiyang.core.api_auth import require
from yiyang.core.errors import DomainError
from yiyang.guardian import operations as ops
from yiyang.guardian.models import UNRESOLVED, AlertState, Channel, DeviceType, Outcome, SafeZone, Severity
from yiyang.guardian.queries import alert_for, alerts_visible_to, device_for, devices_visible_to, zone_for, zones_visible_to
from yiyang.people.queries import elder_for
from yiyang.regions.queries import region_by_code

router = Router(tags=["guardian"])
MAX_BATCH = 100


class ErrorOut(Schema):
    code: str
    message: str
    field: str | None = None


class IngestOut(Schema):
    status: str = Field(description="accepted, or duplicate when this (device, id) was already stored")
    alerts_opened: list[int]


class BatchItemOut(Schema):
    status: str
    code: str | None = None
    field: str | None = None
    message: str | None = None


class BatchOut(Schema):
    results: list[BatchItemOut]


@router.post(
    "/events",
    auth=None,
    response={200: IngestOut | BatchOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut},
    summary="A device reports an event (signed with its own secret; see docs/guardian.md)",
    openapi_extra={
        # No user credentials: the device's signature in the body authenticates it.
        "security": [],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"type": "object", "description": "one message: device, id, ts, type, sig, ..."},
                            {"type": "array", "items": {"type": "object"}, "maxItems": MAX_BATCH},
                        ]
                    }
                }
            },
        }
    },
)
def ingest(request: HttpRequest):
    try:
        body = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        raise DomainError(_("The request body is not valid JSON."), code="malformed")
    if isinstance(body, list):
        if not 1 <= len(body) <= MAX_BATCH:
            raise DomainError(_("Send 1 to %(n)s messages at a time.") % {"n": MAX_BATCH}, code="malformed")
        result = ops.events_ingest(
            messages=[ops.Incoming(body=m if isinstance(m, dict) else json.dumps(m), channel=Channel.HTTP) for m in body]
        )
        items = []
        for i, status in enumerate(result.status):
            exc = result.reasons.get(i)
            items.append({"status": status, **({"code": exc.reason, "field": exc.field, "message": exc.message} if exc else {})})
        return {"results": items}
    result = ops.events_ingest(messages=[ops.Incoming(body=body if isinstance(body, dict) else request.body, channel=Channel.HTTP)])
    if 0 in result.reasons:
        raise result.reasons[0]
    return {"status": result.status[0], "alerts_opened": result.alerts_opened}


# Devices and zones ----------------------------------------------------------------------------


class DeviceIn(Schema):
    elder_id: int
    device_type: DeviceType
    serial: str = Field(min_length=1, max_length=64)
    install_location: str = Field("", max_length=128)
    report_interval_seconds: int = Field(300, ge=10, le=7 * 86400)


class DeviceOut(Schema):
    id: int
    serial: str
    device_type: str
    elder_id: int
    install_location: str
    report_interval_seconds: int
    last_seen_at: datetime | None
    battery: int | None
    is_offline: bool


class DeviceCreatedOut(DeviceOut):
    secret: str = Field(description="shown once: the HMAC signing key and the device's MQTT password")


def _elder(request, elder_id: int):
    elder = elder_for(request.auth, elder_id)
    if elder is None:
        raise Http404
    return elder


@router.post("/devices", response={201: DeviceCreatedOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Register a device")
def device_register(request: HttpRequest, data: DeviceIn):
    require(request, "guardian.device.manage")
    device, secret = ops.device_register(
        elder=_elder(request, data.elder_id),
        device_type=data.device_type,
        serial=data.serial,
        install_location=data.install_location,
        report_interval_seconds=data.report_interval_seconds,
        actor=request.auth,
    )
    device.secret = secret  # not stored in clear: only on this response
    return Status(201, device)


@router.get("/devices", response=list[DeviceOut], summary="Devices of the elders you may see")
def device_list(request: HttpRequest, elder_id: int | None = None):
    require(request, "guardian.device.view")
    devices = devices_visible_to(request.auth).order_by("serial")
    if elder_id is not None:
        devices = devices.filter(elder_id=elder_id)
    return list(devices[:500])


class ZoneIn(Schema):
    elder_id: int
    name: str = Field(min_length=1, max_length=64)
    shape: SafeZone.Shape
    center_lat: float | None = Field(None, ge=-90, le=90, description="WGS-84")
    center_lon: float | None = Field(None, ge=-180, le=180, description="WGS-84")
    radius_m: int | None = Field(None, ge=20, le=50_000)
    polygon: list[list[float]] | None = Field(None, description="[[lon, lat], ...] in WGS-84 (GeoJSON order)")
    active_from: time | None = Field(None, description="local time; with active_until, the zone only applies then (may wrap midnight)")
    active_until: time | None = None


class ZoneOut(Schema):
    id: int
    elder_id: int
    name: str
    shape: str
    center_lat: float | None
    center_lon: float | None
    radius_m: int | None
    polygon: list[list[float]] | None
    active_from: time | None
    active_until: time | None


@router.post("/zones", response={201: ZoneOut, 400: ErrorOut, 404: ErrorOut}, summary="Draw a safe zone for an elder's bracelet")
def zone_create(request: HttpRequest, data: ZoneIn):
    require(request, "guardian.device.manage")
    zone = ops.safezone_create(elder=_elder(request, data.elder_id), actor=request.auth, **data.dict(exclude={"elder_id"}))
    return Status(201, zone)


class DeviceUpdateIn(Schema):
    install_location: str = Field("", max_length=128)
    report_interval_seconds: int = Field(ge=10, le=7 * 86400)
    is_active: bool = True


def _device(request, device_id: int):
    device = device_for(request.auth, device_id)
    if device is None:
        raise Http404
    return device


@router.patch("/devices/{device_id}", response={200: DeviceOut, 400: ErrorOut, 404: ErrorOut}, summary="Change a device's installation or interval")
def device_update(request: HttpRequest, device_id: int, data: DeviceUpdateIn):
    require(request, "guardian.device.manage")
    return ops.device_update(device=_device(request, device_id), actor=request.auth, **data.dict())


@router.post(
    "/devices/{device_id}/rotate-secret",
    response={200: DeviceCreatedOut, 404: ErrorOut},
    summary="Issue a new device secret (shown once); the old one stops working",
)
def device_rotate_secret(request: HttpRequest, device_id: int):
    require(request, "guardian.device.manage")
    device, secret = ops.device_rotate_secret(device=_device(request, device_id), actor=request.auth)
    device.secret = secret  # not stored in clear: only on this response
    return device


@router.get("/zones", response=list[ZoneOut], summary="Active safe zones of the elders you may see")
def zone_list(request: HttpRequest, elder_id: int | None = None):
    require(request, "guardian.device.view")
    zones = zones_visible_to(request.auth).order_by("elder_id", "pk")
    if elder_id is not None:
        zones = zones.filter(elder_id=elder_id)
    return list(zones[:500])


class ZoneUpdateIn(ZoneIn):
    elder_id: int | None = Field(None, description="ignored: a zone stays with its elder")


def _zone(request, zone_id: int):
    zone = zone_for(request.auth, zone_id)
    if zone is None:
        raise Http404
    return zone


@router.put("/zones/{zone_id}", response={200: ZoneOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut}, summary="Redraw a safe zone")
def zone_update(request: HttpRequest, zone_id: int, data: ZoneUpdateIn):
    require(request, "guardian.device.manage")
    return ops.safezone_update(zone=_zone(request, zone_id), actor=request.auth, **data.dict(exclude={"elder_id"}))


@router.delete("/zones/{zone_id}", response={204: None, 404: ErrorOut, 409: ErrorOut}, summary="Remove a safe zone")
def zone_remove(request: HttpRequest, zone_id: int):
    require(request, "guardian.device.manage")
    ops.safezone_remove(zone=_zone(request, zone_id), actor=request.auth)
    return Status(204, None)


# Alerts ---------------------------------------------------------------------------------------


class AlertOut(Schema):
    id: int
    kind: str
    severity: str
    state: str
    elder_id: int | None
    device_serial: str | None
    opened_at: datetime
    last_event_at: datetime
    repeat_count: int
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    outcome: str
    escalation_step: int
    detail: dict

    @staticmethod
    def resolve_device_serial(alert) -> str | None:
        return alert.device.serial if alert.device_id else None


class TimelineOut(Schema):
    kind: str
    at: datetime
    actor: str | None
    text: str
    data: dict

    @staticmethod
    def resolve_actor(event) -> str | None:
        return str(event.actor) if event.actor_id else None


class AlertDetailOut(AlertOut):
    timeline: list[TimelineOut]

    @staticmethod
    def resolve_timeline(alert) -> list:
        return list(alert.timeline.select_related("actor"))


class AlertFilter(Schema):
    state: AlertState | None = Field(None, description="default: unresolved (open and acknowledged)")
    severity: Severity | None = None


@router.get("/alerts", response=list[AlertOut], summary="Alerts you may see, most severe and oldest first")
def alert_list(request: HttpRequest, filters: Query[AlertFilter]):
    require(request, "guardian.alert.view")
    alerts = alerts_visible_to(request.auth).select_related("device").order_by("-severity_rank", "opened_at", "pk")
    alerts = alerts.filter(state=filters.state) if filters.state else alerts.filter(state__in=UNRESOLVED)
    if filters.severity:
        alerts = alerts.filter(severity=filters.severity)
    return list(alerts[:500])


def _alert(request, alert_id: int):
    alert = alert_for(request.auth, alert_id)
    if alert is None:
        raise Http404
    return alert


@router.get("/alerts/{alert_id}", response={200: AlertDetailOut, 404: ErrorOut})
def alert_detail(request: HttpRequest, alert_id: int):
    require(request, "guardian.alert.view")
    return _alert(request, alert_id)


class NoteIn(Schema):
    note: str = Field("", max_length=500)


class ActionIn(Schema):
    action: str = Field(description="one of: " + ", ".join(ops.ACTIONS))
    note: str = Field("", max_length=500)


class ResolveIn(Schema):
    outcome: Outcome
    note: str = Field("", max_length=500)


@router.post("/alerts/{alert_id}/acknowledge", response={200: AlertOut, 404: ErrorOut, 409: ErrorOut})
def alert_acknowledge(request: HttpRequest, alert_id: int, data: NoteIn):
    require(request, "guardian.alert.handle")
    return ops.alert_acknowledge(alert=_alert(request, alert_id), actor=request.auth, note=data.note)


@router.post("/alerts/{alert_id}/actions", response={201: TimelineOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut})
def alert_action(request: HttpRequest, alert_id: int, data: ActionIn):
    require(request, "guardian.alert.handle")
    return Status(201, ops.alert_record_action(alert=_alert(request, alert_id), actor=request.auth, action=data.action, note=data.note))


@router.post("/alerts/{alert_id}/resolve", response={200: AlertOut, 404: ErrorOut, 409: ErrorOut})
def alert_resolve(request: HttpRequest, alert_id: int, data: ResolveIn):
    require(request, "guardian.alert.handle")
    return ops.alert_resolve(alert=_alert(request, alert_id), actor=request.auth, outcome=data.outcome, note=data.note)


class VisitFollowupIn(Schema):
    need: str = Field(description="the need found, one of the visit needs (visits.Need): meal, cleaning, medical, ...")
    severity: Severity = Severity.MEDIUM
    note: str = Field("", max_length=500)


@router.post(
    "/visits/{visit_id}/follow-up-alert",
    response={201: AlertOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Open a follow-up alert for a need found on a monthly visit (escalates like any alert)",
)
def alert_from_visit(request: HttpRequest, visit_id: int, data: VisitFollowupIn):
    require(request, "visit.record")
    from yiyang.visits.queries import visits_visible_to

    visit = visits_visible_to(request.auth).filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    alert = ops.alert_open_from_visit(visit=visit, need=data.need, severity=data.severity, note=data.note, actor=request.auth)
    return Status(201, alert)


# Escalation policy ----------------------------------------------------------------------------


class StepIn(Schema):
    target: str = Field(description="family, worker or console")
    after_seconds: int = Field(0, ge=0, le=86400, description="after the previous step (the first: after the alert opens)")
    channel: str = Field("log", description="log or webhook")
    webhook_url: str = Field("", max_length=200)


class PolicyIn(Schema):
    region: str | None = Field(None, description="region code; omit for the default policy")
    severity: Severity
    steps: list[StepIn] = Field(min_length=1, max_length=10)


class PolicyOut(Schema):
    id: int
    severity: str
    steps: list[StepIn]

    @staticmethod
    def resolve_steps(policy) -> list:
        return list(policy.steps.order_by("position"))


@router.put(
    "/policies",
    response={200: PolicyOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="Set the escalation policy for a region and severity",
)
def policy_set(request: HttpRequest, data: PolicyIn):
    require(request, "guardian.policy.manage")
    from yiyang.accounts.scope import scope_of

    region = None
    scope = scope_of(request.auth)
    if data.region:
        region = region_by_code(data.region)
        if region is None or not (scope.everything or any(region.path.startswith(p) for p in scope.region_paths)):
            raise Http404
    elif not scope.everything and not any(p.count("/") <= 1 for p in scope.region_paths):
        # The default policy applies city-wide: only whole-city officers may change it.
        raise DomainError(_("region: give the region whose policy you are setting."), field="region")
    return ops.escalation_policy_set(region=region, severity=data.severity, steps=[s.dict() for s in data.steps], actor=request.auth)
