"""Help asked for from the elder's own screen (长辈模式): an SOS without a device, on the same path as the button's."""

from django.db import transaction
from django.utils import timezone

from yiyang.audit.operations import audit_record
from yiyang.guardian.models import Alert, AlertKind
from yiyang.guardian.operations import alert_raise


def alert_help_request(*, elder, actor) -> tuple[Alert, bool]:
    """Open a critical SOS alert for `elder` (escalating like any SOS), or add this press to the open one."""
    now = timezone.now()
    with transaction.atomic():
        alert, created = alert_raise(
            kind=AlertKind.SOS,
            key=f"help:{elder.pk}",
            elder=elder,
            device=None,
            at=now,
            now=now,
            ref={"source": "elder_screen", "by": actor.username},
        )
        audit_record(actor=actor, action="guardian.help_request", obj=alert, region=elder.residence_region, detail={"new": created})
    return alert, created
