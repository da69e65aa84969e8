"""Guardian reads, always scoped by the user (out of scope is 404 for callers)."""

from django.db.models import Q, QuerySet

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.guardian.models import UNRESOLVED, Alert, Device, SafeZone
from yiyang.people.queries import elders_visible_to
from yiyang.regions.queries import under_paths_q


def alerts_visible_to(user) -> QuerySet[Alert]:
    if not can(user, "guardian.alert.view"):
        return Alert.objects.none()
    scope = scope_of(user)
    if scope.everything:
        return Alert.objects.all()
    visible = Q(pk__in=[])
    if scope.region_paths:
        visible |= under_paths_q("region", list(scope.region_paths))
    if can(user, "guardian.console"):
        # Operational alerts (no elder) concern the platform: console staff see them.
        visible |= Q(region__isnull=True, elder__isnull=True)
    return Alert.objects.filter(visible)


def alert_for(user, alert_id: int) -> Alert | None:
    return alerts_visible_to(user).filter(pk=alert_id).first()


def open_alerts_for_console(user) -> QuerySet[Alert]:
    return (
        alerts_visible_to(user)
        .filter(state__in=UNRESOLVED)
        .select_related("elder__residence_region", "device", "acknowledged_by")
        .order_by("-severity_rank", "opened_at", "pk")
    )


def devices_visible_to(user) -> QuerySet[Device]:
    if not can(user, "guardian.device.view"):
        return Device.objects.none()
    return Device.objects.filter(elder__in=elders_visible_to(user))


def device_for(user, device_id: int) -> Device | None:
    return devices_visible_to(user).select_related("elder__residence_region").filter(pk=device_id).first()


def zones_visible_to(user) -> QuerySet[SafeZone]:
    if not can(user, "guardian.device.view"):
        return SafeZone.objects.none()
    return SafeZone.objects.filter(elder__in=elders_visible_to(user), is_active=True)


def zone_for(user, zone_id: int) -> SafeZone | None:
    return zones_visible_to(user).select_related("elder__residence_region").filter(pk=zone_id).first()


def visit_followup_alerts(visit_ids) -> dict[int, int]:
    """{visit id: follow-up alert id} for the visits given (the alert's key names its visit)."""
    keys = {f"visit:{pk}:followup": pk for pk in visit_ids}
    if not keys:
        return {}
    return {keys[k]: pk for k, pk in Alert.objects.filter(dedup_key__in=keys).order_by("pk").values_list("dedup_key", "pk")}
