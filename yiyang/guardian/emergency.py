"""One-click emergency (助急) order from an alert, through the home-care app's own order operation."""

from datetime import timedelta

from django.apps import apps
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yiyang.core.errors import DomainError
from yiyang.guardian.models import AlertEvent, TimelineKind

EMERGENCY_ITEM = "emergency-visit"


def available() -> bool:
    if not apps.is_installed("yiyang.homecare"):
        return False
    try:
        from yiyang.homecare import operations
    except ImportError:
        return False
    return callable(getattr(operations, "order_create", None))


def alert_emergency_order(*, alert, actor):
    """Create (once per alert: the Idempotency-Key is the alert) an emergency visit order for the alert's elder."""
    from yiyang.homecare.models import Channel, ServiceItem
    from yiyang.homecare.operations import order_create

    if alert.elder_id is None:
        raise DomainError(_("This alert concerns no elder."), field="alert")
    item = ServiceItem.objects.filter(code=EMERGENCY_ITEM, is_active=True).first()
    if item is None:
        raise DomainError(_("The service menu has no active emergency visit item."), field="item")
    now = timezone.now()
    with transaction.atomic():
        order, created = order_create(
            elder=alert.elder,
            item=item,
            window_start=now,
            window_end=now + timedelta(hours=2),
            actor=actor,
            note=_("Silver Guardian alert #%(id)s: %(kind)s") % {"id": alert.pk, "kind": alert.get_kind_display()},
            channel=Channel.HOTLINE,
            idempotency_key=f"guardian-alert-{alert.pk}",
        )
        if created:
            AlertEvent.objects.create(
                alert=alert,
                kind=TimelineKind.ORDER,
                at=now,
                actor=actor,
                text=_("Emergency order #%(id)s for %(provider)s") % {"id": order.pk, "provider": order.provider},
                data={"order_id": order.pk},
            )
    return order
