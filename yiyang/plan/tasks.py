"""The cockpit's scheduled snapshot: computed indicators for every region, so pages never wait on a count."""

from crontask import cron
from django.tasks import task


@cron("7 * * * *")
@task
def plan_snapshot() -> dict:
    """This month's values (provisional) and last month's until its final snapshot exists."""
    from yiyang.plan.operations import snapshot_due

    return snapshot_due()
