"""Device registry and safe-zone pages for officers and community workers. Views parse, call an operation, render."""

from datetime import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_POST

from yiyang.accounts.roles import can
from yiyang.core.errors import DomainError
from yiyang.guardian import operations as ops
from yiyang.guardian import zones as geo
from yiyang.guardian.brokerfiles import device_topic
from yiyang.guardian.models import Device, DeviceType, Position, SafeZone
from yiyang.guardian.queries import device_for, devices_visible_to, zone_for, zones_visible_to
from yiyang.people.queries import elder_for, elder_search

LOW_BATTERY = ops.LOW_BATTERY_PERCENT
STATUSES = {
    "": None,
    "online": Q(is_active=True, is_offline=False),
    "offline": Q(is_active=True, is_offline=True),
    "low_battery": Q(is_active=True, battery__lte=LOW_BATTERY),
    "never": Q(is_active=True, last_seen_at__isnull=True),
    "inactive": Q(is_active=False),
}


def _status_choices():
    return [
        ("", _("Any")),
        ("online", pgettext("device status", "Reporting")),
        ("offline", _("Offline")),
        ("low_battery", _("Low battery")),
        ("never", _("Never reported")),
        ("inactive", _("Out of service")),
    ]


def interval_label(seconds: int) -> str:
    if seconds % 3600 == 0:
        return ngettext("%(n)s hour", "%(n)s hours", seconds // 3600) % {"n": seconds // 3600}
    if seconds % 60 == 0:
        return _("%(n)s min") % {"n": seconds // 60}
    return _("%(n)s s") % {"n": seconds}


def _require(request: HttpRequest, capability: str) -> None:
    if not can(request.user, capability):
        raise Http404


@login_required
def device_list(request: HttpRequest) -> HttpResponse:
    _require(request, "guardian.device.view")
    filters = {k: request.GET.get(k, "").strip()[:64] for k in ("q", "type", "status")}
    devices = devices_visible_to(request.user).select_related("elder__residence_region")
    if filters["q"]:
        devices = devices.filter(Q(serial__icontains=filters["q"]) | Q(elder__name__contains=filters["q"]))
    if filters["type"] in DeviceType.values:
        devices = devices.filter(device_type=filters["type"])
    if STATUSES.get(filters["status"]) is not None:
        devices = devices.filter(STATUSES[filters["status"]])
    page = Paginator(devices.order_by("elder__name", "serial"), 50).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for d in page.object_list:
        d.interval_label = interval_label(d.report_interval_seconds)
    return render(
        request,
        "guardian/device_list.html",
        {
            "page": page,
            "filters": filters,
            "types": DeviceType.choices,
            "statuses": _status_choices(),
            "query": urlencode({k: v for k, v in filters.items() if v}),
            "can_manage": can(request.user, "guardian.device.manage"),
            "low_battery": LOW_BATTERY,
        },
    )


def _device_form_values(request: HttpRequest) -> dict:
    return {
        "device_type": request.POST.get("device_type", ""),
        "serial": request.POST.get("serial", "").strip(),
        "install_location": request.POST.get("install_location", "").strip(),
        "report_interval_seconds": request.POST.get("report_interval_seconds", "").strip(),
    }


def _interval(value: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise DomainError(_("report_interval_seconds: a whole number of seconds."), field="report_interval_seconds") from None


def _field_error(exc: DomainError) -> tuple[str, str]:
    """The operation's messages start with the API field name ("serial: ..."); the page shows the rest beside the field."""
    field = exc.field or "form"
    message = exc.message
    for prefix in (f"{field}: ", f"{field}："):
        if message.startswith(prefix):
            return field, message[len(prefix) :].strip()
    return field, message


@login_required
def device_register(request: HttpRequest) -> HttpResponse:
    """Step 1: find the elder (the scoped registry search); step 2: the device's details; then its secret, once."""
    _require(request, "guardian.device.manage")
    elder = None
    elder_id = request.POST.get("elder") or request.GET.get("elder")
    if elder_id:
        elder = elder_for(request.user, int(elder_id)) if str(elder_id).isdigit() else None
        if elder is None:
            raise Http404
    q = request.GET.get("q", "").strip()[:64]
    results = list(elder_search(request.user, q).select_related("residence_region")[:20]) if q and elder is None else []
    values = {"device_type": request.GET.get("type", ""), "serial": "", "install_location": "", "report_interval_seconds": "300"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        if elder is None:
            errors["elder"] = _("Choose the elder the device protects.")
        values = _device_form_values(request)
        if not errors:
            try:
                device, secret = ops.device_register(
                    elder=elder,
                    device_type=values["device_type"],
                    serial=values["serial"],
                    install_location=values["install_location"],
                    report_interval_seconds=_interval(values["report_interval_seconds"]),
                    actor=request.user,
                )
            except DomainError as exc:
                field, message = _field_error(exc)
                errors[field] = message
            else:
                return _secret_page(request, device, secret, created=True)
    return render(
        request,
        "guardian/device_register.html",
        {"elder": elder, "q": q, "results": results, "values": values, "errors": errors, "types": DeviceType.choices},
        status=400 if errors else 200,
    )


def _secret_page(request: HttpRequest, device: Device, secret: str, *, created: bool) -> HttpResponse:
    # Rendered in answer to the POST (never a GET that could be reloaded or cached): the secret is shown once.
    response = render(
        request,
        "guardian/device_secret.html",
        {
            "device": device,
            "secret": secret,
            "created": created,
            "events_topic": device_topic(device.serial, "heartbeat"),
            "alarms_topic": device_topic(device.serial, "sos"),
        },
    )
    add_never_cache_headers(response)
    response["Cache-Control"] += ", no-store"
    return response


def _device_or_404(request: HttpRequest, device_id: int) -> Device:
    _require(request, "guardian.device.view")
    device = device_for(request.user, device_id)
    if device is None:
        raise Http404
    return device


@login_required
def device_detail(request: HttpRequest, device_id: int) -> HttpResponse:
    device = _device_or_404(request, device_id)
    errors: dict[str, str] = {}
    values = {
        "install_location": device.install_location,
        "report_interval_seconds": str(device.report_interval_seconds),
        "is_active": device.is_active,
    }
    if request.method == "POST":
        _require(request, "guardian.device.manage")
        values = {
            "install_location": request.POST.get("install_location", "").strip(),
            "report_interval_seconds": request.POST.get("report_interval_seconds", "").strip(),
            "is_active": request.POST.get("is_active") == "on",
        }
        try:
            ops.device_update(
                device=device,
                install_location=values["install_location"],
                report_interval_seconds=_interval(values["report_interval_seconds"]),
                is_active=values["is_active"],
                actor=request.user,
            )
        except DomainError as exc:
            field, message = _field_error(exc)
            errors[field] = message
        else:
            messages.success(request, _("Device saved."))
            return redirect("guardian:device_detail", device_id=device.pk)
    zones = list(zones_visible_to(request.user).filter(elder_id=device.elder_id).order_by("pk"))
    device.interval_label = interval_label(device.report_interval_seconds)
    return render(
        request,
        "guardian/device_detail.html",
        {
            "device": device,
            "elder": device.elder,
            "values": values,
            "errors": errors,
            "zones": zones,
            "is_bracelet": device.device_type == DeviceType.BRACELET,
            "positions": list(Position.objects.filter(device=device).order_by("-at")[:10]),
            "alerts": list(device.alerts.order_by("-opened_at")[:10]),
            "can_manage": can(request.user, "guardian.device.manage"),
            "low_battery": LOW_BATTERY,
        },
        status=400 if errors else 200,
    )


@login_required
@require_POST
def device_rotate(request: HttpRequest, device_id: int) -> HttpResponse:
    device = _device_or_404(request, device_id)
    _require(request, "guardian.device.manage")
    device, secret = ops.device_rotate_secret(device=device, actor=request.user)
    return _secret_page(request, device, secret, created=False)


# Safe zones -----------------------------------------------------------------------------------


def _hour(value: str, field: str) -> time | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise DomainError(_("Enter a time as HH:MM."), field=field) from None


def _number(value: str, field: str, kind=float):
    value = (value or "").strip().replace("，", ".")
    if not value:
        return None
    try:
        return kind(value)
    except ValueError:
        raise DomainError(_("Enter a number."), field=field) from None


def _zone_values(request: HttpRequest) -> dict:
    return {
        k: request.POST.get(k, "").strip()
        for k in ("name", "shape", "center_lat", "center_lon", "radius_m", "points", "active_from", "active_until")
    }


def _zone_fields(values: dict) -> dict:
    """Parse the form (raising DomainError naming the form field) into the operation's arguments."""
    shape = values["shape"]
    fields = {
        "name": values["name"],
        "shape": shape,
        "active_from": _hour(values["active_from"], "active_from"),
        "active_until": _hour(values["active_until"], "active_until"),
    }
    if shape == SafeZone.Shape.CIRCLE:
        fields.update(
            center_lat=_number(values["center_lat"], "center_lat"),
            center_lon=_number(values["center_lon"], "center_lon"),
            radius_m=_number(values["radius_m"], "radius_m", int),
        )
    elif shape == SafeZone.Shape.POLYGON:
        try:
            fields["polygon"] = geo.parse_latlon_lines(values["points"])
        except ValueError as exc:
            raise DomainError(str(exc), field="points") from None
    return fields


def _map_context(elder) -> dict:
    home = (elder.lat, elder.lng) if elder.lat is not None and elder.lng is not None else None
    region = elder.residence_region
    township = None
    while region is not None and township is None:
        if region.lat is not None and region.lng is not None:
            township = (region.lat, region.lng)
        region = region.parent
    recent = Position.objects.filter(elder_id=elder.pk).order_by("-at").values_list("lat", "lon")[:50]
    return {
        "home": home,
        "township": township,
        "positions": ";".join(f"{lat:.6f},{lon:.6f}" for lat, lon in recent),
        "max_km": ops.ZONE_MAX_DISTANCE_FROM_HOME_M // 1000,
    }


def _zone_editor(request: HttpRequest, elder, zone: SafeZone | None) -> HttpResponse:
    _require(request, "guardian.device.manage")
    errors: dict[str, str] = {}
    if zone is not None:
        values = {
            "name": zone.name,
            "shape": zone.shape,
            "center_lat": "" if zone.center_lat is None else f"{zone.center_lat:.6f}",
            "center_lon": "" if zone.center_lon is None else f"{zone.center_lon:.6f}",
            "radius_m": "" if zone.radius_m is None else str(zone.radius_m),
            "points": geo.latlon_lines(zone.polygon),
            "active_from": zone.active_from.strftime("%H:%M") if zone.active_from else "",
            "active_until": zone.active_until.strftime("%H:%M") if zone.active_until else "",
        }
    else:
        home = (elder.lat, elder.lng) if elder.lat is not None and elder.lng is not None else (None, None)
        values = {
            "name": _("Around home"),
            "shape": SafeZone.Shape.CIRCLE,
            "center_lat": "" if home[0] is None else f"{home[0]:.6f}",
            "center_lon": "" if home[1] is None else f"{home[1]:.6f}",
            "radius_m": "300",
            "points": "",
            "active_from": "",
            "active_until": "",
        }
    if request.method == "POST":
        values = _zone_values(request)
        try:
            fields = _zone_fields(values)
            if zone is None:
                ops.safezone_create(elder=elder, actor=request.user, **fields)
            else:
                ops.safezone_update(zone=zone, actor=request.user, **fields)
        except DomainError as exc:
            field, message = _field_error(exc)
            errors["points" if field == "polygon" else field] = message
        else:
            messages.success(request, _("Safe zone saved."))
            return redirect("guardian:elder_zones", elder_id=elder.pk)
    return render(
        request,
        "guardian/zone_form.html",
        {"elder": elder, "zone": zone, "values": values, "errors": errors, "shapes": SafeZone.Shape.choices, **_map_context(elder)},
        status=400 if errors else 200,
    )


def _elder_or_404(request: HttpRequest, elder_id: int):
    _require(request, "guardian.device.view")
    elder = elder_for(request.user, elder_id)
    if elder is None:
        raise Http404
    return elder


@login_required
def elder_zones(request: HttpRequest, elder_id: int) -> HttpResponse:
    elder = _elder_or_404(request, elder_id)
    return render(
        request,
        "guardian/elder_zones.html",
        {
            "elder": elder,
            "zones": list(zones_visible_to(request.user).filter(elder=elder).order_by("pk")),
            "devices": list(devices_visible_to(request.user).filter(elder=elder).order_by("serial")),
            "can_manage": can(request.user, "guardian.device.manage"),
        },
    )


@login_required
def zone_create(request: HttpRequest, elder_id: int) -> HttpResponse:
    return _zone_editor(request, _elder_or_404(request, elder_id), None)


def _zone_or_404(request: HttpRequest, zone_id: int) -> SafeZone:
    _require(request, "guardian.device.view")
    zone = zone_for(request.user, zone_id)
    if zone is None:
        raise Http404
    return zone


@login_required
def zone_edit(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = _zone_or_404(request, zone_id)
    return _zone_editor(request, zone.elder, zone)


@login_required
@require_POST
def zone_remove(request: HttpRequest, zone_id: int) -> HttpResponse:
    zone = _zone_or_404(request, zone_id)
    _require(request, "guardian.device.manage")
    ops.safezone_remove(zone=zone, actor=request.user)
    messages.success(request, _("Safe zone removed."))
    return redirect("guardian:elder_zones", elder_id=zone.elder_id)


# A need found on a monthly visit -> a follow-up alert, in one step (the button is on the visit page).


@login_required
@require_POST
def visit_followup_alert(request: HttpRequest, visit_id: int) -> HttpResponse:
    from yiyang.visits.queries import visits_visible_to

    _require(request, "visit.record")
    visit = visits_visible_to(request.user).filter(pk=visit_id).first()
    if visit is None:
        raise Http404
    try:
        alert = ops.alert_open_from_visit(
            visit=visit,
            need=request.POST.get("need", ""),
            severity=request.POST.get("severity", "") or "medium",
            note=request.POST.get("note", ""),
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, _field_error(exc)[1])
    else:
        messages.success(request, _("Follow-up alert #%(id)s opened; it escalates until someone acknowledges it.") % {"id": alert.pk})
    return redirect("visits:elder", elder_id=visit.elder_id)
