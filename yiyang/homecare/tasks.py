"""Periodic home-care jobs, scheduled by `yiyang crontask` and run by `yiyang db_worker`."""

from datetime import timedelta

from crontask import cron
from django.tasks import task
from django.utils import timezone

from yiyang.core.errors import DomainError


@cron("*/5 * * * *")
@task
def orders_overdue() -> dict:
    """Flag orders nobody took in time; they then show on the officers' audit page and the hotline console."""
    from yiyang.homecare.operations import orders_flag_overdue

    return {"flagged": orders_flag_overdue()}


@cron("20 2 * * *")
@task
def recurrences_extend() -> dict:
    """Keep two weeks of orders generated ahead for every active recurrence."""
    from yiyang.homecare.models import Recurrence
    from yiyang.homecare.operations import recurrence_generate

    until = timezone.localdate() + timedelta(days=14)
    created, refused = 0, 0
    for recurrence in Recurrence.objects.filter(is_active=True).select_related("elder__residence_region", "item", "provider"):
        if recurrence.ends_on is not None and recurrence.ends_on < timezone.localdate():
            continue
        try:
            created += len(recurrence_generate(recurrence=recurrence, until=until))
        except DomainError:
            # e.g. the official calendar does not cover `until` yet, or the elder's file was archived: counted, shown in the result.
            refused += 1
    return {"created": created, "refused": refused}
