"""Guardian reads, always scoped by the user (out of scope is 404 for callers)."""

from django.db.models import Q, QuerySet

from yiyang.accounts.roles import can
from yiyang.accounts.scope import scope_of
from yiyang.guardian.models import UNRESOLVED, Alert, Device
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
