"""The monthly grant: scheduled by `yiyang crontask`, run by the database worker."""

from crontask import cron
from django.tasks import task


@cron("5 0 1 * *")
@task
def monthly_grants(period: str | None = None) -> list[dict]:
    """On the 1st at 00:05 (Asia/Shanghai): every active programme grants the month; idempotent."""
    from yiyang.subsidies.operations import grants_run_all

    return grants_run_all(period=period)
